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

use crate::server::public_api::verifier::Verifier;
use crate::server::state::AppState;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement};
use std::future::Future;

/// What a change touched, as the verifier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A key was created, edited or deleted: its tokens are read afresh.
    Key(i32),
    /// An IP ACL was edited or deleted: every key on it is read afresh.
    Acl(i32),
}

/// The channel instances announce and hear changes on.
pub const CHANNEL: &str = "textpeak_changes";

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
    }
    commit_with(&state.verifier, changes, txn.commit()).await
}

/// `k12,a3`: key 12 and IP ACL 3 changed.
pub fn encode(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|change| match change {
            Change::Key(id) => format!("k{id}"),
            Change::Acl(id) => format!("a{id}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The changes a notification names; `None` if it cannot be read.
pub fn decode(payload: &str) -> Option<Vec<Change>> {
    payload
        .split(',')
        .map(|part| match part.split_at_checked(1)? {
            ("k", id) => id.parse().ok().map(Change::Key),
            ("a", id) => id.parse().ok().map(Change::Acl),
            _ => None,
        })
        .collect()
}

/// Tells the verifier about changes (made here, or heard from another instance).
pub fn forget(verifier: &Verifier, changes: &[Change]) {
    for change in changes {
        match *change {
            Change::Key(id) => verifier.forget_key(id),
            Change::Acl(id) => verifier.forget_acl(id),
        }
    }
}

/// [`commit`] with the commit itself given as a future (tests hold it at the
/// commit to drop it there).
pub async fn commit_with(
    verifier: &Verifier,
    changes: &[Change],
    commit: impl Future<Output = Result<(), DbErr>>,
) -> Result<(), DbErr> {
    let _forget = ForgetOnDrop { verifier, changes };
    verifier.begin_change();
    commit.await
}

struct ForgetOnDrop<'a> {
    verifier: &'a Verifier,
    changes: &'a [Change],
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        forget(self.verifier, self.changes);
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
        let changes = [Change::Key(12), Change::Acl(3)];
        assert_eq!(encode(&changes), "k12,a3");
        assert_eq!(decode("k12,a3"), Some(changes.to_vec()));
        for junk in ["", "x1", "k", "kk", "k1,", "a-"] {
            assert_eq!(decode(junk), None, "{junk:?}");
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
}
