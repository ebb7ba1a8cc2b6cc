//! A key has tokens: the token columns of `api_keys` move to
//! `api_key_tokens` unchanged (every token that worked still works), and a
//! key gains a status (disabled) and an expiry. `last_used_at` becomes 0 for
//! "never", so that sorting and paging by it behave alike on SQLite (which
//! sorts NULL first) and PostgreSQL (which sorts it last).
//!
//! SQLite cannot drop a UNIQUE column, so there the table is rebuilt: renamed
//! aside, created anew, copied with the same ids, and the old one dropped.
//! Everything runs in one transaction on both databases.

use super::m20261128_000001_api_keys::{Accounts, IpAcls};
use sea_orm_migration::SchemaManagerConnection;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared("ALTER TABLE api_keys RENAME TO api_keys_v1").await?;
                // The old indexes went with the old table; their names are needed again.
                for index in ["api_keys_account_name_unique", "api_keys_account_created", "api_keys_ip_acl"] {
                    manager.drop_index(Index::drop().name(index).table(Alias::new("api_keys_v1")).to_owned()).await?;
                }
                manager.create_table(new_api_keys()).await?;
                db.execute_unprepared(
                    "INSERT INTO api_keys (id, account_id, ip_acl_id, name, name_folded, created_at, last_used_at, \
                     last_used_ip, disabled_at, expires_at) \
                     SELECT id, account_id, ip_acl_id, name, name_folded, created_at, COALESCE(last_used_at, 0), \
                     last_used_ip, NULL, NULL FROM api_keys_v1",
                )
                .await?;
                manager.create_table(api_key_tokens()).await?;
                copy_tokens(db, "api_keys_v1").await?;
                manager.drop_table(Table::drop().table(Alias::new("api_keys_v1")).to_owned()).await?;
            }
            _ => {
                manager.create_table(api_key_tokens()).await?;
                copy_tokens(db, "api_keys").await?;
                db.execute_unprepared("UPDATE api_keys SET last_used_at = 0 WHERE last_used_at IS NULL").await?;
                manager
                    .alter_table(
                        Table::alter()
                            .table(ApiKeys::Table)
                            .drop_column(Alias::new("token_digest"))
                            .drop_column(Alias::new("token_sealed"))
                            .drop_column(Alias::new("token_suffix"))
                            .modify_column(big_integer(ApiKeys::LastUsedAt).default(0))
                            .add_column(big_integer_null(ApiKeys::DisabledAt))
                            .add_column(big_integer_null(ApiKeys::ExpiresAt))
                            .to_owned(),
                    )
                    .await?;
                for index in ["api_keys_account_name_unique", "api_keys_account_created", "api_keys_ip_acl"] {
                    manager.drop_index(Index::drop().name(index).table(ApiKeys::Table).to_owned()).await?;
                }
                // Sort and page by name byte by byte, as SQLite does, not by the locale's rules.
                db.execute_unprepared(r#"ALTER TABLE api_keys ALTER COLUMN name_folded TYPE varchar(400) COLLATE "C""#)
                    .await?;
            }
        }
        create_indexes(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("a key's tokens cannot be folded back into one column; restore a backup instead".into()))
    }

    /// The rebuild must be all or nothing, on SQLite too.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn new_api_keys() -> TableCreateStatement {
    Table::create()
        .table(ApiKeys::Table)
        .col(pk_auto(ApiKeys::Id))
        .col(integer(ApiKeys::AccountId))
        .col(integer(ApiKeys::IpAclId))
        .col(string_len(ApiKeys::Name, 100))
        .col(string_len(ApiKeys::NameFolded, 400))
        .col(big_integer(ApiKeys::CreatedAt))
        .col(big_integer(ApiKeys::LastUsedAt).default(0))
        .col(string_len_null(ApiKeys::LastUsedIp, 45))
        .col(big_integer_null(ApiKeys::DisabledAt))
        .col(big_integer_null(ApiKeys::ExpiresAt))
        .foreign_key(
            ForeignKey::create()
                .from(ApiKeys::Table, ApiKeys::AccountId)
                .to(Accounts::Table, Accounts::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            // An ACL in use cannot disappear from under its keys.
            ForeignKey::create()
                .from(ApiKeys::Table, ApiKeys::IpAclId)
                .to(IpAcls::Table, IpAcls::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn api_key_tokens() -> TableCreateStatement {
    Table::create()
        .table(ApiKeyTokens::Table)
        .col(pk_auto(ApiKeyTokens::Id))
        .col(integer(ApiKeyTokens::KeyId))
        .col(blob_uniq(ApiKeyTokens::Digest))
        .col(blob(ApiKeyTokens::Sealed))
        .col(string_len(ApiKeyTokens::Suffix, 8))
        .col(big_integer(ApiKeyTokens::CreatedAt))
        .col(big_integer_null(ApiKeyTokens::ExpiresAt))
        .foreign_key(
            ForeignKey::create()
                .from(ApiKeyTokens::Table, ApiKeyTokens::KeyId)
                .to(ApiKeys::Table, ApiKeys::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// Each key's one token, as it was: same digest, same ciphertext, so the
/// token works and the eye button shows it.
async fn copy_tokens(db: &SchemaManagerConnection<'_>, from: &str) -> Result<(), DbErr> {
    db.execute_unprepared(&format!(
        "INSERT INTO api_key_tokens (key_id, digest, sealed, suffix, created_at, expires_at) \
         SELECT id, token_digest, token_sealed, token_suffix, created_at, NULL FROM {from}"
    ))
    .await?;
    Ok(())
}

async fn create_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let index = |name: &str| Index::create().name(name).table(ApiKeys::Table).to_owned();
    // Names are unique per account, ignoring case; also the order of "sort by name".
    manager
        .create_index(
            index("api_keys_account_name_unique").col(ApiKeys::AccountId).col(ApiKeys::NameFolded).unique().to_owned(),
        )
        .await?;
    // Keyset paging in each sort order: (account, sort key, id).
    manager
        .create_index(
            index("api_keys_account_created_id")
                .col(ApiKeys::AccountId)
                .col(ApiKeys::CreatedAt)
                .col(ApiKeys::Id)
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index("api_keys_account_last_used_id")
                .col(ApiKeys::AccountId)
                .col(ApiKeys::LastUsedAt)
                .col(ApiKeys::Id)
                .to_owned(),
        )
        .await?;
    // Keys that expire soon, for the Overview.
    manager
        .create_index(index("api_keys_account_expires").col(ApiKeys::AccountId).col(ApiKeys::ExpiresAt).to_owned())
        .await?;
    manager.create_index(index("api_keys_ip_acl").col(ApiKeys::IpAclId).to_owned()).await?;
    manager
        .create_index(
            Index::create().name("api_key_tokens_key").table(ApiKeyTokens::Table).col(ApiKeyTokens::KeyId).to_owned(),
        )
        .await?;
    // Old tokens still in their grace, for the Overview.
    manager
        .create_index(
            Index::create()
                .name("api_key_tokens_expires")
                .table(ApiKeyTokens::Table)
                .col(ApiKeyTokens::ExpiresAt)
                .to_owned(),
        )
        .await
}

#[derive(DeriveIden)]
pub enum ApiKeys {
    Table,
    Id,
    AccountId,
    IpAclId,
    Name,
    NameFolded,
    CreatedAt,
    LastUsedAt,
    LastUsedIp,
    DisabledAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiKeyTokens {
    Table,
    Id,
    KeyId,
    Digest,
    Sealed,
    Suffix,
    CreatedAt,
    ExpiresAt,
}
