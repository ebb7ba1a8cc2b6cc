//! Every live token's digest, in memory, so that a made-up token is refused
//! without a database query, whatever address it comes from.
//!
//! It keeps the first 8 bytes of each SHA-256 digest. A token that is not a
//! key's matches one of `n` prefixes with probability `n / 2^64` (about
//! 5 × 10^-15 at 100,000 keys, 5 × 10^-14 at a million): in practice never,
//! and a false positive only costs the database lookup every token cost
//! before. Digests are uniformly random, so a prefix is its own hash.
//!
//! It is never wrong the other way for a token it was told of: new tokens
//! are added as they are made (here and, through the change notices, on
//! every instance), and nothing is removed between rebuilds; a deleted
//! token's prefix lingers as a false positive until the next rebuild.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// The first 8 bytes of a token's digest.
pub type Prefix = u64;

pub fn prefix(digest: &[u8; 32]) -> Prefix {
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A prefix is already uniformly random: hashing it again buys nothing.
#[derive(Default)]
pub struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
pub struct TokenIndex {
    prefixes: HashSet<Prefix, BuildHasherDefault<PrefixHasher>>,
}

impl TokenIndex {
    pub fn with_capacity(n: usize) -> Self {
        TokenIndex { prefixes: HashSet::with_capacity_and_hasher(n, BuildHasherDefault::default()) }
    }

    pub fn insert(&mut self, prefix: Prefix) {
        self.prefixes.insert(prefix);
    }

    /// False: no token of any key has this digest. True: one may have.
    pub fn may_contain(&self, prefix: Prefix) -> bool {
        self.prefixes.contains(&prefix)
    }

    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// What the set takes in memory: 8 bytes and a control byte per slot.
    pub fn memory_bytes(&self) -> usize {
        self.prefixes.capacity() * 9
    }

    /// The chance that a made-up token passes, at this size.
    pub fn false_positive_rate(&self) -> f64 {
        self.len() as f64 / 2f64.powi(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u64) -> [u8; 32] {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        d
    }

    #[test]
    fn members_are_found_and_strangers_are_not() {
        let mut index = TokenIndex::with_capacity(1000);
        for n in 0..1000 {
            index.insert(prefix(&digest(n)));
        }
        assert_eq!(index.len(), 1000);
        assert!((0..1000).all(|n| index.may_contain(prefix(&digest(n)))));
        assert_eq!((1000..100_000).filter(|n| index.may_contain(prefix(&digest(*n)))).count(), 0);
        assert!(index.false_positive_rate() < 1e-15);
        assert!(index.memory_bytes() >= 9000);
    }

    #[test]
    fn the_prefix_is_the_digest_start() {
        let mut d = [0u8; 32];
        d[7] = 1;
        d[8] = 0xff;
        assert_eq!(prefix(&d), 1);
    }
}
