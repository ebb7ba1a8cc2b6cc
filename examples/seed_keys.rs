//! Fills a console database with API keys for the benchmarks (`make bench`).
//! Uses the same settings as the server (TEXTPEAK_DATA_DIR, DATABASE_URL,
//! TEXTPEAK_MASTER_KEY) and prints one token whose IP ACL admits loopback;
//! with a second argument, also writes that many tokens, spread over all the
//! keys, one per line, to the file named third. With `--scoped`, the keys
//! are named `scoped N` and restricted to `sms:send,sms:read` with a rate
//! limit of 1,000,000 per second (far above any load here), so a benchmark
//! measures what permissions and a limit cost. Key N of COUNT is made
//! 60 + COUNT - N seconds ago, as keys made over days are, not now: a
//! benchmark then measures a server that is not still catching up on
//! tokens made in the last minute (its token index reads those every two
//! seconds, which cost a tenth of its CPU right after seeding).
//!
//!     cargo run --release --example seed_keys -- 100000
//!     cargo run --release --example seed_keys -- 100000 10000 tokens.txt
//!     cargo run --release --example seed_keys -- --scoped 10000 10000 scoped.txt

use sea_orm::TransactionTrait;
use std::io::Write;
use textpeak::db::service::{api_keys, ip_acls};
use textpeak::domain::permissions::{Access, Permission, Scopes};
use textpeak::domain::rate_limit::{Period, RateLimit};
use textpeak::server::startup::config::Settings;
use textpeak::server::startup::start::{ensure_first_admin, open_database};

const USAGE: &str = "usage: seed_keys [--scoped] COUNT [TOKENS FILE]";

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let scoped = args.iter().any(|a| a == "--scoped");
    args.retain(|a| a != "--scoped");
    let count: usize = args.first().map(|n| n.parse().map_err(|_| USAGE)).transpose()?.unwrap_or(100_000);
    let wanted: usize = args.get(1).map(|n| n.parse().map_err(|_| USAGE)).transpose()?.unwrap_or(0);
    let mut out = match args.get(2) {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?),
        None if wanted > 0 => return Err(USAGE.into()),
        None => None,
    };
    let every = count.checked_div(wanted).map_or(usize::MAX, |n| n.max(1));
    let settings = Settings::load().map_err(|e| e.to_string())?;
    let db = open_database(&settings).await?;
    ensure_first_admin(&db, &settings).await?;
    let account = textpeak::db::service::accounts::ensure_default(&db).await.map_err(|e| e.to_string())?;
    let any = ip_acls::all(&db, account.id).await.map_err(|e| e.to_string())?;
    let any = any.first().ok_or("the account has no IP ACL")?;

    let started = textpeak::db::service::now_ms();
    let mut probe = None;
    let mut written = 0;
    for chunk in 0..count.div_ceil(10_000) {
        let txn = db.begin().await.map_err(|e| e.to_string())?;
        for i in chunk * 10_000..((chunk + 1) * 10_000).min(count) {
            let now = started - (60 + count - i) as i64 * 1000;
            let name = format!("{} {i}", if scoped { "scoped" } else { "load" });
            let mut fields = api_keys::KeyFields::new(&name, any.id, None);
            if scoped {
                fields.access = Access::Restricted(Scopes::of([Permission::SmsSend, Permission::SmsRead]));
                fields.limit = Some(RateLimit { requests: 1_000_000, per: Period::Second });
            }
            let (_, _, token) = api_keys::create(&txn, &settings.master_key, account.id, &fields, now)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(file) = out.as_mut()
                && i % every == 0
                && written < wanted
            {
                writeln!(file, "{}", token.expose()).map_err(|e| e.to_string())?;
                written += 1;
            }
            if i == count / 2 {
                probe = Some(token);
            }
        }
        txn.commit().await.map_err(|e| e.to_string())?;
        eprintln!("seeded {} keys", ((chunk + 1) * 10_000).min(count));
    }
    let probe = probe.ok_or("no keys were made")?;
    println!("{}", probe.expose());
    Ok(())
}
