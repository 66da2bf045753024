//! Byte-range arithmetic for `Range: bytes=...` (RFC 9110 §14.1.2), independent of HTTP types.

/// One requested range, as written by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=N-` or `bytes=N-M` (inclusive end).
    From { start: u64, end: Option<u64> },
    /// `bytes=-N`: the last N bytes.
    Suffix(u64),
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
}
