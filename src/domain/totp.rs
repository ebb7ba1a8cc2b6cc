//! Two-factor authentication codes: TOTP as RFC 6238 and every authenticator
//! app have it (HMAC-SHA-1, 6 digits, 30-second steps), on `totp-rs`. A code
//! is accepted one step early or late (clocks drift, people type slowly),
//! and a step once accepted is never accepted again for the same admin
//! (RFC 6238 §5.2): the caller stores the step this returns.

use qrcode::QrCode;
use qrcode::render::svg;
use std::fmt;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// 160 bits, RFC 4226's recommended length for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;
pub const STEP_SECONDS: u64 = 30;
/// What the authenticator app shows above the code.
pub const ISSUER: &str = "TextPeak";

/// A TOTP secret. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("Enter the 6-digit code from your authenticator app.")]
    Malformed,
    #[error("That code is not right. Enter the code your authenticator app shows now.")]
    Wrong,
    #[error("That code was already used. Wait for the next one.")]
    Replayed,
}

impl TotpSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(TotpSecret(bytes))
    }

    /// A stored secret (after unsealing); `None` if it is not one.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() == SECRET_BYTES).then_some(TotpSecret(bytes))
    }

    /// A Setup key as an app would read it (tests compute codes from what the page shows).
    pub fn from_base32(key: &str) -> Option<Self> {
        let bytes = Secret::try_from_base32(key.trim()).ok()?.as_bytes().to_vec();
        Self::from_bytes(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The Setup key, as an app asks for it when the QR code cannot be scanned.
    pub fn base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, account: &str) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.clone())
            .with_issuer(Some(ISSUER))
            .with_account_name(account.replace(':', "_"))
            .build_noncompliant()
    }

    /// The `otpauth://` URI the QR code carries.
    pub fn uri(&self, account: &str) -> String {
        self.totp(account).to_url().unwrap_or_default()
    }

    /// The code an app shows at `now_ms` (tests, and nothing else).
    pub fn code_at(&self, now_ms: i64) -> String {
        self.totp("").generate(now_ms.max(0) as u64 / 1000).to_string()
    }

    /// The time step `code` matches at `now_ms`. `last_step` is the step
    /// accepted last for this admin: it and earlier ones are refused.
    pub fn check(&self, code: &str, now_ms: i64, last_step: Option<i64>) -> Result<i64, CodeError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::Malformed);
        }
        let step = self.totp("").check(&code, now_ms.max(0) as u64 / 1000).ok_or(CodeError::Wrong)? as i64;
        if last_step.is_some_and(|last| step <= last) {
            return Err(CodeError::Replayed);
        }
        Ok(step)
    }
}

/// The QR code of `uri` as an SVG document, drawn on the server.
pub fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, with the 8-digit codes cut to their last 6.
    #[test]
    fn matches_the_rfc_test_vectors() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (seconds, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(secret.code_at(seconds * 1000), code, "at {seconds}");
            assert_eq!(secret.check(code, seconds * 1000, None), Ok(seconds / 30));
        }
    }

    #[test]
    fn one_step_of_skew_and_no_replay() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_795_838_400_000;
        let code = secret.code_at(now);
        let step = secret.check(&code, now, None).unwrap();
        assert_eq!(secret.check(&code, now + 30_000, None), Ok(step), "typed as the step turned");
        assert_eq!(secret.check(&code, now + 90_000, None), Err(CodeError::Wrong), "too late");
        assert_eq!(secret.check(&code, now, Some(step)), Err(CodeError::Replayed));
        let next = secret.code_at(now + 30_000);
        assert_eq!(secret.check(&next, now + 30_000, Some(step)), Ok(step + 1));
        assert_eq!(secret.check(&format!("{} {}", &code[..3], &code[3..]), now, None), Ok(step), "spaces are ignored");
        for junk in ["", "12345", "1234567", "12345a", "+12345", &"9".repeat(1_000_000)] {
            assert_eq!(secret.check(junk, now, None), Err(CodeError::Malformed));
        }
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret_for_apps() {
        let secret = TotpSecret::from_bytes(vec![7; SECRET_BYTES]).unwrap();
        let uri = secret.uri("alice@example.com");
        assert!(uri.starts_with("otpauth://totp/TextPeak:alice%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(uri.contains("issuer=TextPeak"), "{uri}");
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{}", &svg[..40]);
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
        assert!(TotpSecret::from_bytes(vec![1; 10]).is_none());
        assert_eq!(TotpSecret::from_base32(&secret.base32()), Some(secret));
    }
}
