//! In-process token verification, the hot path of every TextPeak API request:
//! parse and checksum, SHA-256, cache lookup by digest, CIDR match.
//! Run: `cargo bench --bench verify` (or `make bench`, which also prints the ratio).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;
use textpeak::db::entities::{api_key, ip_acl};
use textpeak::domain::crypto::digest;
use textpeak::domain::token::Token;
use textpeak::server::public_api::verifier::Verifier;

/// A realistic list: a few office and cloud ranges; the client matches the last entry.
const ENTRIES: &str = "10.0.0.0/8\n172.16.0.0/12\n2001:db8::/32\n198.51.100.0/24\n192.0.2.0/24";

fn loaded(keys: usize) -> (Verifier, Vec<String>) {
    // Entries stay fresh for the whole run: this measures the hit path.
    let verifier = Verifier::new(Duration::from_secs(24 * 3600));
    let acl = ip_acl::Model {
        id: 1,
        account_id: 1,
        name: "Offices".into(),
        name_folded: "offices".into(),
        entries: ENTRIES.into(),
        created_at: 0,
        updated_at: 0,
    };
    let tokens: Vec<Token> = (0..keys).map(|_| Token::generate().unwrap()).collect();
    for (i, token) in tokens.iter().enumerate() {
        let key = api_key::Model {
            id: i as i32 + 1,
            account_id: 1,
            ip_acl_id: 1,
            name: format!("key {i}"),
            name_folded: format!("key {i}"),
            token_digest: digest(token.expose()).to_vec(),
            token_sealed: vec![],
            token_suffix: token.visible_suffix().into(),
            created_at: 0,
            last_used_at: None,
            last_used_ip: None,
        };
        verifier.preload(&key, &acl);
    }
    // Probe keys spread over the whole table, so large tables pay their cache misses.
    let step = (keys / 64).max(1);
    let probes = tokens.iter().step_by(step).take(64).map(|t| t.expose().to_owned()).collect();
    (verifier, probes)
}

fn verify(c: &mut Criterion) {
    let client: IpAddr = "192.0.2.77".parse().unwrap();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    for keys in [100usize, 100_000] {
        let (verifier, probes) = loaded(keys);
        assert_eq!(verifier.cached_keys(), keys);
        let mut next = 0usize;
        group.bench_with_input(BenchmarkId::new("hit", keys), &keys, |b, _| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                let verdict = verifier.verify_cached(black_box(&probes[next]), black_box(client));
                assert!(matches!(verdict, Some(Ok(_))));
            })
        });
        let unknown = Token::generate().unwrap().expose().to_owned();
        group.bench_with_input(BenchmarkId::new("unknown", keys), &keys, |b, _| {
            b.iter(|| assert!(verifier.verify_cached(black_box(&unknown), black_box(client)).is_none()))
        });
    }
    let (verifier, _) = loaded(100);
    let mut malformed = Token::generate().unwrap().expose().to_owned();
    malformed.replace_range(10..11, if &malformed[10..11] == "a" { "b" } else { "a" });
    group.bench_function("malformed", |b| {
        b.iter(|| assert!(matches!(verifier.verify_cached(black_box(&malformed), black_box(client)), Some(Err(_)))))
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
