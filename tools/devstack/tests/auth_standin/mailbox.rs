//! STAND-IN ONLY: GET and DELETE /_dev/mailbox (service role), the emails it would have
//! sent.

use std::sync::Arc;

use serde_json::json;

use crate::support::{tests, unique_email, World, APP_AUTH, SERVICE_KEY};

tests![
    the_mailbox_lists_an_addresss_emails_newest_first,
    the_mailbox_is_cleared_by_address_or_whole,
];

async fn the_mailbox_lists_an_addresss_emails_newest_first(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("Mailbox").await;
    let recover = format!("/auth/v1/recover?redirect_to={APP_AUTH}reset");
    assert_eq!(
        app.post(&recover)
            .json(json!({ "email": user.email }))
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/auth/v1/otp")
            .json(json!({ "email": user.email }))
            .send()
            .await
            .status,
        200
    );
    // The address in any case.
    let path = format!("/auth/v1/_dev/mailbox?email={}", user.email.to_uppercase());
    let answer = app.get(&path).no_apikey().bearer(SERVICE_KEY).send().await;
    assert_eq!(answer.status, 200);
    let mail = answer.json();
    let mail = mail.as_array().unwrap();
    let kinds: Vec<&str> = mail.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["magiclink", "recovery"]);
    let fields: Vec<&str> = mail[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["email", "redirectTo", "sentAt", "tokenHash", "type"]
    );
    assert_eq!(
        (&mail[1]["email"], &mail[1]["redirectTo"]),
        (
            &json!(user.email.to_lowercase()),
            &json!(format!("{APP_AUTH}reset"))
        )
    );
    assert!(app.mailbox(&unique_email("nobody")).await.is_empty());
}

async fn the_mailbox_is_cleared_by_address_or_whole(world: Arc<World>) {
    // Clearing every address would clear other tests' emails: a database of its own.
    let app = world.app_on_own_database().await;
    let (a, b) = (app.user("a").await, app.user("b").await);
    for user in [&a, &b] {
        let answer = app
            .post("/auth/v1/recover")
            .json(json!({ "email": user.email }))
            .send()
            .await;
        assert_eq!(answer.status, 200);
    }
    let answer = app
        .delete(&format!("/auth/v1/_dev/mailbox?email={}", a.email))
        .no_apikey()
        .bearer(SERVICE_KEY)
        .send()
        .await;
    assert_eq!((answer.status, answer.body.len()), (204, 0));
    assert!(app.mailbox(&a.email).await.is_empty());
    assert_eq!(app.mailbox(&b.email).await.len(), 1);
    // Without ?email= the listing is every address's, and DELETE clears them all.
    let all = app
        .get("/auth/v1/_dev/mailbox")
        .bearer(SERVICE_KEY)
        .send()
        .await
        .json();
    assert_eq!(all.as_array().unwrap().len(), 1);
    let answer = app
        .delete("/auth/v1/_dev/mailbox")
        .bearer(SERVICE_KEY)
        .send()
        .await;
    assert_eq!(answer.status, 204);
    let all = app
        .get("/auth/v1/_dev/mailbox")
        .bearer(SERVICE_KEY)
        .send()
        .await
        .json();
    assert_eq!(all, json!([]));
}
