use sea_orm::entity::prelude::*;

/// How many requests one instance let through for a rate-limited key since
/// it started (a count that only grows; the others read the differences),
/// and until when (ms since the epoch) those it let through still use up
/// part of the key's allowance: what an instance that reads the row for the
/// first time charges itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limit_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub instance: String,
    pub admitted: i64,
    pub ahead_until: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
