use sea_orm::entity::prelude::*;

/// A key's requests in one UTC day (allowed, refused and rate limited
/// together), with its account beside it so the Overview's **Busiest keys**
/// reads one index range per account instead of every key's hours.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_usage_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: i64,
    pub account_id: i32,
    pub requests: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
