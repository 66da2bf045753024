//! Byte-range arithmetic for `Range: bytes=...` (RFC 9110 §14.1.2), independent of HTTP types.

/// One requested range, as written by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=N-` or `bytes=N-M` (inclusive end).
    From { start: u64, end: Option<u64> },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
}

/// The `Range` header value that asks for this one range.
impl std::fmt::Display for RangeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::From {
                start,
                end: Some(end),
            } => write!(f, "bytes={start}-{end}"),
            Self::From { start, end: None } => write!(f, "bytes={start}-"),
            Self::Suffix(n) => write!(f, "bytes=-{n}"),
        }
    }
}

/// A satisfiable range resolved against a size: `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Parses the value of a `Range` header. `None` when the header is malformed or not in bytes,
/// in which case RFC 9110 says to ignore it.
pub fn parse(header: &str) -> Option<Vec<RangeSpec>> {
    let specs = header.trim().strip_prefix("bytes=")?;
    let mut out = Vec::new();
    for spec in specs.split(',') {
        let (a, b) = spec.trim().split_once('-')?;
        let (a, b) = (a.trim(), b.trim());
        out.push(if a.is_empty() {
            RangeSpec::Suffix(b.parse().ok()?)
        } else {
            let start = a.parse().ok()?;
            let end = if b.is_empty() {
                None
            } else {
                Some(b.parse().ok()?)
            };
            if end.is_some_and(|e| e < start) {
                return None;
            }
            RangeSpec::From { start, end }
        });
    }
    (!out.is_empty()).then_some(out)
}

/// Resolves a spec against the content size; `None` when unsatisfiable (416).
pub fn resolve(spec: RangeSpec, size: u64) -> Option<ByteRange> {
    match spec {
        RangeSpec::From { start, end } => (start < size).then(|| ByteRange {
            start,
            end: end.map_or(size - 1, |e| e.min(size - 1)),
        }),
        RangeSpec::Suffix(n) => (n > 0 && size > 0).then(|| ByteRange {
            start: size.saturating_sub(n),
            end: size - 1,
        }),
    }
}

/// Most parts a `multipart/byteranges` answer carries, after coalescing. More is what RFC 9110
/// §14.2 calls "indications of either a broken client or a deliberate denial-of-service
/// attack"; such a request gets the whole content instead (never more bytes than the file).
pub const MAX_PARTS: usize = 16;

/// Ranges that overlap or touch (a gap below this) are merged into one part. Ranges apart stay
/// apart, even close ones: a client that asked for `6-16,0-4` must get those bytes, not
/// `0-16` (the gateway conformance suite checks exactly that).
pub const COALESCE_GAP: u64 = 1;

/// How to answer a request with an optional `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// 200 with everything: no `Range`, a malformed one (ignored, as RFC 9110 says), or one
    /// with more than [`MAX_PARTS`] parts once coalesced.
    Full,
    /// 206 with one part.
    Single(ByteRange),
    /// 206 `multipart/byteranges`: at least two parts, ascending, disjoint, separated by more
    /// than [`COALESCE_GAP`] bytes, at most [`MAX_PARTS`] of them.
    Multi(Vec<ByteRange>),
    /// 416: no requested range lies inside the content.
    Unsatisfiable,
}

/// Parses, resolves and coalesces a `Range` header against `size` bytes. Whatever the header
/// says, the bytes the plan covers never exceed `size`.
pub fn plan(header: Option<&str>, size: u64) -> RangePlan {
    let Some(specs) = header.and_then(parse) else {
        return RangePlan::Full;
    };
    let mut ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| resolve(s, size)).collect();
    if ranges.is_empty() {
        return RangePlan::Unsatisfiable;
    }
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len().min(MAX_PARTS + 1));
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(COALESCE_GAP) => {
                last.end = last.end.max(r.end);
            }
            _ => merged.push(r),
        }
    }
    match merged.len() {
        1 => RangePlan::Single(merged[0]),
        n if n > MAX_PARTS => RangePlan::Full,
        _ => RangePlan::Multi(merged),
    }
}

/// Kubo's `?offset=&length=` as a range: `length` bytes from `offset` (to the end without a
/// length). Saturates instead of wrapping, so an absurd offset is simply past the end (416).
pub fn from_offset_length(offset: Option<u64>, length: Option<u64>) -> Option<RangeSpec> {
    match (offset, length) {
        (None, None) => None,
        (o, Some(l)) => {
            let start = o.unwrap_or(0);
            Some(RangeSpec::From {
                start,
                end: Some(start.saturating_add(l.saturating_sub(1))),
            })
        }
        (Some(start), None) => Some(RangeSpec::From { start, end: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_the_three_forms() {
        let r = |h: &str, size| parse(h).map(|s| resolve(s[0], size));
        assert_eq!(
            r("bytes=6-16", 100),
            Some(Some(ByteRange { start: 6, end: 16 }))
        );
        assert_eq!(
            r("bytes=-3", 100),
            Some(Some(ByteRange { start: 97, end: 99 }))
        );
        assert_eq!(
            r("bytes=90-", 100),
            Some(Some(ByteRange { start: 90, end: 99 }))
        );
        assert_eq!(
            r("bytes=90-1000", 100),
            Some(Some(ByteRange { start: 90, end: 99 }))
        );
        assert_eq!(
            r("bytes=-1000", 100),
            Some(Some(ByteRange { start: 0, end: 99 }))
        );
        assert_eq!(r("bytes=100-", 100), Some(None));
        assert_eq!(r("bytes=0-", 0), Some(None));
        assert_eq!(r("bytes=-0", 10), Some(None));
        assert_eq!(parse("bytes=5-1"), None);
        assert_eq!(parse("items=1-2"), None);
        assert_eq!(parse("bytes=a-b"), None);
        assert_eq!(parse("bytes=1-2,4-5").unwrap().len(), 2);
    }

    #[test]
    fn overlapping_and_many_ranges_are_never_amplified() {
        let many = format!("bytes={}", vec!["0-4095"; 500].join(","));
        assert_eq!(
            plan(Some(&many), 4096),
            RangePlan::Single(ByteRange {
                start: 0,
                end: 4095
            })
        );
        // 500 disjoint one-byte ranges far apart: more parts than allowed, so the whole file
        let sparse: Vec<String> = (0..500).map(|i| format!("{0}-{0}", i * 200)).collect();
        assert_eq!(
            plan(Some(&format!("bytes={}", sparse.join(","))), 100_000),
            RangePlan::Full
        );
        // out of order, overlapping and adjacent: coalesced and sorted
        assert_eq!(
            plan(Some("bytes=5000-5999,0-99,50-150,6000-6100"), 10_000),
            RangePlan::Multi(vec![
                ByteRange { start: 0, end: 150 },
                ByteRange {
                    start: 5000,
                    end: 6100
                }
            ])
        );
        assert_eq!(
            plan(Some("bytes=20000-,30000-"), 10_000),
            RangePlan::Unsatisfiable
        );
        assert_eq!(plan(Some("bytes=garbage"), 10), RangePlan::Full);
        assert_eq!(plan(None, 10), RangePlan::Full);
    }

    #[test]
    fn offset_and_length_never_wrap() {
        let spec = from_offset_length(Some(u64::MAX), Some(2)).unwrap();
        assert_eq!(resolve(spec, 100), None, "past the end, not the whole file");
        let spec = from_offset_length(Some(10), Some(u64::MAX)).unwrap();
        assert_eq!(resolve(spec, 100), Some(ByteRange { start: 10, end: 99 }));
        assert_eq!(
            from_offset_length(None, Some(5)),
            Some(RangeSpec::From {
                start: 0,
                end: Some(4)
            })
        );
        assert_eq!(from_offset_length(None, None), None);
    }
}
