//! In-process token verification, the hot path of every TextPeak API request:
//! parse and checksum, SHA-256, cache lookup by digest, lifecycle, CIDR match.
//! Run: `cargo bench --bench verify` (or `make bench`, which also prints the ratio).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use textpeak::domain::token::Token;
use textpeak::server::clock::Clock;
use textpeak::server::public_api::verifier::Verifier;
use textpeak::server::public_api::verifier::fixtures::{acl, key, token};

/// A realistic list: a few office and cloud ranges; the client matches the last entry.
const ENTRIES: &str = "10.0.0.0/8\n172.16.0.0/12\n2001:db8::/32\n198.51.100.0/24\n192.0.2.0/24";
const DAY_MS: i64 = 24 * 3600 * 1000;

fn loaded(keys: usize) -> (Verifier, Vec<String>) {
    // Entries stay fresh for the whole run: this measures the hit path.
    let verifier = Verifier::new(Duration::from_secs(24 * 3600), Arc::default());
    let offices = acl(1, ENTRIES);
    let tokens: Vec<Token> = (0..keys).map(|_| Token::generate().unwrap()).collect();
    for (i, t) in tokens.iter().enumerate() {
        let id = i as i32 + 1;
        verifier.preload(&token(id, t), &key(id, 1), &offices);
    }
    // Probe keys spread over the whole table, so large tables pay their cache misses.
    let step = (keys / 64).max(1);
    let probes = tokens.iter().step_by(step).take(64).map(|t| t.expose().to_owned()).collect();
    (verifier, probes)
}

/// One key just rolled (old token in its grace, a new one) with an expiry:
/// the most a verification has to check.
fn rolled_key_with_expiry() -> (Verifier, [String; 2]) {
    let clock = Arc::new(Clock::default());
    let verifier = Verifier::new(Duration::from_secs(24 * 3600), clock.clone());
    let now = clock.now_ms();
    let (old, new) = (Token::generate().unwrap(), Token::generate().unwrap());
    let mut expiring = key(1, 1);
    expiring.expires_at = Some(now + 30 * DAY_MS);
    let mut in_grace = token(1, &old);
    in_grace.expires_at = Some(now + DAY_MS);
    verifier.preload(&in_grace, &expiring, &acl(1, ENTRIES));
    verifier.preload(&token(2, &new), &expiring, &acl(1, ENTRIES));
    (verifier, [old.expose().to_owned(), new.expose().to_owned()])
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
    let (verifier, both) = rolled_key_with_expiry();
    let mut next = 0usize;
    group.bench_function("hit_rolled_with_expiry", |b| {
        b.iter(|| {
            next ^= 1;
            let verdict = verifier.verify_cached(black_box(&both[next]), black_box(client));
            assert!(matches!(verdict, Some(Ok(_))));
        })
    });
    let (verifier, _) = loaded(100);
    let mut malformed = Token::generate().unwrap().expose().to_owned();
    malformed.replace_range(10..11, if &malformed[10..11] == "a" { "b" } else { "a" });
    group.bench_function("malformed", |b| {
        b.iter(|| assert!(matches!(verifier.verify_cached(black_box(&malformed), black_box(client)), Some(Err(_)))))
    });
    group.finish();
}

/// Recording one use (under the verifier's usage lock, on every request):
/// from an address the key was already seen from, and from a new address
/// once the key has been seen from more than it keeps (a fleet of clients,
/// serverless functions with changing addresses).
fn record(c: &mut Criterion) {
    use textpeak::domain::usage::{Outcome, Recorded, Use};
    let one = |at: i64, ip: IpAddr| Use { key_id: 1, account_id: 1, token_id: 1, at, ip, outcome: Outcome::Allowed };
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(1));
    let start = 1_795_838_400_000;
    group.bench_function("known_address", |b| {
        let mut recorded = Recorded::default();
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let mut at = start;
        b.iter(|| {
            at += 1;
            recorded.record(black_box(one(at, black_box(client))));
        });
    });
    group.bench_function("new_address_past_the_limit", |b| {
        let mut recorded = Recorded::default();
        let mut n: u32 = 0;
        b.iter(|| {
            n = n.wrapping_add(1);
            recorded.record(black_box(one(start + i64::from(n), IpAddr::from(n.to_be_bytes()))));
        });
    });
    group.finish();
}

criterion_group!(benches, verify, record);
criterion_main!(benches);
