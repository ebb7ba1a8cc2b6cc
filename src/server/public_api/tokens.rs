//! The in-memory index of every token's digest (`domain::token_index`),
//! kept current: loaded at start, told of each new token by the change seam
//! (here, and on other instances through the same notice as the cache),
//! caught up every few seconds on tokens other processes made (SQLite has no
//! notices), and rebuilt hourly and whenever this instance may have missed
//! notices. While it may be incomplete it is not trusted: lookups then go to
//! the database, as they did before it existed.

use crate::db::service::api_keys;
use crate::domain::crypto::TokenDigest;
use crate::domain::token_index::{Prefix, TokenIndex, prefix};
use sea_orm::{ConnectionTrait, DbErr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// How far back each catch-up looks: a token committed this long after it
/// was made is still found (transactions are short; notices come sooner).
pub const CATCH_UP_OVERLAP_MS: i64 = 60_000;

#[derive(Default)]
pub struct Tokens {
    index: RwLock<TokenIndex>,
    trusted: AtomicBool,
    /// Prefixes learned while a reload reads the table, merged in when it is done.
    learned_while_loading: Mutex<Option<Vec<Prefix>>>,
}

/// What a load found and what it took.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub tokens: usize,
    pub took: Duration,
    pub memory_bytes: usize,
}

fn prefixes(digests: Vec<Vec<u8>>) -> impl Iterator<Item = Prefix> {
    digests.into_iter().filter_map(|d| TokenDigest::try_from(d.as_slice()).ok()).map(|d| prefix(&d))
}

impl Tokens {
    /// `Some(false)`: no token has this digest, for certain. `None`: the index
    /// may be incomplete, ask the database.
    pub fn may_exist(&self, digest: &TokenDigest) -> Option<bool> {
        if !self.trusted.load(Ordering::Acquire) {
            return None;
        }
        Some(self.read().may_contain(prefix(digest)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TokenIndex> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, TokenIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token (made here, or announced by another instance).
    pub fn learn(&self, prefix: Prefix) {
        self.write().insert(prefix);
        if let Some(recent) = self.learned().as_mut() {
            recent.push(prefix);
        }
    }

    fn learned(&self) -> std::sync::MutexGuard<'_, Option<Vec<Prefix>>> {
        self.learned_while_loading.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notices may have been missed: until a reload, lookups go to the database.
    pub fn distrust(&self) {
        self.trusted.store(false, Ordering::Release);
    }

    pub fn trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// Reads every token's digest and replaces the index; trusted after.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<Loaded, DbErr> {
        let started = Instant::now();
        *self.learned() = Some(Vec::new());
        let digests = match api_keys::all_digests(db).await {
            Ok(digests) => digests,
            Err(e) => {
                *self.learned() = None;
                return Err(e);
            }
        };
        let mut index = TokenIndex::with_capacity(digests.len());
        for p in prefixes(digests) {
            index.insert(p);
        }
        let mut current = self.write();
        for p in self.learned().take().unwrap_or_default() {
            index.insert(p);
        }
        let loaded = Loaded { tokens: index.len(), took: started.elapsed(), memory_bytes: index.memory_bytes() };
        *current = index;
        drop(current);
        self.trusted.store(true, Ordering::Release);
        Ok(loaded)
    }

    /// Adds the tokens made since `since` (other processes' among them).
    pub async fn catch_up(&self, db: &impl ConnectionTrait, since: i64) -> Result<usize, DbErr> {
        let found = api_keys::digests_since(db, since).await?;
        let n = found.len();
        let mut index = self.write();
        for p in prefixes(found) {
            index.insert(p);
        }
        Ok(n)
    }

    /// Adds one key's tokens (a notice named the key).
    pub async fn learn_key(&self, db: &impl ConnectionTrait, key_id: i32) -> Result<(), DbErr> {
        let found = api_keys::digests_of_key(db, key_id).await?;
        for p in prefixes(found) {
            self.learn(p);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn memory_bytes(&self) -> usize {
        self.read().memory_bytes()
    }
}
