//! `textpeak backup FILE`: a consistent copy of the SQLite database, taken
//! while the console serves and writes.
//!
//! `VACUUM INTO` reads the database in one read transaction (WAL lets the
//! writers go on meanwhile) and writes a compact copy. It writes into a new
//! private file beside the target and renames it into place, so a backup
//! interrupted half way never leaves a broken file under the target's name.
//! PostgreSQL has `pg_dump` for this; the command says so.

use crate::server::startup::config::Settings;
use crate::server::startup::files;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};
use std::path::{Path, PathBuf};

/// Writes the backup to `target`; returns its size in bytes.
pub async fn run(settings: &Settings, target: &Path, force: bool) -> Result<u64, String> {
    if !settings.database_url.starts_with("sqlite:") {
        return Err("the database is PostgreSQL: back it up with pg_dump (see Backups in the README); \
                    `textpeak backup` copies SQLite databases only"
            .into());
    }
    let Some(database) = settings.sqlite_file() else {
        return Err("an in-memory database has nothing to back up".into());
    };
    if !database.exists() {
        return Err(format!("there is no database at {} (DATABASE_URL)", database.display()));
    }
    if target.exists() && !force {
        return Err(format!("{} exists; pass --force to replace it", target.display()));
    }
    let partial = partial_path(target);
    files::create_private_file_new(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let copied = copy(&database, &partial).await.and_then(|()| {
        std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| format!("{}: {e}", partial.display()))
    });
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let placed = if force {
        std::fs::rename(&partial, target)
    } else {
        // A hard link fails if the target appeared meanwhile: never a silent overwrite.
        std::fs::hard_link(&partial, target).and_then(|()| std::fs::remove_file(&partial))
    };
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("{}: {e}", target.display()));
    }
    std::fs::metadata(target).map(|m| m.len()).map_err(|e| format!("{}: {e}", target.display()))
}

/// `backup.db` → `backup.db.partial-<pid>`, in the same folder (a rename stays on one file system).
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "backup".into());
    name.push(format!(".partial-{}", std::process::id()));
    target.with_file_name(name)
}

/// Opens the database without creating or migrating it (a backup must not
/// change what it copies) and copies it into the empty file `into`.
async fn copy(database: &Path, into: &Path) -> Result<(), String> {
    let url = format!("sqlite://{}?mode=ro", database.display());
    let mut options = ConnectOptions::new(url);
    options.sqlx_logging(false).max_connections(1);
    let db = Database::connect(options).await.map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    let into = into.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", into.display()))?;
    let vacuum = Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [into.into()]);
    let result = db.execute_raw(vacuum).await.map(drop).map_err(|e| format!("copying {}: {e}", database.display()));
    let _ = db.close().await;
    result
}
