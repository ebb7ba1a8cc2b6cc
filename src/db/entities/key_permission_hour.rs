use sea_orm::entity::prelude::*;

/// How often a key's checks asked for one permission in one hour, and how
/// often it was denied; added up as increments like the other counts.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_permission_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: i64,
    /// `domain::permissions::Permission::code`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub permission: String,
    pub asked: i64,
    pub denied: i64,
    pub last_asked: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
