use sea_orm::entity::prelude::*;

/// All of an account's requests in one UTC day (days since the Unix epoch),
/// summed over its keys as the flush writes them, so the Overview's chart
/// reads 30 rows however many keys the account has. Keys deleted since keep
/// their share: the traffic happened.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_usage_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    pub allowed: i64,
    pub refused: i64,
    /// Allowed only because the IP ACL is report-only (also in `allowed`).
    pub would_refuse: i64,
    pub rate_limited: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
