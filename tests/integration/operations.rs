//! What operators run the console with: Prometheus metrics on an address of
//! their own, readiness, backups that restore, request ids in structured
//! logs, and the CSV downloads admins take away.

use crate::cli::{database_url, free_port, start, textpeak};
use crate::support::{ADMIN_PASSWORD, TestServer, postgres};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Instant;
use textpeak::rpc::api_keys::{CreateApiKey, ListApiKeys, SetApiKeyEnabled};

/// The value of one sample in a Prometheus text page (0 when absent).
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

async fn first_acl(call: impl std::future::Future<Output = (StatusCode, Value)>) -> String {
    let (_, page) = call.await;
    page["ip_acls"][0]["id"].as_i64().unwrap().to_string()
}

#[tokio::test]
async fn metrics_count_each_verification_once_on_their_own_address() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server =
        start(dir.path(), &[("TEXTPEAK_ADMIN_PASSWORD", ADMIN_PASSWORD), ("TEXTPEAK_METRICS_ADDR", &metrics_addr)]);
    let metrics = format!("http://{metrics_addr}/metrics");
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::OK);
    let acl = first_acl(server.call::<ListApiKeys>(&client, &[])).await;
    let (_, created) = server.call::<CreateApiKey>(&client, &[("name", "Scraped"), ("ip_acl_id", &acl)]).await;
    let token = created["token"].as_str().unwrap().to_owned();

    let before = scrape(&metrics).await;
    let database = if postgres().is_some() { "postgres" } else { "sqlite" };
    let build = format!("textpeak_build_info{{version=\"{}\",database=\"{database}\"}}", env!("CARGO_PKG_VERSION"));
    assert_eq!(sample(&before, &build), 1.0, "build info: {before}");
    let allowed = "textpeak_verifications_total{outcome=\"allowed\"}";
    let invalid = "textpeak_verifications_total{outcome=\"invalid_token\"}";
    let api = reqwest::Client::new();
    let whoami = |token: String| api.get(server.url("/api/v1/whoami")).bearer_auth(token).send();
    assert_eq!(whoami(token.clone()).await.unwrap().status(), StatusCode::OK);
    let made_up = format!("{}{}", &token[..token.len() - 8], "00000000");
    assert_eq!(whoami(made_up).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let after = scrape(&metrics).await;
    assert_eq!(sample(&after, allowed) - sample(&before, allowed), 1.0, "{after}");
    // A changed tail fails the checksum, or names no key: either way one refusal.
    let malformed = "textpeak_verifications_total{outcome=\"malformed_token\"}";
    let refused =
        sample(&after, invalid) + sample(&after, malformed) - sample(&before, invalid) - sample(&before, malformed);
    assert_eq!(refused, 1.0, "{after}");
    assert_eq!(
        sample(&after, "textpeak_verification_duration_seconds_count")
            - sample(&before, "textpeak_verification_duration_seconds_count"),
        2.0
    );
    for family in [
        "textpeak_token_cache_entries",
        "textpeak_token_index_tokens",
        "textpeak_sign_in_attempts_total{outcome=\"success\"}",
        "textpeak_database_pool_connections{state=\"idle\"}",
    ] {
        assert!(after.lines().any(|l| l.starts_with(family)), "{family} missing from:\n{after}");
    }
    assert_eq!(sample(&after, "textpeak_sign_in_attempts_total{outcome=\"success\"}"), 1.0);
    if postgres().is_some() {
        assert_eq!(sample(&after, "textpeak_listener_up"), 1.0, "{after}");
    }
    assert!(!after.contains(&token[3..20]), "a token in the metrics");

    // Never on the console's own address: there it is a console page like any other.
    let on_console = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/metrics"));
    let on_console = on_console.send().await.unwrap();
    assert_ne!(on_console.status(), StatusCode::OK);
    server.stop();
}

#[tokio::test]
async fn ready_says_why_not_and_health_stays_alive() {
    // With its jobs: on PostgreSQL an instance is ready only once it listens.
    let server = TestServer::start_with_jobs(&[]).await;
    let ready = reqwest::get(server.url("/api/v1/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");

    // A schema the binary does not match (here: a migration not applied).
    use sea_orm::ConnectionTrait;
    let name = "m20261207_000009_key_scopes";
    server
        .state
        .db
        .execute_unprepared(&format!("DELETE FROM seaql_migrations WHERE version = '{name}'"))
        .await
        .unwrap();
    let ready = reqwest::get(server.url("/api/v1/ready")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().contains_key("retry-after"));
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["reason"], "migrations_pending", "{body}");
    assert!(body["message"].as_str().unwrap().contains(name), "{body}");
    let health = reqwest::get(server.url("/api/v1/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "liveness does not depend on the database");

    if postgres().is_some() {
        // Not hearing the other instances is not ready, on PostgreSQL.
        server
            .state
            .db
            .execute_unprepared(&format!("INSERT INTO seaql_migrations (version, applied_at) VALUES ('{name}', 0)"))
            .await
            .unwrap();
        server.state.verifier.cache().set_degraded(true);
        let body: Value = reqwest::get(server.url("/api/v1/ready")).await.unwrap().json().await.unwrap();
        assert_eq!(body["reason"], "not_listening", "{body}");
    }
}

#[tokio::test]
async fn every_request_carries_an_id_that_its_log_lines_name() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[("TEXTPEAK_LOG_FORMAT", "json"), ("RUST_LOG", "info")]);
    let api = reqwest::Client::new();
    let generated = api.get(server.url("/api/v1/whoami")).send().await.unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let kept = api.get(server.url("/api/v1/health")).header("x-request-id", "lb-7f3a.1").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.1");
    let forged = api.get(server.url("/api/v1/health")).header("x-request-id", "x\" level=ERROR").send().await.unwrap();
    assert_ne!(forged.headers()["x-request-id"], "x\" level=ERROR", "an id that could forge a log field is replaced");

    // A refused sign-in logs a warning while the request is served: its line names the request.
    let console = reqwest::Client::new();
    let answer = console
        .post(server.url(<textpeak::rpc::auth::SignIn as server_fn::ServerFn>::PATH))
        .header("origin", server.url(""))
        .header("x-request-id", "sign-in-42")
        .form(&[("username", "admin"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let (_, logs) = server.stop();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}")))
        .collect();
    let failed =
        lines.iter().find(|l| l["fields"]["message"] == "failed sign-in").expect("the failed sign-in was logged");
    assert_eq!(failed["span"]["id"], "sign-in-42", "{failed}");
    assert_eq!(failed["level"], "WARN");
}

/// Four admins' scripts create keys while `textpeak backup` runs three
/// times; each copy is whole, and the newest serves every token that was
/// acknowledged before it started.
#[tokio::test]
async fn backups_taken_under_writes_open_whole_and_restore_every_acknowledged_token() {
    let dir = tempfile::tempdir().unwrap();
    if postgres().is_some() {
        let refused = textpeak(dir.path()).args(["backup", "copy.db"]).output().unwrap();
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"), "{refused:?}");
        return;
    }
    let server = start(dir.path(), &[("TEXTPEAK_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    assert_eq!(server.sign_in(&client, "admin", ADMIN_PASSWORD).await, StatusCode::OK);
    let acl = first_acl(server.call::<ListApiKeys>(&client, &[])).await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(Instant, String)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = std::sync::Arc::new(server);
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (server, client, acl, acknowledged, stop) =
                (server.clone(), client.clone(), acl.clone(), acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let name = format!("writer {writer} key {n}");
                    let (status, created) =
                        server.call::<CreateApiKey>(&client, &[("name", &name), ("ip_acl_id", &acl)]).await;
                    assert_eq!(status, StatusCode::OK, "{created}");
                    let token = created["token"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push((Instant::now(), token));
                }
            })
        })
        .collect();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let mut taken = Vec::new();
    for round in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let file = backups.join(format!("textpeak-{round}.db"));
        let started = Instant::now();
        let out = tokio::task::spawn_blocking({
            let (dir, file) = (dir.path().to_owned(), file.clone());
            move || textpeak(&dir).arg("backup").arg(&file).output().unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        taken.push((started, file));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }

    for (_, file) in &taken {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
        // Opened as a reader only: the check must not change what it checks.
        let db = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", file.display())).await;
        let db = db.unwrap_or_else(|e| panic!("{} does not open: {e}", file.display()));
        use sea_orm::ConnectionTrait;
        let check = db
            .query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "PRAGMA integrity_check"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    }
    // Over an existing file: refused unless --force.
    let (newest_started, newest) = taken.last().unwrap().clone();
    let again = textpeak(dir.path()).arg("backup").arg(&newest).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));

    // Restore: a server started on the newest copy (and the same master key).
    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&newest, restored_dir.path().join("textpeak.db")).unwrap();
    let restored = start(restored_dir.path(), &[]);
    let before: Vec<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(at, _)| *at < newest_started)
        .map(|(_, token)| token.clone())
        .collect();
    assert!(before.len() >= 4, "the writers wrote before the last backup: {}", before.len());
    let api = reqwest::Client::new();
    for token in &before {
        let answer = api.get(restored.url("/api/v1/whoami")).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "a token acknowledged before the backup is missing from it");
    }
    restored.stop();
    if let Ok(server) = std::sync::Arc::try_unwrap(server) {
        server.stop();
    }
    let _ = database_url;
}

/// The CSV holds exactly what the table shows for a filter, across pages.
#[tokio::test]
async fn the_key_download_is_every_key_the_filter_selects_and_never_a_token() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let acl = first_acl(server.call::<ListApiKeys>(&client, &[])).await;
    let mut tokens = Vec::new();
    for n in 0..60 {
        let name = if n == 7 { "=HYPERLINK(\"http://evil\")".to_owned() } else { format!("Billing, batch {n}") };
        let (status, created) = server.call::<CreateApiKey>(&client, &[("name", &name), ("ip_acl_id", &acl)]).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    // Disable a few: the Disabled filter selects those only.
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let ids: Vec<String> = page["keys"].as_array().unwrap().iter().take(3).map(|k| k["id"].to_string()).collect();
    for id in &ids {
        let (status, _) = server.call::<SetApiKeyEnabled>(&client, &[("id", id), ("enabled", "false")]).await;
        assert_eq!(status, StatusCode::OK);
    }

    let download = |query: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/settings/api-keys/export.csv{query}"));
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
            assert!(response.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
            response.text().await.unwrap()
        }
    };
    let all = download("").await;
    let mut lines = all.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("name,status,IP ACL,created,last used,expires"));
    assert_eq!(lines.count(), 60, "every key, not the first page of 50");
    assert!(all.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""), "a formula is defused: {all}");
    assert!(all.contains("\"Billing, batch 12\",Active,"), "{all}");
    for token in &tokens {
        assert!(!all.contains(&token[3..20]), "a token in the download");
    }

    // The table's own filter and search, and its rows.
    let disabled = download("?status=disabled&q=billing").await;
    let rows: Vec<&str> = disabled.split("\r\n").skip(1).filter(|l| !l.is_empty()).collect();
    let (_, table) = server.call::<ListApiKeys>(&client, &[("status", "disabled"), ("q", "billing")]).await;
    let names: Vec<String> =
        table["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(rows.len(), names.len());
    for (row, name) in rows.iter().zip(&names) {
        assert!(row.starts_with(&format!("\"{name}\",Disabled,")), "{row} against {name}");
    }

    // Compressed as a browser asks: the stream ends cleanly through the compression layer.
    let compressed =
        client.get(server.url("/settings/api-keys/export.csv")).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "br");
    let bytes = compressed.bytes().await.expect("the whole compressed file arrives");
    assert!(bytes.len() > 100 && bytes.len() < all.len(), "{} compressed bytes", bytes.len());

    // A Viewer may download; a stranger is sent to sign in.
    server.add_member("reader", "a reader's long password", textpeak::domain::roles::Role::Viewer).await;
    let viewer = server.signed_in_client("reader", "a reader's long password").await;
    let response = viewer.get(server.url("/settings/api-keys/export.csv")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stranger = TestServer::client().get(server.url("/settings/api-keys/export.csv")).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);

    let audit = client.get(server.url("/settings/audit-log/export.csv")).send().await.unwrap().text().await.unwrap();
    let mut audit_lines = audit.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(audit_lines.next(), Some("time,admin,action,key or ACL,details,client address"));
    assert!(audit_lines.count() >= 63, "60 keys added, 3 disabled, and sign-ins: {audit}");
    assert!(audit.contains(",admin,Disabled API key,"), "{audit}");
}
