//! The text kinds and their SQL domains are one rule (supabase/schemas/02_text_types.sql,
//! written by `make routes` from `functions::validate::SQL_DOMAINS`): for each kind, one
//! corpus of values and of lengths around its bounds goes through the kind's check (what
//! the API stores, trimmed where the field is) and through a cast to its domain (what a
//! column of the kind takes), and both must answer alike. A domain refuses with SQLSTATE
//! 23514, as the table CHECKs it replaced did.

use functions::validate::{TextKind, SQL_DOMAINS};
use integration_tests::db;
use tokio_postgres::error::SqlState;

const CORPUS: &[&str] = &[
    "a",
    "Acme Inc.",
    "Zoë Ålund",
    "Anne-Marie O'Neil 2",
    "日本語の名前",
    "محمد ١٢٣",
    "emoji 😀",
    "photo (1).png",
    "",
    " ",
    " padded ",
    "\u{a0}nbsp",
    "\u{3000}ideographic",
    "in\u{2028}side",
    "tab\there",
    "new\nline",
    "line\r\nbreak",
    "bell\u{7}",
    "esc\u{1b}",
    "del\u{7f}",
    "c1\u{85}",
    "c1\u{9f}",
    "zero\u{200b}width",
    "<b>x</b>",
    "a;b",
    "../etc/passwd",
    "a/b",
    "a\\b",
    ".",
    "..",
    "https://example.com",
    "https://example.com/@me?x=1#y",
    "https://xn--mnchen-3ya.de/a%20b?q=%C3%BC#top",
    "http://example.com",
    "https://user@example.com",
    "https://example.com/a b",
    "https://example.com/a%2",
    "javascript:alert(1)",
];

/// Whether the domain takes the value: `Ok(true)`, or `Ok(false)` on its 23514.
async fn domain_takes(
    client: &tokio_postgres::Client,
    domain: &str,
    value: &str,
) -> Result<bool, String> {
    match client
        .query_one(&format!("select $1::text::public.{domain}"), &[&value])
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => Ok(false),
        Err(e) => Err(format!("{domain}({value:?}): {e}")),
    }
}

/// The corpus, and values of the kind's bounds: the shortest and longest it takes (made
/// from a value it takes, padded with `a`, or with `é` to count characters, not bytes),
/// one character fewer and one more.
fn values(kind: &TextKind) -> Vec<String> {
    let mut out: Vec<String> = CORPUS.iter().map(|v| (*v).to_owned()).collect();
    let base = CORPUS
        .iter()
        .copied()
        .find(|v| !v.is_empty() && kind.check(v).is_ok())
        .expect("the corpus has a value of every kind");
    let pad = |n: usize, with: char| -> String {
        let have = base.chars().count();
        if n <= have {
            base.chars().take(n).collect()
        } else {
            format!("{base}{}", with.to_string().repeat(n - have))
        }
    };
    let mut lengths = vec![kind.max, kind.max + 1, kind.min];
    if kind.min > 0 {
        lengths.push(kind.min - 1);
    }
    for n in lengths {
        out.push(pad(n, 'a'));
        out.push(pad(n, 'é'));
    }
    out
}

#[tokio::test]
async fn each_kind_and_its_domain_take_the_same_values() {
    let client = db().await;
    let mut disagreements = Vec::new();
    for (domain, kind, _) in SQL_DOMAINS {
        let longest = values(kind)
            .into_iter()
            .filter(|v| kind.check(v).is_ok())
            .map(|v| v.chars().count())
            .max();
        assert_eq!(
            longest,
            Some(kind.max),
            "{domain}: the corpus reaches the kind's longest value"
        );
        for value in values(kind) {
            let api = kind.check(&value).is_ok();
            let mut database = domain_takes(&client, domain, &value)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            // The fields of the plain-text kinds are trimmed before they are checked
            // (`input::trimmed`): what the API takes untrimmed, it stores trimmed.
            if api && !database && value.trim() != value {
                database = domain_takes(&client, domain, value.trim())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            if api != database {
                disagreements.push(format!(
                    "{domain}: the kind {} {value:?} ({} characters), the domain {}",
                    if api { "takes" } else { "refuses" },
                    value.chars().count(),
                    if database { "takes it" } else { "refuses it" },
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[tokio::test]
async fn each_domain_is_the_type_of_its_columns_and_null_stays_allowed() {
    let client = db().await;
    // (table, column, domain): every column that stores a kind.
    let columns = [
        ("workspaces", "name", "short_name"),
        ("projects", "name", "short_name"),
        ("projects", "description", "description"),
        ("posts", "title", "title"),
        ("posts", "body", "post_body"),
        ("profiles", "full_name", "full_name"),
        ("profiles", "website", "website"),
        ("uploads", "original_name", "upload_name"),
    ];
    for (table, column, domain) in columns {
        assert!(
            SQL_DOMAINS.iter().any(|(name, _, _)| *name == domain),
            "{domain} is one of SQL_DOMAINS"
        );
        let row = client
            .query_one(
                "select atttypid = ('public.' || $3)::regtype, format_type(atttypid, null) \
                 from pg_catalog.pg_attribute \
                 where attrelid = ('public.' || $1)::regclass and attname = $2",
                &[&table, &column, &domain],
            )
            .await
            .unwrap();
        assert!(
            row.get::<_, bool>(0),
            "public.{table}.{column} is of the domain {domain}, not {}",
            row.get::<_, String>(1)
        );
    }
    for (domain, _, _) in SQL_DOMAINS {
        let row = client
            .query_one(&format!("select null::public.{domain} is null"), &[])
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0), "{domain}: null is not refused");
    }
}
