//! Admin passwords, kept as Argon2id hashes (the `argon2` crate, RustCrypto;
//! OWASP's recommended parameters, which are its defaults: 19 MiB, t=2, p=1).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_LEN} characters")]
    TooShort,
    #[error("the password must have at most {MAX_LEN} characters")]
    TooLong,
    #[error("the operating system's random generator failed")]
    Random,
    #[error("hashing failed: {0}")]
    Hash(String),
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Checks the length rules for a new password.
pub fn check_new(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        Err(PasswordError::TooShort)
    } else if chars > MAX_LEN {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// Hashes a new password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> Result<String, PasswordError> {
    check_new(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks a password against a stored hash; a damaged hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LEN * 4 {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Spends the time of a real verification when the username does not exist,
/// so response times do not tell which usernames are real.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("a password nobody has").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// A random password for the first admin when none is configured: 20 characters
/// of base62, about 119 bits.
pub fn generate() -> Result<String, PasswordError> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| PasswordError::Random)?;
        // Rejection sampling keeps every character equally likely.
        for b in bytes.into_iter().filter(|b| *b < 248) {
            if out.len() < 20 {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
    }

    #[test]
    fn the_same_password_hashes_differently() {
        assert_ne!(hash("same password 1").unwrap(), hash("same password 1").unwrap());
    }

    #[test]
    fn new_passwords_need_twelve_characters() {
        assert_eq!(check_new("short"), Err(PasswordError::TooShort));
        assert_eq!(check_new("twelve chars"), Ok(()));
        assert_eq!(hash("elevenchars"), Err(PasswordError::TooShort));
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate().unwrap();
        assert_eq!(a.len(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, generate().unwrap());
        assert!(check_new(&a).is_ok());
    }
}
