//! Scopes (what a credential may do), the access a route needs, and rate specifications.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// One permission. `admin` includes the other three: an operator's key needs no list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// cat, get, ls, stat, the gateway, metadata queries.
    Read,
    /// add, block/dag put, dag import, name publish.
    Write,
    /// pin add/rm.
    Pin,
    /// config, cache clear, keys, debug, operations.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Write, Scope::Pin, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Pin => "pin",
            Scope::Admin => "admin",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes. Written as a comma- or space-separated list (`read,write`; a JWT's
/// `scope` claim is space-separated, RFC 8693), serialized as a list of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    /// Whether these scopes grant `needed` (`admin` grants everything).
    pub fn allows(self, needed: Scope) -> bool {
        self.0 & (needed.bit() | Scope::Admin.bit()) != 0
    }

    /// Whether every scope of `other` is granted by these.
    pub fn covers(self, other: Scopes) -> bool {
        other.iter().all(|s| self.allows(s))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |s| self.0 & s.bit() != 0)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut set = 0;
        for name in text
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    format!("unknown scope {name:?}: expected read, write, pin or admin")
                })?;
            set |= scope.bit();
        }
        if set == 0 {
            return Err("no scopes given: expected some of read, write, pin, admin".into());
        }
        Ok(Self(set))
    }

    /// Space-separated, as a JWT's `scope` claim.
    pub fn claim(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iter().map(Scope::as_str).collect::<Vec<_>>().join(","))
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Scope::as_str))
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<String>),
            Text(String),
        }
        let text = match Form::deserialize(d)? {
            Form::List(names) => names.join(","),
            Form::Text(t) => t,
        };
        Scopes::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a route asks of a caller (the table is `startup::ACCESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health).
    Public,
    /// The path gateway: public unless `auth.public_gateway = false`, then `read`.
    Gateway,
    /// Any valid credential (minting a token, revoking one's own).
    Authenticated,
    /// A credential with this scope.
    Scoped(Scope),
}

/// A request rate: `count` per `per`, e.g. `600/min`, with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("invalid rate {text:?}: expected e.g. 600/min, 10/s or 5000/hour");
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Self { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            _ => "hour",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Rate::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_print_and_grant() {
        let s = Scopes::parse("read, pin").unwrap();
        assert!(s.allows(Scope::Read) && s.allows(Scope::Pin));
        assert!(!s.allows(Scope::Write) && !s.allows(Scope::Admin));
        assert_eq!(s.to_string(), "read,pin");
        assert_eq!(s.claim(), "read pin");
        assert_eq!(Scopes::parse("read pin").unwrap(), s);
        let admin = Scopes::parse("admin").unwrap();
        assert!(Scope::ALL.iter().all(|&x| admin.allows(x)));
        assert!(admin.covers(s) && !s.covers(admin));
        assert!(Scopes::parse("root").is_err() && Scopes::parse(" ,").is_err());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["read","pin"]"#);
        assert_eq!(serde_json::from_str::<Scopes>(&json).unwrap(), s);
        assert_eq!(serde_json::from_str::<Scopes>(r#""read,pin""#).unwrap(), s);
    }

    #[test]
    fn rates_parse_and_print() {
        let r = Rate::parse("600/min").unwrap();
        assert_eq!((r.count, r.per.as_secs()), (600, 60));
        assert_eq!(r.to_string(), "600/min");
        assert_eq!(Rate::parse("10/s").unwrap().per.as_secs(), 1);
        for bad in ["600", "0/min", "x/min", "5/week"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
