//! How tokens are kept at rest: a SHA-256 digest to find the key when the API is
//! called, and an AES-256-GCM ciphertext under the master key for the eye button.
//! Nothing here stores or logs the plain token.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use std::fmt;

const NONCE_LEN: usize = 12;

/// SHA-256 of a token. The token has 256 bits of entropy, so a fast unsalted
/// hash is safe here (no dictionary to attack) and keeps the API lookup cheap.
pub type TokenDigest = [u8; 32];

pub fn digest(secret: &str) -> TokenDigest {
    Sha256::digest(secret.as_bytes()).into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("is not valid base64")]
    NotBase64,
    #[error("must decode to exactly 32 bytes, not {0}")]
    WrongLength(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the operating system's random generator failed")]
    Random,
    #[error("the ciphertext is damaged or was sealed under another master key")]
    Open,
}

/// The 256-bit key that seals tokens. `Debug` never prints it.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    secret: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(bytes.into()), secret: *bytes }
    }

    /// A key for another purpose (`label`), derived with HKDF-SHA256
    /// (RFC 5869, the `hkdf` crate) so that it says nothing about the master
    /// key, which seals tokens, or about keys of other purposes.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut okm = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(b"textpeak"), &self.secret)
            .expand(label.as_bytes(), &mut okm)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        okm
    }

    pub fn from_base64(encoded: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| MasterKeyError::NotBase64)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A new random key, base64-encoded for a key file or environment variable.
    pub fn generate_base64() -> Result<String, SealError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| SealError::Random)?;
        Ok(STANDARD.encode(bytes))
    }

    /// Encrypts with a fresh random nonce; `context` (the token's digest) is bound
    /// as associated data so a ciphertext copied onto another row fails to open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .map_err(|_| SealError::Random)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context })
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn digest_is_sha256() {
        // NIST test vector for "abc".
        let hex: String = digest("abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn seal_then_open_round_trips() {
        let k = key(1);
        let sealed = k.seal(b"tp_secret", b"ctx").unwrap();
        assert!(!sealed.windows(9).any(|w| w == b"tp_secret"), "plaintext visible");
        assert_eq!(k.open(&sealed, b"ctx").unwrap(), b"tp_secret");
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let k = key(1);
        assert_ne!(k.seal(b"same", b"").unwrap(), k.seal(b"same", b"").unwrap());
    }

    #[test]
    fn open_refuses_wrong_key_wrong_context_and_tampering() {
        let sealed = key(1).seal(b"tp_secret", b"ctx").unwrap();
        assert_eq!(key(2).open(&sealed, b"ctx"), Err(SealError::Open));
        assert_eq!(key(1).open(&sealed, b"other"), Err(SealError::Open));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key(1).open(&tampered, b"ctx"), Err(SealError::Open));
        assert_eq!(key(1).open(&sealed[..5], b"ctx"), Err(SealError::Open));
    }

    #[test]
    fn master_key_parsing_names_the_problem() {
        let generated = MasterKey::generate_base64().unwrap();
        assert!(MasterKey::from_base64(&generated).is_ok());
        assert_eq!(MasterKey::from_base64("not base64!").unwrap_err(), MasterKeyError::NotBase64);
        assert_eq!(MasterKey::from_base64(&STANDARD.encode([0u8; 16])).unwrap_err(), MasterKeyError::WrongLength(16));
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", key(7)), "MasterKey(..)");
    }

    #[test]
    fn derivation_is_rfc_5869_hkdf_sha256() {
        // RFC 5869 appendix A.1's inputs, salt and info as the test case gives them.
        let ikm = [0x0b_u8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(&info, &mut okm).unwrap();
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_master() {
        assert_ne!(key(1).derive("a"), key(1).derive("b"));
        assert_ne!(key(1).derive("a"), key(2).derive("a"));
        assert_eq!(key(1).derive("a"), key(1).derive("a"));
    }
}
