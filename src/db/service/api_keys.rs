//! API keys of an account and their tokens. Every function takes the account
//! id and filters by it, so an id from another account behaves exactly like
//! one that does not exist. Times (`now`) are passed in, so callers and tests
//! decide the clock.

use crate::db::entities::{api_key, api_key_token, ip_acl};
use crate::db::migration::IDLE_SINCE;
use crate::db::service::trigrams::{self, TrigramIndex, contains_pattern};
use crate::db::service::{ip_acls, is_unique_violation};
use crate::domain::crypto::{MasterKey, SealError, TokenDigest, digest};
use crate::domain::lifecycle::DAY_MS;
use crate::domain::permissions::Access;
use crate::domain::rate_limit::RateLimit;
use crate::domain::token::Token;
use crate::domain::validation::{Name, NameError};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    Order, QueryFilter, QueryOrder, QuerySelect, Value,
};
use std::collections::HashMap;

/// Rolled-out tokens are kept this long after they stopped working, so that
/// a client still using one is told `token_expired` rather than "unknown".
const EXPIRED_TOKENS_KEPT_MS: i64 = 30 * DAY_MS;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("Another API key of this account already has that name.")]
    NameTaken,
    #[error("That IP ACL no longer exists; choose another one.")]
    AclNotFound,
    #[error("This API key no longer exists.")]
    NotFound,
    #[error("token sealing failed: {0}")]
    Seal(#[from] SealError),
    #[error("the operating system's random generator failed")]
    Random,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Which keys the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    All,
    /// Neither disabled nor expired (those expiring soon included).
    Active,
    Disabled,
    /// Expired and not disabled (a disabled key counts as disabled first).
    Expired,
    /// Active, and expiring within this many milliseconds.
    ExpiringWithin(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    Name,
    #[default]
    Created,
    LastUsed,
}

/// Where a page starts: after or before the key with this id, in the order
/// asked for. Paging by the sort key and id costs the same at any depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    After(i32),
    Before(i32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Name contains this, ignoring case.
    pub search: String,
    pub status: StatusFilter,
    pub sort: SortKey,
    pub ascending: bool,
    pub cursor: Option<Cursor>,
    pub per_page: u64,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            search: String::new(),
            status: StatusFilter::All,
            sort: SortKey::Created,
            ascending: false,
            cursor: None,
            per_page: 50,
        }
    }
}

/// A key as the table shows it: never a token, only the current one's last characters.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key: api_key::Model,
    pub ip_acl_name: String,
    pub token_suffix: String,
    /// Until when the token replaced by the last roll still works, if it does.
    pub old_token_until: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct KeyPage {
    pub rows: Vec<KeyRow>,
    /// Every IP ACL of the account (the page's drop-down needs them too).
    pub acls: Vec<ip_acl::Model>,
    /// Whether the account has any key at all (an empty page may be a filter's doing).
    pub has_keys: bool,
    /// The cursors of the pages before and after this one, if there are any.
    pub previous: Option<Cursor>,
    pub next: Option<Cursor>,
}

/// One page of the account's keys, in the order and with the filters asked for.
/// A cursor whose key is gone, or that leads past the end, gives the first page.
pub async fn list(db: &impl ConnectionTrait, account_id: i32, query: &ListQuery, now: i64) -> Result<KeyPage, DbErr> {
    let per_page = query.per_page.clamp(1, 500);
    let mut rows = page(db, account_id, query, per_page, now).await?;
    let mut cursor = query.cursor;
    if rows.0.is_empty() && cursor.is_some() {
        cursor = None;
        rows = page(db, account_id, &ListQuery { cursor: None, ..query.clone() }, per_page, now).await?;
    }
    let (keys, more) = rows;
    let (previous, next) = match cursor {
        None => (None, more.then(|| keys.last().map(|k| Cursor::After(k.id))).flatten()),
        Some(Cursor::After(_)) => (
            keys.first().map(|k| Cursor::Before(k.id)),
            more.then(|| keys.last().map(|k| Cursor::After(k.id))).flatten(),
        ),
        Some(Cursor::Before(_)) => (
            more.then(|| keys.first().map(|k| Cursor::Before(k.id))).flatten(),
            keys.last().map(|k| Cursor::After(k.id)),
        ),
    };
    let has_keys = !keys.is_empty()
        || api_key::Entity::find().filter(api_key::Column::AccountId.eq(account_id)).one(db).await?.is_some();
    let acls = ip_acls::all(db, account_id).await?;
    let acl_names: HashMap<i32, &str> = acls.iter().map(|acl| (acl.id, acl.name.as_str())).collect();
    let mut tokens = tokens_of(db, keys.iter().map(|k| k.id).collect()).await?;
    let rows = keys
        .into_iter()
        .map(|key| {
            let tokens = tokens.remove(&key.id).unwrap_or_default();
            KeyRow {
                ip_acl_name: acl_names.get(&key.ip_acl_id).copied().unwrap_or_default().to_owned(),
                token_suffix: current(&tokens).map(|t| t.suffix.clone()).unwrap_or_default(),
                old_token_until: in_grace(&tokens, now),
                key,
            }
        })
        .collect();
    Ok(KeyPage { rows, acls, has_keys, previous, next })
}

/// The keys of one page and whether more follow in the direction read.
async fn page(
    db: &impl ConnectionTrait,
    account_id: i32,
    query: &ListQuery,
    per_page: u64,
    now: i64,
) -> Result<(Vec<api_key::Model>, bool), DbErr> {
    use api_key::Column;
    let candidates = match contains_pattern(&query.search) {
        Some(_) => trigrams::candidates(db, &query.search, &KEY_NAMES).await?,
        None => None,
    };
    let mut select = api_key::Entity::find();
    select = match &candidates {
        None => select.filter(Column::AccountId.eq(account_id)),
        // A few candidates by primary key, then sorted: the unary plus keeps
        // SQLite's planner (without statistics) off the account's indexes,
        // which would read every key of the account in order instead.
        Some(ids) => select
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(Expr::cust_with_values("+\"api_keys\".\"account_id\" = ?", [account_id])),
    };
    if let Some(pattern) = contains_pattern(&query.search) {
        select = select.filter(Expr::col(Column::NameFolded).like(LikeExpr::new(pattern).escape('\\')));
    }
    let not_expired = Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now));
    select = match query.status {
        StatusFilter::All => select,
        StatusFilter::Active => select.filter(Column::DisabledAt.is_null()).filter(not_expired),
        StatusFilter::Disabled => select.filter(Column::DisabledAt.is_not_null()),
        StatusFilter::Expired => select.filter(Column::DisabledAt.is_null()).filter(Column::ExpiresAt.lte(now)),
        StatusFilter::ExpiringWithin(ms) => select
            .filter(Column::DisabledAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .filter(Column::ExpiresAt.lte(now + ms)),
    };
    let sort_column = match query.sort {
        SortKey::Name => Column::NameFolded,
        SortKey::Created => Column::CreatedAt,
        SortKey::LastUsed => Column::LastUsedAt,
    };
    let backwards = matches!(query.cursor, Some(Cursor::Before(_)));
    // Reading backwards (the page before) walks the order in reverse.
    let ascending = query.ascending != backwards;
    if let Some(Cursor::After(id) | Cursor::Before(id)) = query.cursor {
        let Some(boundary) = find(db, account_id, id).await? else {
            return Ok((Vec::new(), false));
        };
        let value: Value = match query.sort {
            SortKey::Name => boundary.name_folded.into(),
            SortKey::Created => boundary.created_at.into(),
            SortKey::LastUsed => boundary.last_used_at.into(),
        };
        let here = Expr::tuple([Expr::col(sort_column), Expr::col(Column::Id)]);
        let there = Expr::tuple([Expr::val(value), Expr::val(id)]);
        select = select.filter(if ascending { here.gt(there) } else { here.lt(there) });
    }
    let order = if ascending { Order::Asc } else { Order::Desc };
    let mut keys =
        select.order_by(sort_column, order.clone()).order_by(Column::Id, order).limit(per_page + 1).all(db).await?;
    let more = keys.len() as u64 > per_page;
    keys.truncate(per_page as usize);
    if backwards {
        keys.reverse();
    }
    Ok((keys, more))
}

/// Key names (migration 5).
const KEY_NAMES: TrigramIndex = TrigramIndex { fts: "api_key_names", counts: "api_key_trigram_counts", rows: "names" };

async fn tokens_of(
    db: &impl ConnectionTrait,
    key_ids: Vec<i32>,
) -> Result<HashMap<i32, Vec<api_key_token::Model>>, DbErr> {
    let mut by_key: HashMap<i32, Vec<api_key_token::Model>> = HashMap::new();
    if key_ids.is_empty() {
        return Ok(by_key);
    }
    for token in api_key_token::Entity::find().filter(api_key_token::Column::KeyId.is_in(key_ids)).all(db).await? {
        by_key.entry(token.key_id).or_default().push(token);
    }
    Ok(by_key)
}

/// The token the eye button shows: the one without an end (the newest if, by
/// some accident, there were several).
fn current(tokens: &[api_key_token::Model]) -> Option<&api_key_token::Model> {
    tokens.iter().filter(|t| t.expires_at.is_none()).max_by_key(|t| t.id)
}

fn in_grace(tokens: &[api_key_token::Model], now: i64) -> Option<i64> {
    tokens.iter().filter(|t| !t.ended).filter_map(|t| t.expires_at).filter(|at| *at > now).max()
}

/// A key's tokens by id: whether each has ended at `now` (rolled out and past
/// its grace, or ended at once). A token no longer stored has ended too.
pub async fn ended_tokens(db: &impl ConnectionTrait, key_id: i32, now: i64) -> Result<HashMap<i32, bool>, DbErr> {
    let tokens = tokens_of(db, vec![key_id]).await?.remove(&key_id).unwrap_or_default();
    Ok(tokens.into_iter().map(|t| (t.id, t.ended || t.expires_at.is_some_and(|at| at <= now))).collect())
}

/// One key as its row in the table shows it (for the key's own page).
pub async fn row(db: &impl ConnectionTrait, account_id: i32, id: i32, now: i64) -> Result<Option<KeyRow>, DbErr> {
    let Some(key) = find(db, account_id, id).await? else { return Ok(None) };
    let acl_name = ip_acls::find(db, account_id, key.ip_acl_id).await?.map(|acl| acl.name).unwrap_or_default();
    let tokens = tokens_of(db, vec![key.id]).await?.remove(&key.id).unwrap_or_default();
    Ok(Some(KeyRow {
        ip_acl_name: acl_name,
        token_suffix: current(&tokens).map(|t| t.suffix.clone()).unwrap_or_default(),
        old_token_until: in_grace(&tokens, now),
        key,
    }))
}

/// A new token, sealed under the master key; the database will hold only
/// its digest and ciphertext.
fn new_token(master: &MasterKey, key_id: i32, now: i64) -> Result<(api_key_token::ActiveModel, Token), KeyError> {
    let token = Token::generate().map_err(|_| KeyError::Random)?;
    let token_digest = digest(token.expose());
    let sealed = master.seal(token.expose().as_bytes(), &token_digest)?;
    let row = api_key_token::ActiveModel {
        key_id: Set(key_id),
        digest: Set(token_digest.to_vec()),
        sealed: Set(sealed),
        suffix: Set(token.visible_suffix().to_owned()),
        created_at: Set(now),
        expires_at: Set(None),
        ended: Set(false),
        ..Default::default()
    };
    Ok((row, token))
}

/// Creates a key and its token. The token is returned once, here.
/// What Add and Edit set on a key.
#[derive(Debug, Clone)]
pub struct KeyFields<'a> {
    pub name: &'a str,
    pub ip_acl_id: i32,
    pub expires_at: Option<i64>,
    pub access: Access,
    pub limit: Option<RateLimit>,
}

impl<'a> KeyFields<'a> {
    /// A key with full access and no rate limit.
    pub fn new(name: &'a str, ip_acl_id: i32, expires_at: Option<i64>) -> Self {
        KeyFields { name, ip_acl_id, expires_at, access: Access::Full, limit: None }
    }
}

/// A key's permissions and rate limit, as stored.
pub fn access_of(key: &api_key::Model) -> Access {
    Access::from_stored(key.permissions.as_deref())
}

pub fn limit_of(key: &api_key::Model) -> Option<RateLimit> {
    RateLimit::from_stored(key.rate_limit, key.rate_per.as_deref())
}

pub async fn create(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    account_id: i32,
    fields: &KeyFields<'_>,
    now: i64,
) -> Result<(api_key::Model, ip_acl::Model, Token), KeyError> {
    let name = Name::parse(fields.name)?;
    let acl = ip_acls::find(db, account_id, fields.ip_acl_id).await?.ok_or(KeyError::AclNotFound)?;
    let key = api_key::ActiveModel {
        account_id: Set(account_id),
        ip_acl_id: Set(acl.id),
        name: Set(name.as_str().to_owned()),
        name_folded: Set(name.folded().to_owned()),
        created_at: Set(now),
        last_used_at: Set(0),
        last_used_ip: Set(None),
        disabled_at: Set(None),
        expires_at: Set(fields.expires_at),
        addresses_dropped: Set(0),
        permissions: Set(fields.access.to_stored()),
        rate_limit: Set(fields.limit.map(|l| i64::from(l.requests))),
        rate_per: Set(fields.limit.map(|l| l.per.code().to_owned())),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(name_taken_or_db)?;
    let (row, token) = new_token(master, key.id, now)?;
    row.insert(db).await?;
    count_keys(db, account_id, 1).await?;
    Ok((key, acl, token))
}

/// Renames a key, moves it to another of the account's IP ACLs and sets its
/// expiry. Returns the key as it was, as it is now, and its IP ACL.
pub async fn update(
    db: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    fields: &KeyFields<'_>,
) -> Result<(api_key::Model, api_key::Model, ip_acl::Model), KeyError> {
    let name = Name::parse(fields.name)?;
    let existing = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    let before = existing.clone();
    let acl = ip_acls::find(db, account_id, fields.ip_acl_id).await?.ok_or(KeyError::AclNotFound)?;
    let mut active = existing.into_active_model();
    active.name = Set(name.as_str().to_owned());
    active.name_folded = Set(name.folded().to_owned());
    active.ip_acl_id = Set(acl.id);
    active.expires_at = Set(fields.expires_at);
    active.permissions = Set(fields.access.to_stored());
    active.rate_limit = Set(fields.limit.map(|l| i64::from(l.requests)));
    active.rate_per = Set(fields.limit.map(|l| l.per.code().to_owned()));
    let key = active.update(db).await.map_err(|e| match e {
        DbErr::RecordNotUpdated => KeyError::NotFound,
        e => name_taken_or_db(e),
    })?;
    Ok((before, key, acl))
}

/// What a roll did.
#[derive(Debug)]
pub struct Rolled {
    pub key: api_key::Model,
    pub token: Token,
    /// Until when the replaced token still works (`now` when at once).
    pub old_until: i64,
    /// A token still in grace from an earlier roll that this roll ended.
    pub ended_earlier: bool,
}

/// Gives a key a new token. The token it replaces keeps working for `grace_ms`;
/// one still in grace from an earlier roll stops at once, so a key never has
/// more than two live tokens.
pub async fn roll(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    account_id: i32,
    id: i32,
    grace_ms: i64,
    now: i64,
) -> Result<Rolled, KeyError> {
    use api_key_token::Column;
    // The key's row lock: two rolls of one key at once take turns on
    // PostgreSQL (SQLite's write transactions already do), and the unique
    // index on a key's current token refuses what slips past anyway.
    let key = api_key::Entity::find_by_id(id)
        .filter(api_key::Column::AccountId.eq(account_id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(KeyError::NotFound)?;
    // Ended tokens are marked so: every instance refuses them at once,
    // whatever its clock says about `expires_at`.
    let ended = api_key_token::Entity::update_many()
        .col_expr(Column::ExpiresAt, Expr::value(now))
        .col_expr(Column::Ended, Expr::value(true))
        .filter(Column::KeyId.eq(key.id))
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::Ended.eq(false))
        .exec(db)
        .await?;
    let old_until = now + std::cmp::max(grace_ms, 0);
    api_key_token::Entity::update_many()
        .col_expr(Column::ExpiresAt, Expr::value(old_until))
        .col_expr(Column::Ended, Expr::value(grace_ms <= 0))
        .filter(Column::KeyId.eq(key.id))
        .filter(Column::ExpiresAt.is_null())
        .exec(db)
        .await?;
    api_key_token::Entity::delete_many()
        .filter(Column::KeyId.eq(key.id))
        .filter(Column::ExpiresAt.lt(now - EXPIRED_TOKENS_KEPT_MS))
        .exec(db)
        .await?;
    let (row, token) = new_token(master, key.id, now)?;
    row.insert(db).await?;
    Ok(Rolled { key, token, old_until, ended_earlier: ended.rows_affected > 0 })
}

/// Switches a key off (`disabled`) or on again; its tokens are unchanged.
/// Returns the key as it is now, and whether anything changed.
pub async fn set_disabled(
    db: &impl ConnectionTrait,
    account_id: i32,
    id: i32,
    disabled: bool,
    now: i64,
) -> Result<(api_key::Model, bool), KeyError> {
    let key = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    if key.disabled_at.is_some() == disabled {
        return Ok((key, false));
    }
    let mut active = key.into_active_model();
    active.disabled_at = Set(disabled.then_some(now));
    let key = active.update(db).await.map_err(|e| match e {
        DbErr::RecordNotUpdated => KeyError::NotFound,
        e => KeyError::Db(e),
    })?;
    Ok((key, true))
}

/// Deletes a key and, with it, all its tokens.
pub async fn delete(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<api_key::Model, KeyError> {
    let existing = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    api_key_token::Entity::delete_many().filter(api_key_token::Column::KeyId.eq(id)).exec(db).await?;
    let result = api_key::Entity::delete_by_id(id).filter(api_key::Column::AccountId.eq(account_id)).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(KeyError::NotFound);
    }
    count_keys(db, account_id, -1).await?;
    Ok(existing)
}

/// Keeps `accounts.key_count`, in the transaction of the insert or delete it counts.
async fn count_keys(db: &impl ConnectionTrait, account_id: i32, by: i64) -> Result<(), DbErr> {
    use crate::db::entities::account;
    account::Entity::update_many()
        .col_expr(account::Column::KeyCount, Expr::col(account::Column::KeyCount).add(by))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Decrypts a key's current token for the eye button.
pub async fn reveal(
    db: &impl ConnectionTrait,
    master: &MasterKey,
    account_id: i32,
    id: i32,
) -> Result<(api_key::Model, Token), KeyError> {
    let key = find(db, account_id, id).await?.ok_or(KeyError::NotFound)?;
    let tokens = tokens_of(db, vec![key.id]).await?.remove(&key.id).unwrap_or_default();
    let row = current(&tokens).ok_or(KeyError::NotFound)?;
    let plain = master.open(&row.sealed, &row.digest)?;
    let token =
        String::from_utf8(plain).ok().and_then(|s| Token::parse(&s).ok()).ok_or(KeyError::Seal(SealError::Open))?;
    Ok((key, token))
}

pub async fn find(db: &impl ConnectionTrait, account_id: i32, id: i32) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find_by_id(id).filter(api_key::Column::AccountId.eq(account_id)).one(db).await
}

/// The digests of every token, for the in-memory token index.
pub async fn all_digests(db: &impl ConnectionTrait) -> Result<Vec<Vec<u8>>, DbErr> {
    api_key_token::Entity::find().select_only().column(api_key_token::Column::Digest).into_tuple().all(db).await
}

/// The digests of tokens made since `since` (by the app's clock of whoever made them).
pub async fn digests_since(db: &impl ConnectionTrait, since: i64) -> Result<Vec<Vec<u8>>, DbErr> {
    made_since(since).into_tuple().all(db).await
}

/// Asked every two seconds by every instance: answered from the
/// `created_at` index (migration 8), never by reading the whole table.
fn made_since(since: i64) -> sea_orm::Select<api_key_token::Entity> {
    api_key_token::Entity::find()
        .select_only()
        .column(api_key_token::Column::Digest)
        .filter(api_key_token::Column::CreatedAt.gte(since))
}

/// The digests of one key's tokens (a change notice said it changed).
pub async fn digests_of_key(db: &impl ConnectionTrait, key_id: i32) -> Result<Vec<Vec<u8>>, DbErr> {
    api_key_token::Entity::find()
        .select_only()
        .column(api_key_token::Column::Digest)
        .filter(api_key_token::Column::KeyId.eq(key_id))
        .into_tuple()
        .all(db)
        .await
}

/// A presented token's row, its key and the key's IP ACL: the API's lookup.
pub async fn find_by_digest(
    db: &impl ConnectionTrait,
    token_digest: &TokenDigest,
) -> Result<Option<(api_key_token::Model, api_key::Model, ip_acl::Model)>, DbErr> {
    let found = find_by_digests(db, std::slice::from_ref(token_digest)).await?;
    Ok(found.into_iter().next().map(|(_, token, key, acl)| (token, key, acl)))
}

/// [`find_by_digest`] for many tokens at once, two queries a batch (the
/// token cache's refresh job): what is found, by digest; a digest absent
/// from the answer is no key's any more.
pub async fn find_by_digests(
    db: &impl ConnectionTrait,
    digests: &[TokenDigest],
) -> Result<Vec<(TokenDigest, api_key_token::Model, api_key::Model, ip_acl::Model)>, DbErr> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(api_key_token::Model, api_key::Model)> = api_key_token::Entity::find()
        .filter(api_key_token::Column::Digest.is_in(digests.iter().map(|d| d.to_vec())))
        .find_also_related(api_key::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(token, key)| Some((token, key?)))
        .collect();
    let acl_ids: std::collections::BTreeSet<i32> = found.iter().map(|(_, key)| key.ip_acl_id).collect();
    let acls: std::collections::HashMap<i32, ip_acl::Model> = ip_acl::Entity::find()
        .filter(ip_acl::Column::Id.is_in(acl_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|acl| (acl.id, acl))
        .collect();
    Ok(found
        .into_iter()
        .filter_map(|(token, key)| {
            let digest = TokenDigest::try_from(token.digest.as_slice()).ok()?;
            let acl = acls.get(&key.ip_acl_id)?.clone();
            Some((digest, token, key, acl))
        })
        .collect())
}

/// How many of the account's keys are in each state, as the table's Status
/// filter selects them (Active includes those expiring soon).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub active: i64,
    pub expiring: i64,
    pub disabled: i64,
    pub expired: i64,
}

pub async fn status_counts(
    db: &impl ConnectionTrait,
    account_id: i32,
    now: i64,
    soon_ms: i64,
) -> Result<StatusCounts, DbErr> {
    use api_key::Column;
    // Each a range of an index (account, disabled) or (account, expiry,
    // disabled); Active is what the others leave.
    let count = |condition: Condition| {
        api_key::Entity::find()
            .select_only()
            .column_as(Expr::col(Column::Id).count(), "n")
            .filter(Column::AccountId.eq(account_id))
            .filter(condition)
            .into_tuple::<i64>()
            .one(db)
    };
    let enabled = || Condition::all().add(Column::DisabledAt.is_null());
    let all = crate::db::entities::account::Entity::find_by_id(account_id).one(db).await?.map_or(0, |a| a.key_count);
    let disabled = count(Condition::all().add(Column::DisabledAt.is_not_null())).await?.unwrap_or(0);
    let expired = count(enabled().add(Column::ExpiresAt.lte(now))).await?.unwrap_or(0);
    let expiring =
        count(enabled().add(Column::ExpiresAt.gt(now)).add(Column::ExpiresAt.lte(now + soon_ms))).await?.unwrap_or(0);
    Ok(StatusCounts { active: all - disabled - expired, expiring, disabled, expired })
}

/// Names of these keys of the account (keys since deleted are absent).
pub async fn names(db: &impl ConnectionTrait, account_id: i32, ids: &[i32]) -> Result<Vec<(i32, String)>, DbErr> {
    api_key::Entity::find()
        .select_only()
        .column(api_key::Column::Id)
        .column(api_key::Column::Name)
        .filter(api_key::Column::AccountId.eq(account_id))
        .filter(api_key::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(i32, String)>()
        .all(db)
        .await
}

/// What the Overview lists: keys that will stop working soon, old tokens
/// still in grace, and keys nobody has used for a long time.
#[derive(Debug, Clone, Default)]
pub struct Attention {
    pub expiring: Vec<api_key::Model>,
    pub in_grace: Vec<(api_key::Model, i64)>,
    pub unused: Vec<api_key::Model>,
}

/// At most `limit` keys of each kind, the most urgent first.
pub async fn attention(
    db: &impl ConnectionTrait,
    account_id: i32,
    now: i64,
    soon_ms: i64,
    unused_ms: i64,
    limit: u64,
) -> Result<Attention, DbErr> {
    use api_key::Column;
    let expiring = api_key::Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::DisabledAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .filter(Column::ExpiresAt.lte(now + soon_ms))
        .order_by_asc(Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?;
    let grace: Vec<(api_key_token::Model, Option<api_key::Model>)> = api_key_token::Entity::find()
        .filter(api_key_token::Column::ExpiresAt.gt(now))
        .filter(api_key_token::Column::Ended.eq(false))
        .find_also_related(api_key::Entity)
        .filter(Column::AccountId.eq(account_id))
        .order_by_asc(api_key_token::Column::ExpiresAt)
        .limit(limit)
        .all(db)
        .await?;
    let in_grace = grace.into_iter().filter_map(|(token, key)| Some((key?, token.expires_at?))).collect();
    // Neither used nor made since the cutoff, least recently active first:
    // one range of the index on this expression (migration 11).
    let idle_since = || Expr::cust(IDLE_SINCE);
    let unused = api_key::Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(idle_since().lt(now - unused_ms))
        .order_by_asc(idle_since())
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(Attention { expiring, in_grace, unused })
}

/// The unique (account, folded name) index decides; this names its refusal.
fn name_taken_or_db(err: DbErr) -> KeyError {
    if is_unique_violation(&err) { KeyError::NameTaken } else { KeyError::Db(err) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;
    use crate::db::service::accounts;
    use sea_orm::{DbBackend, Statement};

    const NOW: i64 = 1_795_838_400_000;

    async fn setup() -> (sea_orm::DatabaseConnection, MasterKey, i32, i32) {
        let db = db::connect("sqlite::memory:").await.unwrap();
        let account = accounts::create(&db, "Test").await.unwrap();
        let acl = ip_acls::all(&db, account.id).await.unwrap()[0].id;
        (db, MasterKey::from_bytes(&[7; 32]), account.id, acl)
    }

    fn names(page: &KeyPage) -> Vec<&str> {
        page.rows.iter().map(|r| r.key.name.as_str()).collect()
    }

    /// The token index's catch-up runs every two seconds on every instance:
    /// it must read the recent tokens only, not scan the table.
    #[tokio::test]
    async fn catching_up_on_new_tokens_reads_the_index_not_the_table() {
        let (db, ..) = setup().await;
        use sea_orm::QueryTrait;
        let query = made_since(NOW).build(DbBackend::Sqlite);
        let plan =
            db.query_all_raw(Statement { sql: format!("EXPLAIN QUERY PLAN {}", query.sql), ..query }).await.unwrap();
        let steps: Vec<String> = plan.iter().map(|row| row.try_get::<String>("", "detail").unwrap()).collect();
        assert!(steps.iter().any(|s| s.contains("USING INDEX api_key_tokens_created")), "{steps:?}");
        assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{steps:?}");
    }

    #[test]
    fn search_text_is_taken_literally() {
        assert_eq!(contains_pattern("  "), None);
        assert_eq!(contains_pattern("Ab"), Some("%ab%".into()));
        assert_eq!(contains_pattern("50%_off\\"), Some("%50\\%\\_off\\\\%".into()));
    }

    #[tokio::test]
    async fn keyset_pages_walk_forward_and_back_through_ties() {
        let (db, master, account, acl) = setup().await;
        // Ten keys, all created at the same instant: only the id breaks the tie.
        for i in 0..10 {
            create(&db, &master, account, &KeyFields::new(&format!("key {i}"), acl, None), NOW).await.unwrap();
        }
        let mut query = ListQuery { per_page: 4, ..ListQuery::default() };
        let first = list(&db, account, &query, NOW).await.unwrap();
        assert_eq!(names(&first), ["key 9", "key 8", "key 7", "key 6"]);
        assert_eq!(first.previous, None);
        query.cursor = first.next;
        let second = list(&db, account, &query, NOW).await.unwrap();
        assert_eq!(names(&second), ["key 5", "key 4", "key 3", "key 2"]);
        query.cursor = second.next;
        let third = list(&db, account, &query, NOW).await.unwrap();
        assert_eq!(names(&third), ["key 1", "key 0"]);
        assert_eq!(third.next, None);
        query.cursor = third.previous;
        let back = list(&db, account, &query, NOW).await.unwrap();
        assert_eq!(names(&back), names(&second));
        query.cursor = back.previous;
        let start = list(&db, account, &query, NOW).await.unwrap();
        assert_eq!(names(&start), names(&first));
        assert_eq!(start.previous, None, "nothing before the first page");
    }

    #[tokio::test]
    async fn search_filter_and_sort() {
        let (db, master, account, acl) = setup().await;
        for (i, name) in ["Billing", "billing backup", "Reports", "100%_real"].into_iter().enumerate() {
            create(&db, &master, account, &KeyFields::new(name, acl, None), NOW + i as i64).await.unwrap();
        }
        let (reports, _) =
            list(&db, account, &ListQuery::default(), NOW).await.map(|p| (p.rows[1].key.id, ())).unwrap();
        set_disabled(&db, account, reports, true, NOW).await.unwrap();
        let search = |search: &str, status| ListQuery { search: search.into(), status, ..ListQuery::default() };
        assert_eq!(
            names(&list(&db, account, &search("BILL", StatusFilter::All), NOW).await.unwrap()),
            ["billing backup", "Billing"]
        );
        assert_eq!(names(&list(&db, account, &search("%_", StatusFilter::All), NOW).await.unwrap()), ["100%_real"]);
        assert_eq!(names(&list(&db, account, &search("_", StatusFilter::All), NOW).await.unwrap()), ["100%_real"]);
        assert_eq!(names(&list(&db, account, &search("", StatusFilter::Disabled), NOW).await.unwrap()), ["Reports"]);
        assert_eq!(list(&db, account, &search("", StatusFilter::Active), NOW).await.unwrap().rows.len(), 3);
        let by_name = ListQuery { sort: SortKey::Name, ascending: true, ..ListQuery::default() };
        assert_eq!(
            names(&list(&db, account, &by_name, NOW).await.unwrap()),
            ["100%_real", "Billing", "billing backup", "Reports"]
        );
        let nothing = list(&db, account, &search("zzz", StatusFilter::All), NOW).await.unwrap();
        assert!(nothing.rows.is_empty() && nothing.has_keys);
    }

    #[tokio::test]
    async fn a_roll_keeps_the_old_token_for_its_grace_and_ends_an_older_one() {
        let (db, master, account, acl) = setup().await;
        let (key, _, first) = create(&db, &master, account, &KeyFields::new("Rolling", acl, None), NOW).await.unwrap();
        let rolled = roll(&db, &master, account, key.id, DAY_MS, NOW).await.unwrap();
        assert!(!rolled.ended_earlier);
        assert_eq!(rolled.old_until, NOW + DAY_MS);
        let (_, shown) = reveal(&db, &master, account, key.id).await.unwrap();
        assert_eq!(shown, rolled.token, "the eye button shows the new token");
        let (old, ..) = find_by_digest(&db, &digest(first.expose())).await.unwrap().unwrap();
        assert_eq!(old.expires_at, Some(NOW + DAY_MS));
        // Rolling again within the grace ends the first token at once.
        let again = roll(&db, &master, account, key.id, DAY_MS, NOW + 1000).await.unwrap();
        assert!(again.ended_earlier);
        let (old, ..) = find_by_digest(&db, &digest(first.expose())).await.unwrap().unwrap();
        assert_eq!(old.expires_at, Some(NOW + 1000));
        let (second, ..) = find_by_digest(&db, &digest(rolled.token.expose())).await.unwrap().unwrap();
        assert_eq!(second.expires_at, Some(NOW + 1000 + DAY_MS));
        let page = list(&db, account, &ListQuery::default(), NOW + 1000).await.unwrap();
        assert_eq!(page.rows[0].old_token_until, Some(NOW + 1000 + DAY_MS));
        assert_eq!(page.rows[0].token_suffix, again.token.visible_suffix());
        // Long after, old tokens are cleared out at the next roll.
        roll(&db, &master, account, key.id, 0, NOW + 40 * DAY_MS).await.unwrap();
        assert!(find_by_digest(&db, &digest(first.expose())).await.unwrap().is_none());
        // Deleting the key deletes every token.
        delete(&db, account, key.id).await.unwrap();
        assert_eq!(api_key_token::Entity::find().all(&db).await.unwrap().len(), 0);
    }

    /// Rare matches come from the trigram index, dense ones from reading in
    /// order; both give exactly the names that contain the text, renames included.
    #[tokio::test]
    async fn search_finds_the_same_keys_whichever_way_it_reads() {
        use sea_orm::TransactionTrait;
        let (db, master, account, acl) = setup().await;
        let txn = db.begin().await.unwrap();
        for i in 0..(trigrams::INDEXED_SEARCH_MAX + 100) {
            create(&txn, &master, account, &KeyFields::new(&format!("Fleet {i:05}"), acl, None), NOW + i)
                .await
                .unwrap();
        }
        txn.commit().await.unwrap();
        let search = |text: &str, per_page| ListQuery { search: text.into(), per_page, ..ListQuery::default() };
        let narrowed =
            trigrams::candidates(&db, "fleet 0199", &KEY_NAMES).await.unwrap().expect("few matches: the index narrows");
        assert!(narrowed.len() < 200, "{}", narrowed.len());
        assert!(
            trigrams::candidates(&db, "fleet", &KEY_NAMES).await.unwrap().is_none(),
            "dense matches: read in order"
        );
        assert!(trigrams::candidates(&db, "fl", &KEY_NAMES).await.unwrap().is_none(), "too short for trigrams");
        assert_eq!(trigrams::candidates(&db, "qqq", &KEY_NAMES).await.unwrap(), Some(vec![]), "no name holds it");
        let counts = |trigram: &'static str| {
            let db = &db;
            async move {
                let row = db
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "SELECT names FROM api_key_trigram_counts WHERE trigram = ?",
                        [trigram.into()],
                    ))
                    .await
                    .unwrap();
                row.map(|r| r.try_get::<i64>("", "names").unwrap()).unwrap_or(0)
            }
        };
        assert_eq!(counts("fle").await, trigrams::INDEXED_SEARCH_MAX + 100, "once per name");
        let rare = list(&db, account, &search("FLEET 0199", 50), NOW).await.unwrap();
        assert_eq!(names(&rare), (1990..2000).rev().map(|i| format!("Fleet {i:05}")).collect::<Vec<_>>());
        let dense = list(&db, account, &search("fleet", 5), NOW).await.unwrap();
        assert_eq!(names(&dense)[0], format!("Fleet {:05}", trigrams::INDEXED_SEARCH_MAX + 99));
        // A renamed key is found under its new name only.
        let id = rare.rows[0].key.id;
        update(&db, account, id, &KeyFields::new("Renamed xyz", acl, None)).await.unwrap();
        assert_eq!(names(&list(&db, account, &search("xyz", 50), NOW).await.unwrap()), ["Renamed xyz"]);
        assert_eq!(list(&db, account, &search("FLEET 0199", 50), NOW).await.unwrap().rows.len(), 9);
        assert_eq!((counts("xyz").await, counts("fle").await), (1, trigrams::INDEXED_SEARCH_MAX + 99));
        delete(&db, account, id).await.unwrap();
        assert!(list(&db, account, &search("xyz", 50), NOW).await.unwrap().rows.is_empty());
        assert_eq!(counts("xyz").await, 0);
    }
}
