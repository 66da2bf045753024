//! The properties the fuzz targets (`fuzz/`, run with `cargo fuzz`) check, as plain functions:
//! each takes arbitrary bytes and panics if the property fails. They live in the library so that
//! `cargo test` runs them too, over the seed corpora in `fuzz/corpus/` and a bounded stream of
//! random inputs (`tests/fuzz_checks.rs`), on every CI run and without a fuzzer installed.
//!
//! * [`range_header`]: a `Range` header against any size plans ranges inside the content,
//!   sorted, disjoint, at most [`range::MAX_PARTS`], never more bytes than the content;
//!   `?offset=&length=` never wraps.
//! * [`upload_name`]: an uploaded part's name becomes a path whose every component is an entry
//!   name that cannot leave the upload's root (not empty, `.`, `..`, no NUL), or is refused.
//! * [`car_import`]: a CAR reader fed anything either imports blocks that each hash to their
//!   CID, or fails and stores nothing.
//! * [`metadata_filter`]: the metadata filter language parses or refuses anything, and a parsed
//!   filter runs over a table without panicking.

use crate::models::range::{self, RangePlan};

fn split_u64(data: &[u8]) -> (u64, &[u8]) {
    let mut n = [0u8; 8];
    let take = data.len().min(8);
    n[..take].copy_from_slice(&data[..take]);
    (u64::from_le_bytes(n), &data[take..])
}

/// First 8 bytes: the content size (small sizes most of the time); the rest: the header.
pub fn range_header(data: &[u8]) {
    let (raw_size, rest) = split_u64(data);
    let size = if raw_size & 1 == 0 {
        raw_size % 10_000
    } else {
        raw_size
    };
    let header = String::from_utf8_lossy(rest);
    match range::plan(Some(&header), size) {
        RangePlan::Full | RangePlan::Unsatisfiable => {}
        RangePlan::Single(r) => {
            assert!(r.start <= r.end && r.end < size, "{r:?} outside {size}");
        }
        RangePlan::Multi(parts) => {
            assert!(parts.len() >= 2 && parts.len() <= range::MAX_PARTS);
            let mut total = 0u64;
            for w in parts.windows(2) {
                assert!(w[0].end < w[1].start, "sorted and disjoint: {parts:?}");
            }
            for r in &parts {
                assert!(r.start <= r.end && r.end < size, "{r:?} outside {size}");
                total += r.len();
            }
            assert!(total <= size, "{total} bytes of a {size}-byte file");
        }
    }
    let (offset, rest) = split_u64(rest);
    let (length, _) = split_u64(rest);
    if let Some(spec) = range::from_offset_length(Some(offset), Some(length.max(1))) {
        if let Some(r) = range::resolve(spec, size) {
            assert!(r.start == offset && r.end < size && r.end >= r.start);
        } else {
            assert!(offset >= size, "{offset}+{length} of {size} was refused");
        }
    }
}

pub fn upload_name(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    match crate::unixfs::tree::EntryPath::from_upload(&raw) {
        Ok(None) => assert!(raw.is_empty()),
        Ok(Some(path)) => {
            assert!(!path.components().is_empty());
            for name in path.components() {
                assert!(!name.is_empty() && name != "." && name != "..", "{name:?}");
                assert!(!name.contains(['/', '\0']), "{name:?}");
                assert!(crate::unixfs::options::check_entry_name(name).is_ok());
            }
        }
        Err(_) => {}
    }
}

pub fn car_import(data: &[u8]) {
    use crate::backend::Backend;
    use crate::backend::simulation::SimulationBackend;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let backend = SimulationBackend::open_with(None, Default::default()).expect("in memory");
        let before = backend.stats().await.expect("repo stat").repo;
        let input: crate::backend::ByteStream = {
            use futures_util::StreamExt;
            let bytes = bytes::Bytes::copy_from_slice(data);
            // in two pieces, so a frame split across reads is exercised too
            let cut = data.len() / 2;
            futures_util::stream::iter([Ok(bytes.slice(..cut)), Ok(bytes.slice(cut..))]).boxed()
        };
        match crate::models::car::import(&backend, input, false).await {
            Ok(imported) => {
                for root in &imported.roots {
                    assert!(root.parse::<cid::Cid>().is_ok());
                }
            }
            Err(_) => {
                let after = backend.stats().await.expect("repo stat").repo;
                assert_eq!(
                    before.num_objects, after.num_objects,
                    "a failed import stored blocks"
                );
            }
        }
    });
}

pub fn metadata_filter(data: &[u8]) {
    use crate::persistence::metadata::query::{Filter, Query};
    use crate::persistence::metadata::{MetadataOptions, MetadataStore};
    let text = String::from_utf8_lossy(data);
    let Ok(filter) = text.parse::<Filter>() else {
        return;
    };
    let store = MetadataStore::open(None, MetadataOptions::default(), "simulation").expect("store");
    for i in 0..4u8 {
        let cid = crate::unixfs::cid_of(cid::Version::V1, crate::unixfs::RAW, &[i]);
        store.record_add(&cid, u64::from(i) * 1000, Some("text/plain"), i % 2 == 0);
    }
    let q = Query {
        filters: vec![filter],
        ..Default::default()
    };
    let _ = store.query(&q);
}
