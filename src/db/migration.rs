//! Schema migrations, applied at start-up (`Migrator::up`), one file each.

use sea_orm_migration::prelude::*;

mod m20261128_000001_api_keys;
mod m20261128_000002_admins_sessions_audit;
mod m20261128_000003_sign_in_throttle;
mod m20261128_000004_key_tokens;
mod m20261128_000005_key_name_search;
mod m20261128_000006_key_usage;
mod m20261206_000007_team;
mod m20261206_000008_second_review;
mod m20261207_000009_key_scopes;
mod m20261207_000010_overview_audit_search;
mod m20261207_000011_overview_audit_at_scale;

pub use m20261207_000011_overview_audit_at_scale::IDLE_SINCE;

pub struct Migrator;

/// On PostgreSQL, runs `create` (a `pg_trgm` index) once the extension is
/// there. Without it (a database user that may not create it) the search
/// still works, by reading every row: `reads_every_row` says which search
/// in the warning. Tried inside a savepoint, so a refusal leaves the
/// migration's transaction usable.
async fn pg_trigram_index(db: &SchemaManagerConnection<'_>, create: &str, reads_every_row: &str) -> Result<(), DbErr> {
    db.execute_unprepared("SAVEPOINT trigram").await?;
    match db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await {
        Ok(_) => {
            db.execute_unprepared("RELEASE SAVEPOINT trigram").await?;
            db.execute_unprepared(create).await?;
        }
        Err(e) => {
            db.execute_unprepared("ROLLBACK TO SAVEPOINT trigram").await?;
            tracing::warn!(
                error = %e,
                "pg_trgm is not available: {reads_every_row} reads every row (ask a superuser to run CREATE EXTENSION pg_trgm)"
            );
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_api_keys::Migration),
            Box::new(m20261128_000002_admins_sessions_audit::Migration),
            Box::new(m20261128_000003_sign_in_throttle::Migration),
            Box::new(m20261128_000004_key_tokens::Migration),
            Box::new(m20261128_000005_key_name_search::Migration),
            Box::new(m20261128_000006_key_usage::Migration),
            Box::new(m20261206_000007_team::Migration),
            Box::new(m20261206_000008_second_review::Migration),
            Box::new(m20261207_000009_key_scopes::Migration),
            Box::new(m20261207_000010_overview_audit_search::Migration),
            Box::new(m20261207_000011_overview_audit_at_scale::Migration),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::service::api_keys;
    use crate::domain::crypto::{MasterKey, digest};
    use crate::domain::token::Token;
    use sea_orm::{ConnectOptions, ConnectionTrait, Database, Statement};

    /// A database as the migrations before key tokens left it, with one key
    /// made the way that code made keys: its token must work after the upgrade.
    #[tokio::test]
    async fn tokens_made_before_keys_had_tokens_still_work_after_the_upgrade() {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        Migrator::up(&db, Some(3)).await.unwrap();
        let master = MasterKey::from_bytes(&[9; 32]);
        let token = Token::generate().unwrap();
        let token_digest = digest(token.expose());
        let sealed = master.seal(token.expose().as_bytes(), &token_digest).unwrap();
        let backend = db.get_database_backend();
        for sql in [
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'Old', 0)",
            "INSERT INTO ip_acls (id, account_id, name, name_folded, entries, created_at, updated_at) \
             VALUES (1, 1, 'Any address', 'any address', '0.0.0.0/0', 0, 0)",
        ] {
            db.execute_unprepared(sql).await.unwrap();
        }
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO api_keys (id, account_id, ip_acl_id, name, name_folded, token_digest, token_sealed, \
             token_suffix, created_at, last_used_at, last_used_ip) VALUES (41, 1, 1, 'Legacy', 'legacy', ?, ?, ?, 5, NULL, NULL)",
            [token_digest.to_vec().into(), sealed.into(), token.visible_suffix().into()],
        ))
        .await
        .unwrap();

        Migrator::up(&db, None).await.unwrap();

        let (row, key, acl) = api_keys::find_by_digest(&db, &token_digest).await.unwrap().expect("the token is found");
        assert_eq!((key.id, key.name.as_str(), acl.id, row.expires_at), (41, "Legacy", 1, None));
        assert_eq!((key.last_used_at, key.disabled_at, key.expires_at), (0, None, None));
        let (_, shown) = api_keys::reveal(&db, &master, 1, 41).await.unwrap();
        assert_eq!(shown, token, "the eye button shows the same token");
        let (newer, ..) =
            api_keys::create(&db, &master, 1, &api_keys::KeyFields::new("Newer", 1, None), 10).await.unwrap();
        assert!(newer.id > 41, "ids go on after the copied ones");
    }

    /// Hourly counts kept before the Overview's daily rollups existed are
    /// summed into them by the upgrade, and the days into each key's week:
    /// the chart and Busiest keys show the past at once, not only what
    /// comes after.
    #[tokio::test]
    async fn the_upgrade_fills_the_daily_rollups_from_the_hours_kept() {
        let mut options = ConnectOptions::new("sqlite::memory:");
        options.max_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        Migrator::up(&db, Some(9)).await.unwrap();
        db.execute_unprepared("INSERT INTO accounts (id, name, created_at) VALUES (1, 'Old', 0)").await.unwrap();
        db.execute_unprepared(
            "INSERT INTO ip_acls (id, account_id, name, name_folded, entries, created_at, updated_at) \
             VALUES (1, 1, 'Any address', 'any address', '0.0.0.0/0', 0, 0)",
        )
        .await
        .unwrap();
        // As that version's code made it (today's also counts the account's keys, a later column).
        db.execute_unprepared(
            "INSERT INTO api_keys (id, account_id, ip_acl_id, name, name_folded, created_at, last_used_at) \
             VALUES (7, 1, 1, 'Old', 'old', 0, 0)",
        )
        .await
        .unwrap();
        let key = api_keys::find(&db, 1, 7).await.unwrap().unwrap();
        // Day 20,000 (hours 480,000 to 480,023) twice, and the next day once.
        for (hour, allowed, refused, limited) in [(480_000, 5, 1, 0), (480_023, 2, 0, 3), (480_024, 7, 0, 0)] {
            db.execute_unprepared(&format!(
                "INSERT INTO key_usage_hours (key_id, hour, allowed, refused, would_refuse, rate_limited) \
                 VALUES ({}, {hour}, {allowed}, {refused}, 0, {limited})",
                key.id
            ))
            .await
            .unwrap();
        }

        Migrator::up(&db, None).await.unwrap();

        let days = crate::db::service::usage::account_days(&db, 1, 0).await.unwrap();
        let days: Vec<(i64, i64, i64, i64)> =
            days.iter().map(|d| (d.day, d.allowed, d.refused, d.rate_limited)).collect();
        assert_eq!(days, [(20_000, 7, 1, 3), (20_001, 7, 0, 0)]);
        // Busiest keys over the seven days to the day asked, from the weeks the upgrade filled.
        let busiest = |today| crate::db::service::usage::busiest_keys(&db, 1, today, 5);
        assert_eq!(busiest(20_001).await.unwrap(), [(key.id, 18)]);
        assert_eq!(busiest(20_006).await.unwrap(), [(key.id, 18)]);
        assert_eq!(busiest(20_007).await.unwrap(), [(key.id, 7)]);
        assert_eq!(busiest(20_008).await.unwrap(), []);
        // The account's keys counted for the Overview.
        use sea_orm::EntityTrait;
        let account = crate::db::entities::account::Entity::find_by_id(1).one(&db).await.unwrap().unwrap();
        assert_eq!(account.key_count, 1);
    }
}
