use sea_orm::entity::prelude::*;

/// A TextPeak customer; every key and IP ACL belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub created_at: i64,
    /// Every admin must use two-factor authentication to reach the console.
    pub require_two_factor: bool,
    /// How many keys the account has, kept by the key service beside each
    /// insert and delete: the Overview's counts without counting 100,000 rows.
    pub key_count: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::ip_acl::Entity")]
    IpAcl,
    #[sea_orm(has_many = "super::api_key::Entity")]
    ApiKey,
}

impl Related<super::ip_acl::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IpAcl.def()
    }
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
