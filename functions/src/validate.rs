//! The text rules of user-writable fields, each mirrored by a SQL function of the same
//! name in `supabase/migrations/20261201000000_database_refuses.sql` (`private.is_*`) that
//! a CHECK constraint applies. `tests/tests/api/direct_postgrest.rs` runs one corpus through
//! both sides and fails when they disagree.
//!
//! (`shared::input::plain_text` and `free_text` are the two general ones.)

use validator::ValidationError;

pub use shared::input::{free_text, plain_text};

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
