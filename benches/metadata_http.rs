//! `cache/metadata` over HTTP on a 1M-row table: the query (a filter, sorted by heat,
//! top 100) and a few others, timed end to end through the real server and a real client.
//! Reference in the same run: the same filter and top 100 computed straight from the Parquet
//! files with arrow kernels (what a reader without our in-memory table would pay).
//!
//! `cargo bench --bench metadata_http` (`IPFS_MCP_BENCH_ROWS` sets the table size).

use ipfs_mcp::bench::workloads::{raw_parquet_query, seeded_store};
use ipfs_mcp::config::Settings;
use ipfs_mcp::startup::Application;
use std::time::{Duration, Instant};

const QUERIES: [&str; 4] = [
    "filter=heat_score+>+0.5&filter=mime_type+in+image/png,image/jpeg&sort=heat_score&limit=100",
    "filter=heat_score>0.5&sort=heat_score&limit=100",
    "filter=size_bytes+>=+4000000&filter=pinned+==+true&sort=heat_score&limit=100",
    "filter=last_access+>+2026-01-01T00:00:00Z&sort=access_count&order=asc&limit=100",
];
const RUNS: usize = 30;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes harness flags; this bench takes none
    let rows: usize = std::env::var("IPFS_MCP_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    drop(seeded_store(&dir.path().join("metadata"), rows));
    println!("seeded {rows} rows in {:.1} s", t.elapsed().as_secs_f64());
    let files: Vec<_> = std::fs::read_dir(dir.path().join("metadata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut settings = Settings::default();
        settings.server.port = 0;
        settings.server.data_dir = Some(dir.path().to_path_buf());
        settings.metadata.prewarm = false;
        let t = Instant::now();
        let app = Application::build(settings).await.unwrap();
        println!(
            "server loaded the {rows}-row table in {:.2} s",
            t.elapsed().as_secs_f64()
        );
        let base = format!("http://127.0.0.1:{}/api/v0/mcp/cache/metadata", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        println!(
            "{:<92} {:>8} {:>8} {:>8} {:>9}",
            "query", "p50 ms", "p95 ms", "max ms", "matched"
        );
        for q in QUERIES {
            let mut times = Vec::new();
            let mut matched = 0;
            for _ in 0..RUNS {
                let t = Instant::now();
                let res = client.get(format!("{base}?{q}")).send().await.unwrap();
                assert_eq!(res.status(), 200);
                let body: serde_json::Value = res.json().await.unwrap();
                times.push(t.elapsed());
                matched = body["matched"].as_u64().unwrap();
                assert!(body["rows"].as_array().unwrap().len() <= 100);
            }
            times.sort();
            println!(
                "{q:<92} {:>8.1} {:>8.1} {:>8.1} {matched:>9}",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.95)),
                ms(*times.last().unwrap())
            );
        }
    });
    let mut raw = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(raw_parquet_query(&files));
        raw.push(t.elapsed());
    }
    raw.sort();
    println!(
        "reference: the first query straight from the Parquet files (parquet + arrow kernels): p50 {:.1} ms",
        ms(percentile(&raw, 0.5))
    );
}
