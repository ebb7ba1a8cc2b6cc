//! The API token format: `tp_` + 43 base62 characters carrying 32 random bytes
//! + a 6-character base62 CRC32 of everything before it.
//!
//! The checksum (as in GitHub's token format) lets the API refuse a mistyped or
//! made-up token before any lookup, and lets secret scanners recognise a leaked
//! token without a false positive on every 52-character string.

use std::fmt;

pub const PREFIX: &str = "tp_";
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 62^43 > 2^256 > 62^42: every 32-byte value fits in 43 digits.
pub const SECRET_LEN: usize = 43;
/// 62^6 > 2^32: every CRC32 fits in 6 digits.
pub const CHECKSUM_LEN: usize = 6;
pub const TOKEN_LEN: usize = PREFIX.len() + SECRET_LEN + CHECKSUM_LEN;
/// How many trailing characters the console may show of a token.
pub const VISIBLE_SUFFIX_LEN: usize = 4;

/// Why a presented string is not a token; the API answers 401 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token does not have the TextPeak format")]
    Malformed,
    #[error("the token's checksum does not match")]
    BadChecksum,
}

/// A token in the TextPeak format. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Makes a new token from 32 bytes of the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_secret_bytes(bytes))
    }

    /// Encodes the given secret bytes; `generate` is the only caller outside tests.
    pub fn from_secret_bytes(mut bytes: [u8; 32]) -> Self {
        let mut token = String::with_capacity(TOKEN_LEN);
        token.push_str(PREFIX);
        token.push_str(&base62_fixed(&mut bytes, SECRET_LEN));
        let checksum = crc32fast::hash(token.as_bytes());
        token.push_str(&base62_fixed(&mut checksum.to_be_bytes(), CHECKSUM_LEN));
        Token(token)
    }

    /// Checks the shape and checksum of a presented token without touching any store.
    pub fn parse(candidate: &str) -> Result<Self, TokenError> {
        let bytes = candidate.as_bytes();
        if bytes.len() != TOKEN_LEN
            || !candidate.starts_with(PREFIX)
            || !bytes[PREFIX.len()..].iter().all(u8::is_ascii_alphanumeric)
        {
            return Err(TokenError::Malformed);
        }
        let (body, checksum) = candidate.split_at(TOKEN_LEN - CHECKSUM_LEN);
        let expected = base62_fixed(&mut crc32fast::hash(body.as_bytes()).to_be_bytes(), CHECKSUM_LEN);
        if checksum != expected {
            return Err(TokenError::BadChecksum);
        }
        Ok(Token(candidate.to_owned()))
    }

    /// The whole secret: only for the create dialog, the eye button and hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last characters the console shows next to the prefix.
    pub fn visible_suffix(&self) -> &str {
        &self.0[TOKEN_LEN - VISIBLE_SUFFIX_LEN..]
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", masked(self.visible_suffix()))
    }
}

/// What the API keys table shows in place of a token.
pub fn masked(visible_suffix: &str) -> String {
    format!("{PREFIX}••••••••{visible_suffix}")
}

/// Big-endian bytes as exactly `digits` base62 digits, most significant first.
/// Fixed width keeps every token the same length (leading zeros stay as '0').
fn base62_fixed(number: &mut [u8], digits: usize) -> String {
    let mut out = vec![b'0'; digits];
    for slot in out.iter_mut().rev() {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *slot = ALPHABET[remainder as usize];
    }
    debug_assert!(number.iter().all(|b| *b == 0), "value does not fit in {digits} digits");
    String::from_utf8(out).expect("alphabet is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = Token::generate().unwrap();
        let s = token.expose();
        assert_eq!(s.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 52);
        assert!(s.starts_with("tp_"));
        assert!(s[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(Token::parse(s).unwrap(), token);
    }

    #[test]
    fn generated_tokens_differ() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn base62_is_fixed_width_and_exact() {
        assert_eq!(base62_fixed(&mut [0, 0, 0, 0], 6), "000000");
        assert_eq!(base62_fixed(&mut [0, 0, 0, 61], 6), "00000z");
        assert_eq!(base62_fixed(&mut [0, 0, 0, 62], 6), "000010");
        let s = base62_fixed(&mut u32::MAX.to_be_bytes(), 6);
        let decoded = s.bytes().fold(0u64, |acc, c| acc * 62 + ALPHABET.iter().position(|a| *a == c).unwrap() as u64);
        assert_eq!(decoded, u64::from(u32::MAX));
        // The largest 32-byte value still fits in 43 digits.
        assert_eq!(base62_fixed(&mut [0xff; 32], SECRET_LEN).len(), SECRET_LEN);
        assert_eq!(base62_fixed(&mut [0; 32], SECRET_LEN), "0".repeat(SECRET_LEN));
    }

    #[test]
    fn checksum_catches_a_single_changed_character() {
        let token = Token::from_secret_bytes([7; 32]);
        let s = token.expose().to_owned();
        for i in PREFIX.len()..TOKEN_LEN {
            let mut changed = s.clone().into_bytes();
            changed[i] = if changed[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(changed).unwrap();
            assert_eq!(Token::parse(&changed), Err(TokenError::BadChecksum), "position {i}");
        }
    }

    #[test]
    fn malformed_tokens_are_refused_before_the_checksum() {
        let good = Token::from_secret_bytes([1; 32]).expose().to_owned();
        assert_eq!(Token::parse(""), Err(TokenError::Malformed));
        assert_eq!(Token::parse(&good[..51]), Err(TokenError::Malformed));
        assert_eq!(Token::parse(&format!("{good}x")), Err(TokenError::Malformed));
        assert_eq!(Token::parse(&good.replacen("tp_", "sk_", 1)), Err(TokenError::Malformed));
        let with_symbol = format!("{}-{}", &good[..10], &good[11..]);
        assert_eq!(Token::parse(&with_symbol), Err(TokenError::Malformed));
        // Multi-byte characters cannot slip past the length check.
        let unicode = format!("tp_{}", "é".repeat(24) + "a");
        assert_eq!(unicode.len(), TOKEN_LEN);
        assert_eq!(Token::parse(&unicode), Err(TokenError::Malformed));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let token = Token::from_secret_bytes([9; 32]);
        let shown = format!("{token:?}");
        assert!(!shown.contains(&token.expose()[3..40]));
        assert!(shown.ends_with(&format!("{})", token.visible_suffix())));
    }

    #[test]
    fn masked_shows_prefix_and_last_four() {
        let token = Token::from_secret_bytes([3; 32]);
        let m = masked(token.visible_suffix());
        assert!(m.starts_with("tp_"));
        assert!(m.ends_with(&token.expose()[48..]));
        assert!(!m.contains(&token.expose()[3..48]));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn any_string_is_parsed_without_panic(s in prop_oneof![any::<String>(), "tp_[0-9A-Za-z]{40,52}"]) {
            let _ = Token::parse(&s);
        }

        /// Every token made from any 32 bytes parses back, and no single changed
        /// character of it passes the checksum.
        #[test]
        fn tokens_round_trip_and_typos_are_caught(bytes in any::<[u8; 32]>(), at in PREFIX.len()..TOKEN_LEN, c in "[0-9A-Za-z]") {
            let token = Token::from_secret_bytes(bytes);
            prop_assert_eq!(Token::parse(token.expose()), Ok(token.clone()));
            let mut typo = token.expose().to_owned();
            typo.replace_range(at..at + 1, &c);
            if typo != token.expose() {
                prop_assert!(Token::parse(&typo).is_err());
            }
        }
    }
}
