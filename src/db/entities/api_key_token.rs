use sea_orm::entity::prelude::*;

/// A token of an API key. The token itself is never stored: only its SHA-256
/// digest (to find the key when the API is called) and an AES-256-GCM
/// ciphertext (for the eye button).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub key_id: i32,
    #[sea_orm(column_type = "Blob", unique)]
    pub digest: Vec<u8>,
    #[sea_orm(column_type = "Blob")]
    pub sealed: Vec<u8>,
    /// The last characters of the token, for the masked display.
    pub suffix: String,
    pub created_at: i64,
    /// Set when the token was rolled: it works until this instant.
    pub expires_at: Option<i64>,
    /// Ended at once ("Now", or a later roll): refused whatever a reader's
    /// clock says about `expires_at`.
    pub ended: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::api_key::Entity",
        from = "Column::KeyId",
        to = "super::api_key::Column::Id",
        on_delete = "Cascade"
    )]
    Key,
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Key.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
