//! IPNS records: names, and the verification every record passes before it is stored or
//! believed (the IPNS record spec, as the gateway conformance suite tests it).
//!
//! A record is the `IpnsEntry` protobuf. Only its V2 form is trusted: `signatureV2` over
//! `"ipns-signature:" + data`, where `data` is DAG-CBOR holding `Value`, `Validity`,
//! `ValidityType`, `Sequence` and `TTL`. The key is the one inlined in the name (Ed25519), or
//! the record's `pubKey` field (RSA), which must hash to the name. V1 fields, when present,
//! must say the same as `data` (a record whose V1 and V2 disagree is refused); the V1
//! signature is not checked (it signs less). Records are at most 10 KiB, and expired ones are
//! refused.

use super::BackendError;
use cid::Cid;
use cid::multibase::Base;
use ipld_core::ipld::Ipld;
use libp2p_identity::{Keypair, PeerId, PublicKey};
use quick_protobuf::Writer;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// Multicodec `libp2p-key`, the codec of IPNS names.
pub const LIBP2P_KEY: u64 = 0x72;
/// The spec's size limit for a record.
pub const MAX_RECORD_BYTES: usize = 10 * 1024;

/// A verified record's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub value: String,
    pub validity: String,
    pub sequence: u64,
    /// The publisher's cache hint (`TTL`, nanoseconds in the record).
    pub ttl: Option<Duration>,
}

/// `k51...` form of a peer ID (base36 CIDv1, libp2p-key).
pub fn ipns_name(peer: &PeerId) -> String {
    let mh =
        multihash::Multihash::<64>::from_bytes(&peer.to_bytes()).expect("peer IDs are multihashes");
    Cid::new_v1(LIBP2P_KEY, mh)
        .to_string_of_base(Base::Base36Lower)
        .expect("base36 is valid for CIDv1")
}

/// The peer an IPNS name (`k51...`, `12D3...`, `Qm...`, `/ipns/...`) names.
pub fn parse_name(name: &str) -> Result<PeerId, BackendError> {
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

/// The protobuf fields of a record.
#[derive(Default)]
struct Entry<'a> {
    value: Option<&'a [u8]>,
    validity_type: Option<u64>,
    validity: Option<&'a [u8]>,
    sequence: Option<u64>,
    ttl: Option<u64>,
    pub_key: Option<&'a [u8]>,
    signature_v2: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
}

fn entry(bytes: &[u8]) -> Option<Entry<'_>> {
    use crate::unixfs::Field;
    let mut e = Entry::default();
    crate::unixfs::scan_fields(bytes, |field, value| match (field, value) {
        (1, Field::Bytes(b)) => e.value = Some(b),
        (3, Field::Varint(v)) => e.validity_type = Some(v),
        (4, Field::Bytes(b)) => e.validity = Some(b),
        (5, Field::Varint(v)) => e.sequence = Some(v),
        (6, Field::Varint(v)) => e.ttl = Some(v),
        (7, Field::Bytes(b)) => e.pub_key = Some(b),
        (8, Field::Bytes(b)) => e.signature_v2 = Some(b),
        (9, Field::Bytes(b)) => e.data = Some(b),
        _ => {}
    })?;
    Some(e)
}

/// The key that signs `peer`'s records: inlined in the peer id, else the record's `pubKey`.
fn public_key(peer: &PeerId, pub_key: Option<&[u8]>) -> Result<PublicKey, String> {
    let mh = multihash::Multihash::<64>::from_bytes(&peer.to_bytes())
        .map_err(|_| "bad peer id".to_string())?;
    if mh.code() == 0x00 {
        return PublicKey::try_decode_protobuf(mh.digest())
            .map_err(|e| format!("the name's inlined key does not decode: {e}"));
    }
    let bytes = pub_key.ok_or("the name does not inline its key and the record has no pubKey")?;
    let key = PublicKey::try_decode_protobuf(bytes).map_err(|e| {
        format!("pubKey does not decode (RSA, Ed25519 and secp256k1 are known): {e}")
    })?;
    if key.to_peer_id() != *peer {
        return Err("pubKey does not belong to the name".into());
    }
    Ok(key)
}

/// Verifies `bytes` as a record of `peer`; `check_expiry` refuses an expired one.
pub fn verify(peer: &PeerId, bytes: &[u8], check_expiry: bool) -> Result<Record, BackendError> {
    let name = ipns_name(peer);
    let bad = |what: String| BackendError::InvalidInput(format!("IPNS record of {name}: {what}"));
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(bad(format!(
            "{} bytes is over the {MAX_RECORD_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let e = entry(bytes).ok_or_else(|| bad("not an IpnsEntry protobuf".into()))?;
    let (sig, data) = e
        .signature_v2
        .zip(e.data)
        .ok_or_else(|| bad("no V2 signature (V1-only records are not trusted)".into()))?;
    let key = public_key(peer, e.pub_key).map_err(bad)?;
    if !key.verify(&[b"ipns-signature:".as_slice(), data].concat(), sig) {
        return Err(bad("the V2 signature does not verify".into()));
    }
    let fields: BTreeMap<String, Ipld> = serde_ipld_dagcbor::from_slice(data)
        .map_err(|_| bad("data is not a DAG-CBOR map".into()))?;
    let bytes_of = |k: &str| match fields.get(k) {
        Some(Ipld::Bytes(b)) => Ok(b.as_slice()),
        _ => Err(bad(format!("data has no {k}"))),
    };
    let int_of = |k: &str| match fields.get(k) {
        Some(Ipld::Integer(n)) if *n >= 0 => Ok(*n as u64),
        _ => Err(bad(format!("data has no {k}"))),
    };
    let (value, validity) = (bytes_of("Value")?, bytes_of("Validity")?);
    let (sequence, ttl, validity_type) = (
        int_of("Sequence")?,
        int_of("TTL").ok(),
        int_of("ValidityType")?,
    );
    // V1 fields, when present, must agree with the signed data
    let disagrees = e.value.is_some_and(|v| v != value)
        || e.validity.is_some_and(|v| v != validity)
        || e.validity_type.is_some_and(|v| v != validity_type)
        || e.sequence.is_some_and(|v| v != sequence)
        || e.ttl.zip(ttl).is_some_and(|(a, b)| a != b);
    if disagrees {
        return Err(bad("its V1 fields disagree with its signed V2 data".into()));
    }
    let text = |b: &[u8], k: &str| {
        String::from_utf8(b.to_vec()).map_err(|_| bad(format!("{k} is not UTF-8")))
    };
    let record = Record {
        value: text(value, "Value")?,
        validity: text(validity, "Validity")?,
        sequence,
        ttl: ttl.map(Duration::from_nanos),
    };
    if check_expiry {
        let expires = chrono::DateTime::parse_from_rfc3339(&record.validity)
            .map_err(|_| bad("Validity is not RFC 3339".into()))?;
        if expires < chrono::Utc::now() {
            return Err(BackendError::NotFound(format!(
                "IPNS record of {name} expired at {}",
                record.validity
            )));
        }
    }
    Ok(record)
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

/// A record of `value` signed by `key` (both signatures; `pubKey` included when the name
/// cannot inline the key, as for RSA).
pub fn build(
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
    // a peer id that is not an identity multihash (RSA: a sha2-256 of the key) cannot
    // carry the key, so the record does
    let public = key.public();
    if public.to_peer_id().to_bytes()[0] != 0x00 {
        w.write_with_tag(58, |w| w.write_bytes(&public.encode_protobuf()))
            .map_err(pb)?;
    }
    w.write_with_tag(66, |w| w.write_bytes(&sig_v2))
        .map_err(pb)?;
    w.write_with_tag(74, |w| w.write_bytes(&data)).map_err(pb)?;
    Ok(out)
}
