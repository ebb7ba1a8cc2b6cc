//! Recovery codes: ten single-use codes shown once when two-factor
//! authentication is turned on, for the day the phone is lost. Each has 50
//! random bits, is throttled like a password, and is kept only as an
//! HMAC-SHA256 under a key derived from the master key: a copy of the
//! database alone cannot be searched for them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const COUNT: usize = 10;
/// The derivation label of the HMAC key (see `MasterKey::derive`).
pub const KEY_LABEL: &str = "textpeak recovery codes v1";
/// No 0/o, 1/l/i: a code is often copied from paper.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789_";
const CHARS: usize = 10;
/// Longer input is not a code; refused before any hashing.
const MAX_INPUT: usize = 64;

pub struct RecoveryKey([u8; 32]);

impl RecoveryKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        RecoveryKey(bytes)
    }

    /// What is stored for a code (as typed: case, spaces and dashes do not matter).
    /// `None` if the input cannot be a code.
    pub fn digest(&self, code: &str) -> Option<Vec<u8>> {
        let normal = normalize(code)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(normal.as_bytes());
        Some(mac.finalize().into_bytes().to_vec())
    }
}

/// `xxxxx-xxxxx`, from 31 unambiguous characters.
pub fn generate() -> Result<Vec<String>, getrandom::Error> {
    let mut codes = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let mut code = String::with_capacity(CHARS + 1);
        while code.len() < CHARS + 1 {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes)?;
            // 31 usable symbols out of 32 slots: rejection keeps them equally likely.
            for b in bytes.into_iter().map(|b| ALPHABET[(b & 31) as usize]).filter(|b| *b != b'_') {
                if code.len() == CHARS / 2 {
                    code.push('-');
                }
                if code.len() < CHARS + 1 {
                    code.push(b as char);
                }
            }
        }
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

fn normalize(code: &str) -> Option<String> {
    if code.len() > MAX_INPUT {
        return None;
    }
    let normal: String =
        code.chars().filter(|c| !matches!(c, ' ' | '-' | '\t')).map(|c| c.to_ascii_lowercase()).collect();
    (normal.len() == CHARS && normal.bytes().all(|b| ALPHABET[..31].contains(&b))).then_some(normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_readable_codes() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-");
            assert!(normalize(code).is_some(), "{code}");
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), COUNT);
        assert_ne!(codes, generate().unwrap());
    }

    #[test]
    fn digests_ignore_case_spaces_and_dashes_but_not_the_key() {
        let key = RecoveryKey::new([3; 32]);
        let code = "abcde-fghjk";
        assert_eq!(key.digest(code), key.digest(" ABCDE FGHJK "));
        assert_ne!(key.digest(code), RecoveryKey::new([4; 32]).digest(code));
        assert_ne!(key.digest(code), key.digest("abcde-fghjm"));
        for junk in ["", "abcde", "abcde-fghjk1", "abcde-fghj0", &"a".repeat(1_000_000)] {
            assert_eq!(key.digest(junk), None, "{junk:?}");
        }
    }
}
