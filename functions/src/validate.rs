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

/// An `https://` URL with a host and no user info, written without spaces or control
/// characters (`private.is_https_url`). Checked on the text as sent, which is what is
/// stored, and parsed as a URL.
pub fn https_url(value: &str) -> Result<(), ValidationError> {
    let err = || ValidationError::new("https_url").with_message("must be an https:// URL".into());
    let rest = value.strip_prefix("https://").ok_or_else(err)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty()
        || authority.contains('@')
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
    {
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

/// A workspace, project or site name: 1 to 100 characters of plain text.
pub fn short_name(value: &str) -> Result<(), ValidationError> {
    chars(value, 1, 100)?;
    plain_text(value)
}

/// A person's name: 1 to 100 characters, letters, digits, spaces, - and '.
pub fn full_name(value: &str) -> Result<(), ValidationError> {
    chars(value, 1, 100)?;
    person_name(value)
}

/// A post title: 1 to 200 characters of plain text.
pub fn title(value: &str) -> Result<(), ValidationError> {
    chars(value, 1, 200)?;
    plain_text(value)
}

/// A post body: at most 20000 characters of free text.
pub fn post_body(value: &str) -> Result<(), ValidationError> {
    chars(value, 0, 20000)?;
    free_text(value)
}

/// A project description: at most 1000 characters of free text.
pub fn description(value: &str) -> Result<(), ValidationError> {
    chars(value, 0, 1000)?;
    free_text(value)
}

/// A profile bio as sent (sanitized afterwards): at most 500 characters of free text.
pub fn bio(value: &str) -> Result<(), ValidationError> {
    chars(value, 0, 500)?;
    free_text(value)
}

/// A profile website: an https:// URL of at most 300 characters.
pub fn website(value: &str) -> Result<(), ValidationError> {
    chars(value, 0, 300)?;
    https_url(value)
}

/// An email address of at most 254 characters.
pub fn email(value: &str) -> Result<(), ValidationError> {
    if !value.validate_email() {
        return Err(ValidationError::new("email").with_message("must be an email address".into()));
    }
    chars(value, 0, 254)
}

/// An upload's file name: 1 to 255 characters, a plain file name.
pub fn upload_name(value: &str) -> Result<(), ValidationError> {
    chars(value, 1, 255)?;
    file_name(value)
}

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
        assert!(file_name("photo (1).png").is_ok());
        assert!(file_name("../etc/passwd").is_err());
        assert!(file_name("a\\b.png").is_err());
        assert!(file_name("a\nb.png").is_err());
        assert!(file_name("..").is_err());
        assert!(file_name(" ").is_err());
    }
}
