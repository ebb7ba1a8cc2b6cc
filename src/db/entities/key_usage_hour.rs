use sea_orm::entity::prelude::*;

/// A key's requests in one hour (hours since the Unix epoch, UTC), written
/// as increments so that several instances add up.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_usage_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: i64,
    pub allowed: i64,
    pub refused: i64,
    /// Allowed only because the IP ACL is report-only (also in `allowed`).
    pub would_refuse: i64,
    /// Refused by the key's rate limit (not counted in `refused`).
    pub rate_limited: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
