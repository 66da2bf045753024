//! Criterion benches of every cache tier against the raw crate under it, on the same workload:
//! memory (vs `lru`) and disk (vs `sled`) get and put at 1 KiB, 64 KiB and 1 MiB, a 90/10
//! hit/miss mix, promotion from disk, a metadata flush (vs `parquet`) and a filtered top-100
//! query over 1M rows (vs reading the Parquet files with arrow kernels).
//!
//! Each group has two functions, `ours` and the raw one; compare their times for the ratio.
//! `IPFS_MCP_BENCH_ROWS` sets the query's table size (default 1,000,000).
//! The same closures back `ipfs-mcp bench`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipfs_mcp::bench::workloads::{self, SIZES};
use std::time::Duration;

fn tiers(c: &mut Criterion) {
    let rows = std::env::var("IPFS_MCP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // criterion's name filter (`cargo bench --bench tiers -- get/`), applied before the setup too
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let scratch = tempfile::tempdir().unwrap();
    for (i, f) in workloads::all(&SIZES, rows).into_iter().enumerate() {
        if filter
            .as_deref()
            .is_some_and(|p| !format!("{}/{}", f.name, f.param).contains(p))
        {
            continue;
        }
        let dir = scratch.path().join(format!("w{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = (f.build)(&dir);
        let mut g = c.benchmark_group(format!("{}/{}", w.name, w.param));
        if w.bytes_per_op > 0 {
            g.throughput(Throughput::Bytes(w.bytes_per_op));
        }
        if w.heavy {
            g.sample_size(10).measurement_time(Duration::from_secs(5));
        } else {
            g.measurement_time(Duration::from_secs(2))
                .warm_up_time(Duration::from_millis(500));
        }
        g.bench_function("ours", |b| b.iter(&mut w.ours));
        g.bench_function(w.raw_name, |b| b.iter(&mut w.raw));
        g.finish();
    }
}

criterion_group!(benches, tiers);
criterion_main!(benches);
