//! Sign-in throttling counters, in the database so that every instance on a
//! shared database counts the same failures.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInThrottle::Table)
                    .if_not_exists()
                    .col(string_len(SignInThrottle::Key, 200).primary_key())
                    .col(big_integer(SignInThrottle::Tat))
                    .to_owned(),
            )
            .await?;
        // Pruning deletes the keys whose allowance is whole again.
        manager
            .create_index(
                Index::create()
                    .name("sign_in_throttle_tat")
                    .table(SignInThrottle::Table)
                    .col(SignInThrottle::Tat)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SignInThrottle::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SignInThrottle {
    Table,
    Key,
    Tat,
}
