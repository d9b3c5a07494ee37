//! GoTrue's checks on what clients send: email addresses, passwords, PKCE parameters.
//! Each answers GoTrue's refusal.

use serde_json::json;

use super::error::{err, ApiError};

/// GoTrue's validateEmail (checkmail's format check), lower-cased.
pub fn validate_email(email: &str) -> Result<String, ApiError> {
    let invalid = || {
        err(
            400,
            "validation_failed",
            "Unable to validate email address: invalid format",
        )
    };
    if email.len() > 255 {
        return Err(err(
            400,
            "validation_failed",
            "An email address is too long",
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !local_ok || !domain.split('.').all(label_ok) {
        return Err(invalid());
    }
    Ok(email.to_lowercase())
}

/// GoTrue's 422 weak_password for a password shorter than 6 characters.
pub fn weak_password() -> ApiError {
    let mut e = err(
        422,
        "weak_password",
        "Password should be at least 6 characters.",
    );
    e.body["weak_password"] = json!({ "reasons": ["length"] });
    e
}

/// GoTrue's checkPasswordStrength with its defaults (6 characters, no required sets).
pub fn check_password_strength(password: &str) -> Result<(), ApiError> {
    if password.len() > 72 {
        let msg = "Password cannot be longer than 72 characters";
        return Err(err(400, "validation_failed", msg));
    }
    if password.len() < 6 {
        return Err(weak_password());
    }
    Ok(())
}

/// GoTrue's validatePKCEParams.
pub fn validate_pkce(method: &str, challenge: &str) -> Result<(), ApiError> {
    if challenge.is_empty() != method.is_empty() {
        let msg = "PKCE flow requires code_challenge_method and code_challenge";
        return Err(err(400, "validation_failed", msg));
    }
    if challenge.is_empty() {
        return Ok(());
    }
    if !(43..=128).contains(&challenge.len()) {
        let msg = "code challenge has to be between 43 and 128 characters";
        return Err(err(400, "validation_failed", msg));
    }
    if !challenge
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
    {
        let msg = "code challenge can only contain alphanumeric characters, hyphens, periods, \
                   underscores and tildes";
        return Err(err(400, "validation_failed", msg));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: ApiError) -> String {
        e.body["msg"].as_str().unwrap().to_string()
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(
            validate_email("Ann.O'Neil+x@Example.ORG").unwrap(),
            "ann.o'neil+x@example.org"
        );
        for bad in [
            "",
            "no-at",
            "@example.org",
            "a@",
            "a@-x.org",
            "a b@x.org",
            "a@x..org",
            "a@x_y.org",
        ] {
            let e = validate_email(bad).unwrap_err();
            assert_eq!(
                (e.status, msg(e)),
                (
                    400,
                    "Unable to validate email address: invalid format".into()
                ),
                "{bad}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(
            msg(validate_email(&long).unwrap_err()),
            "An email address is too long"
        );
    }

    #[test]
    fn passwords_need_6_to_72_bytes() {
        assert!(check_password_strength("123456").is_ok());
        let e = check_password_strength("12345").unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.body["weak_password"], json!({ "reasons": ["length"] }));
        let e = check_password_strength(&"x".repeat(73)).unwrap_err();
        assert_eq!(
            (e.status, msg(e)),
            (400, "Password cannot be longer than 72 characters".into())
        );
    }

    #[test]
    fn pkce_parameters_come_together_and_well_formed() {
        let challenge = "a".repeat(43);
        assert!(validate_pkce("", "").is_ok());
        assert!(validate_pkce("s256", &challenge).is_ok());
        let e = validate_pkce("s256", "").unwrap_err();
        assert_eq!(
            msg(e),
            "PKCE flow requires code_challenge_method and code_challenge"
        );
        let e = validate_pkce("s256", "short").unwrap_err();
        assert_eq!(
            msg(e),
            "code challenge has to be between 43 and 128 characters"
        );
        let e = validate_pkce("s256", &format!("{challenge}!")).unwrap_err();
        assert!(msg(e).starts_with("code challenge can only contain"));
    }
}
