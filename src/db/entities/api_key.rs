use sea_orm::entity::prelude::*;

/// An API key. The token itself is never stored: only its SHA-256 digest (to find
/// the key when the API is called) and an AES-256-GCM ciphertext (for the eye button).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub ip_acl_id: i32,
    pub name: String,
    /// `domain::validation::fold(name)`, unique per account.
    pub name_folded: String,
    #[sea_orm(column_type = "Blob", unique)]
    pub token_digest: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub token_sealed: Vec<u8>,
    /// The last characters of the token, for the masked display.
    pub token_suffix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id",
        on_delete = "Cascade"
    )]
    Account,
    #[sea_orm(
        belongs_to = "super::ip_acl::Entity",
        from = "Column::IpAclId",
        to = "super::ip_acl::Column::Id",
        on_delete = "Restrict"
    )]
    IpAcl,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::ip_acl::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::IpAcl.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
