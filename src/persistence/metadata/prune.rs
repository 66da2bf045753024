//! Keeping the table within `metadata.max_rows`: a row per CID ever seen would otherwise grow
//! without bound (about 160 bytes each) on a service that keeps adding new content.
//!
//! When the table passes the limit, the coldest rows that describe nothing the service holds
//! (not pinned, not in a cache tier) are dropped until it is back at 90% of the limit, so a
//! prune runs once per tenth of the limit in new rows, not on every insert. Pinned and cached
//! rows are never dropped: their number is bounded by the pins and the cache sizes. Dropped
//! rows leave the Parquet files at the next flush, which then rewrites the table (compaction).

use super::table::{Row, Table};
use crate::persistence::tiered::Tier;
use cid::Cid;

/// What a prune leaves, as a share of the limit.
const LOW_WATER: f64 = 0.9;

fn droppable(row: &Row, keep: &Cid) -> bool {
    !row.pinned && row.tier == Tier::Backend && row.cid != *keep
}

/// Drops the coldest droppable rows if `table` is over `max_rows`; never `keep` (the row being
/// updated). Returns how many were dropped.
pub fn prune(table: &mut Table, max_rows: usize, half_life_ms: f64, keep: &Cid) -> usize {
    if table.len() <= max_rows {
        return 0;
    }
    let target = (max_rows as f64 * LOW_WATER) as usize;
    let excess = table.len() - target;
    let mut candidates: Vec<(f64, usize)> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| droppable(r, keep))
        .map(|(i, r)| (r.heat.rank(half_life_ms), i))
        .collect();
    if candidates.len() > excess {
        candidates.select_nth_unstable_by(excess, |a, b| a.0.total_cmp(&b.0));
        candidates.truncate(excess);
    }
    let mut drop = vec![false; table.len()];
    for (_, i) in candidates {
        drop[i] = true;
    }
    table.retain_indices(|i, _| !drop[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::conformance::object;
    use crate::persistence::metadata::heat::Heat;
    use crate::persistence::metadata::table::NONE;

    fn row(cid: Cid, heat: f64, pinned: bool, tier: Tier) -> Row {
        Row {
            cid,
            size_bytes: Some(1),
            mime: NONE,
            pinned,
            first_seen_ms: 0,
            last_access_ms: None,
            access_count: 0,
            heat: Heat {
                value: heat,
                at_ms: 0,
            },
            tier,
            backend: 0,
        }
    }

    #[test]
    fn drops_the_coldest_uncached_unpinned_rows_down_to_ninety_percent() {
        let mut t = Table::default();
        let cids: Vec<Cid> = (0..120u32)
            .map(|i| object((i % 251) as u8, i as usize + 1).0)
            .collect();
        for (i, c) in cids.iter().enumerate() {
            let (pinned, tier) = match i % 10 {
                0 => (true, Tier::Backend),
                1 => (false, Tier::Memory),
                _ => (false, Tier::Backend),
            };
            t.put(row(*c, i as f64 + 1.0, pinned, tier));
        }
        let keep = cids[2];
        assert_eq!(
            prune(&mut t, 200, 1000.0, &keep),
            0,
            "under the limit: nothing"
        );
        let dropped = prune(&mut t, 100, 1000.0, &keep);
        assert_eq!((dropped, t.len()), (30, 90));
        for (i, c) in cids.iter().enumerate() {
            let row = t.get(c);
            if i % 10 < 2 || *c == keep {
                assert!(row.is_some(), "pinned, cached and the kept row stay: {i}");
            }
        }
        // the coldest droppable rows went first: the hottest droppable one is still there
        assert!(t.get(&cids[119]).is_some());
        assert!(t.get(&cids[3]).is_none());
        // the index was rebuilt
        for (i, r) in t.rows.iter().enumerate() {
            assert_eq!(t.position(&r.cid), Some(i));
        }
    }
}
