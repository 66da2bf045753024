//! Queries over the metadata table: filters, sort, limit.
//!
//! A filter is `<field> <op> <value>`, ops `== != > >= < <= in contains`; the symbolic ops also
//! take the compact form `heat_score>0.5`. `in` takes a comma-separated list. Filters combine
//! with AND. Timestamps compare as RFC 3339 or Unix seconds. A row with no value for a field
//! (unknown size or MIME type, never accessed) matches no filter on that field, as in SQL.
//!
//! Each filter is compiled once: strings that are interned (MIME type, backend, tier) are decided
//! per distinct value, and CID equality compares parsed CIDs, so a scan over a million rows does
//! no string work per row.

use super::table::{NONE, Row, Strings, Table};
use crate::persistence::tiered::Tier;
use cid::Cid;
use serde::Serialize;
use std::cmp::Ordering;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct QueryError(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError(msg.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Cid,
    SizeBytes,
    MimeType,
    Pinned,
    FirstSeen,
    LastAccess,
    AccessCount,
    HeatScore,
    Tier,
    Backend,
}

pub const FIELDS: &str = "cid, size_bytes, mime_type, pinned, first_seen, last_access, access_count, heat_score, tier, backend";

impl Field {
    pub fn parse(name: &str) -> Result<Field, QueryError> {
        Ok(match name {
            "cid" => Field::Cid,
            "size_bytes" => Field::SizeBytes,
            "mime_type" => Field::MimeType,
            "pinned" => Field::Pinned,
            "first_seen" => Field::FirstSeen,
            "last_access" => Field::LastAccess,
            "access_count" => Field::AccessCount,
            "heat_score" => Field::HeatScore,
            "tier" => Field::Tier,
            "backend" => Field::Backend,
            _ => return bad(format!("unknown field {name:?}; fields are {FIELDS}")),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    Contains,
}

/// Longest first, so `>=` is not read as `>`.
const SYMBOLS: [(&str, Op); 6] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    (">", Op::Gt),
    ("<", Op::Lt),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

impl std::str::FromStr for Filter {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Filter, QueryError> {
        let s = s.trim();
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        if end == 0 {
            return bad(format!(
                "invalid filter {s:?}: expected `<field> <op> <value>`"
            ));
        }
        let field = Field::parse(&s[..end])?;
        let rest = s[end..].trim_start();
        let (op, value) = if let Some((sym, op)) = SYMBOLS.iter().find(|(p, _)| rest.starts_with(p))
        {
            (*op, &rest[sym.len()..])
        } else {
            let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let op = match &rest[..word_end] {
                "in" => Op::In,
                "contains" => Op::Contains,
                "" => return bad(format!("invalid filter {s:?}: missing operator")),
                other => {
                    return bad(format!(
                        "unknown operator {other:?} in {s:?}; operators are == != > >= < <= in contains"
                    ));
                }
            };
            (op, &rest[word_end..])
        };
        let value = value.trim();
        if value.is_empty() {
            return bad(format!("invalid filter {s:?}: missing value"));
        }
        Ok(Filter {
            field,
            op,
            value: value.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    pub filters: Vec<Filter>,
    pub sort: Field,
    pub descending: bool,
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            sort: Field::HeatScore,
            descending: true,
            limit: 100,
        }
    }
}

/// A row as the API shows it, with the heat score as of the query.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowView {
    pub cid: String,
    pub size_bytes: Option<u64>,
    pub mime_type: Option<String>,
    pub pinned: bool,
    pub first_seen: String,
    pub last_access: Option<String>,
    pub access_count: u64,
    pub heat_score: f64,
    pub tier: &'static str,
    pub backend: String,
}

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl RowView {
    pub fn new(row: &Row, table: &Table, now_ms: i64, half_life_ms: f64) -> Self {
        RowView {
            cid: row.cid.to_string(),
            size_bytes: row.size_bytes,
            mime_type: table.mimes.get(row.mime).map(str::to_string),
            pinned: row.pinned,
            first_seen: rfc3339(row.first_seen_ms),
            last_access: row.last_access_ms.map(rfc3339),
            access_count: row.access_count,
            heat_score: row.heat.at(now_ms, half_life_ms),
            tier: row.tier.as_str(),
            backend: table.backends.get(row.backend).unwrap_or("").to_string(),
        }
    }
}

/// The rows a query selects (at most `limit`) and how many matched in all.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub rows: Vec<RowView>,
    pub matched: usize,
}

#[derive(Clone, Copy)]
enum Num {
    Size,
    FirstSeen,
    LastAccess,
    AccessCount,
    Heat,
}

enum Compiled {
    Number(Num, Op, Vec<f64>),
    /// Per interned id, plus the answer for "no value".
    Mime(Vec<bool>, bool),
    Backend(Vec<bool>, bool),
    Tier([bool; 3]),
    Pinned(bool),
    CidIn(Vec<Cid>, bool),
    CidText(Op, Vec<String>),
}

fn tier_index(t: Tier) -> usize {
    match t {
        Tier::Memory => 0,
        Tier::Disk => 1,
        Tier::Backend => 2,
    }
}

fn list(op: Op, value: &str) -> Vec<String> {
    if op == Op::In {
        value
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    } else {
        vec![value.to_string()]
    }
}

fn text_matches(op: Op, have: &str, want: &[String]) -> bool {
    let w = want[0].as_str();
    match op {
        Op::Eq => have == w,
        Op::Ne => have != w,
        Op::Gt => have > w,
        Op::Ge => have >= w,
        Op::Lt => have < w,
        Op::Le => have <= w,
        Op::In => want.iter().any(|v| v == have),
        Op::Contains => have.contains(w),
    }
}

fn number(field: &str, value: &str, timestamp: bool) -> Result<f64, QueryError> {
    if let Ok(n) = value.parse::<f64>()
        && n.is_finite()
    {
        return Ok(if timestamp { n * 1000.0 } else { n });
    }
    if timestamp && let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_millis() as f64);
    }
    let expected = if timestamp {
        "an RFC 3339 time or Unix seconds"
    } else {
        "a number"
    };
    bad(format!(
        "invalid value {value:?} for {field}: expected {expected}"
    ))
}

fn compile(f: &Filter, table: &Table) -> Result<Compiled, QueryError> {
    let values = list(f.op, &f.value);
    if values.is_empty() {
        return bad(format!("`in` needs at least one value for {:?}", f.value));
    }
    let strings = |s: &Strings| s.decide(|v| v.is_some_and(|v| text_matches(f.op, v, &values)));
    let num = |n: Num, name: &str, ts: bool| -> Result<Compiled, QueryError> {
        if f.op == Op::Contains {
            return bad(format!(
                "`contains` does not apply to the number field {name}"
            ));
        }
        let parsed = values
            .iter()
            .map(|v| number(name, v, ts))
            .collect::<Result<_, _>>()?;
        Ok(Compiled::Number(n, f.op, parsed))
    };
    Ok(match f.field {
        Field::SizeBytes => num(Num::Size, "size_bytes", false)?,
        Field::AccessCount => num(Num::AccessCount, "access_count", false)?,
        Field::HeatScore => num(Num::Heat, "heat_score", false)?,
        Field::FirstSeen => num(Num::FirstSeen, "first_seen", true)?,
        Field::LastAccess => num(Num::LastAccess, "last_access", true)?,
        Field::MimeType => {
            let (t, none) = strings(&table.mimes);
            Compiled::Mime(t, none)
        }
        Field::Backend => {
            let (t, none) = strings(&table.backends);
            Compiled::Backend(t, none)
        }
        Field::Tier => {
            for v in &values {
                if f.op != Op::Contains && !["memory", "disk", "backend"].contains(&v.as_str()) {
                    return bad(format!(
                        "invalid tier {v:?}: expected memory, disk or backend"
                    ));
                }
            }
            let mut t = [false; 3];
            for tier in [Tier::Memory, Tier::Disk, Tier::Backend] {
                t[tier_index(tier)] = text_matches(f.op, tier.as_str(), &values);
            }
            Compiled::Tier(t)
        }
        Field::Pinned => {
            let parse = |v: &str| match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => bad(format!(
                    "invalid value {v:?} for pinned: expected true or false"
                )),
            };
            match f.op {
                Op::Eq => Compiled::Pinned(parse(&values[0])?),
                Op::Ne => Compiled::Pinned(!parse(&values[0])?),
                Op::In => {
                    let set: Vec<bool> =
                        values.iter().map(|v| parse(v)).collect::<Result<_, _>>()?;
                    match (set.contains(&true), set.contains(&false)) {
                        (true, true) => Compiled::Tier([true; 3]),
                        (t, _) => Compiled::Pinned(t),
                    }
                }
                _ => return bad("pinned takes only ==, != and in"),
            }
        }
        Field::Cid => match f.op {
            Op::Eq | Op::Ne | Op::In => {
                let cids = values
                    .iter()
                    .map(|v| {
                        v.parse::<Cid>()
                            .map_err(|e| QueryError(format!("invalid CID {v:?}: {e}")))
                    })
                    .collect::<Result<_, _>>()?;
                Compiled::CidIn(cids, f.op == Op::Ne)
            }
            op => Compiled::CidText(op, values),
        },
    })
}

fn num_value(row: &Row, n: Num, now_ms: i64, half_life_ms: f64) -> Option<f64> {
    match n {
        Num::Size => row.size_bytes.map(|v| v as f64),
        Num::FirstSeen => Some(row.first_seen_ms as f64),
        Num::LastAccess => row.last_access_ms.map(|v| v as f64),
        Num::AccessCount => Some(row.access_count as f64),
        Num::Heat => Some(row.heat.at(now_ms, half_life_ms)),
    }
}

fn compare(op: Op, have: f64, want: &[f64]) -> bool {
    let w = want[0];
    match op {
        Op::Eq => have == w,
        Op::Ne => have != w,
        Op::Gt => have > w,
        Op::Ge => have >= w,
        Op::Lt => have < w,
        Op::Le => have <= w,
        Op::In => want.contains(&have),
        Op::Contains => false,
    }
}

fn interned(table: &[bool], none: bool, id: u16) -> bool {
    if id == NONE {
        none
    } else {
        table.get(id as usize).copied().unwrap_or(false)
    }
}

impl Compiled {
    fn matches(&self, row: &Row, now_ms: i64, h: f64) -> bool {
        match self {
            Compiled::Number(n, op, want) => {
                num_value(row, *n, now_ms, h).is_some_and(|v| compare(*op, v, want))
            }
            Compiled::Mime(t, none) => interned(t, *none, row.mime),
            Compiled::Backend(t, none) => interned(t, *none, row.backend),
            Compiled::Tier(t) => t[tier_index(row.tier)],
            Compiled::Pinned(p) => row.pinned == *p,
            Compiled::CidIn(set, negate) => set.contains(&row.cid) != *negate,
            Compiled::CidText(op, want) => text_matches(*op, &row.cid.to_string(), want),
        }
    }
}

/// A sort key: numbers (missing values lowest), or text.
#[derive(PartialEq, PartialOrd)]
enum Key {
    Num(f64),
    Text(String),
}

fn sort_key(row: &Row, table: &Table, field: Field, h: f64) -> Key {
    let n = |v: Option<f64>| Key::Num(v.unwrap_or(f64::NEG_INFINITY));
    match field {
        // time-free rank: same order as the score at any instant
        Field::HeatScore => Key::Num(row.heat.rank(h)),
        Field::SizeBytes => n(row.size_bytes.map(|v| v as f64)),
        Field::FirstSeen => Key::Num(row.first_seen_ms as f64),
        Field::LastAccess => n(row.last_access_ms.map(|v| v as f64)),
        Field::AccessCount => Key::Num(row.access_count as f64),
        Field::Pinned => Key::Num(row.pinned as u8 as f64),
        Field::Cid => Key::Text(row.cid.to_string()),
        Field::MimeType => Key::Text(table.mimes.get(row.mime).unwrap_or("").to_string()),
        Field::Backend => Key::Text(table.backends.get(row.backend).unwrap_or("").to_string()),
        Field::Tier => Key::Text(row.tier.as_str().to_string()),
    }
}

/// Runs `q` over `table` as of `now_ms`.
pub fn run(
    q: &Query,
    table: &Table,
    now_ms: i64,
    half_life_ms: f64,
) -> Result<QueryResult, QueryError> {
    let compiled: Vec<Compiled> = q
        .filters
        .iter()
        .map(|f| compile(f, table))
        .collect::<Result<_, _>>()?;
    let mut hits: Vec<(Key, u32)> = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        if compiled
            .iter()
            .all(|c| c.matches(row, now_ms, half_life_ms))
        {
            hits.push((sort_key(row, table, q.sort, half_life_ms), i as u32));
        }
    }
    let matched = hits.len();
    let descending = q.descending;
    // ties: first inserted first, whatever the direction
    let order = |a: &(Key, u32), b: &(Key, u32)| {
        let by_key = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        let by_key = if descending { by_key.reverse() } else { by_key };
        by_key.then(a.1.cmp(&b.1))
    };
    if q.limit == 0 {
        hits.clear();
    } else if hits.len() > q.limit {
        hits.select_nth_unstable_by(q.limit - 1, order);
        hits.truncate(q.limit);
    }
    hits.sort_unstable_by(order);
    let rows = hits
        .iter()
        .map(|&(_, i)| RowView::new(&table.rows[i as usize], table, now_ms, half_life_ms))
        .collect();
    Ok(QueryResult { rows, matched })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::conformance::object;
    use crate::persistence::metadata::heat::Heat;

    const H: f64 = 60_000.0;

    fn table() -> Table {
        let mut t = Table::default();
        let png = t.mimes.intern("image/png");
        let txt = t.mimes.intern("text/plain; charset=utf-8");
        let sim = t.backends.intern("simulation");
        for i in 0..100u64 {
            let (cid, _) = object(i as u8, 10);
            let mut heat = Heat::ZERO;
            for _ in 0..i {
                heat = heat.bump(1_000, H);
            }
            t.put(Row {
                cid,
                size_bytes: if i == 7 { None } else { Some(i * 100) },
                mime: match i % 3 {
                    0 => png,
                    1 => txt,
                    _ => NONE,
                },
                pinned: i % 2 == 0,
                first_seen_ms: i as i64 * 1000,
                last_access_ms: (i > 0).then_some(1_000),
                access_count: i,
                heat,
                tier: if i < 10 { Tier::Memory } else { Tier::Backend },
                backend: sim,
            });
        }
        t
    }

    fn q(filters: &[&str]) -> Query {
        Query {
            filters: filters.iter().map(|f| f.parse().unwrap()).collect(),
            ..Query::default()
        }
    }

    #[test]
    fn parses_spaced_and_compact_forms_and_rejects_bad_ones() {
        let f: Filter = "heat_score > 0.5".parse().unwrap();
        assert_eq!(
            (f.field, f.op, f.value.as_str()),
            (Field::HeatScore, Op::Gt, "0.5")
        );
        assert_eq!("heat_score>=0.5".parse::<Filter>().unwrap().op, Op::Ge);
        let f: Filter = "mime_type in image/png,image/jpeg".parse().unwrap();
        assert_eq!((f.op, f.value.as_str()), (Op::In, "image/png,image/jpeg"));
        let f: Filter = "mime_type == text/plain; charset=utf-8".parse().unwrap();
        assert_eq!(f.value, "text/plain; charset=utf-8");
        for bad in [
            "nope > 1",
            "heat_score ~ 1",
            "heat_score >",
            "> 1",
            "size_bytesin 1",
            "",
        ] {
            assert!(bad.parse::<Filter>().is_err(), "{bad:?} parsed");
        }
        let t = table();
        for bad in [
            "size_bytes > big",
            "size_bytes contains 1",
            "pinned > true",
            "cid == nope",
            "tier == ram",
        ] {
            let err = run(&q(&[bad]), &t, 1_000, H);
            assert!(err.is_err(), "{bad:?} ran");
        }
    }

    #[test]
    fn filters_combine_with_and_and_sort_by_heat() {
        let t = table();
        let r = run(&q(&["access_count >= 50", "pinned == true"]), &t, 1_000, H).unwrap();
        assert_eq!(r.matched, 25);
        assert_eq!(r.rows[0].access_count, 98, "hottest first");
        assert!(
            r.rows
                .windows(2)
                .all(|w| w[0].heat_score >= w[1].heat_score)
        );
        let r = run(
            &q(&["mime_type in image/png,image/jpeg", "size_bytes<1000"]),
            &t,
            1_000,
            H,
        )
        .unwrap();
        assert_eq!(r.matched, 4); // 0, 3, 6, 9
        let r = run(&q(&["mime_type contains text"]), &t, 1_000, H).unwrap();
        assert_eq!(r.matched, 33);
        // unknown size matches no comparison on size
        let r = run(&q(&["size_bytes >= 0"]), &t, 1_000, H).unwrap();
        assert_eq!(r.matched, 99);
        let r = run(&q(&["tier == memory", "heat_score > 4.5"]), &t, 1_000, H).unwrap();
        assert_eq!(r.matched, 5);
        let one = object(42, 10).0.to_string();
        let r = run(&q(&[&format!("cid == {one}")]), &t, 1_000, H).unwrap();
        assert_eq!((r.matched, r.rows[0].cid.as_str()), (1, one.as_str()));
        let r = run(&q(&["first_seen >= 1970-01-01T00:01:30Z"]), &t, 1_000, H).unwrap();
        assert_eq!(r.matched, 10);
        // ascending with a limit: the coldest
        let r = run(
            &Query {
                descending: false,
                limit: 3,
                ..Query::default()
            },
            &t,
            1_000,
            H,
        )
        .unwrap();
        let counts: Vec<u64> = r.rows.iter().map(|r| r.access_count).collect();
        assert_eq!((r.matched, counts), (100, vec![0, 1, 2]));
    }
}
