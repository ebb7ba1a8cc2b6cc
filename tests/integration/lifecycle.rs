//! Keys that live and die safely, over HTTP: roll with a grace period,
//! expiry, disable and enable, and the table's search, filter and sort. Time
//! moves by the server's clock, never by sleeping.

use crate::support::{TestServer, key_count};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use textpeak::rpc::api_keys::{
    CreateApiKey, KeysNeedingAttention, ListApiKeys, RevealApiKey, RollApiKey, SetApiKeyEnabled, UpdateApiKey,
};
use textpeak::rpc::audit::ListAuditLog;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

struct Setup {
    server: TestServer,
    client: reqwest::Client,
    acl: String,
}

impl Setup {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let client = server.admin_client().await;
        let (_, page) = server.call::<ListApiKeys>(&client, &[]).await;
        let acl = page["ip_acls"][0]["id"].as_i64().unwrap().to_string();
        Setup { server, client, acl }
    }

    /// Creates a key and returns (id, token).
    async fn key(&self, name: &str, expiry: &[(&str, &str)]) -> (String, String) {
        let mut form = vec![("name", name), ("ip_acl_id", self.acl.as_str())];
        form.extend_from_slice(expiry);
        let (status, created) = self.server.call::<CreateApiKey>(&self.client, &form).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[("q", name)]).await;
        let row = page["keys"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap();
        (row["id"].as_i64().unwrap().to_string(), created["token"].as_str().unwrap().to_owned())
    }

    async fn row(&self, name: &str) -> Value {
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[("q", name)]).await;
        page["keys"].as_array().unwrap().iter().find(|k| k["name"] == name).cloned().expect("the key is listed")
    }

    async fn roll(&self, id: &str, grace: &str) -> Value {
        let (status, rolled) = self.server.call::<RollApiKey>(&self.client, &[("id", id), ("grace", grace)]).await;
        assert_eq!(status, StatusCode::OK, "{rolled}");
        rolled
    }

    async fn whoami(&self, token: &str) -> (StatusCode, Value) {
        self.server.whoami(token).await
    }

    /// Moves the server's clock on; a jump past the session's idle timeout
    /// ends it, as it would for a real admin, so the admin signs in again.
    async fn later(&mut self, by: Duration) {
        self.server.state.clock.advance(by);
        self.client = self.server.admin_client().await;
    }
}

#[tokio::test]
async fn after_a_roll_both_tokens_work_until_the_grace_ends() {
    for (grace, lasts) in [("1h", HOUR), ("24h", DAY), ("7d", 7 * DAY)] {
        let mut s = Setup::new().await;
        let (id, old) = s.key("Rolling", &[]).await;
        assert_eq!(s.whoami(&old).await.0, StatusCode::OK);
        let rolled = s.roll(&id, grace).await;
        let new = rolled["token"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert_eq!(rolled["ended_earlier"], false);
        // The eye button shows the new token; the table says when the old one stops.
        assert_eq!(s.server.call::<RevealApiKey>(&s.client, &[("id", &id)]).await.1, json!(new));
        let row = s.row("Rolling").await;
        assert_eq!(row["masked_token"], format!("tp_••••••••{}", &new[48..]));
        assert_eq!(row["old_token_until"], rolled["old_token_until"]);

        s.later(lasts - Duration::from_secs(1)).await;
        assert_eq!(s.whoami(&old).await.0, StatusCode::OK, "{grace}: the old token still works");
        let (status, body) = s.whoami(&old).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["expires_at"].is_string(), "whoami says when the old token stops: {body}");
        assert_eq!(s.whoami(&new).await.1["expires_at"], Value::Null);
        s.later(Duration::from_secs(1)).await;
        let (status, body) = s.whoami(&old).await;
        assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("token_expired")), "{grace}");
        assert_eq!(s.whoami(&new).await.0, StatusCode::OK);
        assert_eq!(s.row("Rolling").await["old_token_until"], Value::Null);
    }
}

#[tokio::test]
async fn rolling_now_ends_the_old_token_at_once_and_a_second_roll_ends_the_first() {
    let mut s = Setup::new().await;
    let (id, first) = s.key("Twice", &[]).await;
    let second = s.roll(&id, "24h").await["token"].as_str().unwrap().to_owned();
    s.later(HOUR).await;
    let third = s.roll(&id, "24h").await;
    assert_eq!(third["ended_earlier"], true, "the dialog was right to warn");
    // At most two live tokens: the first one stopped at the second roll.
    assert_eq!(s.whoami(&first).await.1["error"], "token_expired");
    assert_eq!(s.whoami(&second).await.0, StatusCode::OK);
    let third = third["token"].as_str().unwrap().to_owned();
    let now = s.roll(&id, "now").await;
    assert_eq!(s.whoami(&third).await.1["error"], "token_expired", "Now means now");
    assert_eq!(s.whoami(now["token"].as_str().unwrap()).await.0, StatusCode::OK);
    let (status, body) = s.server.call::<RollApiKey>(&s.client, &[("id", &id), ("grace", "2d")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["invalid"]["field"], "grace");
}

#[tokio::test]
async fn a_disabled_key_is_refused_at_once_and_enable_restores_the_same_token() {
    let s = Setup::new().await;
    let (id, token) = s.key("Incident", &[]).await;
    assert_eq!(s.whoami(&token).await.0, StatusCode::OK, "cached now");
    let (status, _) = s.server.call::<SetApiKeyEnabled>(&s.client, &[("id", &id), ("enabled", "false")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.whoami(&token).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("key_disabled")));
    assert_eq!(s.row("Incident").await["status"], "Disabled");
    s.server.call::<SetApiKeyEnabled>(&s.client, &[("id", &id), ("enabled", "true")]).await;
    assert_eq!(s.whoami(&token).await.0, StatusCode::OK);
    assert_eq!(s.row("Incident").await["status"], "Active");
    let (_, log) = s.server.call::<ListAuditLog>(&s.client, &[("page", "0")]).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["Enabled API key", "Disabled API key"]);
}

#[tokio::test]
async fn an_expired_key_says_so_and_a_later_expiry_brings_it_back() {
    let mut s = Setup::new().await;
    let (id, token) = s.key("Temporary", &[("expires", "30d")]).await;
    let (status, body) = s.whoami(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(s.row("Temporary").await["status"], "Active");
    s.later(17 * DAY).await;
    assert_eq!(s.row("Temporary").await["status"], json!({ "ExpiresSoon": { "days": 13 } }));
    s.later(13 * DAY).await;
    let (status, body) = s.whoami(&token).await;
    assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("key_expired")));
    assert_eq!(s.row("Temporary").await["status"], "Expired", "it stays in the table");
    // Editing only the name keeps the past expiry (and is allowed)...
    let (status, _) =
        s.server.call::<UpdateApiKey>(&s.client, &[("id", &id), ("name", "Temporary"), ("ip_acl_id", &s.acl)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.whoami(&token).await.1["error"], "key_expired");
    // ...and a later expiry brings the key back.
    let (status, _) = s
        .server
        .call::<UpdateApiKey>(
            &s.client,
            &[("id", &id), ("name", "Temporary"), ("ip_acl_id", &s.acl), ("expires", "90d")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.whoami(&token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn expiry_dates_in_the_past_or_too_far_ahead_are_refused_next_to_the_field() {
    let s = Setup::new().await;
    for (date, message) in [
        ("2020-01-01", "The expiry date is in the past; choose today or a later date."),
        ("2099-01-01", "The expiry date is more than 5 years ahead; choose an earlier date."),
        ("31/12/2027", "Enter the expiry date as YYYY-MM-DD."),
    ] {
        let form = [("name", "Dated"), ("ip_acl_id", s.acl.as_str()), ("expires", "date"), ("expiry_date", date)];
        let (status, body) = s.server.call::<CreateApiKey>(&s.client, &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{date}");
        assert_eq!(body, json!({ "invalid": { "field": "expiry_date", "message": message } }), "{date}");
    }
    let (_, page) = s.server.call::<ListApiKeys>(&s.client, &[]).await;
    assert_eq!(key_count(&page), 0, "nothing was made");
    // A date within reach works through the end of that day, UTC.
    let (_, token) = s.key("Dated", &[("expires", "date"), ("expiry_date", "2027-06-30")]).await;
    assert_eq!(s.whoami(&token).await.1["expires_at"], "2027-07-01T00:00:00Z");
}

#[tokio::test]
async fn the_table_searches_filters_and_sorts_on_the_server() {
    let s = Setup::new().await;
    for name in ["Billing", "billing backup", "Reports", "50%_off", "500 off"] {
        s.key(name, &[]).await;
    }
    let (id, _) = s.key("Old batch", &[]).await;
    s.server.call::<SetApiKeyEnabled>(&s.client, &[("id", &id), ("enabled", "false")]).await;
    let names = |page: &Value| -> Vec<String> {
        page["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap().to_owned()).collect()
    };
    let list = |form: Vec<(&'static str, &'static str)>| {
        let s = &s;
        async move { s.server.call::<ListApiKeys>(&s.client, &form).await.1 }
    };
    assert_eq!(names(&list(vec![("q", "BILLING")]).await), ["billing backup", "Billing"]);
    // LIKE's wildcards are taken literally.
    assert_eq!(names(&list(vec![("q", "0%")]).await), ["50%_off"]);
    assert_eq!(names(&list(vec![("q", "%_")]).await), ["50%_off"]);
    assert_eq!(names(&list(vec![("status", "disabled")]).await), ["Old batch"]);
    assert_eq!(key_count(&list(vec![("status", "active")]).await), 5);
    assert_eq!(key_count(&list(vec![("status", "expired")]).await), 0);
    assert_eq!(
        names(&list(vec![("sort", "name"), ("dir", "asc")]).await),
        // By the folded name, byte by byte, the same on both databases.
        ["50%_off", "500 off", "Billing", "billing backup", "Old batch", "Reports"]
    );
    let unknown = s.server.call::<ListApiKeys>(&s.client, &[("status", "sometimes")]).await;
    assert_eq!(unknown.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rolls_expiry_changes_disables_and_enables_are_audited() {
    let s = Setup::new().await;
    let (id, _) = s.key("Audited", &[("expires", "1y")]).await;
    s.roll(&id, "7d").await;
    s.server
        .call::<UpdateApiKey>(
            &s.client,
            &[("id", &id), ("name", "Audited"), ("ip_acl_id", &s.acl), ("expires", "never")],
        )
        .await;
    let (_, log) = s.server.call::<ListAuditLog>(&s.client, &[("page", "0")]).await;
    let entries: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(entries[0], ("Edited API key".to_owned(), "never expires".to_owned()));
    assert_eq!(entries[1], ("Rolled API key".to_owned(), "old token stops working after 7 days".to_owned()));
    assert!(entries[2].1.contains("; expires "), "{:?}", entries[2]);
}

#[tokio::test]
async fn the_overview_lists_keys_that_need_attention() {
    let mut s = Setup::new().await;
    let (rolled, _) = s.key("Rolled recently", &[]).await;
    s.key("Ends soon", &[("expires", "30d")]).await;
    s.key("Forgotten", &[]).await;
    s.roll(&rolled, "7d").await;
    let (_, list) = s.server.call::<KeysNeedingAttention>(&s.client, &[]).await;
    assert_eq!(list["old_tokens"][0]["name"], "Rolled recently");
    s.later(20 * DAY).await;
    let (status, list) = s.server.call::<KeysNeedingAttention>(&s.client, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["expiring"][0]["name"], "Ends soon");
    assert_eq!(list["old_tokens"].as_array().unwrap().len(), 0, "the grace is over");
    assert_eq!(list["unused"].as_array().unwrap().len(), 0, "not yet 90 days");
    s.later(75 * DAY).await;
    let (_, list) = s.server.call::<KeysNeedingAttention>(&s.client, &[]).await;
    let unused: Vec<&str> = list["unused"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(unused.len(), 3, "{list}");
    assert!(unused.contains(&"Forgotten"));
}
