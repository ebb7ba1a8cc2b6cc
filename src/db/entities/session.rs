use sea_orm::entity::prelude::*;

/// A signed-in browser. The cookie carries the id; only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(column_type = "Blob", unique)]
    pub id_digest: Vec<u8>,
    pub admin_id: i32,
    pub account_id: i32,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The browser's User-Agent at sign-in (clipped), for the Sessions table.
    pub user_agent: String,
    pub client_ip: String,
    /// When this session last proved who it is: signing in, or Confirm access.
    pub proved_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::admin::Entity",
        from = "Column::AdminId",
        to = "super::admin::Column::Id",
        on_delete = "Cascade"
    )]
    Admin,
}

impl Related<super::admin::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Admin.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
