//! The second security review, each hole with the test that fails on the
//! code before it: revocation that holds in a partition, made-up tokens that
//! never reach the database, known browsers that can be revoked, rolls that
//! race, ended tokens and clocks, what the API tells a caller outside its
//! list, headers and body caps on every route.

use crate::support::{ADMIN_PASSWORD, Proxy, TestServer, fresh_database_url, from, only_on, postgres};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use textpeak::rpc::api_keys::{ApiKeyDetails, CreateApiKey, DeleteApiKey, ListApiKeys, RollApiKey};
use textpeak::rpc::ip_acls::CreateIpAcl;
use textpeak::rpc::security::EndOtherSessions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn new_key(server: &TestServer, client: &reqwest::Client, name: &str) -> (String, String) {
    let (_, page) = server.call::<ListApiKeys>(client, &[]).await;
    let acl =
        page["ip_acls"].as_array().unwrap().iter().find(|a| a["name"] == "Any address").unwrap()["id"].to_string();
    let (status, created) = server.call::<CreateApiKey>(client, &[("name", name), ("ip_acl_id", &acl)]).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, page) = server.call::<ListApiKeys>(client, &[("q", name)]).await;
    (page["keys"][0]["id"].to_string(), created["token"].as_str().unwrap().to_owned())
}

/// Polls `f` every 50 ms until it is true or `within` has passed; how long it took.
async fn within<F, Fut>(within: Duration, mut f: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if f().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// An instance cut off from PostgreSQL used to keep honouring what it
/// remembered for as long as the cut lasted: a key deleted elsewhere kept
/// answering 200 there.
#[tokio::test]
async fn a_partitioned_instance_stops_answering_from_memory_within_the_stale_limit() {
    let Some(server_url) = postgres() else {
        return only_on("PostgreSQL", "instances that hear each other through LISTEN");
    };
    let database = fresh_database_url().unwrap();
    let name = database.rsplit('/').next().unwrap().to_owned();
    let target: std::net::SocketAddr = server_url.rsplit('@').next().unwrap().parse().unwrap();
    let proxy = Proxy::start(target).await;
    let through_proxy = format!("{}@127.0.0.1:{}/{name}", server_url.rsplit_once('@').unwrap().0, proxy.port);
    let b = TestServer::start_with_jobs(&[("DATABASE_URL", &database)]).await;
    let a =
        TestServer::start_with_jobs(&[("DATABASE_URL", &through_proxy), ("TEXTPEAK_STALE_LIMIT_SECONDS", "3")]).await;
    let admin = b.admin_client().await;
    let (id, token) = new_key(&b, &admin, "Partitioned").await;
    let (_, other) = new_key(&b, &admin, "Still here").await;
    assert!(within(Duration::from_secs(2), || async { a.whoami(&token).await.0 == StatusCode::OK }).await.is_some());
    assert_eq!(a.whoami(&other).await.0, StatusCode::OK);

    proxy.cut();
    let cut_at = Instant::now();
    assert_eq!(b.call::<DeleteApiKey>(&admin, &[("id", &id)]).await.0, StatusCode::OK);
    let refused = within(Duration::from_secs(6), || async { a.whoami(&token).await.0 != StatusCode::OK }).await;
    let after = cut_at.elapsed();
    assert!(refused.is_some() && after <= Duration::from_secs(4), "refused only after {after:?}");
    let (status, body) = a.whoami(&other).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable")),
        "nothing from memory"
    );
    println!("partitioned: the deleted key was refused {after:?} after the cut (stale limit 3 s)");

    proxy.restore();
    let back = within(Duration::from_secs(3), || async { a.whoami(&other).await.0 == StatusCode::OK }).await;
    assert!(back.is_some_and(|took| took <= Duration::from_secs(1)), "serving again after {back:?}");
    assert_eq!(a.whoami(&token).await.0, StatusCode::UNAUTHORIZED, "and the deleted key stays refused");
    println!("partitioned: serving again {:?} after the connection came back", back.unwrap());
}

/// One address sending made-up tokens used to get its real key's token refused
/// (429) once that token's cache entry expired: a NAT shared with a scanner.
#[tokio::test]
async fn made_up_tokens_from_an_address_never_get_its_real_token_refused() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let (_, token) = new_key(&server, &client, "Behind the NAT").await;
    assert_eq!(server.whoami_from(&token, "127.0.0.1", None).await.0, StatusCode::OK);
    let lookups = server.state.verifier.lookups();
    for _ in 0..200 {
        let made_up = textpeak::domain::token::Token::generate().unwrap();
        let (status, _) = server.whoami_from(made_up.expose(), "127.0.0.1", None).await;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(server.state.verifier.lookups(), lookups, "no made-up token reached the database");
    // The real token's entry is gone (as after its 30 s): it is read again, and let through.
    server.state.verifier.cache().clear();
    assert_eq!(server.whoami_from(&token, "127.0.0.1", None).await.0, StatusCode::OK);
    assert_eq!(server.state.verifier.lookups(), lookups + 1);
}

/// A known-browser note used to stay valid for six months whatever the
/// admin did; now Sign out everywhere else revokes the other browsers'.
#[tokio::test]
async fn sign_out_everywhere_else_revokes_the_other_browsers_notes() {
    let server = TestServer::start().await;
    let laptop = from("127.0.4.1");
    let stolen = from("127.0.4.2");
    assert_eq!(server.sign_in(&laptop, "admin", ADMIN_PASSWORD).await.0, StatusCode::OK);
    assert_eq!(server.sign_in(&stolen, "admin", ADMIN_PASSWORD).await.0, StatusCode::OK);
    // Strangers spend the username's guesses.
    for _ in 0..5 {
        server.sign_in(&from("127.0.4.3"), "admin", "a wrong guess!").await;
    }
    // A known browser still gets in: its note counts on its own.
    let (status, _) = server.sign_in(&stolen, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "before: the note counts");
    assert_eq!(server.call::<EndOtherSessions>(&laptop, &[]).await.0, StatusCode::OK);
    let (status, _) = server.sign_in(&stolen, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "after: the revoked note is a stranger's");
    let (status, _) = server.sign_in(&laptop, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "this browser's note stays");
}

#[tokio::test]
async fn the_audit_log_keeps_what_its_retention_says() {
    let server = TestServer::start_with(&[("TEXTPEAK_AUDIT_RETENTION_DAYS", "1")]).await;
    let client = server.admin_client().await;
    new_key(&server, &client, "Old news").await;
    let count = |server: &TestServer| {
        let db = server.state.db.clone();
        async move {
            use sea_orm::{EntityTrait, PaginatorTrait};
            textpeak::db::entities::audit_entry::Entity::find().count(&db).await.unwrap()
        }
    };
    assert!(count(&server).await >= 2);
    server.state.clock.advance(Duration::from_secs(2 * 24 * 3600));
    textpeak::server::jobs::prune(server.state.clone()).await;
    assert_eq!(count(&server).await, 0, "older than a day");
    let client = server.admin_client().await;
    new_key(&server, &client, "Fresh").await;
    textpeak::server::jobs::prune(server.state.clone()).await;
    assert!(count(&server).await >= 2, "today's stay");
}

/// Two rolls of one key at once on PostgreSQL could leave two tokens without
/// an end (READ COMMITTED): the key's row is locked, and an index allows one.
#[tokio::test]
async fn rolls_that_race_leave_one_current_token() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let second = server.admin_client().await;
    let (id, _) = new_key(&server, &client, "Raced").await;
    let args = [("id", id.as_str()), ("grace", "1h")];
    for round in 0..5 {
        let (a, b) = tokio::join!(server.call::<RollApiKey>(&client, &args), server.call::<RollApiKey>(&second, &args));
        assert!(a.0 == StatusCode::OK || b.0 == StatusCode::OK, "round {round}: {a:?} {b:?}");
    }
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use textpeak::db::entities::api_key_token::{Column, Entity};
    let key_id: i32 = id.parse().unwrap();
    let tokens = Entity::find().filter(Column::KeyId.eq(key_id)).all(&server.state.db).await.unwrap();
    let now = server.state.clock.now_ms();
    let current = tokens.iter().filter(|t| t.expires_at.is_none()).count();
    let live = tokens.iter().filter(|t| !t.ended && t.expires_at.is_none_or(|at| at > now)).count();
    assert_eq!(current, 1, "{tokens:?}");
    assert!(live <= 2, "{live} live tokens");
}

/// Roll Now wrote the writing instance's clock into the old token: an
/// instance whose clock ran ten minutes behind kept accepting it.
#[tokio::test]
async fn a_token_rolled_out_now_is_refused_by_an_instance_whose_clock_is_behind() {
    let a = TestServer::start().await;
    let b = TestServer::start_with(&[("DATABASE_URL", &a.database_url)]).await;
    b.state.clock.set_offset_ms(-10 * 60 * 1000);
    let client = a.admin_client().await;
    let (id, old) = new_key(&a, &client, "Rolled now").await;
    // Another process on the same file learns new tokens by its catch-up job.
    b.state.verifier.tokens().catch_up(&b.state.db, 0).await.unwrap();
    let (status, _) = a.call::<RollApiKey>(&client, &[("id", &id), ("grace", "now")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.whoami(&old).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("token_expired")));
}

/// The caller outside a report-only list learns nothing of the list.
#[tokio::test]
async fn whoami_says_nothing_about_the_ip_acl() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let (status, _) = server
        .call::<CreateIpAcl>(&client, &[("name", "Watching"), ("entries", "192.0.2.0/24"), ("report_only", "true")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let acl = page["ip_acls"].as_array().unwrap().iter().find(|a| a["name"] == "Watching").unwrap()["id"].to_string();
    let (_, created) = server.call::<CreateApiKey>(&client, &[("name", "Watched"), ("ip_acl_id", &acl)]).await;
    let response = reqwest::Client::new()
        .get(server.url("/api/v1/whoami"))
        .bearer_auth(created["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().keys().any(|h| h.as_str().contains("acl")), "{:?}", response.headers());
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "name": "Watched", "permissions": ["sms:send", "sms:read", "inbound:read", "numbers:read", "numbers:write", "usage:read"], "expires_at": null })
    );
}

#[tokio::test]
async fn signed_in_pages_are_never_stored_and_https_is_kept() {
    let server = TestServer::start_with(&[("TEXTPEAK_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let client = server.admin_client().await;
    for page in ["/", "/settings/api-keys", "/settings/security"] {
        let response = client.get(server.url(page)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{page}");
        assert!(!response.headers().contains_key("strict-transport-security"), "{page} over plain HTTP");
    }
    let over_https =
        client.get(server.url("/settings/api-keys")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert_eq!(over_https.headers()["strict-transport-security"], "max-age=31536000");
}

/// Sends raw bytes and returns the status line.
async fn raw(server: &TestServer, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 256];
    let n = stream.read(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_owned()
}

/// Some routes read a body that carried both Content-Length and
/// Transfer-Encoding up to axum's 2 MiB. hyper reads such a body as chunked
/// (dropping the length); every route now holds the chunks to its cap.
#[tokio::test]
async fn every_route_caps_a_body_that_says_its_length_twice() {
    let server = TestServer::start().await;
    let host = server.addr.to_string();
    let chunk = "x".repeat(70 * 1024);
    for (method, path) in [
        ("POST", "/rpc/list_api_keys"),
        ("POST", "/login"),
        ("POST", "/join/whatever"),
        ("GET", "/api/v1/whoami"),
        ("GET", "/settings/api-keys"),
        ("POST", "/pkg/textpeak.js"),
    ] {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nContent-Length: 5\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        );
        let status = raw(&server, request).await;
        assert!(status.contains(" 413 "), "{method} {path}: {status}");
    }
    // And a body past its cap is refused before it is read, on a page route too.
    let big = "x".repeat(20 * 1024);
    let request = format!(
        "POST /settings/api-keys HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    assert!(raw(&server, request).await.contains(" 413 "));
}

/// Lock to these addresses loosened an enforced list by default and offered
/// the thief's refused address ticked.
#[tokio::test]
async fn locking_to_addresses_knows_refused_addresses_and_what_the_list_enforces() {
    let server = TestServer::start().await;
    let client = server.admin_client().await;
    let (status, _) = server.call::<CreateIpAcl>(&client, &[("name", "Office"), ("entries", "127.0.5.1")]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
    let office = page["ip_acls"].as_array().unwrap().iter().find(|a| a["name"] == "Office").unwrap()["id"].to_string();
    let (_, created) = server.call::<CreateApiKey>(&client, &[("name", "Locked"), ("ip_acl_id", &office)]).await;
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, page) = server.call::<ListApiKeys>(&client, &[("q", "Locked")]).await;
    let id = page["keys"][0]["id"].to_string();
    assert_eq!(server.whoami_from(&token, "127.0.5.1", None).await.0, StatusCode::OK);
    assert_eq!(server.whoami_from(&token, "127.0.5.9", None).await.0, StatusCode::FORBIDDEN);
    let (_, details) = server.call::<ApiKeyDetails>(&client, &[("id", &id)]).await;
    assert_eq!((&details["ip_acl_report_only"], &details["ip_acl_allows_any"]), (&json!(false), &json!(false)));
    let row = |ip: &str| details["addresses"].as_array().unwrap().iter().find(|a| a["ip"] == ip).unwrap().clone();
    assert_eq!((&row("127.0.5.9")["refused_only"], &row("127.0.5.1")["refused_only"]), (&json!(true), &json!(false)));

    // Rolled out at once: the office address was only ever let through with the old token.
    let (status, rolled) = server.call::<RollApiKey>(&client, &[("id", &id), ("grace", "now")]).await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    let (_, details) = server.call::<ApiKeyDetails>(&client, &[("id", &id)]).await;
    let office_row = details["addresses"].as_array().unwrap().iter().find(|a| a["ip"] == "127.0.5.1").unwrap().clone();
    assert_eq!(office_row["ended_token_only"], json!(true));
    assert_eq!(server.whoami_from(rolled["token"].as_str().unwrap(), "127.0.5.1", None).await.0, StatusCode::OK);
    let (_, details) = server.call::<ApiKeyDetails>(&client, &[("id", &id)]).await;
    let office_row = details["addresses"].as_array().unwrap().iter().find(|a| a["ip"] == "127.0.5.1").unwrap().clone();
    assert_eq!(office_row["ended_token_only"], json!(false), "seen with the new token now");
}
