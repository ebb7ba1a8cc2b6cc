//! The one seam every committed change goes through: [`commit`] commits a
//! transaction and makes sure the token verifier forgets what the change
//! touched, whatever happens to the request meanwhile.
//!
//! On PostgreSQL the change is also announced with `NOTIFY`, inside the
//! transaction, so other instances hear of it exactly when it commits (see
//! `jobs::listener`), and never of a change that rolled back.
//!
//! Cancel safety matters here: a request whose client hangs up while COMMIT
//! runs is dropped at that await, and any code written after it never runs.
//! So the verifier is told before the commit (lookups under way must not keep
//! what they read) and again by a guard's `Drop` once the commit is over or
//! abandoned, which runs however the future ends. Forgetting too much costs
//! one database lookup; forgetting too little would let a deleted key pass.

use crate::domain::token_index::Prefix;
use crate::server::public_api::cache::Touch;
use crate::server::public_api::verifier::Verifier;
use crate::server::state::AppState;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use std::future::Future;

/// What a change touched, as the verifier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A key was edited, rolled, disabled or deleted: its tokens are read afresh.
    Key(i32),
    /// An IP ACL was edited or deleted: every key on it is read afresh.
    Acl(i32),
    /// A token was made (a new key, a roll): every instance's token index
    /// learns it, or it would refuse it as made up.
    Token(Prefix),
}

/// The channel instances announce and hear changes on.
pub const CHANNEL: &str = "textpeak_changes";
/// What each instance sends on the channel every few seconds, so that a
/// listening connection that hears nothing knows it is no longer heard.
pub const HEARTBEAT: &str = "p";

/// Commits `txn` and sends `changes` to the verifier, cancel-safely, and to
/// every other instance on PostgreSQL.
pub async fn commit(state: &AppState, txn: DatabaseTransaction, changes: &[Change]) -> Result<(), DbErr> {
    if !changes.is_empty() && txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), encode(changes).into()],
        ))
        .await?;
        crate::server::metrics::changes_published(changes.len());
    }
    let committed = commit_with(&state.verifier, changes, txn.commit()).await;
    state.overview.invalidate();
    committed
}

/// `k12,a3,t00ff…`: key 12 and IP ACL 3 changed, a token with that digest prefix was made.
pub fn encode(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|change| match change {
            Change::Key(id) => format!("k{id}"),
            Change::Acl(id) => format!("a{id}"),
            Change::Token(prefix) => format!("t{prefix:016x}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The changes a notification names (none for a heartbeat); `None` if it cannot be read.
pub fn decode(payload: &str) -> Option<Vec<Change>> {
    if payload == HEARTBEAT {
        return Some(Vec::new());
    }
    payload
        .split(',')
        .map(|part| match part.split_at_checked(1)? {
            ("k", id) => id.parse().ok().map(Change::Key),
            ("a", id) => id.parse().ok().map(Change::Acl),
            ("t", hex) if hex.len() == 16 => u64::from_str_radix(hex, 16).ok().map(Change::Token),
            _ => None,
        })
        .collect()
}

fn touches(changes: &[Change]) -> Vec<Touch> {
    changes
        .iter()
        .filter_map(|change| match *change {
            Change::Key(id) => Some(Touch::Key(id)),
            Change::Acl(id) => Some(Touch::Acl(id)),
            Change::Token(_) => None,
        })
        .collect()
}

fn learn(verifier: &Verifier, changes: &[Change]) {
    for change in changes {
        if let Change::Token(prefix) = change {
            verifier.tokens().learn(*prefix);
        }
    }
}

/// Tells the verifier about changes heard from another instance.
pub fn forget(verifier: &Verifier, changes: &[Change]) {
    learn(verifier, changes);
    verifier.cache().forget(&touches(changes));
}

/// [`commit`] with the commit itself given as a future (tests hold it at the
/// commit to drop it there).
pub async fn commit_with(
    verifier: &Verifier,
    changes: &[Change],
    commit: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    // New tokens are known before the commit: a request that comes the
    // moment it lands finds them (a rolled-back one is a harmless extra).
    learn(verifier, changes);
    verifier.cache().begin_change();
    let mut guard = ForgetOnDrop { verifier, changes, settled: false };
    let result = commit.await;
    guard.settled = true;
    result
}

struct ForgetOnDrop<'a> {
    verifier: &'a Verifier,
    changes: &'a [Change],
    /// The commit returned (done or failed); false if it was abandoned.
    settled: bool,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        let touched = touches(self.changes);
        if self.settled {
            self.verifier.cache().forget(&touched);
        } else {
            // Dropped mid-commit: on SQLite the COMMIT may still land after
            // this runs, and a lookup in between would cache the old state.
            self.verifier.cache().unsettle(&touched);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::Token;
    use crate::server::public_api::verifier::fixtures::{acl, key, token};
    use std::net::IpAddr;
    use std::time::Duration;

    fn cached(verifier: &Verifier, id: i32) -> Token {
        let t = Token::generate().unwrap();
        verifier.preload(&token(id, &t), &key(id, 1), &acl(1, "0.0.0.0/0"));
        t
    }

    fn client() -> IpAddr {
        "192.0.2.1".parse().unwrap()
    }

    /// The request is dropped at the commit, after the database committed:
    /// before this seam, the forget call after `commit().await` never ran
    /// and the deleted key kept passing from the cache for 30 s.
    #[tokio::test]
    async fn a_change_dropped_during_its_commit_still_reaches_the_verifier() {
        let verifier = Verifier::default();
        let token = cached(&verifier, 7);
        let other = cached(&verifier, 8);
        let stuck_after_commit = async {
            // The COMMIT went through; the client hangs up before we hear back.
            std::future::pending::<()>().await;
            Ok(())
        };
        let change = commit_with(&verifier, &[Change::Key(7)], stuck_after_commit);
        assert!(tokio::time::timeout(Duration::from_millis(20), change).await.is_err(), "the request was dropped");
        assert_eq!(verifier.verify_cached(token.expose(), client()), None, "the key is read afresh");
        assert!(verifier.verify_cached(other.expose(), client()).is_some(), "other keys stay cached");
    }

    #[test]
    fn notifications_name_what_changed() {
        let changes = [Change::Key(12), Change::Acl(3), Change::Token(0x00ff_0000_0000_0001)];
        assert_eq!(encode(&changes), "k12,a3,t00ff000000000001");
        assert_eq!(decode("k12,a3,t00ff000000000001"), Some(changes.to_vec()));
        assert_eq!(decode(HEARTBEAT), Some(vec![]));
        for junk in ["", "x1", "k", "kk", "k1,", "a-", "t12", "tzzzzzzzzzzzzzzzz"] {
            assert_eq!(decode(junk), None, "{junk:?}");
        }
    }

    /// On SQLite, a COMMIT abandoned by its request can land after the drop
    /// guard ran; a lookup in that gap used to cache the deleted key for 30 s.
    #[tokio::test]
    async fn an_abandoned_commit_keeps_its_key_out_of_the_cache_until_it_settles() {
        use crate::server::public_api::cache::{Cached, CachedAcl, CachedKey};
        use std::sync::Arc;
        use std::time::Instant;
        let entry = |key_id: i32| {
            let key = CachedKey {
                key_id,
                account_id: 1,
                token_id: key_id,
                acl_id: 1,
                disabled: false,
                key_expires_at: None,
                token_expires_at: None,
                token_ended: false,
                access: Default::default(),
                limit: None,
                answers: Default::default(),
                loaded: Instant::now(),
            };
            let acl = CachedAcl {
                name: "a".into(),
                acl: crate::domain::acl::Acl::from_stored("0.0.0.0/0"),
                report_only: false,
            };
            (key, Arc::new(acl))
        };
        let verifier = Verifier::default();
        let stuck = async {
            std::future::pending::<()>().await;
            Ok(())
        };
        let change = commit_with(&verifier, &[Change::Key(7)], stuck);
        assert!(tokio::time::timeout(Duration::from_millis(20), change).await.is_err());
        // Lookups in the gap read the key as it still is: key 7's is not kept, another key's is.
        for id in [7, 8] {
            let digest = crate::domain::crypto::digest(Token::generate().unwrap().expose());
            let (key, acl) = entry(id);
            verifier.cache().keep(verifier.cache().generation(), digest, key, 1, acl);
            let kept = matches!(verifier.cache().get(&digest, Instant::now()), Cached::Hit(..));
            assert_eq!(kept, id == 8, "key {id}");
        }
    }

    #[tokio::test]
    async fn a_failed_commit_forgets_too() {
        let verifier = Verifier::default();
        cached(&verifier, 3);
        let failed = async { Err(DbErr::Custom("disk full".into())) };
        assert!(commit_with(&verifier, &[Change::Acl(1)], failed).await.is_err());
        assert_eq!(verifier.cached_keys(), 0);
    }

    #[tokio::test]
    async fn a_new_token_is_known_before_its_commit_lands() {
        let verifier = Verifier::default();
        let db = crate::db::connect("sqlite::memory:").await.unwrap();
        verifier.tokens().reload(&db).await.unwrap();
        let t = Token::generate().unwrap();
        let d = crate::domain::crypto::digest(t.expose());
        assert_eq!(verifier.tokens().may_exist(&d), Some(false));
        let prefix = crate::domain::token_index::prefix(&d);
        let seen = std::cell::Cell::new(None);
        commit_with(&verifier, &[Change::Token(prefix)], async {
            seen.set(verifier.tokens().may_exist(&d));
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(seen.get(), Some(true));
    }
}
