//! UnixFS: turning byte streams into Kubo-identical DAGs and reading them back.
//!
//! * [`importer`] builds the DAG (fixed-size chunker, balanced layout, 174 links per node,
//!   dag-pb or raw leaves, CIDv0/v1, optional wrapping directory) from a stream, holding at most
//!   one chunk plus the pending links of each tree level.
//! * [`reader`] walks a file DAG for a byte range and fetches only the blocks that cover it.
//! * [`options`] parses Kubo's `add` parameters (`cid-version`, `raw-leaves`, `chunker`, ...).
//!
//! Invariant: this module does no I/O of its own. Blocks leave the importer through a sink and
//! enter the reader through a [`reader::BlockSource`], so the same code serves every backend.

pub mod block;
pub mod car;
pub mod hamt;
pub mod importer;
pub mod options;
pub mod reader;
pub mod tree;

pub use block::Block;
pub use importer::{ImportSummary, Importer};
pub use options::{ImportOptions, OptionsError};

use cid::Cid;

/// Multicodec of dag-pb, the codec of UnixFS nodes.
pub const DAG_PB: u64 = 0x70;
/// Multicodec of raw blocks (raw leaves).
pub const RAW: u64 = 0x55;
/// Multicodec of dag-cbor.
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec of dag-json.
pub const DAG_JSON: u64 = 0x0129;
/// Multicodec of plain JSON.
pub const JSON: u64 = 0x0200;
/// Multicodec of plain CBOR.
pub const CBOR: u64 = 0x51;
/// Multihash code of sha2-256, the only hash Kubo uses by default.
pub const SHA2_256: u64 = 0x12;

/// Computes the sha2-256 CID of `bytes` for `codec`, in the given version.
pub fn cid_of(version: cid::Version, codec: u64, bytes: &[u8]) -> Cid {
    cid_of_parts(version, codec, &[bytes])
}

/// [`cid_of`] a block in pieces, hashed where they lie.
pub fn cid_of_block(version: cid::Version, codec: u64, block: &Block) -> Cid {
    let parts: Vec<&[u8]> = block.parts().iter().map(|p| &p[..]).collect();
    cid_of_parts(version, codec, &parts)
}

fn cid_of_parts(version: cid::Version, codec: u64, parts: &[&[u8]]) -> Cid {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mh = multihash::Multihash::<64>::wrap(SHA2_256, &digest).expect("32-byte digest fits");
    match version {
        cid::Version::V0 => Cid::new_v0(mh).expect("sha2-256 dag-pb is a valid CIDv0"),
        cid::Version::V1 => Cid::new_v1(codec, mh),
    }
}

/// Appends `v` as a protobuf varint (LEB128, the same bytes as an unsigned-varint; the
/// encoder's half of [`scan_fields`]).
pub(crate) fn varint(out: &mut Vec<u8>, v: u64) {
    let mut buf = unsigned_varint::encode::u64_buffer();
    out.extend_from_slice(unsigned_varint::encode::u64(v, &mut buf));
}

/// A field of a protobuf message, as [`scan_fields`] reads it.
pub enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// Calls `f` with each (field number, value) of the protobuf message `data`; `None` if it
/// does not parse. Enough to read UnixFS `Data` without a generated schema (rust-unixfs keeps
/// its own private).
pub fn scan_fields<'a>(mut data: &'a [u8], mut f: impl FnMut(u64, Field<'a>)) -> Option<()> {
    use unsigned_varint::decode::u64 as varint;
    while !data.is_empty() {
        let (key, rest) = varint(data).ok()?;
        data = rest;
        match key & 7 {
            0 => {
                let (v, rest) = varint(data).ok()?;
                data = rest;
                f(key >> 3, Field::Varint(v));
            }
            2 => {
                let (len, rest) = varint(data).ok()?;
                let len = usize::try_from(len).ok()?;
                f(key >> 3, Field::Bytes(rest.get(..len)?));
                data = &rest[len..];
            }
            5 => data = data.get(4..)?,
            1 => data = data.get(8..)?,
            _ => return None,
        }
    }
    Some(())
}

/// UnixFS `Data.Type` of a symlink.
pub const SYMLINK: u64 = 4;

/// The UnixFS type and `Data` bytes of a dag-pb block.
pub fn unixfs_data(block: &[u8]) -> Option<(u64, bytes::Bytes)> {
    let node = ipld_dagpb::PbNode::from_bytes(bytes::Bytes::copy_from_slice(block)).ok()?;
    let data = node.data?;
    let (mut kind, mut inner) = (None, bytes::Bytes::new());
    scan_fields(&data, |field, value| match (field, value) {
        (1, Field::Varint(v)) => kind = Some(v),
        (2, Field::Bytes(b)) => inner = bytes::Bytes::copy_from_slice(b),
        _ => {}
    })?;
    Some((kind?, inner))
}
