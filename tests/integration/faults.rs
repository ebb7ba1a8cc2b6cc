//! Faults an operator meets: the process killed mid-write, the disk full.
//! Each runs the real binary, bounded in time, on loopback.

use crate::cli::{self, Running};
use crate::support::{ADMIN_PASSWORD, TestServer, key_count};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};
use textpeak::rpc::api_keys::{CreateApiKey, ListApiKeys, UpdateApiKey};
use textpeak::rpc::audit::ListAuditLog;

const ROUNDS: usize = 20;

fn env() -> [(&'static str, &'static str); 2] {
    [("TEXTPEAK_ADMIN_PASSWORD", ADMIN_PASSWORD), ("RUST_LOG", "error,textpeak::server::startup=info")]
}

async fn signed_in(server: &Running) -> reqwest::Client {
    let client = TestServer::client();
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::OK);
    client
}

async fn acl_of(server: &Running, client: &reqwest::Client) -> String {
    let (_, page) = server.call::<ListApiKeys>(client, &[]).await;
    page["ip_acls"][0]["id"].as_i64().unwrap().to_string()
}

async fn whoami(server: &Running, token: &str) -> StatusCode {
    reqwest::Client::new().get(server.url("/api/v1/whoami")).bearer_auth(token).send().await.unwrap().status()
}

/// A small xorshift: a random kill moment per round, reproducible from the printed seed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

#[tokio::test]
async fn a_server_killed_under_write_load_loses_no_acknowledged_key() {
    let dir = tempfile::tempdir().unwrap();
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut moments = Moments(seed);
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for round in 0..ROUNDS {
        let server = cli::start(dir.path(), &env());
        let client = signed_in(&server).await;
        let acl = acl_of(&server, &client).await;
        // Two writers creating keys as fast as the server answers.
        let writer = |writer: usize| {
            let (server, client, acl) = (&server, &client, &acl);
            async move {
                let mut seen = Vec::new();
                for n in 0.. {
                    let name = format!("round {round} writer {writer} key {n}");
                    let response = client
                        .post(server.url(<CreateApiKey as server_fn::ServerFn>::PATH))
                        .header("origin", server.url("").trim_end_matches('/'))
                        .form(&[("name", name.as_str()), ("ip_acl_id", acl.as_str())])
                        .send()
                        .await;
                    let Ok(response) = response else { break };
                    if response.status() != StatusCode::OK {
                        break;
                    }
                    let Ok(created) = response.json::<Value>().await else { break };
                    seen.push((name, created["token"].as_str().unwrap().to_owned()));
                }
                seen
            }
        };
        let kill_after = Duration::from_millis(moments.next_ms(50, 400));
        let writers = futures::future::join(writer(0), writer(1));
        let killer = async {
            tokio::time::sleep(kill_after).await;
            server.kill_now();
        };
        let ((first, second), ()) = futures::future::join(writers, killer).await;
        acknowledged.extend(first);
        acknowledged.extend(second);
        server.reap();
    }
    let server = cli::start(dir.path(), &env());

    println!("seed {seed}: {ROUNDS} kills, {} keys acknowledged", acknowledged.len());
    assert!(acknowledged.len() >= ROUNDS, "the writers got keys through: {}", acknowledged.len());
    for (name, token) in &acknowledged {
        assert_eq!(whoami(&server, token).await, StatusCode::OK, "{name} was acknowledged but is gone (seed {seed})");
    }
    server.stop();
}

/// Runs the server with its data folder on a tmpfs of `size`, in a mount
/// namespace of its own (`unshare`, which needs no root); the folder is
/// reached from outside through `/proc/<pid>/root`.
fn start_on_tmpfs(data: &Path, size: &str) -> Running {
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!("mount -t tmpfs -o size={size},mode=0700 tmpfs \"$0\" && exec \"$1\""))
        .arg(data)
        .arg(env!("CARGO_BIN_EXE_textpeak"))
        .env_clear();
    for (key, value) in cli::textpeak(data).get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    cli::start_command(command, &env())
}

/// Fills the disk under `data` as seen by the server; returns the filler's path.
fn fill(server: &Running, data: &Path) -> std::path::PathBuf {
    use std::io::Write;
    let filler =
        Path::new(&format!("/proc/{}/root", server.pid())).join(data.strip_prefix("/").unwrap()).join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    loop {
        if file.write_all(&block).is_err() {
            break;
        }
    }
    // Whatever is left is smaller than a block; take it too.
    while file.write_all(&[0u8; 512]).is_ok() {}
    let _ = file.sync_all();
    filler
}

#[tokio::test]
async fn a_full_disk_refuses_changes_cleanly_and_recovers_without_a_restart() {
    if crate::support::postgres().is_some() {
        return crate::support::only_on("SQLite", "the database file is the one on the full disk");
    }
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let server = start_on_tmpfs(&data, "8m");
    let client = signed_in(&server).await;
    let acl = acl_of(&server, &client).await;
    let (status, created) = server.call::<CreateApiKey>(&client, &[("name", "Before"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    let (_, log_before) = server.call::<ListAuditLog>(&client, &[("page", "0")]).await;

    let filler = fill(&server, &data);
    let started = Instant::now();
    let (status, body) = server.call::<CreateApiKey>(&client, &[("name", "During"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert_eq!(body, Value::String("storage_full".into()));
    let (status, body) =
        server.call::<UpdateApiKey>(&client, &[("id", &id), ("name", "Renamed"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "refused promptly: {:?}", started.elapsed());

    // Reads and the API keep working, and nothing was half-written.
    let (status, page) = server.call::<ListApiKeys>(&client, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(key_count(&page), 1);
    assert_eq!(page["keys"][0]["name"], "Before");
    let (_, log_during) = server.call::<ListAuditLog>(&client, &[("page", "0")]).await;
    assert_eq!(log_during["total"], log_before["total"], "no audit entry for what did not happen");
    assert_eq!(whoami(&server, &token).await, StatusCode::OK);

    // Space comes back: writes work again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = server.call::<CreateApiKey>(&client, &[("name", "After"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(whoami(&server, body["token"].as_str().unwrap()).await, StatusCode::OK);
    let (status, _) =
        server.call::<UpdateApiKey>(&client, &[("id", &id), ("name", "Renamed"), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::OK);
    server.stop();
}

/// Two writers at once, as the minute's usage flush and an admin's change
/// are: a write transaction that reads before it writes must wait its turn,
/// not fail with "database is locked" (SQLite's BUSY_SNAPSHOT, seen under
/// `make bench` when a flush met a key being created).
#[tokio::test]
async fn a_write_that_reads_first_waits_for_another_writer_instead_of_failing() {
    use sea_orm::{ConnectionTrait, Statement};
    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::fresh_database_url()
        .unwrap_or_else(|| format!("sqlite://{}/writers.db?mode=rwc", dir.path().display()));
    let db = textpeak::db::connect(&url).await.unwrap();
    db.execute_unprepared("CREATE TABLE writers (n INTEGER)").await.unwrap();
    let count = Statement::from_string(db.get_database_backend(), "SELECT count(*) AS n FROM writers");

    let txn = textpeak::db::begin_write(&db).await.unwrap();
    txn.query_one_raw(count.clone()).await.unwrap();
    let other = {
        let db = db.clone();
        tokio::spawn(async move { db.execute_unprepared("INSERT INTO writers VALUES (1)").await })
    };
    // Gives the other writer every chance to commit between our read and our write.
    tokio::time::sleep(Duration::from_millis(200)).await;
    txn.execute_unprepared("INSERT INTO writers VALUES (2)").await.expect("our write after our read");
    txn.commit().await.unwrap();
    other.await.unwrap().expect("the other writer, after ours");
    let rows: i64 = db.query_one_raw(count).await.unwrap().unwrap().try_get("", "n").unwrap();
    assert_eq!(rows, 2);
}
