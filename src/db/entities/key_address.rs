use sea_orm::entity::prelude::*;

/// A client address that presented a key's token; at most 100 per key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_addresses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub ip: String,
    pub requests: i64,
    pub refused: i64,
    pub would_refuse: i64,
    pub last_seen: i64,
    /// The token of the latest use let through from here (0: none was).
    pub last_token_id: i64,
    pub last_allowed: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
