//! Which address a request comes from. The TCP peer, unless the peer is a
//! trusted proxy (`TEXTPEAK_TRUSTED_PROXIES`): then the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy. Anything a client
//! writes into the header from an untrusted address changes nothing.

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The resolved client address, in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// Whether a trusted proxy says the browser reached it over HTTPS
/// (`X-Forwarded-Proto: https`); from anyone else the header means nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaHttps(pub bool);

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks.into())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Resolves the client of a request that arrived from `peer`.
    pub fn resolve(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or("").rsplit(',') {
            let Some(ip) = parse_hop(hop) else {
                // Proxies append addresses; anything unreadable came from further left,
                // which nobody vouches for. Stop at the last hop we could read.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// An address as proxies write it: bare, `[v6]`, or with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()))
        .map(|ip: IpAddr| ip.to_canonical())
}

/// Middleware: resolves the client once per request for every handler after it.
pub async fn resolve(trusted: TrustedProxies, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let via_https = trusted.contains(peer) && forwarded_proto_is_https(request.headers());
    let client = if trusted.is_empty() {
        peer.to_canonical()
    } else {
        // Repeated header lines form one list (RFC 9110 5.3); some proxies add a
        // line of their own rather than extend the client's, so all are read.
        // An unreadable line stays in place as a hop that stops the walk.
        let lines: Vec<&str> =
            request.headers().get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("?")).collect();
        trusted.resolve(peer, (!lines.is_empty()).then(|| lines.join(",")).as_deref())
    };
    request.extensions_mut().insert(ClientIp(client));
    request.extensions_mut().insert(ViaHttps(via_https));
    let mut response = next.run(request).await;
    if via_https {
        // Only a browser that came over HTTPS may be told to keep to it.
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The proxy nearest to us speaks last: the rightmost value decides.
fn forwarded_proto_is_https(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_the_header_says() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(proxies.resolve(ip("203.0.113.5"), Some("127.0.0.1")), ip("203.0.113.5"));
        assert_eq!(TrustedProxies::default().resolve(ip("203.0.113.5"), Some("1.1.1.1")), ip("203.0.113.5"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_decides() {
        let proxies = trusted(&["10.0.0.0/8"]);
        // The client forged the first entry; 198.51.100.7 is what our proxy saw.
        let header = "127.0.0.1, 198.51.100.7, 10.0.0.2";
        assert_eq!(proxies.resolve(ip("10.0.0.1"), Some(header)), ip("198.51.100.7"));
    }

    #[test]
    fn trusted_peer_without_header_is_the_client() {
        assert_eq!(trusted(&["10.0.0.0/8"]).resolve(ip("10.0.0.1"), None), ip("10.0.0.1"));
    }

    #[test]
    fn all_hops_trusted_gives_the_leftmost() {
        assert_eq!(trusted(&["10.0.0.0/8"]).resolve(ip("10.0.0.1"), Some("10.0.0.3, 10.0.0.2")), ip("10.0.0.3"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_readable_hop() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(proxies.resolve(ip("10.0.0.1"), Some("1.2.3.4, nonsense, 10.0.0.2")), ip("10.0.0.2"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(proxies.resolve(ip("10.0.0.1"), Some("198.51.100.7:4711")), ip("198.51.100.7"));
        assert_eq!(proxies.resolve(ip("10.0.0.1"), Some("[2001:db8::1]")), ip("2001:db8::1"));
        assert_eq!(proxies.resolve(ip("::ffff:10.0.0.1"), Some("::ffff:198.51.100.7")), ip("198.51.100.7"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            (0u8..4).prop_map(|n| IpAddr::from([10, 0, 0, n])),
            any::<[u8; 16]>().prop_map(IpAddr::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        /// Whatever a client writes into X-Forwarded-For, the walk ends; an
        /// untrusted peer is its own client, and a trusted one yields either
        /// itself or an address that is in the header.
        #[test]
        fn the_walk_never_panics_and_only_believes_trusted_peers(
            peer in address(),
            header in prop_oneof![any::<String>(), "([0-9., :\\[\\]a-f]{0,20},){0,6}"],
        ) {
            let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
            let client = trusted.resolve(peer, Some(&header));
            if !trusted.contains(peer) {
                prop_assert_eq!(client, peer.to_canonical());
            } else if client != peer.to_canonical() {
                let hops: Vec<Option<IpAddr>> = header.split(',').map(parse_hop).collect();
                prop_assert!(hops.contains(&Some(client)), "{} not in {:?}", client, header);
            }
        }
    }
}
