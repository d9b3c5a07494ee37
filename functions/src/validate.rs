//! The text rules of user-writable fields, each mirrored by a SQL function of the same
//! name in `supabase/migrations/20261201000000_database_refuses.sql` (`private.is_*`) that
//! a CHECK constraint applies. `tests/tests/api/direct_postgrest.rs` runs one corpus through
//! both sides and fails when they disagree.
//!
//! (`shared::pipeline::input::plain_text` and `free_text` are the two general ones.)
//!
//! Below them, one validator per kind of field (a workspace or project name, a person's
//! name, a title, a body, ...): its length in characters and its text rule, checked
//! together with the API's messages, so a struct names the kind once
//! (`#[validate(custom(function = "validate::title"))]`). Fields whose stored value is
//! trimmed are deserialized with `input::trimmed`, so the value checked is the one
//! stored.

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use validator::{ValidateEmail, ValidationError};

pub use shared::pipeline::input::{free_text, plain_text};

/// Letters (any script), digits, spaces, hyphens and apostrophes (`private.is_person_name`).
pub fn person_name(value: &str) -> Result<(), ValidationError> {
    plain_text(value)?;
    if value
        .chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || c == '-' || c == '\'')
    {
        Ok(())
    } else {
        Err(ValidationError::new("name_characters")
            .with_message("may contain only letters, digits, spaces, - and '".into()))
    }
}

/// An `https` URI as RFC 3986 writes it: ASCII only, each character one a URI may hold
/// where it stands, `%` only before two hex digits, a host and no user info (a host
/// outside ASCII is written in punycode). The same pattern is `private.is_https_url` in
/// `supabase/migrations/20261202100000_websites_are_uris.sql` and the document's
/// `pattern`, next to `format: uri`.
pub const HTTPS_URI: &str = concat!(
    r"^https://(?:[A-Za-z0-9._~!$&'()*+,;=:\[\]-]|%[0-9A-Fa-f]{2})+",
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
    r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?",
    r"(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$",
);

/// A profile website: [`HTTPS_URI`], and a URL whose host parses (`https://[` or a
/// port out of range are refused here; the database's rule is the pattern alone).
pub fn https_url(value: &str) -> Result<(), ValidationError> {
    static PATTERN: std::sync::LazyLock<regex_lite::Regex> =
        std::sync::LazyLock::new(|| regex_lite::Regex::new(HTTPS_URI).expect("HTTPS_URI compiles"));
    let err = || ValidationError::new("https_url").with_message("must be an https:// URL".into());
    if !PATTERN.is_match(value) {
        return Err(err());
    }
    url::Url::parse(value)
        .ok()
        .filter(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
        .map(|_| ())
        .ok_or_else(err)
}

/// A plain file name: no path separators or control characters, not `.` or `..`
/// (`private.is_file_name`).
pub fn file_name(name: &str) -> Result<(), ValidationError> {
    let err = || {
        ValidationError::new("filename").with_message(
            "must be a plain file name (no path separators or control characters)".into(),
        )
    };
    plain_text(name).map_err(|_| err())?;
    if name == "." || name == ".." || name.chars().any(|c| c == '/' || c == '\\') {
        Err(err())
    } else {
        Ok(())
    }
}

/// The HTML a bio may keep: b, i, em, strong, a[href], p, br. Links get
/// rel="noopener noreferrer nofollow" and only absolute http(s) or mailto URLs;
/// everything else is removed. The output is what `private.is_safe_html` accepts.
pub fn sanitize_bio(html: &str) -> String {
    ammonia::Builder::empty()
        .add_tags(["b", "i", "em", "strong", "a", "p", "br"])
        .add_tag_attributes("a", ["href"])
        .url_schemes(["https", "http", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// A kind of user-writable text: its length in characters and its rule. The validator
/// (`check`) and the field's schema in the OpenAPI document (`schema`) are both read
/// from the same constant, so the document cannot promise other bounds than the API
/// checks.
pub struct TextKind {
    pub min: usize,
    pub max: usize,
    rule: fn(&str) -> Result<(), ValidationError>,
    /// The JSON Schema `format`, if the rule is one.
    format: Option<&'static str>,
    /// A JSON Schema `pattern` the rule implies (a necessary condition, not the whole rule).
    pattern: Option<&'static str>,
    /// The rule, in words, for the document (and the comment of the kind's SQL domain).
    pub about: &'static str,
}

impl TextKind {
    /// Length first (with the API's wording), then the rule.
    pub fn check(&self, value: &str) -> Result<(), ValidationError> {
        chars(value, self.min, self.max)?;
        (self.rule)(value)
    }

    /// The field's schema; `nullable` for fields where `null` is accepted (absent or cleared).
    pub fn schema(&self, nullable: bool) -> Schema {
        let kind = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::new(Type::String)
        };
        let mut object = ObjectBuilder::new()
            .schema_type(kind)
            .min_length((self.min > 0).then_some(self.min))
            .max_length(Some(self.max))
            .description(Some(self.about));
        if let Some(format) = self.format {
            object = object.format(Some(SchemaFormat::Custom(format.to_owned())));
        }
        if let Some(pattern) = self.pattern {
            object = object.pattern(Some(pattern));
        }
        Schema::Object(object.build())
    }
}

fn email_address(value: &str) -> Result<(), ValidationError> {
    if value.validate_email() {
        Ok(())
    } else {
        Err(ValidationError::new("email").with_message("must be an email address".into()))
    }
}

const PLAIN: &str =
    "Plain text: not blank, no control characters; leading and trailing whitespace is removed.";
const FREE: &str = "Free text: no control characters but line breaks and tabs.";

/// A workspace, project or site name.
pub const SHORT_NAME: TextKind = TextKind {
    min: 1,
    max: 100,
    rule: plain_text,
    format: None,
    pattern: None,
    about: PLAIN,
};
/// A person's name.
pub const FULL_NAME: TextKind = TextKind {
    min: 1,
    max: 100,
    rule: person_name,
    format: None,
    pattern: None,
    about:
        "Letters (any script), digits, spaces, - and '; leading and trailing whitespace is removed.",
};
/// A post title.
pub const TITLE: TextKind = TextKind {
    min: 1,
    max: 200,
    rule: plain_text,
    format: None,
    pattern: None,
    about: PLAIN,
};
/// A post body.
pub const POST_BODY: TextKind = TextKind {
    min: 0,
    max: 20000,
    rule: free_text,
    format: None,
    pattern: None,
    about: FREE,
};
/// A project description.
pub const DESCRIPTION: TextKind = TextKind {
    min: 0,
    max: 1000,
    rule: free_text,
    format: None,
    pattern: None,
    about: FREE,
};
/// A profile bio as sent (sanitized afterwards).
pub const BIO: TextKind = TextKind {
    min: 0,
    max: 500,
    rule: free_text,
    format: None,
    pattern: None,
    about: "HTML: only b, i, em, strong, p, br and a[href] (absolute http(s) or mailto) are kept; everything else is removed.",
};
/// A profile website.
pub const WEBSITE: TextKind = TextKind {
    min: 0,
    max: 300,
    rule: https_url,
    format: Some("uri"),
    pattern: Some(HTTPS_URI),
    about: "An https:// URI (RFC 3986: ASCII, a non-ASCII host in punycode, other characters percent-encoded) with a host and no user info.",
};
/// An email address.
pub const EMAIL: TextKind = TextKind {
    min: 0,
    max: 254,
    rule: email_address,
    format: Some("email"),
    pattern: None,
    about: "An email address.",
};
/// An upload's file name.
pub const UPLOAD_NAME: TextKind = TextKind {
    min: 1,
    max: 255,
    rule: file_name,
    format: None,
    pattern: None,
    about: "A plain file name: no path separators or control characters, not . or ..",
};
/// A password as sent to Supabase Auth (its own rules apply there), without control
/// characters: a NUL or an escape is a typing accident or an attack, and Supabase Auth
/// hands the text to Postgres, which cannot hold a NUL.
pub const PASSWORD: TextKind = TextKind {
    min: 1,
    max: 1024,
    rule: no_control_characters,
    format: Some("password"),
    pattern: Some(NO_CONTROL_CHARACTERS),
    about: "No control characters; checked by Supabase Auth.",
};
/// A new password (sign-up, reset): supabase/config.toml's `minimum_password_length`, and
/// at most 72 characters (bcrypt's limit, which Supabase Auth enforces).
pub const NEW_PASSWORD: TextKind = TextKind {
    min: 8,
    max: 72,
    rule: no_control_characters,
    format: Some("password"),
    pattern: Some(NO_CONTROL_CHARACTERS),
    about: "8 to 72 characters, no control characters.",
};
/// The types of email link Supabase Auth's /verify takes.
const EMAIL_LINK_TYPES: [&str; 6] = [
    "signup",
    "email",
    "magiclink",
    "recovery",
    "invite",
    "email_change",
];
/// An email link's token hash (`{{ .TokenHash }}` in Supabase Auth's templates).
pub const TOKEN_HASH: TextKind = TextKind {
    min: 1,
    max: 256,
    rule: url_safe_token,
    format: None,
    pattern: Some("^[A-Za-z0-9_-]+$"),
    about: "An email link's token_hash: letters, digits, - and _.",
};
/// An email link's type.
pub const LINK_TYPE: TextKind = TextKind {
    min: 5,
    max: 12,
    rule: email_link_type,
    format: None,
    pattern: Some("^(signup|email|magiclink|recovery|invite|email_change)$"),
    about: "signup, email, magiclink, recovery, invite or email_change.",
};

/// Any character but the control characters (Unicode Cc: C0, DEL, C1).
const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";

fn no_control_characters(value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        Err(ValidationError::new("control_characters")
            .with_message("must not contain control characters".into()))
    } else {
        Ok(())
    }
}

fn url_safe_token(value: &str) -> Result<(), ValidationError> {
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        Ok(())
    } else {
        Err(ValidationError::new("token")
            .with_message("must be letters, digits, - and _ only".into()))
    }
}

fn email_link_type(value: &str) -> Result<(), ValidationError> {
    if EMAIL_LINK_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new("link_type").with_message(
            "must be signup, email, magiclink, recovery, invite or email_change".into(),
        ))
    }
}

/// A length in characters between `min` and `max`, as the API words it.
fn chars(value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let count = value.chars().count();
    if (min..=max).contains(&count) {
        return Ok(());
    }
    let message = if min == 0 {
        format!("must be at most {max} characters")
    } else {
        format!("must be {min} to {max} characters")
    };
    Err(ValidationError::new("length").with_message(message.into()))
}

/// For each kind: its validator (`#[validate(custom(function = "validate::title"))]`)
/// and, in [`schema`], its schema functions for `#[schema(schema_with = ...)]`.
macro_rules! kinds {
    ($($name:ident $nullable:ident => $kind:ident),* $(,)?) => {
        $(
            #[doc = concat!("Validates a [`", stringify!($kind), "`].")]
            pub fn $name(value: &str) -> Result<(), ValidationError> {
                $kind.check(value)
            }
        )*
        /// Schemas of the kinds, for `#[schema(schema_with = validate::schema::title)]`;
        /// `*_or_null` where the field accepts `null`.
        pub mod schema {
            use utoipa::openapi::schema::Schema;
            $(
                pub fn $name() -> Schema {
                    super::$kind.schema(false)
                }
                pub fn $nullable() -> Schema {
                    super::$kind.schema(true)
                }
            )*
        }
    };
}

kinds! {
    short_name short_name_or_null => SHORT_NAME,
    full_name full_name_or_null => FULL_NAME,
    title title_or_null => TITLE,
    post_body post_body_or_null => POST_BODY,
    description description_or_null => DESCRIPTION,
    bio bio_or_null => BIO,
    website website_or_null => WEBSITE,
    email email_or_null => EMAIL,
    upload_name upload_name_or_null => UPLOAD_NAME,
    password password_or_null => PASSWORD,
    new_password new_password_or_null => NEW_PASSWORD,
    token_hash token_hash_or_null => TOKEN_HASH,
    link_type link_type_or_null => LINK_TYPE,
}

/// The kinds a table column stores, each as a SQL domain: its name, the kind, and the
/// `private.is_*` function that mirrors the kind's rule (02_text_rules.sql). `cargo xtask
/// routes` writes supabase/schemas/02_text_types.sql from this list (the length, the rule,
/// `about` as the comment), and the columns of the kinds are of these types: the bounds
/// are written here only. tests/tests/api/text_kinds.rs runs one corpus through each
/// domain and its kind.
pub const SQL_DOMAINS: &[(&str, &TextKind, &str)] = &[
    ("short_name", &SHORT_NAME, "is_plain_text"),
    ("full_name", &FULL_NAME, "is_person_name"),
    ("title", &TITLE, "is_plain_text"),
    ("post_body", &POST_BODY, "is_free_text"),
    ("description", &DESCRIPTION, "is_free_text"),
    ("website", &WEBSITE, "is_https_url"),
    ("upload_name", &UPLOAD_NAME, "is_file_name"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_keep_only_the_allowed_html() {
        let dirty = r#"<p onclick="x()">Hi <b>there</b> <script>alert(1)</script><img src=x onerror=y><a href="javascript:alert(1)">j</a> <a href="https://ok.example" target="_blank">ok</a><a href="/relative">r</a><br><h1>big</h1></p>"#;
        let clean = sanitize_bio(dirty);
        assert!(!clean.contains("script") && !clean.contains("onclick") && !clean.contains("img"));
        assert!(
            !clean.contains("javascript") && !clean.contains("h1") && !clean.contains("target")
        );
        assert!(!clean.contains("/relative"), "{clean}");
        assert!(
            clean.contains("<b>there</b>")
                && clean.contains("https://ok.example")
                && clean.contains("<br>")
        );
    }

    #[test]
    fn field_kinds_check_length_and_rule_with_the_api_messages() {
        let message = |r: Result<(), ValidationError>| r.unwrap_err().message.unwrap().to_string();
        assert!(short_name("Acme").is_ok());
        assert_eq!(message(short_name("")), "must be 1 to 100 characters");
        assert_eq!(
            message(short_name(&"x".repeat(101))),
            "must be 1 to 100 characters"
        );
        assert!(
            short_name(&"é".repeat(100)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            message(short_name("a\u{7}b")),
            "must not contain control characters"
        );
        assert_eq!(
            message(title(&"x".repeat(201))),
            "must be 1 to 200 characters"
        );
        assert_eq!(
            message(post_body(&"x".repeat(20001))),
            "must be at most 20000 characters"
        );
        assert!(post_body("").is_ok());
        assert_eq!(
            message(description(&"x".repeat(1001))),
            "must be at most 1000 characters"
        );
        assert_eq!(
            message(full_name("a;b")),
            "may contain only letters, digits, spaces, - and '"
        );
        assert_eq!(
            message(bio(&"x".repeat(501))),
            "must be at most 500 characters"
        );
        assert_eq!(message(website("http://x.com")), "must be an https:// URL");
        assert_eq!(message(email("not an email")), "must be an email address");
        let label = "b".repeat(60);
        let long = format!("{}@{label}.{label}.{label}.{label}.com", "a".repeat(60));
        assert_eq!(message(email(&long)), "must be at most 254 characters");
        assert_eq!(message(upload_name("")), "must be 1 to 255 characters");
        assert!(upload_name("photo.png").is_ok());
    }

    #[test]
    fn names_websites_and_file_names() {
        assert!(person_name("Anne-Marie O'Neil 2").is_ok());
        assert!(person_name("Zoë Ålund").is_ok());
        assert!(person_name("<b>x</b>").is_err());
        assert!(person_name("a;b").is_err());
        assert!(https_url("https://example.com/me").is_ok());
        assert!(https_url("https://example.com/@me").is_ok());
        assert!(https_url("http://example.com").is_err());
        assert!(https_url("HTTPS://example.com").is_err());
        assert!(https_url("javascript:alert(1)").is_err());
        assert!(https_url("https://user:pw@example.com").is_err());
        assert!(https_url("https:///example.com").is_err());
        assert!(https_url("https://x.com/\u{0}").is_err());
        assert!(https_url("https://x.com/a b").is_err());
        assert!(https_url("https://xn--mnchen-3ya.de/a%20b?q=%C3%BC#top").is_ok());
        assert!(https_url("https://[::1]:8443/x").is_ok());
        for not_a_uri in [
            "https://á¥",
            "https://münchen.de",
            "https://x.com/ü",
            "https://x.com/\"q\"",
            "https://x.com/<b>",
            "https://x.com/a%2",
            "https://x.com/a%zz",
            "https://x.com/a#b#c",
            "https://x.com/{a}|b",
            "https://[",
            "https://x.com:99999/",
        ] {
            assert!(https_url(not_a_uri).is_err(), "{not_a_uri}");
        }
        assert!(file_name("photo (1).png").is_ok());
        assert!(file_name("../etc/passwd").is_err());
        assert!(file_name("a\\b.png").is_err());
        assert!(file_name("a\nb.png").is_err());
        assert!(file_name("..").is_err());
        assert!(file_name(" ").is_err());
    }
}
