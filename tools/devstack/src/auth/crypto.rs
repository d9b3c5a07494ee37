//! GoTrue's crypto package, the parts the stand-in uses: random bytes, refresh tokens and
//! one-time passwords.

use std::fmt::Write as _;

use super::error::{internal, ApiError};

pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| internal("Error generating random data", e))?;
    Ok(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// GoTrue's legacy refresh tokens: 12 random lower-case base32 characters.
pub fn new_refresh_token() -> Result<String, ApiError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).map_err(|e| internal("Error generating refresh token", e))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect())
}

/// GoTrue's crypto.GenerateOtp(6).
pub fn new_otp() -> Result<String, ApiError> {
    let n = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000;
    Ok(format!("{n:06}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_gotrue_shapes() {
        let token = new_refresh_token().unwrap();
        assert_eq!(token.len(), 12);
        assert!(token
            .bytes()
            .all(|b| b"abcdefghijklmnopqrstuvwxyz234567".contains(&b)));
        let otp = new_otp().unwrap();
        assert!(otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
