//! What the authentication middleware does per request, piece by piece, against the same key
//! in one thread: resolving the key (`authenticate`), the route's access (`access_of`), the
//! scope check, and the key's bucket (`check_key`, governor underneath, compared with a bare
//! governor bucket). The load figure (`scripts/load-ops.sh`) is the whole request over HTTP;
//! this says which piece of it costs what.

use criterion::{Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter};
use ipfs_mcp::models::auth::keys::NewKey;
use ipfs_mcp::models::auth::scope::{Rate, Scopes};
use ipfs_mcp::models::auth::{AuthModel, AuthOptions};
use ipfs_mcp::models::ratelimit::RateLimits;
use std::hint::black_box;
use std::num::NonZeroU32;

const PATH: &str =
    "/api/v0/mcp/ipfs/cat/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";

fn auth_path(c: &mut Criterion) {
    let auth = AuthModel::open(
        AuthOptions {
            enabled: true,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let rate = Rate::parse("1000000000/s").unwrap();
    let (_, key) = auth
        .create_key(NewKey {
            name: "bench".into(),
            scopes: Scopes::parse("read,write").unwrap(),
            rate: Some(rate),
            burst: Some(1_000_000),
            expires_in: None,
        })
        .unwrap();
    let limits = RateLimits::new(rate, 1_000_000, 1024);
    let mut g = c.benchmark_group("auth_path");
    g.bench_function("authenticate", |b| {
        b.iter(|| auth.authenticate(black_box(&key)).unwrap())
    });
    g.bench_function("access_of", |b| {
        b.iter(|| ipfs_mcp::startup::access_of(black_box(PATH)))
    });
    let p = auth.authenticate(&key).unwrap();
    let access = ipfs_mcp::startup::access_of(PATH);
    g.bench_function("authorize", |b| {
        b.iter(|| auth.authorize(black_box(access), Some(&p)).unwrap())
    });
    g.bench_function("check_key", |b| {
        b.iter(|| limits.check_key(black_box(p.key_id()), p.key.rate, p.key.burst))
    });
    let bare = RateLimiter::direct(
        Quota::per_second(NonZeroU32::new(1_000_000_000).unwrap())
            .allow_burst(NonZeroU32::new(1_000_000).unwrap()),
    );
    g.bench_function("governor_direct", |b| b.iter(|| bare.check().is_ok()));
    g.bench_function("header_number", |b| {
        b.iter(|| actix_web::http::header::HeaderValue::from(black_box(999_999u64)))
    });
    g.finish();
}

criterion_group!(benches, auth_path);
criterion_main!(benches);
