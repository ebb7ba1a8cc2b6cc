use sea_orm::entity::prelude::*;

/// The second step of a sign-in: the password was right and a code is
/// awaited. The browser holds the id; only its SHA-256 is stored. It is not a
/// session and reaches nothing but the second step.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_challenges")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(column_type = "Blob", unique)]
    pub id_digest: Vec<u8>,
    pub admin_id: i32,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
