//! The `textpeak` command line: serve the console (the default), or onboard
//! an admin for a customer account.

use crate::db::service::admins;
use crate::server::startup::config::Settings;
use crate::server::startup::start::{init_logging, open_database, serve};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Parser)]
#[command(name = "textpeak", version, about = "TextPeak Console: manage the API keys that call the TextPeak API")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the console (what `textpeak` does with no command).
    Serve,
    /// Write a consistent copy of the SQLite database to FILE (mode 0600),
    /// safe while the console serves. Keep the master key with it: see
    /// Backups in the README. PostgreSQL: use pg_dump.
    Backup {
        file: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Manage the admins who sign in to the console.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an admin to an account, creating the account (with an "Any address"
    /// IP ACL) if it does not exist. The password is read from standard input,
    /// or asked for twice without echo on a terminal.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        username: String,
    },
    /// Recover a locked-out admin: set a new password (read like `add`'s),
    /// turn two-factor authentication off and end every session of theirs.
    /// Audited as done from the command line.
    Reset {
        #[arg(long)]
        username: String,
    },
}

pub async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    init_logging()?;
    let settings = Settings::load().map_err(|e| format!("configuration: {e}"))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Backup { file, force } => {
            let bytes = crate::server::startup::backup::run(&settings, &file, force)
                .await
                .map_err(|e| format!("backup: {e}"))?;
            println!("Wrote a backup of the database to {} ({bytes} bytes).", file.display());
            if settings.sqlite_file().is_some() && std::env::var_os("TEXTPEAK_MASTER_KEY").is_none() {
                println!(
                    "Keep {} with it: without the master key the eye button cannot show tokens.",
                    settings.data_dir.join("master.key").display()
                );
            }
            Ok(())
        }
        Command::Admin { command: AdminCommand::Add { account, username } } => {
            let password = read_password(&username)?;
            let db = open_database(&settings).await?;
            let (account, admin) =
                admins::add(&db, &account, &username, &password).await.map_err(|e| format!("admin add: {e}"))?;
            println!("Added admin \"{}\" to account \"{}\" as Owner.", admin.username, account.name);
            Ok(())
        }
        Command::Admin { command: AdminCommand::Reset { username } } => {
            let db = open_database(&settings).await?;
            // Looked up before the password is asked for: a typo fails at once.
            let (admin, account) = admins::find_by_username(&db, &username)
                .await
                .map_err(|e| format!("admin reset: {e}"))?
                .ok_or_else(|| format!("admin reset: there is no admin {username:?}"))?;
            let password = read_password(&admin.username)?;
            crate::domain::password::check_new(&password).map_err(|e| format!("admin reset: {e}"))?;
            let hash = crate::domain::password::hash(&password).map_err(|e| format!("admin reset: {e}"))?;
            let ended = reset(&db, &admin, &account, hash).await.map_err(|e| format!("admin reset: {e}"))?;
            println!(
                "Reset admin \"{}\" of account \"{}\": new password set, two-factor authentication off, {ended} sessions ended.",
                admin.username, account.name
            );
            Ok(())
        }
    }
}

/// The reset itself, in one transaction, audited.
async fn reset(
    db: &sea_orm::DatabaseConnection,
    admin: &crate::db::entities::admin::Model,
    account: &crate::db::entities::account::Model,
    hash: String,
) -> Result<u64, sea_orm::DbErr> {
    use crate::db::service::audit::{self, Action, Entry};
    let txn = crate::db::begin_write(db).await?;
    admins::set_password_hash(&txn, admin.id, hash).await?;
    admins::turn_off_totp(&txn, admin.id).await?;
    let ended = crate::db::service::sessions::end_others(&txn, admin.id, None).await?;
    let entry = Entry {
        at: crate::db::service::now_ms(),
        account_id: account.id,
        admin: "command line",
        client_ip: "local".into(),
        action: Action::AdminReset,
        subject: Some(&admin.username),
        detail: Some(format!("{ended} sessions ended")),
    };
    audit::record(&txn, entry).await?;
    txn.commit().await?;
    Ok(ended)
}

fn read_password(username: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: ")).map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            return Err("no password on standard input".into());
        }
        Ok(password)
    }
}
