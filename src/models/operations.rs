//! A bounded ring of recent requests, for `GET /api/v0/mcp/operations` in debug mode.

use parking_lot::Mutex;
use serde::Serialize;
use std::collections::VecDeque;

#[derive(Debug, Clone, Serialize)]
pub struct OperationRecord {
    pub operation_id: String,
    pub operation: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration_ms: f64,
    /// When it ended; serialized as RFC 3339 only when `/operations` is read, not per request.
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub session_id: Option<String>,
}

/// Longest client-chosen string a record keeps (longer ones end in `...`).
pub const MAX_FIELD_CHARS: usize = 256;

fn truncate(s: &mut String) {
    if s.len() > MAX_FIELD_CHARS {
        let mut cut = MAX_FIELD_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
        s.shrink_to_fit();
    }
}

pub struct OperationLog {
    capacity: usize,
    ring: Mutex<VecDeque<OperationRecord>>,
}

impl OperationLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ring: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
        }
    }

    pub fn push(&self, mut record: OperationRecord) {
        if self.capacity == 0 {
            return;
        }
        // client-chosen strings (a path, a session or operation id) are kept short, so the
        // ring's memory is bounded by its capacity, not by what clients send
        for field in [
            &mut record.path,
            &mut record.operation_id,
            &mut record.method,
        ] {
            truncate(field);
        }
        if let Some(s) = record.session_id.as_mut() {
            truncate(s);
        }
        let mut ring = self.ring.lock();
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(record);
    }

    /// Most recent first.
    pub fn recent(&self, limit: usize) -> Vec<OperationRecord> {
        self.ring.lock().iter().rev().take(limit).cloned().collect()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_newest_first() {
        let log = OperationLog::new(2);
        for i in 0..3 {
            log.push(OperationRecord {
                operation_id: i.to_string(),
                operation: "x".into(),
                method: "GET".into(),
                path: "/".into(),
                status: 200,
                duration_ms: 0.0,
                timestamp: chrono::Utc::now(),
                session_id: None,
            });
        }
        let ids: Vec<_> = log.recent(10).into_iter().map(|r| r.operation_id).collect();
        assert_eq!(ids, ["2", "1"]);
    }
}
