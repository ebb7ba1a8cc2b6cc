//! Schema migrations, applied at start-up (`Migrator::up`), one file each.

use sea_orm_migration::prelude::*;

mod m20261128_000001_api_keys;
mod m20261128_000002_admins_sessions_audit;
mod m20261128_000003_sign_in_throttle;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_api_keys::Migration),
            Box::new(m20261128_000002_admins_sessions_audit::Migration),
            Box::new(m20261128_000003_sign_in_throttle::Migration),
        ]
    }
}
