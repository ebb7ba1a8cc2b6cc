//! What each key does, over real sockets (127.0.0.1, .2 and .3 are three
//! clients): counts per address after a flush, refusals with their reason,
//! report-only IP ACLs, and locking a key to the addresses it came from.

use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use textpeak::rpc::api_keys::{ApiKeyDetails, CreateApiKey, ListApiKeys, LockApiKeyToAddresses, SetApiKeyEnabled};
use textpeak::rpc::ip_acls::{CreateIpAcl, ListIpAcls, UpdateIpAcl};

struct Setup {
    server: TestServer,
    client: reqwest::Client,
}

impl Setup {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let client = server.admin_client().await;
        Setup { server, client }
    }

    async fn acl(&self, name: &str, entries: &str, report_only: bool) -> String {
        let form = [("name", name), ("entries", entries), ("report_only", if report_only { "true" } else { "false" })];
        let (status, body) = self.server.call::<CreateIpAcl>(&self.client, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, list) = self.server.call::<ListIpAcls>(&self.client, &[]).await;
        let acl = list.as_array().unwrap().iter().find(|a| a["name"] == name).unwrap();
        acl["id"].as_i64().unwrap().to_string()
    }

    async fn any(&self) -> String {
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[]).await;
        page["ip_acls"][0]["id"].as_i64().unwrap().to_string()
    }

    /// Creates a key; returns (id, token).
    async fn key(&self, name: &str, acl: &str) -> (String, String) {
        let (status, created) =
            self.server.call::<CreateApiKey>(&self.client, &[("name", name), ("ip_acl_id", acl)]).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[("q", name)]).await;
        (page["keys"][0]["id"].as_i64().unwrap().to_string(), created["token"].as_str().unwrap().to_owned())
    }

    async fn details(&self, id: &str) -> Value {
        let (status, details) = self.server.call::<ApiKeyDetails>(&self.client, &[("id", id)]).await;
        assert_eq!(status, StatusCode::OK, "{details}");
        details
    }

    async fn flush(&self) {
        self.server.state.usage.flush(&self.server.state.db).await.unwrap().keys;
    }
}

fn address<'a>(details: &'a Value, ip: &str) -> &'a Value {
    details["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == ip)
        .unwrap_or_else(|| panic!("{ip} in {details}"))
}

fn today(details: &Value) -> &Value {
    details["days"].as_array().unwrap().last().unwrap()
}

#[tokio::test]
async fn requests_from_two_addresses_are_counted_and_refusals_say_why() {
    let s = Setup::new().await;
    let acl = s.acl("Only .2", "127.0.0.2", false).await;
    let (id, token) = s.key("Counted", &acl).await;
    for _ in 0..3 {
        assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    }
    assert_eq!(s.server.whoami_from(&token, "127.0.0.3", None).await.0, StatusCode::FORBIDDEN);
    // Shown before any flush: the page is current to the second.
    let before = s.details(&id).await;
    assert_eq!(address(&before, "127.0.0.2")["requests"], 3);
    s.flush().await;
    s.server.call::<SetApiKeyEnabled>(&s.client, &[("id", &id), ("enabled", "false")]).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::UNAUTHORIZED);

    let details = s.details(&id).await;
    assert_eq!(details["days"].as_array().unwrap().len(), 30, "every day, traffic or not");
    assert_eq!(
        details["days"][0],
        json!({ "day": details["days"][0]["day"], "allowed": 0, "refused": 0, "would_refuse": 0, "rate_limited": 0 })
    );
    assert_eq!((&today(&details)["allowed"], &today(&details)["refused"]), (&json!(3), &json!(2)));
    assert_eq!(address(&details, "127.0.0.2")["requests"], 4);
    assert_eq!(address(&details, "127.0.0.2")["refused"], 1);
    assert_eq!(address(&details, "127.0.0.3")["refused"], 1);
    assert_eq!(details["addresses"][0]["ip"], "127.0.0.2", "most recent first");
    let reasons: Vec<(&str, &str)> = details["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ip"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(reasons, [("127.0.0.2", "key_disabled"), ("127.0.0.3", "ip_not_allowed")]);

    // Written and not yet written add up the same after another flush.
    s.flush().await;
    assert_eq!(s.details(&id).await["addresses"], details["addresses"]);
}

#[tokio::test]
async fn unknown_tokens_are_never_recorded_against_any_key() {
    let s = Setup::new().await;
    let (id, _) = s.key("Quiet", &s.any().await).await;
    let stranger = textpeak::domain::token::Token::generate().unwrap();
    assert_eq!(s.server.whoami_from(stranger.expose(), "127.0.0.2", None).await.0, StatusCode::UNAUTHORIZED);
    s.flush().await;
    let details = s.details(&id).await;
    assert_eq!(details["addresses"], json!([]));
    assert_eq!(details["refusals"], json!([]));
}

#[tokio::test]
async fn a_report_only_acl_lets_outsiders_through_says_so_and_records_them() {
    let s = Setup::new().await;
    let acl = s.acl("Watching .2", "127.0.0.2", true).await;
    let (id, token) = s.key("Watched", &acl).await;
    let from = |source: &str| {
        let token = token.clone();
        let url = s.server.url("/api/v1/whoami");
        let source: std::net::IpAddr = source.parse().unwrap();
        async move {
            reqwest::Client::builder()
                .local_address(source)
                .build()
                .unwrap()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let outside = from("127.0.0.3").await;
    assert_eq!(outside.status(), StatusCode::OK);
    // The caller outside is told nothing of the list, nor that it will be enforced.
    assert!(!outside.headers().contains_key("textpeak-ip-acl"));
    assert!(!outside.text().await.unwrap().contains("ip_acl"));
    let inside = from("127.0.0.2").await;
    assert_eq!(inside.status(), StatusCode::OK);
    let details = s.details(&id).await;
    assert_eq!(details["ip_acl_report_only"], true);
    assert_eq!(today(&details)["would_refuse"], 1);
    assert_eq!(details["refusals"][0]["would_be_refused"], true);
    assert_eq!(details["refusals"][0]["ip"], "127.0.0.3");

    // Switched off, it enforces on the very next request.
    let enforce = [("id", acl.as_str()), ("name", "Watching .2"), ("entries", "127.0.0.2"), ("report_only", "false")];
    assert_eq!(s.server.call::<UpdateIpAcl>(&s.client, &enforce).await.0, StatusCode::OK);
    assert_eq!(from("127.0.0.3").await.status(), StatusCode::FORBIDDEN);
    let (_, list) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    assert_eq!(list.as_array().unwrap().iter().find(|a| a["name"] == "Watching .2").unwrap()["report_only"], false);
}

#[tokio::test]
async fn locking_a_key_to_its_observed_addresses_admits_exactly_those() {
    let s = Setup::new().await;
    let (id, token) = s.key("Busy", &s.any().await).await;
    for source in ["127.0.0.1", "127.0.0.2"] {
        assert_eq!(s.server.whoami_from(&token, source, None).await.0, StatusCode::OK);
    }
    let observed: Vec<String> = s.details(&id).await["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ip"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(observed.len(), 2);
    let lock =
        [("id", id.as_str()), ("name", "Busy observed"), ("addresses", &observed.join("\n")), ("report_only", "false")];
    assert_eq!(s.server.call::<LockApiKeyToAddresses>(&s.client, &lock).await.0, StatusCode::OK);
    for source in ["127.0.0.1", "127.0.0.2"] {
        assert_eq!(s.server.whoami_from(&token, source, None).await.0, StatusCode::OK, "{source}");
    }
    let (status, body) = s.server.whoami_from(&token, "127.0.0.3", None).await;
    assert_eq!((status, &body["ip"]), (StatusCode::FORBIDDEN, &json!("127.0.0.3")));
    let details = s.details(&id).await;
    assert_eq!(details["key"]["ip_acl_name"], "Busy observed");
    // Nothing ticked, or a name taken: nothing changes.
    let empty = [("id", id.as_str()), ("name", "Empty"), ("addresses", ""), ("report_only", "true")];
    let (status, body) = s.server.call::<LockApiKeyToAddresses>(&s.client, &empty).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["invalid"]["field"], "entries");
    let taken = [("id", id.as_str()), ("name", "Busy observed"), ("addresses", "127.0.0.9"), ("report_only", "true")];
    assert_eq!(s.server.call::<LockApiKeyToAddresses>(&s.client, &taken).await.1["invalid"]["field"], "name");
    assert_eq!(s.details(&id).await["key"]["ip_acl_name"], "Busy observed");
}

#[tokio::test]
async fn another_accounts_key_page_is_not_found() {
    let s = Setup::new().await;
    let (id, _) = s.key("Private", &s.any().await).await;
    s.server.add_admin("Other", "other", "other's long password").await;
    let other = s.server.signed_in_client("other", "other's long password").await;
    let (status, body) = s.server.call::<ApiKeyDetails>(&other, &[("id", &id)]).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({ "not_found": "This API key no longer exists." })));
    let lock = [("id", id.as_str()), ("name", "Mine now"), ("addresses", "127.0.0.1"), ("report_only", "false")];
    assert_eq!(s.server.call::<LockApiKeyToAddresses>(&other, &lock).await.0, StatusCode::NOT_FOUND);
}

/// Two instances count one key's requests each in memory and flush them as
/// increments: the key's page adds both up, and flushing again adds nothing.
/// Both share one database (one SQLite file, or one PostgreSQL database).
#[tokio::test]
async fn two_instances_counting_one_key_add_up() {
    let s = Setup::new().await;
    let b = TestServer::start_with(&[("DATABASE_URL", &s.server.database_url)]).await;
    let (id, token) = s.key("Shared", &s.any().await).await;
    // Another process learns new tokens by its catch-up job (every 2 s), or at
    // once from the change notice on PostgreSQL; a test server runs no jobs.
    b.state.verifier.tokens().catch_up(&b.state.db, 0).await.unwrap();
    for _ in 0..3 {
        assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    }
    for _ in 0..2 {
        assert_eq!(b.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    }
    assert_eq!(b.whoami_from(&token, "127.0.0.3", None).await.0, StatusCode::OK);
    s.flush().await;
    b.state.usage.flush(&b.state.db).await.unwrap().keys;
    let details = s.details(&id).await;
    assert_eq!(today(&details)["allowed"], 6, "{details}");
    assert_eq!(address(&details, "127.0.0.2")["requests"], 5);
    assert_eq!(address(&details, "127.0.0.3")["requests"], 1);
    s.flush().await;
    b.state.usage.flush(&b.state.db).await.unwrap().keys;
    assert_eq!(today(&s.details(&id).await)["allowed"], 6);
}

/// A key seen from more addresses than the page keeps says how many it
/// dropped, on the page the admin reads (rendered by the server).
#[tokio::test]
async fn the_key_page_says_when_older_addresses_were_dropped() {
    let server = TestServer::start_with(&[("TEXTPEAK_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let s = Setup { client: server.admin_client().await, server };
    let (id, token) = s.key("Busy", &s.any().await).await;
    for i in 0..104 {
        let address = format!("198.51.100.{}", i + 1);
        assert_eq!(s.server.whoami_from(&token, "127.0.0.1", Some(&address)).await.0, StatusCode::OK);
    }
    s.flush().await;
    let details = s.details(&id).await;
    assert_eq!(details["addresses"].as_array().unwrap().len(), 100);
    let dropped = details["addresses_dropped"].as_i64().unwrap();
    assert_eq!(dropped, 4, "{details}");
    let page = s.client.get(s.server.url(&format!("/settings/api-keys/{id}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Only the 100 most recently seen addresses are kept: 4 older ones were dropped."),
        "{}",
        &html[html.find("Addresses").unwrap_or(0)..]
    );
}

/// The pruning job that runs every minute keeps 90 days of hourly counts.
#[tokio::test]
async fn the_background_job_forgets_hourly_counts_older_than_90_days() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
    use textpeak::db::entities::key_usage_hour;
    let s = Setup::new().await;
    let (id, _) = s.key("Old traffic", &s.any().await).await;
    let now = textpeak::domain::usage::hour_of(s.server.state.clock.now_ms());
    for hours_ago in [24 * 91, 24 * 90 + 1, 24 * 89, 1] {
        key_usage_hour::ActiveModel {
            key_id: Set(id.parse().unwrap()),
            hour: Set(now - hours_ago),
            allowed: Set(1),
            refused: Set(0),
            would_refuse: Set(0),
            rate_limited: Set(0),
        }
        .insert(&s.server.state.db)
        .await
        .unwrap();
    }
    textpeak::server::jobs::prune(s.server.state.clone()).await;
    let mut kept: Vec<i64> =
        key_usage_hour::Entity::find().all(&s.server.state.db).await.unwrap().iter().map(|h| now - h.hour).collect();
    kept.sort();
    assert_eq!(kept, [1, 24 * 89]);
}
