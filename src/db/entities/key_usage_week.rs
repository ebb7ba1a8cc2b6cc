use sea_orm::entity::prelude::*;

/// A key's requests over the seven UTC days that end on `through_day`,
/// kept by the flush so the Overview's **Busiest keys** reads five rows of
/// an index instead of summing every key's week.
///
/// Invariant (what makes the read exact): no day row of the key is later
/// than `through_day`. A row whose `through_day` is before today therefore
/// counts at least what the key did in today's seven days (it still holds
/// days that have since left the window, and no day can be missing), so it
/// is an upper bound the reader can rank by and check.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_usage_weeks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    pub account_id: i32,
    pub through_day: i64,
    pub requests: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
