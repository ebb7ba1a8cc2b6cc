//! IP ACLs: the console's server functions, and their enforcement on the API
//! over real loopback sockets (127.0.0.1 and 127.0.0.2 are different clients).

use crate::support::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use textpeak::rpc::api_keys::{CreateApiKey, DeleteApiKey, ListApiKeys, UpdateApiKey};
use textpeak::rpc::ip_acls::{CreateIpAcl, DeleteIpAcl, ListIpAcls, UpdateIpAcl};

struct Setup {
    server: TestServer,
    client: reqwest::Client,
}

impl Setup {
    async fn new(env: &[(&str, &str)]) -> Self {
        let server = TestServer::start_with(env).await;
        let client = server.admin_client().await;
        Setup { server, client }
    }

    async fn acl(&self, name: &str, entries: &str) -> String {
        let (status, body) =
            self.server.call::<CreateIpAcl>(&self.client, &[("name", name), ("entries", entries)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.acl_id(name).await
    }

    async fn acl_id(&self, name: &str) -> String {
        let (_, list) = self.server.call::<ListIpAcls>(&self.client, &[]).await;
        let acl = list.as_array().unwrap().iter().find(|a| a["name"] == name).expect("the ACL is listed");
        acl["id"].as_i64().unwrap().to_string()
    }

    /// Creates a key on `acl` and returns (id, token).
    async fn key(&self, name: &str, acl: &str) -> (String, String) {
        let (status, created) =
            self.server.call::<CreateApiKey>(&self.client, &[("name", name), ("ip_acl_id", acl)]).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let (_, page) = self.server.call::<ListApiKeys>(&self.client, &[]).await;
        let row = page["keys"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap();
        (row["id"].as_i64().unwrap().to_string(), created["token"].as_str().unwrap().to_owned())
    }
}

fn refused_from(ip: &str) -> Value {
    json!({
        "error": "ip_not_allowed",
        "ip": ip,
        "message": "This API key's IP ACL does not allow requests from this address.",
    })
}

#[tokio::test]
async fn a_key_works_only_from_the_addresses_of_its_acl() {
    let s = Setup::new(&[]).await;
    let acl = s.acl("Only .2", "127.0.0.2/32").await;
    let (_, token) = s.key("Narrow", &acl).await;

    let (status, body) = s.server.whoami_from(&token, "127.0.0.2", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "name": "Narrow", "permissions": ["sms:send", "sms:read", "inbound:read", "numbers:read", "numbers:write", "usage:read"], "expires_at": null }),
        "nothing about the IP ACL"
    );
    let (status, body) = s.server.whoami_from(&token, "127.0.0.1", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, refused_from("127.0.0.1"));

    // An unknown token is 401 from anywhere, allowed or not.
    let unknown = textpeak::domain::token::Token::generate().unwrap();
    for source in ["127.0.0.1", "127.0.0.2"] {
        let (status, body) = s.server.whoami_from(unknown.expose(), source, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_token");
    }
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let s = Setup::new(&[]).await;
    let acl = s.acl("Only .2", "127.0.0.2/32").await;
    let (_, token) = s.key("Narrow", &acl).await;
    let (status, body) = s.server.whoami_from(&token, "127.0.0.1", Some("127.0.0.2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["ip"], "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_decides() {
    let s = Setup::new(&[("TEXTPEAK_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let acl = s.acl("Only .2", "127.0.0.2/32").await;
    let (_, token) = s.key("Proxied", &acl).await;

    // The proxy (127.0.0.1) says its client was 127.0.0.2.
    assert_eq!(s.server.whoami_from(&token, "127.0.0.1", Some("127.0.0.2")).await.0, StatusCode::OK);
    // Trusted hops are skipped from the right.
    assert_eq!(s.server.whoami_from(&token, "127.0.0.1", Some("127.0.0.2, 127.0.0.1")).await.0, StatusCode::OK);
    // A client-written entry left of the real one does not help.
    let (status, body) = s.server.whoami_from(&token, "127.0.0.1", Some("127.0.0.2, 10.1.1.1")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["ip"], "10.1.1.1");
    // A proxy that adds its own header line rather than extending the client's:
    // the lines form one list, and the client's forged line is the leftmost.
    let client =
        reqwest::Client::builder().local_address("127.0.0.1".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let response = client
        .get(s.server.url("/api/v1/whoami"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "127.0.0.2")
        .header("x-forwarded-for", "10.1.1.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.json::<Value>().await.unwrap()["ip"], "10.1.1.1");
    // A peer that is not a trusted proxy is judged by its own address.
    let (status, body) = s.server.whoami_from(&token, "127.0.0.3", Some("127.0.0.2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["ip"], "127.0.0.3");
}

#[tokio::test]
async fn changes_take_effect_on_the_very_next_request() {
    let s = Setup::new(&[]).await;
    let office = s.acl("Office", "127.0.0.2/32").await;
    let other = s.acl("Other", "127.0.0.1/32").await;
    let (id, token) = s.key("Moving", &office).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    assert_eq!(s.server.state.verifier.cached_keys(), 1, "now answered from memory");

    // Editing the ACL's entries.
    let (status, _) = s
        .server
        .call::<UpdateIpAcl>(&s.client, &[("id", &office), ("name", "Office"), ("entries", "10.0.0.0/8")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::FORBIDDEN);
    s.server.call::<UpdateIpAcl>(&s.client, &[("id", &office), ("name", "Office"), ("entries", "127.0.0.2")]).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);

    // Moving the key to another ACL.
    let (status, _) =
        s.server.call::<UpdateApiKey>(&s.client, &[("id", &id), ("name", "Moving"), ("ip_acl_id", &other)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::FORBIDDEN);
    let (status, body) = s.server.whoami_from(&token, "127.0.0.1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Narrowing the ACL applies at once.
    s.server.call::<UpdateIpAcl>(&s.client, &[("id", &other), ("name", "Renamed"), ("entries", "127.0.0.9")]).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.1", None).await.0, StatusCode::FORBIDDEN);
    s.server.call::<UpdateIpAcl>(&s.client, &[("id", &other), ("name", "Renamed"), ("entries", "127.0.0.1")]).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.1", None).await.0, StatusCode::OK);

    // Deleting the key.
    s.server.call::<DeleteApiKey>(&s.client, &[("id", &id)]).await;
    assert_eq!(s.server.whoami_from(&token, "127.0.0.1", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn last_use_is_recorded_in_memory_and_written_in_one_batch() {
    let s = Setup::new(&[]).await;
    let acl = s.acl("Loopback", "127.0.0.0/8").await;
    let (id, token) = s.key("Busy", &acl).await;
    let (_, page) = s.server.call::<ListApiKeys>(&s.client, &[]).await;
    assert_eq!(page["keys"][0]["last_used"], Value::Null);

    for _ in 0..20 {
        assert_eq!(s.server.whoami_from(&token, "127.0.0.2", None).await.0, StatusCode::OK);
    }
    let key = textpeak::db::service::api_keys::find(&s.server.state.db, 1, id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(key.last_used_at, 0, "nothing written per request");
    let (_, page) = s.server.call::<ListApiKeys>(&s.client, &[]).await;
    let shown = &page["keys"][0]["last_used"];
    assert_eq!(shown["ip"], "127.0.0.2", "{shown}");
    assert!(shown["at"].as_i64().unwrap() > 0, "the use not yet written is shown");

    let written = s.server.state.usage.flush(&s.server.state.db).await.unwrap().keys;
    assert_eq!(written, 1, "twenty uses, one write");
    let key = textpeak::db::service::api_keys::find(&s.server.state.db, 1, id.parse().unwrap()).await.unwrap().unwrap();
    assert!(key.last_used_at > 0);
    assert_eq!(key.last_used_ip.as_deref(), Some("127.0.0.2"));
    assert_eq!(s.server.state.usage.flush(&s.server.state.db).await.unwrap().keys, 0);
}

#[tokio::test]
async fn bad_entries_are_refused_line_by_line_and_nothing_is_saved() {
    let s = Setup::new(&[]).await;
    let (status, body) = s
        .server
        .call::<CreateIpAcl>(
            &s.client,
            &[("name", "Office"), ("entries", "10.0.0.0/8\n# vpn\n10.0.0.300/24\nnot-an-ip")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["invalid"]["field"], "entries");
    assert_eq!(
        body["invalid"]["message"],
        "line 3: 10.0.0.300/24 is not an IPv4 or IPv6 address or CIDR\nline 4: not-an-ip is not an IPv4 or IPv6 address or CIDR"
    );
    let (_, list) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only Any address");

    for (entries, expected) in [
        ("# only a comment", "at least one"),
        (&(0..101).map(|i| format!("10.{i}.0.0/16")).collect::<Vec<_>>().join("\n")[..], "At most 100"),
    ] {
        let (status, body) = s.server.call::<CreateIpAcl>(&s.client, &[("name", "Office"), ("entries", entries)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body["invalid"]["message"].as_str().unwrap().contains(expected), "{body}");
    }

    let (status, body) = s
        .server
        .call::<CreateIpAcl>(&s.client, &[("name", "Office"), ("entries", "10.1.2.3/8\n10.0.0.0/8\n2001:db8::1")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["notices"],
        json!([
            "line 1: 10.1.2.3/8 has host bits set; stored as 10.0.0.0/8",
            "line 2: 10.0.0.0/8 repeats an earlier entry; removed"
        ])
    );
    let (_, list) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    let office = list.as_array().unwrap().iter().find(|a| a["name"] == "Office").unwrap();
    assert_eq!(office["entries"], json!(["10.0.0.0/8", "2001:db8::1/128"]));

    let (status, body) = s.server.call::<CreateIpAcl>(&s.client, &[("name", "OFFICE"), ("entries", "10.0.0.1")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["invalid"]["field"], "name");
}

#[tokio::test]
async fn an_acl_in_use_cannot_be_deleted_and_any_address_is_ordinary() {
    let s = Setup::new(&[]).await;
    let any = s.acl_id("Any address").await;
    let office = s.acl("Office", "192.0.2.0/24").await;
    s.key("Billing", &office).await;
    s.key("Reports", &office).await;

    let (status, body) = s.server.call::<DeleteIpAcl>(&s.client, &[("id", &office)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let message = body["conflict"].as_str().unwrap();
    assert!(message.contains("\u{201c}Billing\u{201d}") && message.contains("\u{201c}Reports\u{201d}"), "{message}");
    let (_, list) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    let office_row = list.as_array().unwrap().iter().find(|a| a["name"] == "Office").unwrap();
    assert_eq!(office_row["key_count"], 2);

    // A fresh install's ACL covers every IPv4 and IPv6 address...
    let (_, list) = s.server.call::<ListIpAcls>(&s.client, &[]).await;
    let fresh = list.as_array().unwrap().iter().find(|a| a["name"] == "Any address").unwrap();
    assert_eq!(fresh["entries"], json!(["0.0.0.0/0", "::/0"]));
    // ...and is ordinary: it can be edited, and deleted while no key uses it.
    let (status, _) =
        s.server.call::<UpdateIpAcl>(&s.client, &[("id", &any), ("name", "Anywhere"), ("entries", "0.0.0.0/0")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.server.call::<DeleteIpAcl>(&s.client, &[("id", &any)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.server.call::<DeleteIpAcl>(&s.client, &[("id", &any)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another account's ACL is answered like one that does not exist.
    s.server.add_admin("Beta", "beta", "beta's long password").await;
    let beta = s.server.signed_in_client("beta", "beta's long password").await;
    assert_eq!(s.server.call::<DeleteIpAcl>(&beta, &[("id", &office)]).await.0, StatusCode::NOT_FOUND);
    let (status, _) =
        s.server.call::<UpdateIpAcl>(&beta, &[("id", &office), ("name", "Mine"), ("entries", "0.0.0.0/0")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, beta_list) = s.server.call::<ListIpAcls>(&beta, &[]).await;
    assert!(!beta_list.to_string().contains("Office"));
}
