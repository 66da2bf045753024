//! The tier workloads, each as a pair of one-operation closures: ours, and the raw crate
//! underneath doing the same work (`lru`, plain files through `std::fs`, `parquet`/`arrow`). Our tiers are built as the
//! service builds them (heat-driven eviction through a metadata store). Criterion
//! (`benches/tiers.rs`) and `ipfs-mcp bench` time the same closures, so their ratios agree.

use crate::persistence::metadata::heat::Heat;
use crate::persistence::metadata::query::{Filter, Query};
use crate::persistence::metadata::{MetadataOptions, MetadataStore, NewRow};
use crate::persistence::tiered::{Tier, TieredStore};
use crate::persistence::{CacheTier, disk::DiskTier, memory::MemoryTier};
use crate::unixfs::{RAW, cid_of};
use bytes::Bytes;
use cid::Cid;
use futures_util::FutureExt;
use lru::LruCache;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const KIB: usize = 1024;
pub const SIZES: [usize; 3] = [KIB, 64 * KIB, 1024 * KIB];

/// One operation, repeated by the harness.
pub type Op = Box<dyn FnMut()>;

pub struct Workload {
    /// e.g. `memory/get`.
    pub name: String,
    /// e.g. `64KiB`.
    pub param: String,
    /// Payload bytes one operation moves (0 when not meaningful).
    pub bytes_per_op: u64,
    pub ours: Op,
    /// What `raw` runs: `lru`, `fs`, `parquet`.
    pub raw_name: &'static str,
    pub raw: Op,
    /// Heavy workloads (whole-table flushes and scans) need fewer samples.
    pub heavy: bool,
}

/// Builds a workload when it is its turn (setup can take seconds and memory).
pub struct Factory {
    pub name: String,
    pub param: String,
    pub build: Box<dyn FnOnce(&Path) -> Workload>,
}

pub fn size_label(size: usize) -> String {
    if size >= 1024 * KIB {
        format!("{}MiB", size / (1024 * KIB))
    } else {
        format!("{}KiB", size / KIB)
    }
}

/// `n` distinct objects of `size` bytes, keyed by their CID.
pub fn objects(size: usize, n: usize) -> Vec<(Cid, Bytes)> {
    (0..n)
        .map(|i| {
            let mut data = vec![(i % 251) as u8; size];
            data[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let cid = cid_of(cid::Version::V1, RAW, &data);
            (cid, Bytes::from(data))
        })
        .collect()
}

/// How many objects of a size a read workload cycles over (~32 MiB, at least 16).
fn working_set(size: usize) -> usize {
    (32 * 1024 * KIB / size).clamp(16, 4096)
}

fn rotate<T: Clone>(items: Vec<T>) -> impl FnMut() -> T {
    let mut i = 0;
    move || {
        i = (i + 1) % items.len();
        items[i].clone()
    }
}

/// Heat-driven eviction as the service runs it: a ranker over an (in-memory) metadata store.
fn service_ranker() -> crate::persistence::Ranker {
    let store = Arc::new(
        MetadataStore::open(None, MetadataOptions::default(), "simulation").expect("in memory"),
    );
    Arc::new(move |cids: &[Cid]| store.ranks(cids))
}

/// The raw reference for the disk tier: each object as a plain file, written and read with
/// `std::fs` (no header, no checksum, no index).
struct RawFiles(PathBuf);

impl RawFiles {
    fn new(dir: &Path) -> Self {
        let d = dir.join("raw");
        std::fs::create_dir_all(&d).expect("create raw dir");
        Self(d)
    }
    fn path(&self, cid: &Cid) -> PathBuf {
        self.0.join(cid.to_string())
    }
    fn put(&self, cid: &Cid, data: &[u8]) {
        std::fs::write(self.path(cid), data).expect("write raw file");
    }
    fn get(&self, cid: &Cid) -> Vec<u8> {
        std::fs::read(self.path(cid)).expect("read raw file")
    }
    fn remove(&self, cid: &Cid) {
        let _ = std::fs::remove_file(self.path(cid));
    }
}

fn memory_get(size: usize) -> Workload {
    let objs = objects(size, working_set(size));
    let ours = MemoryTier::new(u64::MAX).with_ranker(service_ranker());
    let mut raw: LruCache<Cid, Bytes> = LruCache::unbounded();
    for (c, d) in &objs {
        ours.put(*c, d.clone()).unwrap();
        raw.put(*c, d.clone());
    }
    let keys: Vec<Cid> = objs.iter().map(|o| o.0).collect();
    let (mut k1, mut k2) = (rotate(keys.clone()), rotate(keys));
    Workload {
        name: "memory/get".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            black_box(ours.get(&k1()).unwrap());
        }),
        raw_name: "lru",
        raw: Box::new(move || {
            black_box(raw.get(&k2()).cloned());
        }),
        heavy: false,
    }
}

fn memory_put(size: usize) -> Workload {
    // twice as many keys as fit: every put evicts one
    let fits = 16;
    let objs = objects(size, fits * 2);
    let ours = MemoryTier::new((fits * size) as u64).with_ranker(service_ranker());
    let mut raw: LruCache<Cid, Bytes> =
        LruCache::new(std::num::NonZeroUsize::new(fits).expect("nonzero"));
    let (mut o1, mut o2) = (rotate(objs.clone()), rotate(objs));
    Workload {
        name: "memory/put".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            let (c, d) = o1();
            black_box(ours.put(c, d).unwrap());
        }),
        raw_name: "lru",
        raw: Box::new(move || {
            let (c, d) = o2();
            black_box(raw.push(c, d));
        }),
        heavy: false,
    }
}

fn disk_get(size: usize, dir: &Path) -> Workload {
    let objs = objects(size, working_set(size));
    let ours = DiskTier::open(&dir.join("ours"), u64::MAX)
        .expect("open disk tier")
        .with_ranker(service_ranker());
    let raw = RawFiles::new(dir);
    for (c, d) in &objs {
        ours.put(*c, d.clone()).unwrap();
        raw.put(c, d);
    }
    let keys: Vec<Cid> = objs.iter().map(|o| o.0).collect();
    let (mut k1, mut k2) = (rotate(keys.clone()), rotate(keys));
    Workload {
        name: "disk/get".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            black_box(ours.get(&k1()).unwrap());
        }),
        raw_name: "fs",
        raw: Box::new(move || {
            black_box(raw.get(&k2()));
        }),
        heavy: false,
    }
}

/// Puts into a full tier: each stores one object and evicts the oldest. The raw reference
/// does the same two file operations (write the new object, remove the one `fits` puts ago).
fn disk_put(size: usize, dir: &Path) -> Workload {
    let fits = 32;
    let objs = objects(size, fits * 2);
    let ours = DiskTier::open(&dir.join("ours"), (fits * size) as u64)
        .expect("open disk tier")
        .with_ranker(service_ranker());
    let raw = RawFiles::new(dir);
    let (mut o1, mut o2) = (rotate(objs.clone()), rotate(objs.clone()));
    // the key evicted by each put: the one inserted `fits` puts earlier
    let mut evict = rotate(objs);
    for _ in 0..fits {
        evict();
    }
    Workload {
        name: "disk/put".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            let (c, d) = o1();
            black_box(ours.put(c, d).unwrap());
        }),
        raw_name: "fs",
        raw: Box::new(move || {
            let (c, d) = o2();
            raw.put(&c, &d);
            raw.remove(&evict().0);
        }),
        heavy: false,
    }
}

/// 90% hits on a warm set, 10% misses that fetch (an in-memory "backend") and evict.
fn tiered_mix(size: usize) -> Workload {
    let hot = objects(size, 64);
    let cold = objects(size, 4096 + 64).split_off(64);
    let limit = (80 * size) as u64;
    let ours: TieredStore<String> = TieredStore::new(
        Arc::new(MemoryTier::new(limit).with_ranker(service_ranker())),
        None,
        u64::MAX,
    );
    let mut raw: LruCache<Cid, Bytes> =
        LruCache::new(std::num::NonZeroUsize::new(80).expect("nonzero"));
    for (c, d) in &hot {
        ours.insert(*c, d.clone()).unwrap();
        raw.put(*c, d.clone());
    }
    let plan: Vec<(Cid, Bytes)> = (0..1000)
        .map(|i| {
            if i % 10 == 9 {
                cold[i % cold.len()].clone()
            } else {
                hot[i % hot.len()].clone()
            }
        })
        .collect();
    let (mut p1, mut p2) = (rotate(plan.clone()), rotate(plan));
    Workload {
        name: "tiered/hit90-miss10".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            let (c, d) = p1();
            let got = ours
                .get_or_fetch(&c, || async move { Ok::<_, String>(d) })
                .now_or_never()
                .expect("an in-memory fetch never waits");
            black_box(got.unwrap());
        }),
        raw_name: "lru",
        raw: Box::new(move || {
            let (c, d) = p2();
            black_box(raw.get_or_insert(c, || d).clone());
        }),
        heavy: false,
    }
}

/// A disk hit promoted to memory, which demotes what it evicts.
fn promotion(size: usize, dir: &Path) -> Workload {
    let objs = objects(size, 2);
    let disk = Arc::new(
        DiskTier::open(&dir.join("ours"), u64::MAX)
            .expect("open disk tier")
            .with_ranker(service_ranker()),
    );
    for (c, d) in &objs {
        disk.put(*c, d.clone()).unwrap();
    }
    // memory holds one object: every read of the other is a disk hit and a promotion
    let ours: TieredStore<String> = TieredStore::new(
        Arc::new(MemoryTier::new(size as u64).with_ranker(service_ranker())),
        Some(disk),
        u64::MAX,
    );
    let raw_disk = RawFiles::new(dir);
    for (c, d) in &objs {
        raw_disk.put(c, d);
    }
    let mut raw_mem: LruCache<Cid, Bytes> = LruCache::new(std::num::NonZeroUsize::MIN);
    let keys: Vec<Cid> = objs.iter().map(|o| o.0).collect();
    let (mut k1, mut k2) = (rotate(keys.clone()), rotate(keys));
    Workload {
        name: "tiered/promote".into(),
        param: size_label(size),
        bytes_per_op: size as u64,
        ours: Box::new(move || {
            let (_, tier) = ours.get(&k1()).unwrap().expect("cached");
            debug_assert_eq!(tier, Tier::Disk);
            black_box(tier);
        }),
        raw_name: "fs+lru",
        raw: Box::new(move || {
            let c = k2();
            let v = raw_disk.get(&c);
            black_box(raw_mem.push(c, Bytes::from(v)));
        }),
        heavy: false,
    }
}

const MIMES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "video/mp4",
    "application/json",
];

/// `n` realistic rows: Zipf-like access counts, a month of history, 10% pinned.
pub fn synthetic_rows(n: usize) -> Vec<NewRow> {
    let now = crate::persistence::metadata::now_ms();
    let month = 30 * 24 * 3600 * 1000i64;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        // splitmix64: deterministic, no dependency
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|i| {
            let r = next();
            let first = now - (r % month as u64) as i64;
            let accesses = 1_000_000 / (1 + (next() % 1_000_000)) - 1;
            let last = first + (next() % (now - first + 1) as u64) as i64;
            NewRow {
                cid: cid_of(cid::Version::V1, RAW, &(i as u64).to_le_bytes()),
                size_bytes: Some(next() % (8 << 20)),
                mime_type: Some(MIMES[(next() % MIMES.len() as u64) as usize].to_string()),
                pinned: next() % 10 == 0,
                first_seen_ms: first,
                last_access_ms: (accesses > 0).then_some(last),
                access_count: accesses,
                heat: Heat {
                    value: accesses as f64 * 0.5,
                    at_ms: last,
                },
                tier: Tier::Backend,
            }
        })
        .collect()
}

fn bench_metadata_options() -> MetadataOptions {
    MetadataOptions {
        rows_per_partition: 100_000,
        max_partitions: usize::MAX,
        prewarm: false,
        ..MetadataOptions::default()
    }
}

/// Writes `rows` rows to a fresh store under `dir` and returns it.
pub fn seeded_store(dir: &Path, rows: usize) -> MetadataStore {
    let store = MetadataStore::open(Some(dir), bench_metadata_options(), "simulation")
        .expect("open metadata");
    store.insert_rows(synthetic_rows(rows));
    store.flush().expect("flush");
    store
}

fn metadata_flush(rows: usize, dir: &Path) -> Workload {
    let store = seeded_store(&dir.join("ours"), rows);
    // the raw reference writes the very batch our flush writes, with the same properties
    let table = {
        let t = MetadataStore::open(None, bench_metadata_options(), "simulation").unwrap();
        t.insert_rows(synthetic_rows(rows));
        t
    };
    let batch = table.to_record_batch();
    let raw_dir = dir.join("raw");
    std::fs::create_dir_all(&raw_dir).unwrap();
    let raw_path = raw_dir.join("raw.parquet");
    Workload {
        name: "metadata/flush".into(),
        param: format!("{rows} rows"),
        bytes_per_op: 0,
        ours: Box::new(move || {
            store.mark_all_dirty();
            black_box(store.flush().unwrap());
        }),
        raw_name: "parquet",
        raw: Box::new(move || {
            let file = std::fs::File::create(&raw_path).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(
                file,
                batch.schema(),
                Some(crate::persistence::metadata::partition::writer_properties(
                    0,
                )),
            )
            .unwrap();
            w.write(&batch).unwrap();
            w.into_inner().unwrap().sync_all().unwrap();
        }),
        heavy: true,
    }
}

/// The filter every query workload runs: hot images, hottest 100 first.
pub fn sample_query() -> Query {
    Query {
        filters: vec![
            "heat_score > 0.5".parse::<Filter>().expect("valid"),
            "mime_type in image/png,image/jpeg".parse().expect("valid"),
        ],
        limit: 100,
        ..Query::default()
    }
}

fn metadata_query(rows: usize, dir: &Path) -> Workload {
    let store = seeded_store(&dir.join("ours"), rows);
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("ours"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    let q = sample_query();
    Workload {
        name: "metadata/query".into(),
        param: format!("{rows} rows"),
        bytes_per_op: 0,
        ours: Box::new(move || {
            black_box(store.query(&q).unwrap());
        }),
        raw_name: "parquet",
        raw: Box::new(move || {
            black_box(raw_parquet_query(&files));
        }),
        heavy: true,
    }
}

/// The same filter and top 100 straight from the Parquet files with arrow kernels.
pub fn raw_parquet_query(files: &[PathBuf]) -> usize {
    use arrow::array::{Array, Float64Array, StringArray};
    use arrow::compute::kernels::cmp::{eq, gt};
    use arrow::compute::{
        SortOptions, and, concat_batches, filter_record_batch, or, sort_to_indices,
        take_record_batch,
    };
    let mut kept = Vec::new();
    let mut schema = None;
    for f in files {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(f).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            schema.get_or_insert(batch.schema());
            let heat = batch.column_by_name("heat_score").unwrap();
            let mime = batch.column_by_name("mime_type").unwrap();
            let hot = gt(heat, &Float64Array::new_scalar(0.5)).unwrap();
            let png = eq(mime, &StringArray::new_scalar("image/png")).unwrap();
            let jpg = eq(mime, &StringArray::new_scalar("image/jpeg")).unwrap();
            let mask = and(&hot, &or(&png, &jpg).unwrap()).unwrap();
            kept.push(filter_record_batch(&batch, &mask).unwrap());
        }
    }
    let all = concat_batches(&schema.expect("files"), &kept).unwrap();
    let idx = sort_to_indices(
        all.column_by_name("heat_score").unwrap(),
        Some(SortOptions {
            descending: true,
            nulls_first: false,
        }),
        Some(100),
    )
    .unwrap();
    take_record_batch(&all, &idx).unwrap().num_rows() + all.column(0).len()
}

/// Every workload, in the order they run. `rows`: metadata table size for the query.
pub fn all(sizes: &[usize], rows: usize) -> Vec<Factory> {
    let mut out = Vec::new();
    let mut add = |name: &str, param: String, build: Box<dyn FnOnce(&Path) -> Workload>| {
        out.push(Factory {
            name: name.into(),
            param,
            build,
        })
    };
    for &s in sizes {
        add(
            "memory/get",
            size_label(s),
            Box::new(move |_| memory_get(s)),
        );
        add(
            "memory/put",
            size_label(s),
            Box::new(move |_| memory_put(s)),
        );
        add("disk/get", size_label(s), Box::new(move |d| disk_get(s, d)));
        add("disk/put", size_label(s), Box::new(move |d| disk_put(s, d)));
        add(
            "tiered/hit90-miss10",
            size_label(s),
            Box::new(move |_| tiered_mix(s)),
        );
        add(
            "tiered/promote",
            size_label(s),
            Box::new(move |d| promotion(s, d)),
        );
    }
    let flush_rows = rows.min(100_000);
    add(
        "metadata/flush",
        format!("{flush_rows} rows"),
        Box::new(move |d| metadata_flush(flush_rows, d)),
    );
    add(
        "metadata/query",
        format!("{rows} rows"),
        Box::new(move |d| metadata_query(rows, d)),
    );
    out
}
