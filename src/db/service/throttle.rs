//! Counters of failed sign-ins, kept in the database so that every instance on
//! a shared database sees the same counts: the sixth wrong password in a
//! minute is refused whichever instance it reaches.
//!
//! The algorithm is GCRA, the one `governor` runs in memory: each key holds a
//! theoretical arrival time (`tat`); a failure is admitted while `tat` is at
//! most `burst - 1` intervals ahead of now, and moves it one interval on.
//! Taking a cell is one conditional UPDATE, so concurrent attempts on any
//! number of instances can never take more cells than there are.

use crate::db::entities::sign_in_throttle::{self as row, Column, Entity};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// `burst` failures, then one more every `interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub interval_ms: i64,
    pub burst: i64,
}

impl Quota {
    /// `n` failures a minute: all at once, then one every 60/n seconds.
    pub const fn per_minute(n: i64) -> Self {
        Quota { interval_ms: 60_000 / n, burst: n }
    }

    /// The latest `tat` at which one more cell may still be taken at `now`.
    fn ceiling(&self, now: i64) -> i64 {
        now + self.interval_ms * (self.burst - 1)
    }

    /// How long after `now` a key at `tat` has a cell again (0 if it has one).
    pub fn wait_ms(&self, tat: i64, now: i64) -> i64 {
        std::cmp::max(tat - self.ceiling(now), 0)
    }
}

/// Takes one cell of `key` at `now`: `Ok(())` if one was left, or how many
/// milliseconds until the next one.
pub async fn take(db: &impl ConnectionTrait, key: &str, now: i64, quota: Quota) -> Result<Result<(), i64>, DbErr> {
    // A key seen for the first time starts with its whole allowance.
    Entity::insert(row::ActiveModel { key: Set(key.to_owned()), tat: Set(now) })
        .on_conflict_do_nothing_on([Column::Key])
        .exec(db)
        .await?;
    let later_of_tat_and_now = Expr::case(Expr::col(Column::Tat).gt(now), Expr::col(Column::Tat)).finally(now);
    let taken = Entity::update_many()
        .col_expr(Column::Tat, later_of_tat_and_now.add(quota.interval_ms))
        .filter(Column::Key.eq(key))
        .filter(Column::Tat.lte(quota.ceiling(now)))
        .exec(db)
        .await?;
    if taken.rows_affected == 1 {
        return Ok(Ok(()));
    }
    let tat = tat_of(db, key).await?.unwrap_or(now);
    Ok(Err(std::cmp::max(quota.wait_ms(tat, now), 1)))
}

/// Gives back a cell taken by [`take`] (the attempt succeeded after all).
pub async fn refund(db: &impl ConnectionTrait, key: &str, quota: Quota) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(Column::Tat, Expr::col(Column::Tat).sub(quota.interval_ms))
        .filter(Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}

/// How long `key` must wait at `now`, without taking anything.
pub async fn wait(db: &impl ConnectionTrait, key: &str, now: i64, quota: Quota) -> Result<Option<i64>, DbErr> {
    Ok(tat_of(db, key).await?.map(|tat| quota.wait_ms(tat, now)).filter(|wait| *wait > 0))
}

/// Forgets the keys whose allowance is whole again: they behave exactly like
/// keys never seen, so the table holds only what failed in the last minute.
pub async fn prune(db: &impl ConnectionTrait, now: i64) -> Result<u64, DbErr> {
    Ok(Entity::delete_many().filter(Column::Tat.lte(now)).exec(db).await?.rows_affected)
}

async fn tat_of(db: &impl ConnectionTrait, key: &str) -> Result<Option<i64>, DbErr> {
    Ok(Entity::find_by_id(key.to_owned()).one(db).await?.map(|row| row.tat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    const FIVE: Quota = Quota::per_minute(5);

    #[tokio::test]
    async fn five_then_one_every_twelve_seconds() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let t0 = 1_000_000;
        for attempt in 1..=5 {
            assert_eq!(take(&db, "user:admin", t0, FIVE).await.unwrap(), Ok(()), "attempt {attempt}");
        }
        assert_eq!(take(&db, "user:admin", t0, FIVE).await.unwrap(), Err(12_000));
        assert_eq!(wait(&db, "user:admin", t0 + 11_999, FIVE).await.unwrap(), Some(1));
        assert_eq!(wait(&db, "user:admin", t0 + 12_000, FIVE).await.unwrap(), None);
        assert_eq!(take(&db, "user:admin", t0 + 12_000, FIVE).await.unwrap(), Ok(()));
        assert!(take(&db, "user:admin", t0 + 12_000, FIVE).await.unwrap().is_err());
        // Other keys are untouched.
        assert_eq!(take(&db, "user:other", t0, FIVE).await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn a_refund_gives_the_cell_back() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let t0 = 5_000_000;
        for _ in 0..5 {
            take(&db, "k", t0, FIVE).await.unwrap().unwrap();
        }
        refund(&db, "k", FIVE).await.unwrap();
        assert_eq!(take(&db, "k", t0, FIVE).await.unwrap(), Ok(()));
        assert!(take(&db, "k", t0, FIVE).await.unwrap().is_err());
    }

    #[tokio::test]
    async fn pruning_forgets_only_whole_allowances() {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let t0 = 9_000_000;
        take(&db, "once", t0, FIVE).await.unwrap().unwrap();
        for _ in 0..5 {
            take(&db, "five", t0, FIVE).await.unwrap().unwrap();
        }
        // "once" is whole again after 12 s, "five" after 60 s.
        assert_eq!(prune(&db, t0 + 12_000).await.unwrap(), 1);
        assert_eq!(wait(&db, "five", t0 + 12_000, FIVE).await.unwrap(), None, "it has cells again");
        assert!(Entity::find_by_id("five".to_owned()).one(&db).await.unwrap().is_some());
        assert_eq!(prune(&db, t0 + 60_000).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn concurrent_takes_never_exceed_the_allowance() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = db::connect(&url).await.unwrap();
        let t0 = 7_000_000;
        let takes = (0..40).map(|_| take(&db, "raced", t0, FIVE));
        let results = futures::future::join_all(takes).await;
        assert_eq!(results.iter().filter(|r| matches!(r, Ok(Ok(())))).count(), 5);
    }
}
