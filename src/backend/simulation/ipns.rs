//! Local IPNS: an Ed25519 key per name, signed records kept in sled.
//!
//! Records are real IPNS records (the `IpnsEntry` protobuf with a DAG-CBOR `data` field and
//! both V1 and V2 signatures), so a later gateway can serve them as `application/vnd.ipfs.ipns-record`.
//! Names print as Kubo prints them: CIDv1 `libp2p-key` in base36 (`k51...`).
//! A key named in `publish` that does not exist yet is generated (Kubo would need `key gen`).
//! Every resolve verifies the stored record's signature and validity.

use crate::backend::ipns_record::{build, ipns_name, parse_name, verify};
use crate::backend::{BackendError, NamePublished};
use libp2p_identity::{Keypair, PeerId};
use std::time::Duration;
/// Recursion limit for names pointing at names (Kubo's is 32).
const MAX_DEPTH: usize = 32;

pub struct Ipns {
    keys: sled::Tree,
    records: sled::Tree,
}

impl Ipns {
    pub fn open(db: &sled::Db) -> Result<Self, BackendError> {
        let ipns = Self {
            keys: db.open_tree("keys")?,
            records: db.open_tree("ipns")?,
        };
        ipns.key("self")?;
        Ok(ipns)
    }

    /// The named key, created on first use.
    pub fn key(&self, name: &str) -> Result<Keypair, BackendError> {
        if name.is_empty() || name.contains('/') {
            return Err(BackendError::InvalidInput(format!(
                "invalid key name {name:?}"
            )));
        }
        if let Some(bytes) = self.keys.get(name)? {
            return Keypair::from_protobuf_encoding(&bytes)
                .map_err(|e| BackendError::Storage(format!("corrupt key {name}: {e}")));
        }
        let key = Keypair::generate_ed25519();
        let encoded = key
            .to_protobuf_encoding()
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        self.keys.insert(name, encoded)?;
        self.keys.flush()?;
        Ok(key)
    }

    pub fn publish(
        &self,
        key_name: &str,
        value: &str,
        lifetime: Duration,
        ttl: Duration,
    ) -> Result<NamePublished, BackendError> {
        let key = self.key(key_name)?;
        let peer = key.public().to_peer_id();
        let sequence = match self.load(&peer)? {
            Some(bytes) => verify(&peer, &bytes, false)?.sequence + 1,
            None => 0,
        };
        let validity = (chrono::Utc::now()
            + chrono::Duration::from_std(lifetime)
                .map_err(|_| BackendError::InvalidInput("lifetime too large".into()))?)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let record = build(&key, value, &validity, sequence, ttl)?;
        self.records.insert(peer.to_bytes(), record)?;
        self.records.flush()?;
        Ok(NamePublished {
            name: ipns_name(&peer),
            value: value.to_string(),
        })
    }

    /// Resolves `k51...`, `12D3...` or `/ipns/<name>` to the final `/ipfs/...` path.
    pub fn resolve(&self, name: &str) -> Result<String, BackendError> {
        Ok(self.resolve_with_ttl(name)?.0)
    }

    /// [`Self::resolve`], with the shortest TTL of the records on the way.
    pub fn resolve_with_ttl(&self, name: &str) -> Result<(String, Option<Duration>), BackendError> {
        let mut current = name.to_string();
        let mut ttl: Option<Duration> = None;
        for _ in 0..MAX_DEPTH {
            let peer = parse_name(&current)?;
            let bytes = self.load(&peer)?.ok_or_else(|| {
                BackendError::NotFound(format!("could not resolve name {current}: no record"))
            })?;
            let record = verify(&peer, &bytes, true)?;
            ttl = match (ttl, record.ttl) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match record.value.strip_prefix("/ipns/") {
                Some(next) => current = next.to_string(),
                None => return Ok((record.value, ttl)),
            }
        }
        Err(BackendError::InvalidInput(format!(
            "could not resolve name {name}: recursion limit exceeded"
        )))
    }

    /// The stored record of `name`, verified (`routing get`, `?format=ipns-record`).
    pub fn record(&self, name: &str) -> Result<Vec<u8>, BackendError> {
        let peer = parse_name(name)?;
        let bytes = self.load(&peer)?.ok_or_else(|| {
            BackendError::NotFound(format!("no IPNS record for {}", ipns_name(&peer)))
        })?;
        verify(&peer, &bytes, true)?;
        Ok(bytes)
    }

    /// Stores a record signed elsewhere (`routing put`): verified, and kept only if its
    /// sequence is not older than the one held (a replay of an old record changes nothing).
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<(), BackendError> {
        let peer = parse_name(name)?;
        let record = verify(&peer, bytes, true)?;
        if let Some(held) = self.load(&peer)?
            && let Ok(held) = verify(&peer, &held, false)
            && held.sequence > record.sequence
        {
            return Err(BackendError::Conflict(format!(
                "IPNS record of {} has sequence {}; {} is held",
                ipns_name(&peer),
                record.sequence,
                held.sequence
            )));
        }
        self.records.insert(peer.to_bytes(), bytes)?;
        self.records.flush()?;
        Ok(())
    }

    fn load(&self, peer: &PeerId) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.records.get(peer.to_bytes())?.map(|v| v.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipns() -> Ipns {
        Ipns::open(&sled::Config::new().temporary(true).open().unwrap()).unwrap()
    }

    #[test]
    fn publish_then_resolve_with_sequence() {
        let ipns = ipns();
        let day = Duration::from_secs(86400);
        let a = ipns.publish("self", "/ipfs/QmA", day, day).unwrap();
        assert!(a.name.starts_with("k51"), "{}", a.name);
        assert_eq!(ipns.resolve(&a.name).unwrap(), "/ipfs/QmA");
        ipns.publish("self", "/ipfs/QmB", day, day).unwrap();
        assert_eq!(
            ipns.resolve(&format!("/ipns/{}", a.name)).unwrap(),
            "/ipfs/QmB"
        );
        let other = ipns.publish("other", "/ipfs/QmC", day, day).unwrap();
        assert_ne!(other.name, a.name);
    }

    #[test]
    fn expired_and_unknown_names_are_not_found() {
        let ipns = ipns();
        let p = ipns
            .publish("self", "/ipfs/QmA", Duration::ZERO, Duration::ZERO)
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(
            ipns.resolve(&p.name),
            Err(BackendError::NotFound(_))
        ));
        let unknown = ipns_name(&Keypair::generate_ed25519().public().to_peer_id());
        assert!(matches!(
            ipns.resolve(&unknown),
            Err(BackendError::NotFound(_))
        ));
        assert!(matches!(
            ipns.resolve("nonsense"),
            Err(BackendError::InvalidInput(_))
        ));
    }
}
