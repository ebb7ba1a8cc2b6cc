use sea_orm::entity::prelude::*;

/// An API key: a name, an IP ACL, a status and an expiry. Its secrets are its
/// tokens (`api_key_token`), one at a time except while an old one is in the
/// grace period after a roll.
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
    pub created_at: i64,
    /// 0 when never used (a number, so paging by it is alike on both databases).
    pub last_used_at: i64,
    pub last_used_ip: Option<String>,
    /// Set while the key is switched off; its tokens are refused meanwhile.
    pub disabled_at: Option<i64>,
    /// The key and all its tokens stop working at this instant.
    pub expires_at: Option<i64>,
    /// Addresses forgotten because more than 100 presented its token.
    pub addresses_dropped: i64,
    /// `domain::permissions::Access` stored: `None` for full access, else the codes.
    #[sea_orm(column_type = "Text", nullable)]
    pub permissions: Option<String>,
    /// The rate limit's number of requests, and its period (`domain::rate_limit`); `None`: no limit.
    pub rate_limit: Option<i64>,
    pub rate_per: Option<String>,
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
    #[sea_orm(has_many = "super::api_key_token::Entity")]
    Token,
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

impl Related<super::api_key_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Token.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
