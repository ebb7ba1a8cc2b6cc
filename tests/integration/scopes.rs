//! What a key may do and how fast: restricted keys and `GET /api/v1/check`,
//! per-key rate limits (one limit across instances), "Permissions used" and
//! "Restrict to what it uses", and the bad input each refuses by name.

use crate::support::{TestServer, only_on, postgres};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use textpeak::rpc::api_keys::{
    ApiKeyDetails, CreateApiKey, ListApiKeys, RestrictApiKey, SetApiKeyEnabled, UpdateApiKey,
};
use textpeak::rpc::ip_acls::{CreateIpAcl, ListIpAcls};

const EVERYTHING: [&str; 6] = ["sms:send", "sms:read", "inbound:read", "numbers:read", "numbers:write", "usage:read"];

struct Setup {
    server: TestServer,
    client: reqwest::Client,
    any: String,
}

impl Setup {
    async fn new() -> Self {
        Self::on(TestServer::start().await).await
    }

    async fn on(server: TestServer) -> Self {
        let client = server.admin_client().await;
        let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
        let any = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
        Setup { server, client, any }
    }

    /// Creates a key with extra form fields; returns (id, token).
    async fn key(&self, name: &str, extra: &[(&str, &str)]) -> (String, String) {
        let mut form = vec![("name", name), ("ip_acl_id", self.any.as_str())];
        form.extend_from_slice(extra);
        let (status, created) = self.server.call::<CreateApiKey>(&self.client, &form).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[("q", name)]).await;
        (page["keys"][0]["id"].as_i64().unwrap().to_string(), created["token"].as_str().unwrap().to_owned())
    }

    async fn refused(&self, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![("name", "Refused"), ("ip_acl_id", self.any.as_str())];
        form.extend_from_slice(extra);
        let (status, body) = self.server.call::<CreateApiKey>(&self.client, &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {body}");
        body["invalid"].clone()
    }

    async fn summary(&self, name: &str) -> Value {
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[("q", name)]).await;
        page["keys"][0].clone()
    }
}

/// `GET /api/v1/check?permission=…` (the raw query is sent as given).
async fn check(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let response = reqwest::Client::new()
        .get(server.url(&format!("/api/v1/check{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

async fn whoami(server: &TestServer, token: &str) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let response = reqwest::Client::new().get(server.url("/api/v1/whoami")).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn a_restricted_key_is_granted_what_it_was_given_and_nothing_else() {
    let s = Setup::new().await;
    let (id, token) = s.key("SMS only", &[("permissions", "sms:send,sms:read")]).await;
    let (status, body, _) = whoami(&s.server, &token).await;
    assert_eq!((status, &body["permissions"]), (StatusCode::OK, &json!(["sms:send", "sms:read"])));
    assert_eq!(s.summary("SMS only").await["access"], json!({ "Restricted": 3 }), "two bits of the catalogue");

    let (status, body, _) = check(&s.server, &token, "?permission=sms:send").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["name"], &body["key_id"].to_string(), &body["permissions"]),
        (&json!("SMS only"), &id, &json!(["sms:send", "sms:read"]))
    );
    let (status, body, _) = check(&s.server, &token, "?permission=numbers%3Aread").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!((&body["error"], &body["required"]), (&json!("permission_denied"), &json!("numbers:read")));
    for query in ["?permission=sms:fly", "", "?permission=", "?other=sms:send"] {
        let (status, body, _) = check(&s.server, &token, query).await;
        assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("unknown_permission")), "{query}");
    }

    // Full access again: granted at once (the change reaches the cache as every key change does).
    let edit = [("id", id.as_str()), ("name", "SMS only"), ("ip_acl_id", &s.any), ("permissions", "full")];
    assert_eq!(s.server.call::<UpdateApiKey>(&s.client, &edit).await.0, StatusCode::OK);
    assert_eq!(check(&s.server, &token, "?permission=numbers:read").await.0, StatusCode::OK);
    assert_eq!(whoami(&s.server, &token).await.1["permissions"], json!(EVERYTHING));
    // Left out, the permissions stay as they are.
    let edit = [("id", id.as_str()), ("name", "Renamed"), ("ip_acl_id", &s.any), ("permissions", "usage:read")];
    assert_eq!(s.server.call::<UpdateApiKey>(&s.client, &edit).await.0, StatusCode::OK);
    let rename = [("id", id.as_str()), ("name", "Renamed again"), ("ip_acl_id", s.any.as_str())];
    assert_eq!(s.server.call::<UpdateApiKey>(&s.client, &rename).await.0, StatusCode::OK);
    assert_eq!(whoami(&s.server, &token).await.1["permissions"], json!(["usage:read"]));
}

/// Every refusal whoami has applies to check first, in the same order; only
/// then is the permission read.
#[tokio::test]
async fn check_refuses_the_token_before_it_reads_the_permission() {
    let s = Setup::new().await;
    let form = [("name", "Elsewhere"), ("entries", "192.0.2.0/24"), ("report_only", "false")];
    assert_eq!(s.server.call::<CreateIpAcl>(&s.client, &form).await.0, StatusCode::OK);
    let (_, acls) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    let elsewhere = acls.as_array().unwrap().iter().find(|a| a["name"] == "Elsewhere").unwrap()["id"].to_string();
    let (status, created) =
        s.server.call::<CreateApiKey>(&s.client, &[("name", "Outside"), ("ip_acl_id", &elsewhere)]).await;
    assert_eq!(status, StatusCode::OK);
    let outside = created["token"].as_str().unwrap();
    let (status, body, _) = check(&s.server, outside, "?permission=sms:fly").await;
    assert_eq!((status, &body["error"]), (StatusCode::FORBIDDEN, &json!("ip_not_allowed")));

    let (id, token) = s.key("Switched off", &[("permissions", "sms:send")]).await;
    s.server.call::<SetApiKeyEnabled>(&s.client, &[("id", &id), ("enabled", "false")]).await;
    let (status, body, _) = check(&s.server, &token, "?permission=numbers:read").await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("key_disabled")));
    let (status, body, _) = check(&s.server, "tp_not-a-token", "?permission=sms:send").await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("malformed_token")));
    let response = reqwest::Client::new().get(s.server.url("/api/v1/check?permission=sms:send")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_permissions_and_limits_are_refused_by_name_and_nothing_is_stored() {
    let s = Setup::new().await;
    let invalid = s.refused(&[("permissions", "sms:send,sms:fly")]).await;
    assert_eq!(invalid["field"], "permissions");
    assert!(invalid["message"].as_str().unwrap().contains("sms:fly"), "{invalid}");
    for nothing in ["none", ","] {
        let invalid = s.refused(&[("permissions", nothing)]).await;
        assert_eq!(invalid["field"], "permissions", "an empty grid is not full access");
        assert!(invalid["message"].as_str().unwrap().contains("at least one permission"), "{invalid}");
    }
    let invalid = s.refused(&[("permissions", &"sms:send,".repeat(40))]).await;
    assert_eq!(invalid["field"], "permissions");
    for requests in ["0", "1000000000", "1000001", "-5", "five", "1e3"] {
        let invalid = s.refused(&[("rate_limit", requests), ("rate_per", "minute")]).await;
        assert_eq!(invalid["field"], "rate_limit", "{requests}");
    }
    let invalid = s.refused(&[("rate_limit", "5"), ("rate_per", "fortnight")]).await;
    assert_eq!(invalid["field"], "rate_per");
    let invalid = s.refused(&[("rate_limit", "5")]).await;
    assert_eq!(invalid["field"], "rate_per", "a number without a period");

    // A megabyte of permissions never reaches the server function.
    let huge = format!("sms:send,{}", "x".repeat(1024 * 1024));
    let response = TestServer::client()
        .post(s.server.url(<CreateApiKey as server_fn::ServerFn>::PATH))
        .header("origin", format!("http://{}", s.server.addr))
        .form(&[("name", "Huge"), ("ip_acl_id", s.any.as_str()), ("permissions", &huge)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, page) = s.server.call::<ListApiKeys>(&s.client, &[]).await;
    assert_eq!(page["has_keys"], false, "nothing was created");

    // The bounds themselves are accepted.
    s.key("Slowest", &[("rate_limit", "1"), ("rate_per", "hour")]).await;
    s.key("Fastest", &[("rate_limit", "1000000"), ("rate_per", "second")]).await;
    assert_eq!(s.summary("Fastest").await["rate_limit"], json!({ "requests": 1_000_000, "per": "Second" }));
}

#[tokio::test]
async fn over_its_limit_a_key_is_told_to_wait_and_the_page_counts_it() {
    let s = Setup::new().await;
    let (id, token) = s.key("Five a minute", &[("rate_limit", "5"), ("rate_per", "minute")]).await;
    for left in (0..5).rev() {
        // whoami and check draw on the same allowance.
        let (status, body, headers) = if left % 2 == 0 {
            whoami(&s.server, &token).await
        } else {
            check(&s.server, &token, "?permission=sms:send").await
        };
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["ratelimit-limit"], "5");
        assert_eq!(headers["ratelimit-remaining"], left.to_string().as_str());
        let reset: u64 = headers["ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let (status, body, headers) = whoami(&s.server, &token).await;
    assert_eq!((status, &body["error"]), (StatusCode::TOO_MANY_REQUESTS, &json!("rate_limited")));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((11..=12).contains(&retry), "one request every 12 s: {retry}");
    assert_eq!(headers["ratelimit-remaining"], "0");

    let details = s.server.call::<ApiKeyDetails>(&s.client, &[("id", &id)]).await.1;
    let today = details["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((&today["allowed"], &today["rate_limited"], &today["refused"]), (&json!(5), &json!(1), &json!(0)));
    assert!(details["refusals"].as_array().unwrap().is_empty(), "a rate-limited request is not a refused token");
    s.server.state.usage.flush(&s.server.state.db).await.unwrap();
    let details = s.server.call::<ApiKeyDetails>(&s.client, &[("id", &id)]).await.1;
    assert_eq!(details["days"].as_array().unwrap().last().unwrap()["rate_limited"], 1, "stored, then read back");

    // A key without a limit says nothing of one.
    let (_, free) = s.key("Unlimited", &[]).await;
    let (_, _, headers) = whoami(&s.server, &free).await;
    assert!(!headers.contains_key("ratelimit-limit"));
    // Removing the limit frees the key at once.
    let edit = [("id", id.as_str()), ("name", "Five a minute"), ("ip_acl_id", &s.any), ("rate_limit", "none")];
    assert_eq!(s.server.call::<UpdateApiKey>(&s.client, &edit).await.0, StatusCode::OK);
    assert_eq!(whoami(&s.server, &token).await.0, StatusCode::OK);
    assert_eq!(s.summary("Five a minute").await["rate_limit"], Value::Null);
}

/// Two instances on one database, each with its background jobs: what one
/// lets through is charged to the other within the sync interval, also when
/// the other meets the key for the first time after the first spent it.
#[tokio::test]
async fn one_limit_holds_across_two_instances() {
    let s = Setup::on(TestServer::start_with_jobs(&[]).await).await;
    let b = TestServer::start_with_jobs(&[("DATABASE_URL", &s.server.database_url)]).await;
    let (_, token) = s.key("Shared limit", &[("rate_limit", "50"), ("rate_per", "minute")]).await;
    b.state.verifier.tokens().catch_up(&b.state.db, 0).await.unwrap();
    let mut on_a = 0;
    for _ in 0..40 {
        on_a += usize::from(whoami(&s.server, &token).await.0 == StatusCode::OK);
    }
    assert_eq!(on_a, 40);
    // A, alone so far, writes its count within a second; B reads it at its
    // next sync once it has met the key.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(whoami(&b, &token).await.0, StatusCode::OK, "B's first request, before it has read A's count");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut on_b = 1;
    for _ in 0..40 {
        on_b += usize::from(whoami(&b, &token).await.0 == StatusCode::OK);
    }
    // 50 in all (and one for the 1.2 s each request takes to come back).
    assert!((9..=12).contains(&on_b), "B let through {on_b} after A's 40; alone it would have let through 41");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut more_on_a = 0;
    for _ in 0..10 {
        more_on_a += usize::from(whoami(&s.server, &token).await.0 == StatusCode::OK);
    }
    assert!(more_on_a <= 2, "A heard of B's: {more_on_a}");
}

/// Polls `server` until checking `permission` answers `expected`; returns how long that took.
async fn until(server: &TestServer, token: &str, permission: &str, expected: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body, _) = check(server, token, &format!("?permission={permission}")).await;
        if status == expected {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(1), "still {status} {body} after 1 s, expected {expected}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A permission taken away in the console is refused on the next check on
/// every instance (the change notice, as for any key change).
#[tokio::test]
async fn a_permission_taken_away_through_one_instance_is_refused_by_the_other() {
    if postgres().is_none() {
        return only_on("PostgreSQL", "instances share changes through PostgreSQL's NOTIFY");
    }
    let s = Setup::on(TestServer::start_with_jobs(&[]).await).await;
    let b = TestServer::start_with_jobs(&[("DATABASE_URL", &s.server.database_url)]).await;
    let (id, token) = s.key("Narrowed", &[]).await;
    until(&b, &token, "numbers:read", StatusCode::OK).await;
    let edit = [("id", id.as_str()), ("name", "Narrowed"), ("ip_acl_id", &s.any), ("permissions", "sms:send")];
    assert_eq!(s.server.call::<UpdateApiKey>(&s.client, &edit).await.0, StatusCode::OK);
    let took = until(&b, &token, "numbers:read", StatusCode::FORBIDDEN).await;
    println!("permission taken away on A refused on B after {took:?}");
    assert_eq!(check(&b, &token, "?permission=sms:send").await.0, StatusCode::OK);
}

#[tokio::test]
async fn permissions_used_lists_what_checks_asked_and_restrict_keeps_only_those() {
    let s = Setup::new().await;
    let (id, token) = s.key("Sender", &[]).await;
    for permission in ["sms:send", "sms:send", "sms:send", "sms:read"] {
        assert_eq!(check(&s.server, &token, &format!("?permission={permission}")).await.0, StatusCode::OK);
    }
    s.server.state.usage.flush(&s.server.state.db).await.unwrap();
    assert_eq!(check(&s.server, &token, "?permission=sms:send").await.0, StatusCode::OK, "pending, not yet written");
    let details = s.server.call::<ApiKeyDetails>(&s.client, &[("id", &id)]).await.1;
    let used: Vec<(String, i64)> = details["permissions_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["permission"].as_str().unwrap().to_owned(), u["asked"].as_i64().unwrap()))
        .collect();
    assert_eq!(used, [("sms:send".to_owned(), 4), ("sms:read".to_owned(), 1)]);
    assert!(details["permissions_used"][0]["last_asked"].as_i64().unwrap() > 0);

    // Only what the key has can be kept; nothing at all cannot.
    let (status, body) = s.server.call::<RestrictApiKey>(&s.client, &[("id", &id), ("permissions", "")]).await;
    assert_eq!((status, &body["invalid"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("permissions")));
    let (status, _) = s.server.call::<RestrictApiKey>(&s.client, &[("id", &id), ("permissions", "sms:send")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check(&s.server, &token, "?permission=sms:send").await.0, StatusCode::OK);
    let (status, body, _) = check(&s.server, &token, "?permission=sms:read").await;
    assert_eq!((status, &body["required"]), (StatusCode::FORBIDDEN, &json!("sms:read")));
    let (status, body) =
        s.server.call::<RestrictApiKey>(&s.client, &[("id", &id), ("permissions", "sms:send,usage:read")]).await;
    assert_eq!(
        (status, &body["invalid"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("permissions")),
        "restricting never gives more"
    );

    let details = s.server.call::<ApiKeyDetails>(&s.client, &[("id", &id)]).await.1;
    let denied =
        details["permissions_used"].as_array().unwrap().iter().find(|u| u["permission"] == "sms:read").unwrap();
    assert_eq!(denied["denied"], 1);
    let (_, log) = s.server.call::<textpeak::rpc::audit::ListAuditLog>(&s.client, &[("page", "0")]).await;
    assert!(log.to_string().contains("restricted to what it used: sms:send"), "{log}");
}

/// A database made by the migrations before restricted keys: its keys keep
/// full access and no limit.
#[tokio::test]
async fn keys_from_before_permissions_keep_full_access() {
    use sea_orm::{ConnectionTrait, Database};
    use sea_orm_migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    // A key made, then its database put back as migration 8 left it: the
    // columns and tables of migration 9 gone, and it not yet applied.
    let s = Setup::on(TestServer::start_with(&[("DATABASE_URL", &url)]).await).await;
    let (id, token) = s.key("Old key", &[]).await;
    drop(s);
    let db = Database::connect(&url).await.unwrap();
    let pending = textpeak::db::migration::Migrator::get_pending_migrations(&db).await.unwrap();
    assert!(pending.is_empty());
    db.execute_unprepared("DELETE FROM seaql_migrations WHERE version LIKE 'm20261207_000009%'").await.unwrap();
    for sql in ["DROP TABLE rate_limit_counts", "DROP TABLE key_permission_hours"] {
        db.execute_unprepared(sql).await.unwrap();
    }
    for column in ["permissions", "rate_limit", "rate_per"] {
        db.execute_unprepared(&format!("ALTER TABLE api_keys DROP COLUMN {column}")).await.unwrap();
    }
    db.execute_unprepared("ALTER TABLE key_usage_hours DROP COLUMN rate_limited").await.unwrap();
    db.close().await.unwrap();

    let server = TestServer::start_with(&[("DATABASE_URL", &url)]).await;
    let (status, body, headers) = whoami(&server, &token).await;
    assert_eq!((status, &body["permissions"]), (StatusCode::OK, &json!(EVERYTHING)));
    assert!(!headers.contains_key("ratelimit-limit"));
    let s = Setup::on(server).await;
    let summary = s.summary("Old key").await;
    assert_eq!(
        (&summary["access"], &summary["rate_limit"], summary["id"].to_string()),
        (&json!("Full"), &Value::Null, id)
    );
}
