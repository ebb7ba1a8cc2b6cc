use sea_orm::entity::prelude::*;

/// One thing an admin did (or tried). Never holds a token or a password.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    pub at: i64,
    /// The admin's username (kept as text: the log outlives renamed or removed admins).
    pub admin: String,
    pub client_ip: String,
    /// `service::audit::Action` as text.
    pub action: String,
    /// The API key or IP ACL acted on, by name.
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
