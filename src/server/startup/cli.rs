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
}

pub async fn main() -> Result<(), String> {
    let cli = Cli::parse();
    init_logging();
    let settings = Settings::load().map_err(|e| format!("configuration: {e}"))?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Admin { command: AdminCommand::Add { account, username } } => {
            let password = read_password(&username)?;
            let db = open_database(&settings).await?;
            let (account, admin) =
                admins::add(&db, &account, &username, &password).await.map_err(|e| format!("admin add: {e}"))?;
            println!("Added admin \"{}\" to account \"{}\".", admin.username, account.name);
            Ok(())
        }
    }
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
