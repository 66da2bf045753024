//! Writing the in-memory table to Parquet: batched flushes of the dirty rows, compaction
//! (the whole table rewritten as fresh partitions when there are too many files, or when a prune
//! dropped rows the files still hold), and the background flusher thread.
//!
//! Lock order: the files lock (which also serialises flushes) is taken before the state lock,
//! and the state lock is never held across I/O: the rows to write are copied out first.

use super::table::{Row, Table};
use super::{Files, FlushReport, MetadataStore, now_ms, partition, partition_path, query};
use crate::persistence::PersistenceError;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

impl MetadataStore {
    /// Writes every dirty row to new partitions; compacts when there are too many files.
    /// On failure the rows stay dirty and the next flush retries them.
    pub fn flush(&self) -> Result<FlushReport, PersistenceError> {
        let Some(files) = &self.files else {
            return Ok(FlushReport::default());
        };
        let mut files = files.lock();
        let result = self.flush_locked(&mut files);
        let mut last = self.last_flush.lock();
        use std::sync::atomic::Ordering::Relaxed;
        match &result {
            Ok(report) if report.files > 0 => {
                *last = (report.clone(), None);
                self.flush_counts.0.fetch_add(1, Relaxed);
            }
            Ok(_) => {}
            Err(e) => {
                last.1 = Some(e.to_string());
                self.flush_counts.1.fetch_add(1, Relaxed);
            }
        }
        result
    }

    fn flush_locked(&self, files: &mut Files) -> Result<FlushReport, PersistenceError> {
        let now = now_ms();
        // copy the dirty rows out so reads and updates do not wait for the disk
        let (rows, strings, taken, generation) = {
            let mut state = self.state.lock();
            if std::mem::take(&mut state.compact_pending) {
                state.dirty.clear();
                drop(state);
                let mut report = FlushReport {
                    at: Some(query::rfc3339(now)),
                    compacted: true,
                    ..FlushReport::default()
                };
                if let Err(e) = self.compact(files, now, &mut report) {
                    self.state.lock().compact_pending = true;
                    return Err(e);
                }
                return Ok(report);
            }
            let taken: Vec<u32> = state.dirty.drain().collect();
            let rows: Vec<Row> = taken
                .iter()
                .map(|&i| state.table.rows[i as usize].clone())
                .collect();
            (rows, state.table.strings_only(), taken, state.generation)
        };
        let mut report = FlushReport {
            at: Some(query::rfc3339(now)),
            ..FlushReport::default()
        };
        if let Err(e) = self.write_rows(files, &rows, &strings, now, &mut report) {
            let mut state = self.state.lock();
            // after a prune the indices are stale, and the pending rewrite carries the rows
            if state.generation == generation {
                state.dirty.extend(taken);
            }
            return Err(e);
        }
        if files.partitions.len() > self.options.max_partitions {
            self.compact(files, now, &mut FlushReport::default())?;
            report.compacted = true;
        }
        Ok(report)
    }

    fn write_rows(
        &self,
        files: &mut Files,
        rows: &[Row],
        strings: &Table,
        now: i64,
        report: &mut FlushReport,
    ) -> Result<(), PersistenceError> {
        for chunk in rows.chunks(self.options.rows_per_partition.max(1)) {
            let refs: Vec<&Row> = chunk.iter().collect();
            let batch = partition::to_batch(&refs, strings, now, self.half_life_ms);
            let seq = files.next_seq;
            partition::write(&partition_path(&files.dir, seq), &batch, now)?;
            files.next_seq += 1;
            files.partitions.push(seq);
            report.rows += chunk.len();
            report.files += 1;
        }
        Ok(())
    }

    /// Rewrites the whole table as fresh partitions, then deletes the older files.
    fn compact(
        &self,
        files: &mut Files,
        now: i64,
        report: &mut FlushReport,
    ) -> Result<(), PersistenceError> {
        let (rows, strings) = {
            let state = self.state.lock();
            (state.table.rows.clone(), state.table.strings_only())
        };
        let old = std::mem::take(&mut files.partitions);
        if let Err(e) = self.write_rows(files, &rows, &strings, now, report) {
            let mut kept = old;
            kept.append(&mut files.partitions);
            files.partitions = kept;
            return Err(e);
        }
        for seq in old {
            let _ = std::fs::remove_file(partition_path(&files.dir, seq));
        }
        Ok(())
    }

    pub(super) fn wake_flusher(&self) {
        if let Some(tx) = &*self.wake.lock() {
            let _ = tx.send(());
        }
    }

    /// Starts the background flusher (a thread: Parquet writes block). It stops when the
    /// returned handle is dropped or [`FlusherHandle::stop`] is called, after a final flush.
    pub fn start_flusher(self: &Arc<Self>) -> FlusherHandle {
        let (tx, rx) = mpsc::channel::<()>();
        *self.wake.lock() = Some(tx);
        let store = Arc::downgrade(self);
        let interval = Duration::from_millis(self.options.flush_interval_ms.max(1));
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("metadata-flush".into())
            .spawn(move || {
                loop {
                    let stopping = stop_rx.try_recv().is_ok();
                    let Some(store) = store.upgrade() else { return };
                    if let Err(e) = store.flush() {
                        tracing::error!(error = %e, "metadata flush failed; rows stay dirty");
                    }
                    if stopping {
                        return;
                    }
                    drop(store);
                    match rx.recv_timeout(interval) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .expect("spawn the metadata flusher");
        FlusherHandle {
            stop: Some(stop_tx),
            store: Arc::downgrade(self),
            thread: Some(thread),
        }
    }
}

/// Stops the flusher, with a last flush.
pub struct FlusherHandle {
    stop: Option<mpsc::Sender<()>>,
    store: std::sync::Weak<MetadataStore>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FlusherHandle {
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            if let Some(store) = self.store.upgrade() {
                store.wake_flusher();
            }
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for FlusherHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
