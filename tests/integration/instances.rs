//! Several instances on one PostgreSQL, as the platform runs them: changes
//! made through one reach the others within milliseconds (NOTIFY/LISTEN),
//! a lost listening connection is survived, migrations run once however many
//! start at once, and a database that goes away is answered with "try again",
//! never a hang or a 500. Real binaries, a real PostgreSQL server; on the
//! SQLite run these say so and do nothing.

use crate::cli::{self, Running};
use crate::support::{ADMIN_PASSWORD, TestServer, only_on, postgres};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use textpeak::rpc::api_keys::{CreateApiKey, DeleteApiKey, ListApiKeys, SetApiKeyEnabled};
use textpeak::rpc::ip_acls::{CreateIpAcl, UpdateIpAcl};

const WHY: &str = "instances share changes through PostgreSQL's NOTIFY";

fn env() -> [(&'static str, &'static str); 2] {
    [("TEXTPEAK_ADMIN_PASSWORD", ADMIN_PASSWORD), ("RUST_LOG", "info,sqlx=warn")]
}

async fn signed_in(server: &Running) -> reqwest::Client {
    let client = TestServer::client();
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::OK);
    client
}

async fn whoami(server: &Running, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new().get(server.url("/api/v1/whoami")).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls `server` until the token's answer is `expected`; returns how long that took.
async fn until(server: &Running, token: &str, expected: StatusCode, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = whoami(server, token).await;
        if status == expected {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "still {status} {body} after {within:?}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Two instances on one database; returns them with their data folders.
fn two_instances(a: &Path, b: &Path) -> (Running, Running) {
    cli::share_database(a, b);
    (cli::start(a, &env()), cli::start(b, &env()))
}

async fn new_key(server: &Running, client: &reqwest::Client, name: &str, acl: &str) -> (String, String) {
    let (status, created) = server.call::<CreateApiKey>(client, &[("name", name), ("ip_acl_id", acl)]).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, page) = server.call::<ListApiKeys>(client, &[("q", name)]).await;
    let id = page["keys"][0]["id"].as_i64().unwrap().to_string();
    (id, created["token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_delete_a_disable_and_an_acl_narrowing_on_one_instance_are_refused_on_the_other() {
    if postgres().is_none() {
        return only_on("PostgreSQL", WHY);
    }
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = two_instances(dir_a.path(), dir_b.path());
    let admin = signed_in(&a).await;
    let (_, page) = a.call::<ListApiKeys>(&admin, &[]).await;
    let any = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    let patience = Duration::from_secs(1);

    let (id, token) = new_key(&a, &admin, "Deleted on A", &any).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK, "B knows the key (and caches it)");
    a.call::<DeleteApiKey>(&admin, &[("id", &id)]).await;
    let took = until(&b, &token, StatusCode::UNAUTHORIZED, patience).await;
    println!("delete on A refused on B after {took:?}");

    let (id, token) = new_key(&a, &admin, "Disabled on A", &any).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK);
    a.call::<SetApiKeyEnabled>(&admin, &[("id", &id), ("enabled", "false")]).await;
    until(&b, &token, StatusCode::UNAUTHORIZED, patience).await;
    assert_eq!(whoami(&b, &token).await.1["error"], "key_disabled");

    let (status, _) = a.call::<CreateIpAcl>(&admin, &[("name", "Loopback"), ("entries", "127.0.0.0/8")]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = a.call::<ListApiKeys>(&admin, &[]).await;
    let loopback = page["ip_acls"].as_array().unwrap().iter().find(|acl| acl["name"] == "Loopback").unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (_, token) = new_key(&a, &admin, "Narrowed on A", &loopback).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK);
    let narrowed = [("id", loopback.as_str()), ("name", "Loopback"), ("entries", "192.0.2.0/24")];
    assert_eq!(a.call::<UpdateIpAcl>(&admin, &narrowed).await.0, StatusCode::OK);
    until(&b, &token, StatusCode::FORBIDDEN, patience).await;
    a.stop();
    b.stop();
}

#[tokio::test]
async fn a_listener_cut_off_by_the_database_comes_back_and_misses_nothing() {
    let Some(server) = postgres() else {
        return only_on("PostgreSQL", WHY);
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = two_instances(dir_a.path(), dir_b.path());
    let admin = signed_in(&a).await;
    let (_, page) = a.call::<ListApiKeys>(&admin, &[]).await;
    let any = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    let (id, token) = new_key(&a, &admin, "Deleted while B was deaf", &any).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK);

    // The database ends B's listening connection, as a failover or an admin would.
    let db = sea_orm::Database::connect(format!("{server}/postgres")).await.unwrap();
    let ended = sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'textpeak-listener-{}'",
            b.pid()
        ),
    )
    .await
    .unwrap();
    assert_eq!(ended.rows_affected(), 1, "B's listener was found and ended");
    a.call::<DeleteApiKey>(&admin, &[("id", &id)]).await;
    let took = until(&b, &token, StatusCode::UNAUTHORIZED, Duration::from_secs(3)).await;
    println!("delete on A, while B's listener was down, refused on B after {took:?}");

    // B listens again, and hears the next change at once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.logs().contains("listening for other instances' changes again") {
        assert!(Instant::now() < deadline, "B never listened again:\n{}", b.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (id, token) = new_key(&a, &admin, "Deleted after B came back", &any).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK);
    a.call::<DeleteApiKey>(&admin, &[("id", &id)]).await;
    until(&b, &token, StatusCode::UNAUTHORIZED, Duration::from_millis(500)).await;
    let logs = b.logs();
    assert_eq!(logs.matches("lost the connection that hears").count(), 1, "{logs}");
    assert_eq!(logs.matches("listening for other instances' changes again").count(), 1, "{logs}");
    a.stop();
    b.stop();
}

#[tokio::test]
async fn instances_started_at_once_on_an_empty_database_migrate_it_once() {
    let Some(_) = postgres() else {
        return only_on("PostgreSQL", "SQLite has one process per file");
    };
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for dir in &dirs[1..] {
        cli::share_database(dirs[0].path(), dir.path());
    }
    let url = cli::database_url(dirs[0].path());
    let paths: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.path().to_owned()).collect();
    let starts: Vec<_> = paths.into_iter().map(|dir| std::thread::spawn(move || cli::start(&dir, &env()))).collect();
    let servers: Vec<Running> = starts.into_iter().map(|s| s.join().expect("every instance came up")).collect();
    let db = sea_orm::Database::connect(&url).await.unwrap();
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT version, count(*) AS n FROM seaql_migrations GROUP BY version ORDER BY version",
        ),
    )
    .await
    .unwrap();
    let applied: Vec<(String, i64)> =
        rows.iter().map(|r| (r.try_get("", "version").unwrap(), r.try_get("", "n").unwrap())).collect();
    let migrations = <textpeak::db::migration::Migrator as sea_orm_migration::MigratorTrait>::migrations().len();
    assert_eq!(applied.len(), migrations, "{applied:?}");
    assert!(applied.iter().all(|(_, n)| *n == 1), "{applied:?}");
    for server in servers {
        assert_eq!(reqwest::get(server.url("/api/v1/health")).await.unwrap().status(), StatusCode::OK);
        server.stop();
    }
}

/// The database stopped under a running server: a cached token still works,
/// an uncached one is told to try again (never a 500, never a hang), the
/// console says the database is unavailable, and all is well again once the
/// database is back, without a restart. A cluster of its own, so stopping it
/// disturbs no other test.
#[tokio::test]
async fn a_database_that_goes_away_is_answered_with_try_again_and_comes_back() {
    if postgres().is_none() {
        return only_on("PostgreSQL", "stopping the database server");
    }
    let cluster = tempfile::Builder::new().prefix("tp-pg-down").tempdir().unwrap().keep();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/postgres.sh");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(script).args(args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let cluster_dir = cluster.display().to_string();
    let _ = std::fs::remove_dir_all(&cluster);
    run(&["start", &cluster_dir]);
    let url = run(&["createdb", &cluster_dir, "down"]);
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("database-url"), &url).unwrap();
    let server = cli::start(data.path(), &env());
    let admin = signed_in(&server).await;
    let (_, page) = server.call::<ListApiKeys>(&admin, &[]).await;
    let any = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
    let (_, cached) = new_key(&server, &admin, "Cached", &any).await;
    let (_, uncached) = new_key(&server, &admin, "Not yet used", &any).await;
    assert_eq!(whoami(&server, &cached).await.0, StatusCode::OK);

    run(&["pause", &cluster_dir]);
    // For longer than the listener takes to notice the drop and than the one
    // second cached entries are trusted after it: the last known state answers.
    let window = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < window {
        assert_eq!(whoami(&server, &cached).await.0, StatusCode::OK, "a cached key needs no database");
    }
    let asked = Instant::now();
    let (status, body) = whoami(&server, &uncached).await;
    let took = asked.elapsed();
    println!("uncached token with the database down: {status} in {took:?}");
    assert_eq!((status, &body["error"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")));
    assert!(took < Duration::from_secs(2), "{took:?}");
    let (status, body) = server.call::<ListApiKeys>(&admin, &[]).await;
    assert_eq!((status, body), (StatusCode::SERVICE_UNAVAILABLE, json!("unavailable")));
    assert_eq!(
        textpeak::rpc::ConsoleError::Unavailable.to_string(),
        "The database is unavailable, try again shortly.",
        "what the dialog shows"
    );

    run(&["resume", &cluster_dir]);
    let back = Instant::now();
    until(&server, &uncached, StatusCode::OK, Duration::from_secs(10)).await;
    println!("uncached token answered again {:?} after the database came back", back.elapsed());
    assert_eq!(server.call::<ListApiKeys>(&admin, &[]).await.0, StatusCode::OK);
    server.stop();
    run(&["remove", &cluster_dir]);
}

/// Guessing a password cannot be spread over instances: the counts live in
/// the shared database, so the sixth wrong password within the minute is
/// refused on the instance that has itself seen only two.
#[tokio::test]
async fn sign_in_throttling_holds_across_instances() {
    if postgres().is_none() {
        return only_on("PostgreSQL", "several instances share one database");
    }
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = two_instances(dir_a.path(), dir_b.path());
    let client = TestServer::client();
    for attempt in 1..=5 {
        let server = if attempt % 2 == 1 { &a } else { &b };
        assert_eq!(
            server.sign_in(&client, "admin", "wrong password!").await,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    assert_eq!(b.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS, "B saw two of five");
    assert_eq!(a.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    a.stop();
    b.stop();
}

/// Instances that start at once on an empty database all create the account
/// "Default" if they find none; the unique index lets one win, and the others
/// must take its account rather than fail to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_that_create_the_default_account_at_once_all_get_the_one_account() {
    let Some(url) = crate::support::fresh_database_url() else {
        return only_on("PostgreSQL", "SQLite has one process per file");
    };
    let db = textpeak::db::connect_with_pool(&url, Some(16)).await.unwrap();
    use textpeak::db::service::accounts;
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { accounts::ensure_default(&db).await.map(|account| account.id) })
        })
        .collect();
    let mut ids = Vec::new();
    for racer in racers {
        ids.push(racer.await.unwrap().expect("every instance gets the account"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let named = textpeak::db::entities::account::Entity::find()
        .filter(textpeak::db::entities::account::Column::Name.eq(accounts::DEFAULT_ACCOUNT))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(named, 1);
}
