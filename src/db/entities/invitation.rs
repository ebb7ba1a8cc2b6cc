use sea_orm::entity::prelude::*;

/// An invitation to join an account; the link carries a secret whose
/// SHA-256 alone is stored. Used, cancelled or expired, it lets nobody in.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    /// The username the new admin will have (lower-case).
    pub username: String,
    /// `domain::roles::Role` as text.
    pub role: String,
    #[sea_orm(column_type = "Blob", unique)]
    pub token_digest: Vec<u8>,
    /// The Owner who invited (by username; the log outlives admins).
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub cancelled_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
