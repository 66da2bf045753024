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

pub mod car;
pub mod hamt;
pub mod importer;
pub mod options;
pub mod reader;
pub mod tree;

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
/// Multihash code of sha2-256, the only hash Kubo uses by default.
pub const SHA2_256: u64 = 0x12;

/// Computes the sha2-256 CID of `bytes` for `codec`, in the given version.
pub fn cid_of(version: cid::Version, codec: u64, bytes: &[u8]) -> Cid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mh = multihash::Multihash::<64>::wrap(SHA2_256, &digest).expect("32-byte digest fits");
    match version {
        cid::Version::V0 => Cid::new_v0(mh).expect("sha2-256 dag-pb is a valid CIDv0"),
        cid::Version::V1 => Cid::new_v1(codec, mh),
    }
}
