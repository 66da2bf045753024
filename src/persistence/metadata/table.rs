//! The in-memory table every query runs on: one row per CID, in insertion order.
//!
//! Rows sit in one `Vec` so a query is a linear scan over contiguous memory; a hash table of
//! row indices (keyed by the row's own CID, so CIDs are not stored twice) finds a row by CID.
//! The few distinct strings (MIME types, backend names) are interned: a row holds a `u16`
//! and a filter on them is decided once per distinct value, not once per row.

use super::heat::Heat;
use crate::persistence::tiered::Tier;
use cid::Cid;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// `u16::MAX`: no value (an unknown MIME type).
pub const NONE: u16 = u16::MAX;

/// One CID's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cid: Cid,
    /// `None` until some operation learnt the size (a pin of a CID never read).
    pub size_bytes: Option<u64>,
    /// Interned; [`NONE`] when unknown.
    pub mime: u16,
    pub pinned: bool,
    pub first_seen_ms: i64,
    /// `None` until the first read.
    pub last_access_ms: Option<i64>,
    pub access_count: u64,
    pub heat: Heat,
    /// Where the content is cached now (`Backend`: not cached, only on the node).
    pub tier: Tier,
    /// Interned backend name.
    pub backend: u16,
}

/// Interned strings, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Strings {
    values: Vec<String>,
}

impl Strings {
    pub fn intern(&mut self, s: &str) -> u16 {
        if let Some(i) = self.values.iter().position(|v| v == s) {
            return i as u16;
        }
        // more distinct MIME types than this is not a real workload; fold the rest into NONE
        if self.values.len() >= (NONE - 1) as usize {
            return NONE;
        }
        self.values.push(s.to_string());
        (self.values.len() - 1) as u16
    }

    pub fn get(&self, id: u16) -> Option<&str> {
        self.values.get(id as usize).map(String::as_str)
    }

    /// A per-id answer for a predicate on the string (index `NONE` is not included).
    pub fn decide(&self, mut pred: impl FnMut(Option<&str>) -> bool) -> (Vec<bool>, bool) {
        (
            self.values.iter().map(|v| pred(Some(v))).collect(),
            pred(None),
        )
    }
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    index: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
    pub mimes: Strings,
    pub backends: Strings,
}

impl Table {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn position(&self, cid: &Cid) -> Option<usize> {
        let hash = self.hasher.hash_one(cid);
        self.index
            .find(hash, |&i| self.rows[i as usize].cid == *cid)
            .map(|&i| i as usize)
    }

    /// An empty table with the same interned strings (to render copied rows elsewhere).
    pub fn strings_only(&self) -> Table {
        Table {
            mimes: self.mimes.clone(),
            backends: self.backends.clone(),
            ..Table::default()
        }
    }

    pub fn get(&self, cid: &Cid) -> Option<&Row> {
        self.position(cid).map(|i| &self.rows[i])
    }

    /// The row for `cid`, created by `make` if absent. Returns its index.
    pub fn upsert(&mut self, cid: &Cid, make: impl FnOnce() -> Row) -> usize {
        if let Some(i) = self.position(cid) {
            return i;
        }
        let row = make();
        debug_assert_eq!(row.cid, *cid);
        let i = self.rows.len();
        let hash = self.hasher.hash_one(cid);
        let (rows, hasher) = (&self.rows, &self.hasher);
        self.index
            .insert_unique(hash, i as u32, |&j| hasher.hash_one(rows[j as usize].cid));
        self.rows.push(row);
        i
    }

    /// Keeps the rows `keep` says yes to (by index), in order, and rebuilds the index.
    /// Returns how many were removed. Row indices change: callers drop any they held.
    pub fn retain_indices(&mut self, mut keep: impl FnMut(usize, &Row) -> bool) -> usize {
        let before = self.rows.len();
        let mut i = 0;
        self.rows.retain(|row| {
            let k = keep(i, row);
            i += 1;
            k
        });
        self.index.clear();
        for (i, row) in self.rows.iter().enumerate() {
            let hash = self.hasher.hash_one(row.cid);
            let (rows, hasher) = (&self.rows, &self.hasher);
            self.index
                .insert_unique(hash, i as u32, |&j| hasher.hash_one(rows[j as usize].cid));
        }
        before - self.rows.len()
    }

    /// Replaces or adds a whole row (loading from disk: the later copy wins).
    pub fn put(&mut self, row: Row) {
        match self.position(&row.cid) {
            Some(i) => self.rows[i] = row,
            None => {
                let cid = row.cid;
                self.upsert(&cid, || row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::conformance::object;

    fn row(cid: Cid) -> Row {
        Row {
            cid,
            size_bytes: Some(1),
            mime: NONE,
            pinned: false,
            first_seen_ms: 0,
            last_access_ms: None,
            access_count: 0,
            heat: Heat::ZERO,
            tier: Tier::Backend,
            backend: 0,
        }
    }

    #[test]
    fn finds_rows_by_cid_and_keeps_one_per_cid() {
        let mut t = Table::default();
        let cids: Vec<Cid> = (0..1000)
            .map(|i| object((i % 251) as u8, i + 1).0)
            .collect();
        for c in &cids {
            t.upsert(c, || row(*c));
        }
        assert_eq!(t.len(), 1000);
        for (i, c) in cids.iter().enumerate() {
            assert_eq!(t.position(c), Some(i));
        }
        let mut r = row(cids[3]);
        r.pinned = true;
        t.put(r);
        assert_eq!(t.len(), 1000);
        assert!(t.get(&cids[3]).unwrap().pinned);
        assert_eq!(t.upsert(&cids[3], || unreachable!()), 3);
        let mut s = Strings::default();
        assert_eq!(s.intern("a"), 0);
        assert_eq!(s.intern("b"), 1);
        assert_eq!(s.intern("a"), 0);
        assert_eq!(s.get(1), Some("b"));
    }
}
