//! The stand-in's configuration (Config::from_lookup, what the binary reads from its
//! environment): defaults, and the first problem as the start-up error.

use std::collections::BTreeMap;
use std::sync::Arc;

use devstack::auth::Config;

use crate::support::{tests, World};

tests![
    complete_variables_configure_the_stand_in,
    each_missing_or_malformed_variable_is_named,
];

fn config(vars: &BTreeMap<String, String>) -> Result<Config, String> {
    Config::from_lookup(|name| vars.get(name).cloned())
}

async fn complete_variables_configure_the_stand_in(world: Arc<World>) {
    let mut vars = world.vars();
    for optional in [
        "AUTH_EXTRA_PUBLIC_KEYS",
        "AUTH_HOOK_BEFORE_USER_CREATED_URI",
        "AUTH_SITE_URL",
        "AUTH_URI_ALLOW_LIST",
        "AUTH_SMTP_MAX_FREQUENCY",
        "AUTH_REFRESH_TOKEN_REUSE_INTERVAL",
    ] {
        vars.remove(optional);
    }
    let defaults = config(&vars).unwrap();
    assert_eq!(defaults.site_url, "http://localhost:3000");
    assert_eq!(defaults.providers, ["github", "google"]);
    assert_eq!(
        (
            defaults.reuse_interval,
            defaults.otp_exp,
            defaults.max_frequency
        ),
        (10.0, 3600.0, 60.0)
    );
    assert!(!defaults.autoconfirm && defaults.allow_list.is_empty());
    assert!(defaults.before_user_created.is_none());

    let mut vars = world.vars();
    vars.insert(
        "AUTH_URI_ALLOW_LIST".into(),
        " https://a.test/* , ,https://b.test ".into(),
    );
    vars.insert("AUTH_EXTERNAL_PROVIDERS".into(), "GitHub, apple".into());
    vars.insert("AUTH_MAILER_AUTOCONFIRM".into(), " T ".into());
    vars.insert("AUTH_MAILER_OTP_EXP".into(), "60".into());
    let set = config(&vars).unwrap();
    assert_eq!(set.allow_list, ["https://a.test/", "https://b.test"]);
    assert_eq!(set.providers, ["github", "apple"]);
    assert!(set.autoconfirm);
    assert_eq!(set.otp_exp, 60.0);
}

async fn each_missing_or_malformed_variable_is_named(world: Arc<World>) {
    let key_a = world.key_path("key-a");
    let missing = world.key_path("missing");
    let cases: Vec<(&str, String, String)> = vec![
        ("DATABASE_URL", " ".into(), "DATABASE_URL is not set".into()),
        (
            "DATABASE_URL",
            "postgres://host:notaport/db".into(),
            "DATABASE_URL is malformed".into(),
        ),
        (
            "AUTH_ISSUER",
            "ftp://x".into(),
            "AUTH_ISSUER is malformed (want an http(s) URL): ftp://x".into(),
        ),
        (
            "AUTH_SIGNING_KID",
            "".into(),
            "AUTH_SIGNING_KID is not set".into(),
        ),
        (
            "AUTH_SIGNING_KEY",
            missing.clone(),
            format!("AUTH_SIGNING_KEY: cannot read {missing}"),
        ),
        (
            "AUTH_EXTRA_PUBLIC_KEYS",
            "key-b".into(),
            "AUTH_EXTRA_PUBLIC_KEYS is malformed: want kid=path.pem, got \"key-b\"".into(),
        ),
        (
            "AUTH_EXTRA_PUBLIC_KEYS",
            format!("key-a={key_a}"),
            "AUTH_EXTRA_PUBLIC_KEYS: kid \"key-a\" is used twice".into(),
        ),
        (
            "AUTH_REFRESH_TOKEN_REUSE_INTERVAL",
            "-1".into(),
            "AUTH_REFRESH_TOKEN_REUSE_INTERVAL is malformed (seconds): -1".into(),
        ),
        (
            "AUTH_SITE_URL",
            "localhost:3000".into(),
            "AUTH_SITE_URL is malformed (want an http(s) URL): localhost:3000".into(),
        ),
        (
            "AUTH_EXTERNAL_PROVIDERS",
            "github,myspace".into(),
            "AUTH_EXTERNAL_PROVIDERS: \"myspace\" is not one of GoTrue's providers".into(),
        ),
        (
            "AUTH_HOOK_BEFORE_USER_CREATED_URI",
            "pg-functions://postgres/f".into(),
            "AUTH_HOOK_BEFORE_USER_CREATED_URI is malformed".into(),
        ),
        (
            "SUPABASE_ANON_KEY",
            "".into(),
            "SUPABASE_ANON_KEY is not set".into(),
        ),
        (
            "SUPABASE_SERVICE_ROLE_KEY",
            "".into(),
            "SUPABASE_SERVICE_ROLE_KEY is not set".into(),
        ),
        (
            "AUTH_MAILER_AUTOCONFIRM",
            "yes".into(),
            "AUTH_MAILER_AUTOCONFIRM is malformed (true or false): yes".into(),
        ),
        (
            "AUTH_SMTP_MAX_FREQUENCY",
            "1.5".into(),
            "AUTH_SMTP_MAX_FREQUENCY is malformed (seconds): 1.5".into(),
        ),
    ];
    for (name, value, error) in cases {
        let mut vars = world.vars();
        vars.insert(name.into(), value.clone());
        let e = config(&vars)
            .err()
            .unwrap_or_else(|| panic!("{name}={value} accepted"));
        assert!(e.starts_with(&error), "{name}={value}: {e}");
    }
    // A file that is no key: refused before anything is served.
    let mut vars = world.vars();
    vars.insert(
        "AUTH_SIGNING_KEY".into(),
        format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR")),
    );
    let e = config(&vars).err().unwrap();
    assert!(
        e.ends_with("is not a PEM private key (EC P-256 or RSA)"),
        "{e}"
    );
}
