//! The team: roles, invitations, two-factor authentication with recovery
//! codes, the account's two-factor policy, and sessions an admin can see
//! (browser, address) and that remember when they last proved who they are.
//! Admins who exist before this migration become Owners, as they could do
//! everything until now.

use super::m20261128_000001_api_keys::Accounts;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let admins = [
            string_len(Admins::Role, 16).default("owner").to_owned(),
            blob_null(Admins::TotpSealed),
            blob_null(Admins::TotpPendingSealed),
            big_integer_null(Admins::TotpLastStep),
            big_integer_null(Admins::LastSignInAt),
        ];
        for mut column in admins {
            manager.alter_table(Table::alter().table(Admins::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(boolean(Alias::new("require_two_factor")).default(false))
                    .to_owned(),
            )
            .await?;
        let sessions = [
            string_len(Sessions::UserAgent, 256).default("").to_owned(),
            string_len(Sessions::ClientIp, 45).default("").to_owned(),
            big_integer(Sessions::ProvedAt).default(0).to_owned(),
        ];
        for mut column in sessions {
            manager.alter_table(Table::alter().table(Sessions::Table).add_column(&mut column).to_owned()).await?;
        }
        // Signing in proved who a session is: those open now did so when they started.
        manager
            .exec_stmt(
                Query::update()
                    .table(Sessions::Table)
                    .value(Sessions::ProvedAt, Expr::col(Sessions::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_auto(RecoveryCodes::Id))
                    .col(integer(RecoveryCodes::AdminId))
                    .col(blob(RecoveryCodes::Digest))
                    .col(big_integer_null(RecoveryCodes::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecoveryCodes::Table, RecoveryCodes::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recovery_codes_admin")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::AdminId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Invitations::Table)
                    .col(pk_auto(Invitations::Id))
                    .col(integer(Invitations::AccountId))
                    .col(string_len(Invitations::Username, 64))
                    .col(string_len(Invitations::Role, 16))
                    .col(blob_uniq(Invitations::TokenDigest))
                    .col(string_len(Invitations::InvitedBy, 64))
                    .col(big_integer(Invitations::CreatedAt))
                    .col(big_integer(Invitations::ExpiresAt))
                    .col(big_integer_null(Invitations::UsedAt))
                    .col(big_integer_null(Invitations::CancelledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invitations::Table, Invitations::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_account")
                    .table(Invitations::Table)
                    .col(Invitations::AccountId)
                    .col(Invitations::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("invitations_username")
                    .table(Invitations::Table)
                    .col(Invitations::Username)
                    .to_owned(),
            )
            .await?;

        // The second step of a sign-in: a password was right, a code is awaited.
        manager
            .create_table(
                Table::create()
                    .table(SignInChallenges::Table)
                    .col(pk_auto(SignInChallenges::Id))
                    .col(blob_uniq(SignInChallenges::IdDigest))
                    .col(integer(SignInChallenges::AdminId))
                    .col(big_integer(SignInChallenges::CreatedAt))
                    .col(big_integer(SignInChallenges::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SignInChallenges::Table, SignInChallenges::AdminId)
                            .to(Admins::Table, Admins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("sessions_admin").table(Sessions::Table).col(Sessions::AdminId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["sign_in_challenges", "invitations", "recovery_codes"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Role,
    TotpSealed,
    TotpPendingSealed,
    TotpLastStep,
    LastSignInAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    AdminId,
    CreatedAt,
    UserAgent,
    ClientIp,
    ProvedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    AdminId,
    Digest,
    UsedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    AccountId,
    Username,
    Role,
    TokenDigest,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum SignInChallenges {
    Table,
    Id,
    IdDigest,
    AdminId,
    CreatedAt,
    ExpiresAt,
}
