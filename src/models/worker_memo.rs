//! The small per-worker-thread memos of the request path (verified keys, key buckets): a few
//! entries in a `Vec`, the oldest dropped past [`CAPACITY`]. A worker is one thread, so an
//! entry is read and written without touching anything another worker writes. Each memo's
//! owner tags its entries with its [`instance_id`] (the memo outlives any one owner: tests
//! build many) and with a generation it bumps on every change, so a stale entry is never used.

use std::sync::atomic::{AtomicU64, Ordering};

/// Entries each worker keeps per memo.
pub const CAPACITY: usize = 8;

/// A process-unique id for a memo's owner.
pub fn instance_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Puts `entry` in `memo` in place of any entry `same` says it replaces, dropping the oldest
/// entry when the memo is full.
pub fn remember<T>(memo: &mut Vec<T>, entry: T, same: impl Fn(&T) -> bool) {
    memo.retain(|e| !same(e));
    if memo.len() >= CAPACITY {
        memo.remove(0);
    }
    memo.push(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_replaces_its_twin_and_the_oldest_goes_first() {
        let mut memo = Vec::new();
        for n in 0..CAPACITY as u32 {
            remember(&mut memo, (n, 0), |e| e.0 == n);
        }
        remember(&mut memo, (3, 1), |e| e.0 == 3);
        assert_eq!(memo.len(), CAPACITY);
        assert_eq!(memo.last(), Some(&(3, 1)));
        assert!(!memo.contains(&(3, 0)));
        remember(&mut memo, (99, 0), |e| e.0 == 99);
        assert_eq!(memo.len(), CAPACITY);
        assert!(!memo.contains(&(0, 0)), "the oldest is dropped");
        assert!(memo.contains(&(99, 0)));
    }
}
