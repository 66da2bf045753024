//! Local IPNS: an Ed25519 key per name, signed records kept in sled.
//!
//! Records are real IPNS records (the `IpnsEntry` protobuf with a DAG-CBOR `data` field and
//! both V1 and V2 signatures), so a later gateway can serve them as `application/vnd.ipfs.ipns-record`.
//! Names print as Kubo prints them: CIDv1 `libp2p-key` in base36 (`k51...`).
//! A key named in `publish` that does not exist yet is generated (Kubo would need `key gen`).
//! Every resolve verifies the stored record's signature and validity.

use crate::backend::{BackendError, NamePublished};
use cid::Cid;
use cid::multibase::Base;
use ipld_core::ipld::Ipld;
use libp2p_identity::{Keypair, PeerId, PublicKey};
use quick_protobuf::{BytesReader, Writer};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// Multicodec `libp2p-key`, the codec of IPNS names.
const LIBP2P_KEY: u64 = 0x72;
/// Recursion limit for names pointing at names (Kubo's is 32).
const MAX_DEPTH: usize = 32;

pub struct Ipns {
    keys: sled::Tree,
    records: sled::Tree,
}

/// A decoded, verified record.
struct Record {
    value: String,
    validity: String,
    sequence: u64,
    /// The publisher's cache hint (`TTL`, nanoseconds in the record).
    ttl: Option<Duration>,
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
            Some(bytes) => parse_record(&peer, &bytes, false)?.sequence + 1,
            None => 0,
        };
        let validity = (chrono::Utc::now()
            + chrono::Duration::from_std(lifetime)
                .map_err(|_| BackendError::InvalidInput("lifetime too large".into()))?)
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let record = build_record(&key, value, &validity, sequence, ttl)?;
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
            let record = parse_record(&peer, &bytes, true)?;
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

    fn load(&self, peer: &PeerId) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.records.get(peer.to_bytes())?.map(|v| v.to_vec()))
    }
}

/// `k51...` form of a peer ID.
pub fn ipns_name(peer: &PeerId) -> String {
    let mh =
        multihash::Multihash::<64>::from_bytes(&peer.to_bytes()).expect("peer IDs are multihashes");
    Cid::new_v1(LIBP2P_KEY, mh)
        .to_string_of_base(Base::Base36Lower)
        .expect("base36 is valid for CIDv1")
}

fn parse_name(name: &str) -> Result<PeerId, BackendError> {
    let name = name.trim().trim_start_matches("/ipns/");
    let name = name.split('/').next().unwrap_or_default();
    let bad = || {
        BackendError::InvalidInput(format!(
            "invalid IPNS name {name:?}: expected a k51... name or a peer ID (DNSLink is not \
             available offline)"
        ))
    };
    if let Ok(peer) = PeerId::from_str(name) {
        return Ok(peer);
    }
    let cid = Cid::try_from(name).map_err(|_| bad())?;
    if cid.codec() != LIBP2P_KEY {
        return Err(bad());
    }
    PeerId::from_bytes(&cid.hash().to_bytes()).map_err(|_| bad())
}

fn cbor_data(
    value: &str,
    validity: &str,
    sequence: u64,
    ttl: Duration,
) -> Result<Vec<u8>, BackendError> {
    let map: BTreeMap<String, Ipld> = [
        ("Value".to_string(), Ipld::Bytes(value.as_bytes().to_vec())),
        (
            "Validity".to_string(),
            Ipld::Bytes(validity.as_bytes().to_vec()),
        ),
        ("ValidityType".to_string(), Ipld::Integer(0)),
        ("Sequence".to_string(), Ipld::Integer(sequence.into())),
        ("TTL".to_string(), Ipld::Integer(ttl.as_nanos() as i128)),
    ]
    .into_iter()
    .collect();
    serde_ipld_dagcbor::to_vec(&Ipld::Map(map)).map_err(|e| BackendError::Internal(e.to_string()))
}

fn build_record(
    key: &Keypair,
    value: &str,
    validity: &str,
    sequence: u64,
    ttl: Duration,
) -> Result<Vec<u8>, BackendError> {
    let sign = |msg: &[u8]| {
        key.sign(msg)
            .map_err(|e| BackendError::Internal(e.to_string()))
    };
    let data = cbor_data(value, validity, sequence, ttl)?;
    let sig_v1 = sign(&[value.as_bytes(), validity.as_bytes(), b"EOL"].concat())?;
    let sig_v2 = sign(&[b"ipns-signature:".as_slice(), &data].concat())?;
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out);
    let pb = |e: quick_protobuf::Error| BackendError::Internal(e.to_string());
    w.write_with_tag(10, |w| w.write_bytes(value.as_bytes()))
        .map_err(pb)?;
    w.write_with_tag(18, |w| w.write_bytes(&sig_v1))
        .map_err(pb)?;
    w.write_with_tag(24, |w| w.write_uint64(0)).map_err(pb)?;
    w.write_with_tag(34, |w| w.write_bytes(validity.as_bytes()))
        .map_err(pb)?;
    w.write_with_tag(40, |w| w.write_uint64(sequence))
        .map_err(pb)?;
    w.write_with_tag(48, |w| w.write_uint64(ttl.as_nanos() as u64))
        .map_err(pb)?;
    w.write_with_tag(66, |w| w.write_bytes(&sig_v2))
        .map_err(pb)?;
    w.write_with_tag(74, |w| w.write_bytes(&data)).map_err(pb)?;
    Ok(out)
}

fn parse_record(peer: &PeerId, bytes: &[u8], check: bool) -> Result<Record, BackendError> {
    let corrupt = |what: &str| BackendError::Storage(format!("IPNS record of {peer}: {what}"));
    let mut reader = BytesReader::from_bytes(bytes);
    let (mut sig_v2, mut data) = (None, None);
    while !reader.is_eof() {
        let tag = reader
            .next_tag(bytes)
            .map_err(|_| corrupt("bad protobuf"))?;
        match tag {
            66 => {
                sig_v2 = Some(
                    reader
                        .read_bytes(bytes)
                        .map_err(|_| corrupt("bad signature"))?,
                )
            }
            74 => data = Some(reader.read_bytes(bytes).map_err(|_| corrupt("bad data"))?),
            t => reader
                .read_unknown(bytes, t)
                .map_err(|_| corrupt("bad field"))?,
        }
    }
    let (sig_v2, data) = sig_v2
        .zip(data)
        .ok_or_else(|| corrupt("missing V2 fields"))?;
    let mh = multihash::Multihash::<64>::from_bytes(&peer.to_bytes())
        .map_err(|_| corrupt("bad peer id"))?;
    let public = PublicKey::try_decode_protobuf(mh.digest())
        .map_err(|_| corrupt("peer id does not inline an Ed25519 key"))?;
    if !public.verify(&[b"ipns-signature:".as_slice(), data].concat(), sig_v2) {
        return Err(corrupt("signature does not verify"));
    }
    let fields: BTreeMap<String, Ipld> =
        serde_ipld_dagcbor::from_slice(data).map_err(|_| corrupt("data is not dag-cbor"))?;
    let text = |k: &str| match fields.get(k) {
        Some(Ipld::Bytes(b)) => String::from_utf8(b.clone()).map_err(|_| corrupt(k)),
        _ => Err(corrupt(k)),
    };
    let record = Record {
        value: text("Value")?,
        validity: text("Validity")?,
        sequence: match fields.get("Sequence") {
            Some(Ipld::Integer(n)) => *n as u64,
            _ => return Err(corrupt("Sequence")),
        },
        ttl: match fields.get("TTL") {
            Some(Ipld::Integer(n)) if *n >= 0 => Some(Duration::from_nanos(*n as u64)),
            _ => None,
        },
    };
    if check {
        let expires = chrono::DateTime::parse_from_rfc3339(&record.validity)
            .map_err(|_| corrupt("Validity is not RFC 3339"))?;
        if expires < chrono::Utc::now() {
            return Err(BackendError::NotFound(format!(
                "IPNS record of {} expired at {}",
                ipns_name(peer),
                record.validity
            )));
        }
    }
    Ok(record)
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
