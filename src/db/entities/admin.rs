use sea_orm::entity::prelude::*;

/// A person who signs in to the console; belongs to one account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub account_id: i32,
    /// Lower-case (`domain::validation::username`), unique across accounts.
    #[sea_orm(unique)]
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    /// `domain::roles::Role` as text.
    pub role: String,
    /// The TOTP secret, sealed under the master key, bound to this admin; `None`: two-factor is off.
    pub totp_sealed: Option<Vec<u8>>,
    /// A secret shown for setting up, not yet confirmed by a code.
    pub totp_pending_sealed: Option<Vec<u8>>,
    /// The last time step whose code was accepted (RFC 6238 §5.2: never twice).
    pub totp_last_step: Option<i64>,
    pub last_sign_in_at: Option<i64>,
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
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
