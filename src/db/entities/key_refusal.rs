use sea_orm::entity::prelude::*;

/// A refused use of a key's token (or one a report-only IP ACL let through);
/// the last 50 per key are kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_refusals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub key_id: i32,
    pub at: i64,
    pub ip: String,
    /// `domain::usage::Reason` as the API names it.
    pub reason: String,
    pub report_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
