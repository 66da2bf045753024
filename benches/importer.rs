//! Importer throughput (MB/s) on 1 MiB and 64 MiB inputs, CIDv0 (dag-pb leaves) and CIDv1
//! (raw leaves), next to plain SHA-256 over the same bytes: the importer's cost is the ratio.
//!
//!   cargo bench --bench importer

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ipfs_mcp::unixfs::{ImportOptions, Importer};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Duration;

fn input(len: usize) -> Vec<u8> {
    // incompressible, deterministic
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&Sha256::digest(i.to_le_bytes()));
        i += 1;
    }
    out.truncate(len);
    out
}

fn import(data: &bytes::Bytes, opts: &ImportOptions) -> cid::Cid {
    let mut importer = Importer::new(opts.clone());
    let mut sink = |_: cid::Cid, block: ipfs_mcp::unixfs::Block| -> Result<(), ()> {
        black_box(block);
        Ok(())
    };
    // 64 KiB pieces of one buffer, as an HTTP body arrives (slices of the receive buffer)
    for start in (0..data.len()).step_by(64 * 1024) {
        let piece = data.slice(start..(start + 64 * 1024).min(data.len()));
        importer.push_bytes(piece, &mut sink).unwrap();
    }
    importer.finish(&mut sink).unwrap().root
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("importer");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let v0 = ImportOptions::default();
    let v1 = ImportOptions::from_params(Some("1"), None, None, false, None).unwrap();
    for (label, len) in [("1MiB", 1 << 20), ("64MiB", 64 << 20)] {
        let data = bytes::Bytes::from(input(len));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(
            BenchmarkId::new("sha256-reference", label),
            &data,
            |b, d| {
                b.iter(|| {
                    // per 256 KiB chunk, as the importer hashes leaves
                    for chunk in d.chunks(256 * 1024) {
                        black_box(Sha256::digest(chunk));
                    }
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("cidv0-dag-pb-leaves", label),
            &data,
            |b, d| b.iter(|| import(d, &v0)),
        );
        group.bench_with_input(
            BenchmarkId::new("cidv1-raw-leaves", label),
            &data,
            |b, d| b.iter(|| import(d, &v1)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
