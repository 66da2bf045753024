//! `ipfs-mcp bench`: runs the tier workloads ([`workloads`]) on this machine and prints a
//! table, for people choosing hardware or cache limits.
//!
//! Each workload runs ours and the raw crate underneath in alternating rounds, so a noisy
//! neighbour hits both; the table shows the median time per operation of each and their ratio.
//! Criterion (`cargo bench --bench tiers`) runs the same closures with its own statistics.

pub mod workloads;

use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::{Duration, Instant};
use workloads::{Factory, Op};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Only workloads whose name contains this (e.g. `memory`, `disk/get`).
    pub filter: Option<String>,
    pub sizes: Vec<usize>,
    /// Rows in the metadata table for the query workload.
    pub rows: usize,
    /// Measuring time per workload (split between ours and raw, over several rounds).
    pub seconds: f64,
    pub progress: bool,
}

/// One line of the table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    pub workload: String,
    pub param: String,
    pub ours_ns: f64,
    pub raw_name: &'static str,
    pub raw_ns: f64,
    /// ours / raw: 1.0 is no overhead.
    pub ratio: f64,
    pub mb_per_s: Option<f64>,
}

const ROUNDS: usize = 5;

/// Runs `op` for about `budget`; returns nanoseconds per operation.
fn time(op: &mut Op, budget: Duration, heavy: bool) -> f64 {
    let check_every = if heavy { 1 } else { 64 };
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        for _ in 0..check_every {
            op();
        }
        n += check_every;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / n as f64;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the selected workloads with scratch data under `dir`.
pub fn run(options: &BenchOptions, dir: &Path) -> Vec<Measured> {
    let factories: Vec<Factory> = workloads::all(&options.sizes, options.rows)
        .into_iter()
        .filter(|f| options.filter.as_deref().is_none_or(|p| f.name.contains(p)))
        .collect();
    let bar = if options.progress {
        ProgressBar::new(factories.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let round = Duration::from_secs_f64(options.seconds / (2 * ROUNDS) as f64);
    let mut out = Vec::new();
    for (i, f) in factories.into_iter().enumerate() {
        bar.set_message(format!("{} {} (setting up)", f.name, f.param));
        let scratch = dir.join(format!("w{i}"));
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        let mut w = (f.build)(&scratch);
        bar.set_message(format!("{} {}", w.name, w.param));
        // warm caches and allocators for both
        time(&mut w.ours, round / 4, w.heavy);
        time(&mut w.raw, round / 4, w.heavy);
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            ours.push(time(&mut w.ours, round, w.heavy));
            raw.push(time(&mut w.raw, round, w.heavy));
        }
        let (ours_ns, raw_ns) = (median(ours), median(raw));
        out.push(Measured {
            workload: w.name,
            param: w.param,
            ours_ns,
            raw_name: w.raw_name,
            raw_ns,
            ratio: ours_ns / raw_ns,
            mb_per_s: (w.bytes_per_op > 0).then(|| w.bytes_per_op as f64 / ours_ns * 1e3),
        });
        drop(w.ours);
        drop(w.raw);
        let _ = std::fs::remove_dir_all(&scratch);
        bar.inc(1);
    }
    bar.finish_and_clear();
    out
}

fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The results as an aligned text table.
pub fn table(results: &[Measured]) -> String {
    let mut s = format!(
        "{:<22} {:>12} {:>11} {:>11} {:>9} {:>11} {:>7}\n",
        "workload", "size", "ours/op", "ours MB/s", "raw", "raw/op", "ratio"
    );
    for r in results {
        s += &format!(
            "{:<22} {:>12} {:>11} {:>11} {:>9} {:>11} {:>6.2}x\n",
            r.workload,
            r.param,
            duration(r.ours_ns),
            r.mb_per_s.map_or("-".into(), |m| format!("{m:.0}")),
            r.raw_name,
            duration(r.raw_ns),
            r.ratio
        );
    }
    s
}
