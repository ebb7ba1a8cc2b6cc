//! What keys' tokens did, in the database: hourly counts, client addresses
//! and the last refused uses of each key. Written by the flush job as
//! increments (several instances add up, none overwrites another), read by
//! a key's page.

use crate::db::entities::{
    account_usage_day, api_key, key_address, key_permission_hour, key_refusal, key_usage_day, key_usage_hour,
    key_usage_week,
};
use crate::domain::permissions::Permission;
use crate::domain::usage::{AddressStats, Asked, Counts, MAX_ADDRESSES, Reason, Recorded};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, IntoIden, IntoValueTuple, OnConflict, Query, TableRef};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use std::net::IpAddr;

/// Refused uses kept per key.
pub const REFUSALS_KEPT: u64 = 50;

/// Rows per statement when many keys are written at once.
const CHUNK: usize = 400;

/// Writes everything recorded since the last flush, in one transaction: the
/// last allowed use of each key (never moving it backwards), hourly counts
/// and address counts as increments, and the refused uses; then trims each
/// key touched to its 100 most recent addresses and 50 last refusals. A
/// handful of statements per few hundred keys, not a few per key: a flush of
/// 10,000 busy keys must not hold the database for long.
pub async fn write(db: &DatabaseConnection, recorded: &Recorded) -> Result<(), DbErr> {
    if recorded.keys.is_empty() && recorded.refusals.is_empty() {
        return Ok(());
    }
    let txn = crate::db::begin_write(db).await?;
    // Keys deleted since their uses were recorded are skipped.
    let mut accounts = std::collections::HashMap::new();
    let ids: Vec<i32> = recorded.keys.keys().copied().collect();
    for chunk in ids.chunks(CHUNK) {
        let found = api_key::Entity::find()
            .select_only()
            .column(api_key::Column::Id)
            .column(api_key::Column::AccountId)
            .filter(api_key::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<(i32, i32)>()
            .all(&txn)
            .await?;
        accounts.extend(found);
    }
    let live: std::collections::HashSet<i32> = accounts.keys().copied().collect();
    let keys: Vec<(i32, &crate::domain::usage::KeyUsage)> =
        recorded.keys.iter().filter(|(id, _)| live.contains(*id)).map(|(id, usage)| (*id, usage)).collect();

    let last_uses: Vec<(i32, i64, String)> =
        keys.iter().filter_map(|(id, u)| u.last_allowed.map(|(at, ip)| (*id, at, ip.to_string()))).collect();
    for chunk in last_uses.chunks(CHUNK) {
        record_uses(&txn, chunk).await?;
    }
    let hours: Vec<(i32, i64, Counts)> =
        keys.iter().flat_map(|(id, u)| u.hours.iter().map(move |(hour, counts)| (*id, *hour, *counts))).collect();
    for chunk in hours.chunks(CHUNK) {
        add_hours(&txn, chunk).await?;
    }
    let (account_days, key_days) = days_of(&hours, &accounts);
    for chunk in account_days.chunks(CHUNK) {
        add_account_days(&txn, chunk).await?;
    }
    for chunk in key_days.chunks(CHUNK) {
        add_key_days(&txn, chunk).await?;
    }
    if let Some(last_day) = key_days.iter().map(|(_, day, ..)| *day).max() {
        let mut touched: Vec<(i32, i32)> = key_days.iter().map(|(key, _, account, _)| (*key, *account)).collect();
        touched.dedup();
        for chunk in touched.chunks(CHUNK) {
            sum_weeks(&txn, chunk, last_day).await?;
        }
    }
    let asked: Vec<(i32, i64, Permission, Asked)> = keys
        .iter()
        .flat_map(|(id, u)| u.permissions.iter().map(move |((hour, p), asked)| (*id, *hour, *p, *asked)))
        .collect();
    for chunk in asked.chunks(CHUNK) {
        add_permissions(&txn, chunk).await?;
    }
    let addresses: Vec<(i32, IpAddr, AddressStats)> =
        keys.iter().flat_map(|(id, u)| u.addresses.iter().map(move |(ip, stats)| (*id, *ip, *stats))).collect();
    for chunk in addresses.chunks(CHUNK) {
        add_addresses(&txn, chunk).await?;
    }
    let mut dropped: std::collections::HashMap<i32, i64> =
        keys.iter().filter(|(_, u)| u.addresses_dropped > 0).map(|(id, u)| (*id, u.addresses_dropped)).collect();
    let touched: Vec<i32> = keys.iter().filter(|(_, u)| !u.addresses.is_empty()).map(|(id, _)| *id).collect();
    for chunk in touched.chunks(CHUNK) {
        for (key_id, count) in
            trim(&txn, "key_addresses", "ip", "last_seen DESC, ip", MAX_ADDRESSES as u64, chunk).await?
        {
            *dropped.entry(key_id).or_default() += count;
        }
    }
    for (key_id, count) in dropped {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::AddressesDropped, Expr::col(api_key::Column::AddressesDropped).add(count))
            .filter(api_key::Column::Id.eq(key_id))
            .exec(&txn)
            .await?;
    }

    let refusals: Vec<key_refusal::ActiveModel> = recorded
        .refusals
        .iter()
        .filter(|r| live.contains(&r.key_id))
        .map(|r| key_refusal::ActiveModel {
            key_id: Set(r.key_id),
            at: Set(r.at),
            ip: Set(r.ip.to_string()),
            reason: Set(r.reason.code().to_owned()),
            report_only: Set(r.report_only),
            ..Default::default()
        })
        .collect();
    for chunk in refusals.chunks(CHUNK) {
        key_refusal::Entity::insert_many(chunk.to_vec()).exec(&txn).await?;
    }
    let refused: Vec<i32> = recorded
        .refusals
        .iter()
        .map(|r| r.key_id)
        .filter(|id| live.contains(id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in refused.chunks(CHUNK) {
        trim(&txn, "key_refusals", "id", "at DESC, id DESC", REFUSALS_KEPT, chunk).await?;
    }
    txn.commit().await
}

/// Last uses of many keys in one UPDATE joined to a VALUES list (a CASE per
/// key made the database compare every row with every key: a quarter of a
/// 10,000-key flush on PostgreSQL); a key's time only ever moves forward.
async fn record_uses(db: &impl ConnectionTrait, uses: &[(i32, i64, String)]) -> Result<(), DbErr> {
    use api_key::Column;
    if uses.is_empty() {
        return Ok(());
    }
    let used = Alias::new("used");
    let (id, at, ip) = (Alias::new("column1"), Alias::new("column2"), Alias::new("column3"));
    let values = uses.iter().map(|(key_id, used_at, used_ip)| (*key_id, *used_at, used_ip.clone()).into_value_tuple());
    let update = Query::update()
        .table(api_key::Entity)
        .value(Column::LastUsedAt, Expr::col((used.clone(), at.clone())))
        .value(Column::LastUsedIp, Expr::col((used.clone(), ip)))
        .from(TableRef::ValuesList(values.collect(), used.clone().into_iden()))
        .and_where(Expr::col((api_key::Entity, Column::Id)).equals((used.clone(), id)))
        .and_where(Expr::col((api_key::Entity, Column::LastUsedAt)).lt(Expr::col((used, at))))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

async fn add_hours(db: &impl ConnectionTrait, hours: &[(i32, i64, Counts)]) -> Result<(), DbErr> {
    use key_usage_hour::Column;
    let rows = hours.iter().map(|(key_id, hour, c)| key_usage_hour::ActiveModel {
        key_id: Set(*key_id),
        hour: Set(*hour),
        allowed: Set(c.allowed),
        refused: Set(c.refused),
        would_refuse: Set(c.would_refuse),
        rate_limited: Set(c.rate_limited),
    });
    let plus =
        |column: Column| Expr::col((key_usage_hour::Entity, column)).add(Expr::col((Alias::new("excluded"), column)));
    key_usage_hour::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::KeyId, Column::Hour])
                .value(Column::Allowed, plus(Column::Allowed))
                .value(Column::Refused, plus(Column::Refused))
                .value(Column::WouldRefuse, plus(Column::WouldRefuse))
                .value(Column::RateLimited, plus(Column::RateLimited))
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Hourly counts summed per account and UTC day, and each key's requests per day.
#[allow(clippy::type_complexity)]
fn days_of(
    hours: &[(i32, i64, Counts)],
    accounts: &std::collections::HashMap<i32, i32>,
) -> (Vec<(i32, i64, Counts)>, Vec<(i32, i64, i32, i64)>) {
    let mut per_account: std::collections::BTreeMap<(i32, i64), Counts> = Default::default();
    let mut per_key: std::collections::BTreeMap<(i32, i64), (i32, i64)> = Default::default();
    for (key_id, hour, counts) in hours {
        let Some(account_id) = accounts.get(key_id).copied() else { continue };
        let day = hour.div_euclid(24);
        per_account.entry((account_id, day)).or_default().merge(*counts);
        per_key.entry((*key_id, day)).or_insert((account_id, 0)).1 += counts.requests();
    }
    (
        per_account.into_iter().map(|((account, day), c)| (account, day, c)).collect(),
        per_key.into_iter().map(|((key, day), (account, n))| (key, day, account, n)).collect(),
    )
}

async fn add_account_days(db: &impl ConnectionTrait, days: &[(i32, i64, Counts)]) -> Result<(), DbErr> {
    use account_usage_day::Column;
    let rows = days.iter().map(|(account_id, day, c)| account_usage_day::ActiveModel {
        account_id: Set(*account_id),
        day: Set(*day),
        allowed: Set(c.allowed),
        refused: Set(c.refused),
        would_refuse: Set(c.would_refuse),
        rate_limited: Set(c.rate_limited),
    });
    let plus = |column: Column| {
        Expr::col((account_usage_day::Entity, column)).add(Expr::col((Alias::new("excluded"), column)))
    };
    account_usage_day::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::AccountId, Column::Day])
                .value(Column::Allowed, plus(Column::Allowed))
                .value(Column::Refused, plus(Column::Refused))
                .value(Column::WouldRefuse, plus(Column::WouldRefuse))
                .value(Column::RateLimited, plus(Column::RateLimited))
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

async fn add_key_days(db: &impl ConnectionTrait, days: &[(i32, i64, i32, i64)]) -> Result<(), DbErr> {
    use key_usage_day::Column;
    let rows = days.iter().map(|(key_id, day, account_id, requests)| key_usage_day::ActiveModel {
        key_id: Set(*key_id),
        day: Set(*day),
        account_id: Set(*account_id),
        requests: Set(*requests),
    });
    let plus =
        |column: Column| Expr::col((key_usage_day::Entity, column)).add(Expr::col((Alias::new("excluded"), column)));
    key_usage_day::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::KeyId, Column::Day])
                .value(Column::Requests, plus(Column::Requests))
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// An account's requests per UTC day from `since_day` on (days with none are absent).
pub async fn account_days(
    db: &impl ConnectionTrait,
    account_id: i32,
    since_day: i64,
) -> Result<Vec<account_usage_day::Model>, DbErr> {
    account_usage_day::Entity::find()
        .filter(account_usage_day::Column::AccountId.eq(account_id))
        .filter(account_usage_day::Column::Day.gte(since_day))
        .all(db)
        .await
}

/// Days in a key's week (`key_usage_weeks`), today included.
pub const WEEK_DAYS: i64 = 7;

/// The stored week of each of these keys, summed again from its days under
/// a lock, so the sum includes every day row written so far: `through_day`
/// moves to `last_day` (never back, should another instance's clock run
/// ahead), the rows are locked by that first statement, and the second,
/// a statement of its own, sees what any flush that held them committed.
/// A flush that waits for them sums again after this one.
async fn sum_weeks(db: &impl ConnectionTrait, keys: &[(i32, i32)], last_day: i64) -> Result<(), DbErr> {
    use key_usage_week::Column;
    let rows = keys.iter().map(|(key_id, account_id)| key_usage_week::ActiveModel {
        key_id: Set(*key_id),
        account_id: Set(*account_id),
        through_day: Set(last_day),
        requests: Set(0),
    });
    // One statement makes the missing weeks and moves (and locks) the others.
    let stored = Expr::col((key_usage_week::Entity, Column::ThroughDay));
    key_usage_week::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(Column::KeyId)
                .value(Column::ThroughDay, Expr::case(stored.clone().gt(last_day), stored).finally(last_day))
                .to_owned(),
        )
        .exec(db)
        .await?;
    sum_again(db, keys.iter().map(|(key_id, _)| *key_id)).await
}

/// Sets these (locked) weeks to their days summed: the seven that end on
/// each row's `through_day`, read by a statement of its own.
async fn sum_again(db: &impl ConnectionTrait, key_ids: impl IntoIterator<Item = i32>) -> Result<(), DbErr> {
    use key_usage_week::Column;
    let week = Expr::cust(format!(
        "(SELECT COALESCE(SUM(d.requests), 0) FROM key_usage_days d WHERE d.key_id = key_usage_weeks.key_id \
         AND d.day > key_usage_weeks.through_day - {WEEK_DAYS} AND d.day <= key_usage_weeks.through_day)"
    ));
    key_usage_week::Entity::update_many()
        .col_expr(Column::Requests, week)
        .filter(Column::KeyId.is_in(key_ids))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves the weeks that ended before `today` on to it, a batch at a time
/// (each its own short transaction). Only speed depends on it: a week not
/// yet moved is still an upper bound [`busiest_keys`] checks.
pub async fn roll_weeks(db: &DatabaseConnection, today: i64) -> Result<u64, DbErr> {
    use key_usage_week::Column;
    let mut rolled = 0;
    loop {
        let txn = crate::db::begin_write(db).await?;
        let ids: Vec<i32> = key_usage_week::Entity::find()
            .select_only()
            .column(Column::KeyId)
            .filter(Column::ThroughDay.lt(today))
            // In key order, as a flush locks them: two writers never wait on each other in a circle.
            .order_by_asc(Column::KeyId)
            .limit(CHUNK as u64)
            .into_tuple()
            .all(&txn)
            .await?;
        if ids.is_empty() {
            txn.rollback().await?;
            return Ok(rolled);
        }
        // Locks the rows it moves; those a flush moved meanwhile are its to sum.
        let moved: Vec<i32> = key_usage_week::Entity::update_many()
            .col_expr(Column::ThroughDay, Expr::val(today).into())
            .filter(Column::KeyId.is_in(ids))
            .filter(Column::ThroughDay.lt(today))
            .exec_with_returning(&txn)
            .await?
            .into_iter()
            .map(|row| row.key_id)
            .collect();
        if !moved.is_empty() {
            sum_again(&txn, moved.iter().copied()).await?;
        }
        txn.commit().await?;
        rolled += moved.len() as u64;
    }
}

/// The account's `limit` keys with the most requests in the week that ends
/// `today`, most first (ties: the older key first), read from
/// `key_usage_weeks` busiest first: a row of today's week is exact; an older
/// one is an upper bound (see the entity), summed again from its days when
/// it could still rank. The read stops once the `limit`-th exact total is
/// above every row left; after midnight, before [`roll_weeks`] has moved
/// the weeks on, that may take more rows, so past [`SCAN_LIMIT`] it sums the
/// week's days instead.
pub async fn busiest_keys(
    db: &impl ConnectionTrait,
    account_id: i32,
    today: i64,
    limit: u64,
) -> Result<Vec<(i32, i64)>, DbErr> {
    use key_usage_week::Column;
    let since_day = today - (WEEK_DAYS - 1);
    // Written by an instance whose clock is ahead: no bound, summed apart.
    let ahead: Vec<i32> = key_usage_week::Entity::find()
        .select_only()
        .column(Column::KeyId)
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::ThroughDay.gt(today))
        .into_tuple()
        .all(db)
        .await?;
    let mut exact: std::collections::HashMap<i32, i64> =
        key_requests(db, &ahead, since_day, today).await?.into_iter().collect();
    let mut after: Option<(i64, i32)> = None;
    let mut scanned = 0;
    let mut batch = std::cmp::max(limit * 4, 20);
    loop {
        let mut query = key_usage_week::Entity::find().filter(Column::AccountId.eq(account_id));
        if let Some((requests, key_id)) = after {
            query = query.filter(
                Expr::col(Column::Requests)
                    .lt(requests)
                    .or(Expr::col(Column::Requests).eq(requests).and(Expr::col(Column::KeyId).lt(key_id))),
            );
        }
        let rows = query.order_by_desc(Column::Requests).order_by_desc(Column::KeyId).limit(batch).all(db).await?;
        let exhausted = (rows.len() as u64) < batch;
        scanned += rows.len();
        let mut stale = Vec::new();
        for row in &rows {
            match row.through_day.cmp(&today) {
                std::cmp::Ordering::Equal => {
                    exact.insert(row.key_id, row.requests);
                }
                std::cmp::Ordering::Less => stale.push(row.key_id),
                std::cmp::Ordering::Greater => {}
            }
        }
        for id in &stale {
            exact.insert(*id, 0);
        }
        exact.extend(key_requests(db, &stale, since_day, today).await?);
        let ranked = ranked(&exact, limit);
        // Every row not read yet counts at most this (and a key with none does not rank).
        let bound = rows.last().map(|row| row.requests).unwrap_or(0);
        if exhausted || bound <= 0 || (ranked.len() as u64 == limit && ranked.last().is_some_and(|(_, n)| *n > bound)) {
            return Ok(ranked);
        }
        if scanned >= SCAN_LIMIT {
            return summed_week(db, account_id, since_day, today, limit).await;
        }
        after = rows.last().map(|row| (row.requests, row.key_id));
        batch = std::cmp::min(batch * 2, CHUNK as u64);
    }
}

/// Rows [`busiest_keys`] reads before it sums the week's days instead.
const SCAN_LIMIT: usize = 4_000;

/// The `limit` largest totals above zero, most first, ties by key.
fn ranked(totals: &std::collections::HashMap<i32, i64>, limit: u64) -> Vec<(i32, i64)> {
    let mut ranked: Vec<(i32, i64)> = totals.iter().filter(|(_, n)| **n > 0).map(|(id, n)| (*id, *n)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit as usize);
    ranked
}

/// [`busiest_keys`] the long way: every key's days of the week, summed.
async fn summed_week(
    db: &impl ConnectionTrait,
    account_id: i32,
    since_day: i64,
    today: i64,
    limit: u64,
) -> Result<Vec<(i32, i64)>, DbErr> {
    use key_usage_day::Column;
    let total = summed(Column::Requests);
    key_usage_day::Entity::find()
        .select_only()
        .column(Column::KeyId)
        .column_as(total.clone(), "total")
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Day.gte(since_day))
        .filter(Column::Day.lte(today))
        .group_by(Column::KeyId)
        .order_by_desc(total)
        .order_by_asc(Column::KeyId)
        .limit(limit)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await
        // As the short way: a key with none does not rank.
        .map(|found| found.into_iter().filter(|(_, n)| *n > 0).collect())
}

/// SUM of a BIGINT column as a BIGINT: PostgreSQL widens it to NUMERIC.
fn summed(column: key_usage_day::Column) -> Expr {
    Func::cast_as(Expr::col(column).sum(), Alias::new("BIGINT")).into()
}

/// These keys' requests from `since_day` to `through_day` (keys with none are absent).
pub async fn key_requests(
    db: &impl ConnectionTrait,
    key_ids: &[i32],
    since_day: i64,
    through_day: i64,
) -> Result<Vec<(i32, i64)>, DbErr> {
    use key_usage_day::Column;
    let mut found = Vec::new();
    for chunk in key_ids.chunks(CHUNK) {
        found.extend(
            key_usage_day::Entity::find()
                .select_only()
                .column(Column::KeyId)
                .column_as(summed(Column::Requests), "total")
                .filter(Column::KeyId.is_in(chunk.iter().copied()))
                .filter(Column::Day.gte(since_day))
                .filter(Column::Day.lte(through_day))
                .group_by(Column::KeyId)
                .into_tuple::<(i32, i64)>()
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

async fn add_permissions(db: &impl ConnectionTrait, asked: &[(i32, i64, Permission, Asked)]) -> Result<(), DbErr> {
    use key_permission_hour::Column;
    let rows = asked.iter().map(|(key_id, hour, permission, a)| key_permission_hour::ActiveModel {
        key_id: Set(*key_id),
        hour: Set(*hour),
        permission: Set(permission.code().to_owned()),
        asked: Set(a.asked),
        denied: Set(a.denied),
        last_asked: Set(a.last_asked),
    });
    let current = |column: Column| Expr::col((key_permission_hour::Entity, column));
    let incoming = |column: Column| Expr::col((Alias::new("excluded"), column));
    let later = Expr::case(incoming(Column::LastAsked).gt(current(Column::LastAsked)), incoming(Column::LastAsked))
        .finally(current(Column::LastAsked));
    key_permission_hour::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::KeyId, Column::Hour, Column::Permission])
                .value(Column::Asked, current(Column::Asked).add(incoming(Column::Asked)))
                .value(Column::Denied, current(Column::Denied).add(incoming(Column::Denied)))
                .value(Column::LastAsked, later)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

async fn add_addresses(db: &impl ConnectionTrait, addresses: &[(i32, IpAddr, AddressStats)]) -> Result<(), DbErr> {
    use key_address::Column;
    let rows = addresses.iter().map(|(key_id, ip, s)| key_address::ActiveModel {
        key_id: Set(*key_id),
        ip: Set(ip.to_string()),
        requests: Set(s.requests),
        refused: Set(s.refused),
        would_refuse: Set(s.would_refuse),
        last_seen: Set(s.last_seen),
        last_token_id: Set(i64::from(s.last_token)),
        last_allowed: Set(s.last_allowed),
    });
    let current = |column: Column| Expr::col((key_address::Entity, column));
    let incoming = |column: Column| Expr::col((Alias::new("excluded"), column));
    let later = Expr::case(incoming(Column::LastSeen).gt(current(Column::LastSeen)), incoming(Column::LastSeen))
        .finally(current(Column::LastSeen));
    let newer_allowed = incoming(Column::LastAllowed).gt(current(Column::LastAllowed));
    let last_token =
        Expr::case(newer_allowed.clone(), incoming(Column::LastTokenId)).finally(current(Column::LastTokenId));
    let last_allowed = Expr::case(newer_allowed, incoming(Column::LastAllowed)).finally(current(Column::LastAllowed));
    key_address::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([Column::KeyId, Column::Ip])
                .value(Column::Requests, current(Column::Requests).add(incoming(Column::Requests)))
                .value(Column::Refused, current(Column::Refused).add(incoming(Column::Refused)))
                .value(Column::WouldRefuse, current(Column::WouldRefuse).add(incoming(Column::WouldRefuse)))
                .value(Column::LastSeen, later)
                .value(Column::LastTokenId, last_token)
                .value(Column::LastAllowed, last_allowed)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Keeps, for each of `keys`, the first `keep` rows of `table` in `order`;
/// returns how many rows each key lost. One statement for all the keys: a
/// window function numbers each key's rows.
async fn trim(
    db: &impl ConnectionTrait,
    table: &str,
    row: &str,
    order: &str,
    keep: u64,
    keys: &[i32],
) -> Result<Vec<(i32, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let ids = keys.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let surplus = format!(
        "SELECT key_id, {row} FROM (SELECT key_id, {row}, row_number() OVER (PARTITION BY key_id ORDER BY {order}) AS n \
         FROM {table} WHERE key_id IN ({ids})) numbered WHERE n > {keep}"
    );
    let counted = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT key_id, count(*) AS n FROM ({surplus}) surplus GROUP BY key_id"),
        ))
        .await?;
    let mut lost = Vec::with_capacity(counted.len());
    for row in counted {
        lost.push((row.try_get::<i32>("", "key_id")?, row.try_get::<i64>("", "n")?));
    }
    if !lost.is_empty() {
        db.execute_raw(Statement::from_string(
            backend,
            format!("DELETE FROM {table} WHERE (key_id, {row}) IN ({surplus})"),
        ))
        .await?;
    }
    Ok(lost)
}

/// Forgets hourly counts (requests and permissions asked) older than `before_hour`.
pub async fn prune_hours(db: &impl ConnectionTrait, before_hour: i64) -> Result<u64, DbErr> {
    let permissions = key_permission_hour::Entity::delete_many()
        .filter(key_permission_hour::Column::Hour.lt(before_hour))
        .exec(db)
        .await?
        .rows_affected;
    // Whole days only: a day goes once its last hour would.
    let before_day = before_hour.div_euclid(24);
    let days = key_usage_day::Entity::delete_many()
        .filter(key_usage_day::Column::Day.lt(before_day))
        .exec(db)
        .await?
        .rows_affected
        + account_usage_day::Entity::delete_many()
            .filter(account_usage_day::Column::Day.lt(before_day))
            .exec(db)
            .await?
            .rows_affected;
    Ok(key_usage_hour::Entity::delete_many()
        .filter(key_usage_hour::Column::Hour.lt(before_hour))
        .exec(db)
        .await?
        .rows_affected
        + permissions
        + days)
}

/// What a key's checks asked for since `since_hour`: per permission, summed, with the last time.
pub async fn permissions_asked(
    db: &impl ConnectionTrait,
    key_id: i32,
    since_hour: i64,
) -> Result<Vec<(Permission, Asked)>, DbErr> {
    let rows = key_permission_hour::Entity::find()
        .filter(key_permission_hour::Column::KeyId.eq(key_id))
        .filter(key_permission_hour::Column::Hour.gte(since_hour))
        .all(db)
        .await?;
    let mut summed: std::collections::BTreeMap<Permission, Asked> = std::collections::BTreeMap::new();
    for row in rows {
        if let Some(permission) = Permission::from_code(&row.permission) {
            summed.entry(permission).or_default().merge(Asked {
                asked: row.asked,
                denied: row.denied,
                last_asked: row.last_asked,
            });
        }
    }
    Ok(summed.into_iter().collect())
}

/// A key's use as stored: hours from `since_hour`, addresses seen since
/// `since_ms`, the last refusals.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub hours: Vec<(i64, Counts)>,
    pub addresses: Vec<(String, AddressStats)>,
    pub refusals: Vec<(i64, String, Reason, bool)>,
}

pub async fn read(db: &impl ConnectionTrait, key_id: i32, since_hour: i64, since_ms: i64) -> Result<Stored, DbErr> {
    let hours = key_usage_hour::Entity::find()
        .filter(key_usage_hour::Column::KeyId.eq(key_id))
        .filter(key_usage_hour::Column::Hour.gte(since_hour))
        .all(db)
        .await?
        .into_iter()
        .map(|h| {
            let counts = Counts {
                allowed: h.allowed,
                refused: h.refused,
                would_refuse: h.would_refuse,
                rate_limited: h.rate_limited,
            };
            (h.hour, counts)
        })
        .collect();
    let addresses = key_address::Entity::find()
        .filter(key_address::Column::KeyId.eq(key_id))
        .filter(key_address::Column::LastSeen.gte(since_ms))
        .order_by_desc(key_address::Column::LastSeen)
        .all(db)
        .await?
        .into_iter()
        .map(|a| {
            let stats = AddressStats {
                requests: a.requests,
                refused: a.refused,
                would_refuse: a.would_refuse,
                last_seen: a.last_seen,
                last_token: i32::try_from(a.last_token_id).unwrap_or(0),
                last_allowed: a.last_allowed,
            };
            (a.ip, stats)
        })
        .collect();
    let refusals = key_refusal::Entity::find()
        .filter(key_refusal::Column::KeyId.eq(key_id))
        .order_by_desc(key_refusal::Column::At)
        .order_by_desc(key_refusal::Column::Id)
        .limit(REFUSALS_KEPT)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| Some((r.at, r.ip, Reason::from_code(&r.reason)?, r.report_only)))
        .collect();
    Ok(Stored { hours, addresses, refusals })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use crate::db::service::{accounts, api_keys, ip_acls};
    use crate::domain::crypto::MasterKey;
    use crate::domain::usage::{HOUR_MS, Outcome, Use, hour_of};

    fn one(key_id: i32, at: i64, ip: IpAddr, outcome: Outcome) -> Use {
        Use { key_id, account_id: 1, token_id: 1, at, ip, outcome }
    }

    const T0: i64 = 1_795_838_400_000;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// An in-memory database with one account and one key.
    async fn with_one_key() -> (DatabaseConnection, crate::db::entities::account::Model, api_key::Model) {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Usage").await.unwrap();
        let acl = ip_acls::all(&db, account.id).await.unwrap()[0].id;
        let (key, ..) = api_keys::create(
            &db,
            &MasterKey::from_bytes(&[1; 32]),
            account.id,
            &api_keys::KeyFields::new("k", acl, None),
            T0,
        )
        .await
        .unwrap();
        (db, account, key)
    }

    #[tokio::test]
    async fn flushes_add_up_and_trim_to_the_most_recent() {
        let (db, account, key) = with_one_key().await;
        for flush in 0..2 {
            let mut recorded = Recorded::default();
            recorded.record(one(key.id, T0 + flush, ip("192.0.2.1"), Outcome::Allowed));
            recorded.record(one(key.id, T0 + HOUR_MS, ip("192.0.2.2"), Outcome::Refused(Reason::KeyDisabled)));
            // An instance that knew the key before it was deleted.
            recorded.record(one(9999, T0, ip("192.0.2.3"), Outcome::Allowed));
            write(&db, &recorded).await.unwrap();
        }
        let stored = read(&db, key.id, hour_of(T0), T0).await.unwrap();
        let mut hours = stored.hours.clone();
        hours.sort_by_key(|(h, _)| *h);
        assert_eq!(
            hours,
            [
                (hour_of(T0), Counts { allowed: 2, ..Counts::default() }),
                (hour_of(T0) + 1, Counts { refused: 2, ..Counts::default() })
            ]
        );
        assert_eq!(stored.addresses[0].0, "192.0.2.2", "most recent first");
        assert_eq!(stored.addresses[1].1.requests, 2);
        assert_eq!(stored.refusals.len(), 2);
        let key = api_keys::find(&db, account.id, key.id).await.unwrap().unwrap();
        assert_eq!(key.last_used_at, T0 + 1);

        let mut recorded = Recorded::default();
        for i in 0..(REFUSALS_KEPT as i64 + 10) {
            recorded.record(one(
                key.id,
                T0 + 2 * HOUR_MS + i,
                ip(&format!("10.0.0.{}", i % 200)),
                Outcome::Refused(Reason::IpNotAllowed),
            ));
        }
        for i in 0..150 {
            recorded.keys.get_mut(&key.id).unwrap().addresses.insert(
                ip(&format!("10.1.{}.{}", i / 200, i % 200)),
                AddressStats { requests: 1, last_seen: T0 + 3 * HOUR_MS + i, ..AddressStats::default() },
            );
        }
        write(&db, &recorded).await.unwrap();
        let stored = read(&db, key.id, hour_of(T0), T0).await.unwrap();
        // Counted in the table itself: `read` stops at REFUSALS_KEPT whatever it holds.
        let kept = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT count(*) AS n FROM key_refusals"))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(kept as u64, REFUSALS_KEPT);
        assert_eq!(stored.refusals[0].0, T0 + 2 * HOUR_MS + REFUSALS_KEPT as i64 + 9, "the most recent kept");
        assert_eq!(stored.addresses.len(), MAX_ADDRESSES);
        assert_eq!(stored.addresses[0].0, "10.1.0.149");
        let key = api_keys::find(&db, account.id, key.id).await.unwrap().unwrap();
        // 2 stored before, 60 refusing addresses and 150 more now: 212, of which 100 are kept.
        assert_eq!(key.addresses_dropped, 112);
        assert_eq!(prune_hours(&db, hour_of(T0) + 1).await.unwrap(), 1);
    }

    /// What `key_usage_weeks` must give: each key's requests in the seven
    /// days that end on the day asked, ranked, whether its row was written
    /// that day, days before (an upper bound read again) or by a clock ahead.
    #[tokio::test]
    async fn busiest_keys_are_the_sums_of_the_week_asked_whichever_day_the_rows_were_written() {
        let (db, account, first) = with_one_key().await;
        let acl = ip_acls::all(&db, account.id).await.unwrap()[0].id;
        let mut ids = vec![first.id];
        for n in 1..30 {
            let name = format!("k{n}");
            let fields = api_keys::KeyFields::new(&name, acl, None);
            ids.push(
                api_keys::create(&db, &MasterKey::from_bytes(&[1; 32]), account.id, &fields, T0).await.unwrap().0.id,
            );
        }
        let day0 = T0.div_euclid(crate::domain::lifecycle::DAY_MS);
        let mut per_day: std::collections::HashMap<(i32, i64), i64> = Default::default();
        // Uses on days 0 to 11, with ties; the last day only for the first key.
        for day in 0..12 {
            let mut recorded = Recorded::default();
            for (i, id) in ids.iter().enumerate() {
                let uses = if day == 11 { if i == 0 { 40 } else { 0 } } else { (i as i64 * 7 + day * 13) % 11 };
                for n in 0..uses {
                    let at = T0 + day * crate::domain::lifecycle::DAY_MS + n;
                    recorded.record(one(*id, at, ip("192.0.2.1"), Outcome::Allowed));
                }
                *per_day.entry((*id, day0 + day)).or_default() += uses;
            }
            write(&db, &recorded).await.unwrap();
        }
        // Worked out here, not by the code under test: the week's sums, most first, ties by key.
        let expected = |today: i64| {
            let mut totals: Vec<(i32, i64)> = ids
                .iter()
                .map(|id| {
                    (*id, (today - WEEK_DAYS + 1..=today).map(|d| per_day.get(&(*id, d)).copied().unwrap_or(0)).sum())
                })
                .filter(|(_, n): &(i32, i64)| *n > 0)
                .collect();
            totals.sort_by_key(|(id, n)| (-n, *id));
            totals.truncate(5);
            totals
        };
        // Day 10 is read while the first key's row is already on day 11.
        for today in day0 + 3..day0 + 20 {
            let day = today - day0;
            assert_eq!(busiest_keys(&db, account.id, today, 5).await.unwrap(), expected(today), "day {day}");
            // The long way, taken past SCAN_LIMIT rows, agrees.
            let long = summed_week(&db, account.id, today - WEEK_DAYS + 1, today, 5).await.unwrap();
            assert_eq!(long, expected(today), "day {day}, summed");
        }
        assert!(busiest_keys(&db, account.id, day0 + 30, 5).await.unwrap().is_empty());

        // The roll moves every row on and sums it again: then every row is exact.
        assert_eq!(roll_weeks(&db, day0 + 14).await.unwrap(), 30);
        let rows = key_usage_week::Entity::find().all(&db).await.unwrap();
        for row in rows {
            assert_eq!(row.through_day, day0 + 14);
            let week: i64 =
                (day0 + 8..=day0 + 14).map(|day| per_day.get(&(row.key_id, day)).copied().unwrap_or(0)).sum();
            assert_eq!(row.requests, week, "key {}", row.key_id);
        }
        assert_eq!(roll_weeks(&db, day0 + 14).await.unwrap(), 0, "nothing left to move");
        assert_eq!(busiest_keys(&db, account.id, day0 + 14, 5).await.unwrap(), expected(day0 + 14));
    }

    #[tokio::test]
    async fn last_use_never_moves_backwards() {
        let (db, account, key) = with_one_key().await;
        // A late flush (another instance, or one that failed and was retried) carries an earlier use.
        for (at, from) in [(T0 + 10, "192.0.2.1"), (T0 + 5, "192.0.2.2")] {
            let mut recorded = Recorded::default();
            recorded.record(one(key.id, at, ip(from), Outcome::Allowed));
            write(&db, &recorded).await.unwrap();
        }
        let key = api_keys::find(&db, account.id, key.id).await.unwrap().unwrap();
        assert_eq!((key.last_used_at, key.last_used_ip.as_deref()), (T0 + 10, Some("192.0.2.1")));
    }
}
