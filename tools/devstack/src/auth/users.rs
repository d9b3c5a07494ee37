//! GoTrue's models: users (auth.users, as models.User serializes them) and identities
//! (auth.identities), read and written as GoTrue does. Writes run in the caller's
//! transaction, which has switched to supabase_auth_admin where GoTrue would.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use super::error::{internal, pg_message, ApiError};

/// GoTrue's user JSON: the row and its identities (timestamps as Go writes them, in UTC).
pub const USER_COLUMNS: &str = "id, aud, role, email, phone, email_confirmed_at, \
    phone_confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, \
    updated_at, banned_until, is_anonymous, coalesce(banned_until > now(), false) as banned, \
    confirmation_sent_at, recovery_sent_at, email_change_sent_at, email_change, invited_at, \
    (select coalesce(jsonb_agg(jsonb_build_object('identity_id', i.id, 'id', i.provider_id, \
        'user_id', i.user_id, 'identity_data', i.identity_data, 'provider', i.provider, \
        'last_sign_in_at', to_char(i.last_sign_in_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'created_at', to_char(i.created_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'updated_at', to_char(i.updated_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'email', i.email) order by i.created_at, i.id), '[]'::jsonb) \
     from auth.identities i where i.user_id = users.id) as identities";

pub struct User {
    pub id: Uuid,
    pub aud: String,
    pub role: String,
    pub email: String,
    pub phone: String,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub is_anonymous: bool,
    pub confirmed: bool,
    pub banned: bool,
    /// The user as GoTrue answers it.
    pub json: Value,
}

/// A row of USER_COLUMNS, and its JSON as GoTrue's models.User serializes it.
pub fn user_from_row(row: &Row) -> User {
    let text = |c: &str| row.get::<_, Option<String>>(c).unwrap_or_default();
    let meta = |c: &str| match row.get::<_, Option<Value>>(c) {
        Some(v @ Value::Object(_)) => v,
        _ => json!({}),
    };
    let time = |c: &str| row.get::<_, Option<DateTime<Utc>>>(c);
    let (email_confirmed, phone_confirmed) =
        (time("email_confirmed_at"), time("phone_confirmed_at"));
    let user = User {
        id: row.get("id"),
        aud: text("aud"),
        role: text("role"),
        email: text("email"),
        phone: text("phone"),
        app_metadata: meta("raw_app_meta_data"),
        user_metadata: meta("raw_user_meta_data"),
        is_anonymous: row.get("is_anonymous"),
        confirmed: email_confirmed.is_some(),
        banned: row.get("banned"),
        json: Value::Null,
    };
    // GoTrue omits an identity's empty fields (last_sign_in_at, email).
    let identities: Vec<Value> = match row.get::<_, Option<Value>>("identities") {
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|mut identity| {
                if let Some(map) = identity.as_object_mut() {
                    map.retain(|_, v| !v.is_null());
                }
                identity
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut json = json!({
        "id": user.id,
        "aud": user.aud,
        "role": user.role,
        "email": user.email,
        "phone": user.phone,
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "identities": identities,
        "created_at": time("created_at"),
        "updated_at": time("updated_at"),
        "is_anonymous": user.is_anonymous,
    });
    // Supabase's generated confirmed_at = least(email_confirmed_at, phone_confirmed_at).
    let confirmed_at = email_confirmed.into_iter().chain(phone_confirmed).min();
    for (name, value) in [
        ("email_confirmed_at", email_confirmed),
        ("phone_confirmed_at", phone_confirmed),
        ("confirmed_at", confirmed_at),
        ("last_sign_in_at", time("last_sign_in_at")),
        ("banned_until", time("banned_until")),
        ("confirmation_sent_at", time("confirmation_sent_at")),
        ("recovery_sent_at", time("recovery_sent_at")),
        ("email_change_sent_at", time("email_change_sent_at")),
        ("invited_at", time("invited_at")),
    ] {
        if let Some(value) = value {
            json[name] = json!(value);
        }
    }
    let new_email = text("email_change");
    if !new_email.is_empty() {
        json["new_email"] = json!(new_email);
    }
    User { json, ..user }
}

pub async fn load_user(tx: &Transaction<'_>, id: Uuid) -> Result<Option<User>, ApiError> {
    let sql = format!("select {USER_COLUMNS} from auth.users where id = $1");
    Ok(tx
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(user_from_row))
}

/// GoTrue's FindUserByEmailAndAudience.
pub async fn find_user_by_email(
    tx: &Transaction<'_>,
    email: &str,
) -> Result<Option<User>, ApiError> {
    let id: Option<Uuid> = tx
        .query_opt(
            "select id from auth.users
             where lower(email) = lower($1) and aud = 'authenticated' and not is_sso_user
             order by created_at limit 1",
            &[&email],
        )
        .await?
        .map(|r| r.get(0));
    match id {
        Some(id) => load_user(tx, id).await,
        None => Ok(None),
    }
}

/// GoTrue's IsDuplicatedEmail: a user with an identity of that email, else with that
/// email (other than `except`).
pub async fn duplicated_email(
    tx: &Transaction<'_>,
    email: &str,
    except: Option<Uuid>,
) -> Result<Option<User>, ApiError> {
    let id: Option<Uuid> = tx
        .query_opt(
            "select i.user_id from auth.identities i join auth.users u on u.id = i.user_id
             where i.email = lower($1) and u.aud = 'authenticated'
               and i.provider not like 'sso:%' and i.user_id is distinct from $2
             order by i.created_at limit 1",
            &[&email, &except],
        )
        .await?
        .map(|r| r.get(0));
    let id = match id {
        Some(id) => Some(id),
        None => tx
            .query_opt(
                "select id from auth.users
                 where lower(email) = lower($1) and aud = 'authenticated' and not is_sso_user
                   and id is distinct from $2
                 order by created_at limit 1",
                &[&email, &except],
            )
            .await?
            .map(|r| r.get(0)),
    };
    match id {
        Some(id) => load_user(tx, id).await,
        None => Ok(None),
    }
}

/// bcrypt at GoTrue's cost (10), as the superuser (pgcrypto lives in extensions).
pub async fn bcrypt(tx: &Transaction<'_>, password: &str) -> Result<Option<String>, ApiError> {
    Ok(tx
        .query_one(
            "select extensions.crypt($1, extensions.gen_salt('bf', 10))",
            &[&password],
        )
        .await?
        .get(0))
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub password_hash: Option<String>,
    pub confirmed: bool,
    pub app_metadata: &'a Value,
    pub user_metadata: &'a Value,
}

/// The one insert into auth.users (it fires the app's triggers), as supabase_auth_admin.
pub async fn insert_user(
    tx: &Transaction<'_>,
    user: &NewUser<'_>,
    context: &str,
) -> Result<(), ApiError> {
    tx.execute(
        "insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
                                 raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
         values ($1, 'authenticated', 'authenticated', $2, $3,
                 case when $4 then now() end, $5, $6, now(), now())",
        &[
            &user.id,
            &user.email,
            &user.password_hash,
            &user.confirmed,
            user.app_metadata,
            user.user_metadata,
        ],
    )
    .await
    .map_err(|e| internal(context, pg_message(&e)))?;
    Ok(())
}

/// The user GoTrue builds before inserting it (ToUserModel), as hooks see it.
pub fn unsaved_user_json(id: Uuid, email: &str, provider: &str, user_metadata: &Value) -> Value {
    json!({
        "id": id,
        "aud": "authenticated",
        "role": "",
        "email": email,
        "phone": "",
        "app_metadata": { "provider": provider, "providers": [provider] },
        "user_metadata": user_metadata,
        "identities": [],
        "created_at": "0001-01-01T00:00:00Z",
        "updated_at": "0001-01-01T00:00:00Z",
        "is_anonymous": false,
    })
}

/// GoTrue's structs.Map(provider.Claims{Subject, Email}).
pub fn email_claims(user_id: Uuid, email: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user_id.to_string()));
    claims.insert("email".into(), json!(email));
    claims.insert("email_verified".into(), json!(false));
    claims.insert("phone_verified".into(), json!(false));
    claims
}

pub async fn create_identity(
    tx: &Transaction<'_>,
    user_id: Uuid,
    provider: &str,
    provider_id: &str,
    identity_data: &Value,
) -> Result<Uuid, ApiError> {
    let id = Uuid::new_v4();
    tx.execute(
        "insert into auth.identities (id, provider_id, user_id, identity_data, provider,
                                      last_sign_in_at, created_at, updated_at)
         values ($1, $2, $3,
                 case when $4::jsonb ? 'email'
                   then jsonb_set($4::jsonb, '{email}', to_jsonb(lower($4::jsonb ->> 'email')))
                   else $4::jsonb end,
                 $5, now(), clock_timestamp(), clock_timestamp())",
        &[&id, &provider_id, &user_id, identity_data, &provider],
    )
    .await
    .map_err(|e| internal("Error creating identity", pg_message(&e)))?;
    Ok(id)
}

/// GoTrue's UpdateAppMetaDataProviders: providers from the identities, oldest first.
pub async fn update_providers(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), ApiError> {
    tx.execute(
        "update auth.users u set raw_app_meta_data =
           coalesce(u.raw_app_meta_data, '{}'::jsonb)
           || jsonb_build_object('providers', p.providers)
           || case when jsonb_array_length(p.providers) > 0
                then jsonb_build_object('provider', p.providers -> 0) else '{}'::jsonb end
         from (select coalesce(jsonb_agg(provider order by first_at), '[]'::jsonb) as providers
               from (select provider, min(created_at) as first_at from auth.identities
                     where user_id = $1 group by provider) x) p
         where u.id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// GoTrue's UpdateUserMetaData: keys set, null values delete.
pub async fn merge_user_metadata(
    tx: &Transaction<'_>,
    user_id: Uuid,
    updates: &Map<String, Value>,
) -> Result<(), ApiError> {
    let set: Map<String, Value> = updates
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete: Vec<String> = updates
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    tx.execute(
        "update auth.users
         set raw_user_meta_data = (coalesce(raw_user_meta_data, '{}'::jsonb) || $2) - $3::text[]
         where id = $1",
        &[&user_id, &Value::Object(set), &delete],
    )
    .await?;
    Ok(())
}

/// GoTrue's user.Confirm: confirmed now, email_verified in the metadata, links spent.
pub async fn confirm_user(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), ApiError> {
    tx.execute(
        "update auth.users set confirmation_token = '', email_confirmed_at = now(),
           raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)
                                || '{\"email_verified\": true}'::jsonb
         where id = $1",
        &[&user_id],
    )
    .await?;
    tx.execute(
        "delete from auth.one_time_tokens where user_id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// GoTrue's RemoveUnconfirmedIdentities: an unconfirmed user keeps only the identity
/// being confirmed, its metadata, and (unless it is email/phone) no password.
pub async fn remove_unconfirmed_identities(
    tx: &Transaction<'_>,
    user_id: Uuid,
    keep: Uuid,
    provider: &str,
    identity_data: &Value,
) -> Result<(), ApiError> {
    if provider != "email" && provider != "phone" {
        tx.execute(
            "update auth.users set encrypted_password = null where id = $1",
            &[&user_id],
        )
        .await?;
    }
    tx.execute(
        "update auth.users set raw_user_meta_data = jsonb_strip_nulls($2) where id = $1",
        &[&user_id, identity_data],
    )
    .await?;
    tx.execute(
        "delete from auth.identities where user_id = $1 and id <> $2",
        &[&user_id, &keep],
    )
    .await?;
    update_providers(tx, user_id).await
}
