//! The heat score: how hot a CID is, combining how often and how recently it was read.
//!
//! ```text
//! heat(t) = sum over past accesses i of 2^(-(t - t_i) / half_life)
//! ```
//!
//! Each access adds 1, and every contribution halves each `half_life`. A CID read 10 times
//! just now scores 10; read 10 times one half-life ago, 5; read once now, 1. So frequency and
//! recency are one number and old popularity fades on its own.
//!
//! It is kept incrementally as a pair `(value, at)`: the score at time `at`. An access at `t`
//! becomes `(value * 2^(-(t - at)/h) + 1, t)`. Reading it at `t` decays it the same way.
//!
//! Ranking never needs the current time: `log2(value) + at / h` ([`Heat::rank`]) orders CIDs
//! exactly as their scores at any common instant would, because every score decays by the same
//! factor. That is what lets eviction and pre-warm compare rows written at different times.

/// Score `value` as of `at_ms` (milliseconds since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heat {
    pub value: f64,
    pub at_ms: i64,
}

impl Heat {
    pub const ZERO: Heat = Heat {
        value: 0.0,
        at_ms: 0,
    };

    /// The score at `now_ms` (never grows without an access).
    pub fn at(self, now_ms: i64, half_life_ms: f64) -> f64 {
        if self.value == 0.0 {
            return 0.0;
        }
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.value * (-elapsed / half_life_ms).exp2()
    }

    /// The score after one more access at `now_ms`.
    pub fn bump(self, now_ms: i64, half_life_ms: f64) -> Heat {
        Heat {
            value: self.at(now_ms, half_life_ms) + 1.0,
            at_ms: now_ms.max(self.at_ms),
        }
    }

    /// A time-free ordering key: larger is hotter, at every instant.
    pub fn rank(self, half_life_ms: f64) -> f64 {
        if self.value <= 0.0 {
            return f64::NEG_INFINITY;
        }
        self.value.log2() + self.at_ms as f64 / half_life_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: f64 = 1000.0;

    #[test]
    fn halves_every_half_life_and_adds_one_per_access() {
        let h = Heat::ZERO.bump(0, H).bump(0, H);
        assert_eq!(h.at(0, H), 2.0);
        assert!((h.at(1000, H) - 1.0).abs() < 1e-12);
        assert!((h.at(2000, H) - 0.5).abs() < 1e-12);
        let h = h.bump(1000, H);
        assert!((h.at(1000, H) - 2.0).abs() < 1e-12);
        assert_eq!(Heat::ZERO.at(5, H), 0.0);
    }

    #[test]
    fn rank_orders_like_scores_at_any_instant() {
        // a: 8 reads long ago; b: 2 reads recently; c: never read
        let a = (0..8).fold(Heat::ZERO, |h, _| h.bump(0, H));
        let b = Heat::ZERO.bump(2500, H).bump(2500, H);
        for now in [2500, 3000, 10_000] {
            let (sa, sb) = (a.at(now, H), b.at(now, H));
            assert_eq!(sa > sb, a.rank(H) > b.rank(H), "at {now}");
        }
        assert!(Heat::ZERO.rank(H) < b.rank(H));
    }
}
