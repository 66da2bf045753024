//! The fuzz targets' properties (`ipfs_mcp::fuzz_checks`) on every `cargo test`: each runs over
//! its seed corpus in `fuzz/corpus/<target>/` and a bounded, seeded stream of mutations of it
//! (byte flips, insertions, deletions, splices, truncations). The real fuzzer (`cargo fuzz run
//! <target>`, see the README) searches far wider; this keeps the properties checked in CI.

use ipfs_mcp::fuzz_checks;
use std::path::Path;

/// xorshift64*: a deterministic stream, so a failure here reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(data.len() + 1);
                data.insert(i, rng.next() as u8);
            }
            2 if !data.is_empty() => {
                let i = rng.below(data.len());
                data.remove(i);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(other.len() + 1);
                let i = rng.below(data.len() + 1);
                data.splice(i..i, other[at..].iter().copied());
            }
            4 => data.truncate(rng.below(data.len() + 1)),
            _ => {
                let i = rng.below(data.len() + 1);
                let special: &[u8] = [
                    &b"-"[..],
                    b",",
                    b"..",
                    b"/",
                    b"\0",
                    b"\xff",
                    b"18446744073709551615",
                ][rng.below(7)];
                data.splice(i..i, special.iter().copied());
            }
        }
    }
    data
}

fn run(target: &str, check: fn(&[u8]), rounds: usize) {
    let seeds = seeds(target);
    for s in &seeds {
        check(s);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for _ in 0..rounds {
        let input = mutate(&mut rng, &seeds);
        check(&input);
    }
}

#[test]
fn range_header() {
    run("range_header", fuzz_checks::range_header, 50_000);
}

#[test]
fn upload_name() {
    run("upload_name", fuzz_checks::upload_name, 50_000);
}

#[test]
fn car_import() {
    run("car_import", fuzz_checks::car_import, 3_000);
}

#[test]
fn metadata_filter() {
    run("metadata_filter", fuzz_checks::metadata_filter, 5_000);
}
