//! HAMT-sharded UnixFS directories (UnixFS type 5), read and written the way Kubo and the
//! current `ipfs-unixfs-importer` do.
//!
//! A shard is a dag-pb node whose UnixFS data carries a bitfield of occupied slots, the hash
//! function (0x22, murmur3 x64 64: the first 8 bytes of murmur3 x64 128) and the fanout (256).
//! An entry's slot at depth `d` is the `d`-th group of `log2(fanout)` bits of its name's hash,
//! most significant first. A slot holding one entry is a link named `XX<name>` (`XX`: the slot
//! in upper-case hex, padded to the fanout's width); a slot where names collide is a link
//! named `XX` to a sub-shard one level down. Links are in slot order.
//!
//! Writing is static (the whole entry list is known), which gives the same tree as the JS
//! importer's insert-one-by-one: a slot that ever held two names becomes a sub-shard, and
//! nothing is ever removed. The bitfield is the occupied slots as a big-endian integer in as
//! few bytes as hold the highest slot (bit `i` is slot `i`), as that importer writes it.
//!
//! Reading never trusts a shard: links must carry the slot prefix, sub-shards must be shards.
//! Lookups hash the name and follow one link per level (no scan of the whole directory).

use super::{Block, DAG_PB, varint};
use bytes::Bytes;
use cid::{Cid, Version};
use ipld_dagpb::{PbLink, PbNode};

/// UnixFS `Data.Type` of a HAMT shard.
pub const HAMT_SHARD: u64 = 5;
/// Multicodec of murmur3-x64-64, the only HAMT hash in use.
pub const MURMUR3_X64_64: u64 = 0x22;
/// Kubo's and the JS importer's fanout (8 bits per level).
pub const FANOUT: u64 = 256;
/// A 64-bit hash gives 8 levels of 8 bits; past that names would need rehashing, which no
/// real directory reaches (it takes a 64-bit collision).
const MAX_DEPTH: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HamtError {
    #[error("{0} is not a valid HAMT shard: {1}")]
    Invalid(Cid, String),
    #[error("names collide in all 64 bits of their hash under one shard")]
    HashExhausted,
}

/// The 64-bit HAMT hash of a name (big-endian first half of murmur3 x64 128, seed 0).
pub fn hash(name: &str) -> u64 {
    let h = murmur3::murmur3_x64_128(&mut std::io::Cursor::new(name.as_bytes()), 0)
        .expect("reading from memory cannot fail");
    h as u64
}

/// The slot of `hash` at `depth` in a shard of `bits` bits per level.
fn slot(hash: u64, depth: usize, bits: u32) -> Option<usize> {
    let used = bits as usize * (depth + 1);
    (used <= 64).then(|| ((hash >> (64 - used)) & ((1u64 << bits) - 1)) as usize)
}

/// Width of a slot label: hex digits of `fanout - 1`.
fn label_width(fanout: u64) -> usize {
    format!("{:X}", fanout - 1).len()
}

/// The UnixFS data of a shard node.
fn shard_data(bitfield: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, HAMT_SHARD as u8, 0x12];
    varint(&mut out, bitfield.len() as u64);
    out.extend_from_slice(bitfield);
    out.extend_from_slice(&[0x28, MURMUR3_X64_64 as u8, 0x30]);
    varint(&mut out, FANOUT);
    out
}

/// The bitfield of occupied `slots` (ascending), encoded as the JS importer does (checked
/// against its `sparse-array`: slot 7 is `80`, slot 8 is `0100`, slot 255 is 32 bytes).
fn bitfield(slots: &[usize]) -> Vec<u8> {
    let Some(&max) = slots.last() else {
        return Vec::new();
    };
    let mut bytes = vec![0u8; max / 8 + 1];
    for &s in slots {
        bytes[s / 8] |= 1 << (s % 8);
    }
    bytes.reverse();
    bytes
}

/// One entry of a directory being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub name: String,
    pub cid: Cid,
    /// Cumulative size of the target (the dag-pb link's Tsize).
    pub tsize: u64,
}

/// A rendered node: its CID and the cumulative size of everything under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendered {
    pub cid: Cid,
    pub tsize: u64,
}

/// Writes `links` (distinct names) as a HAMT; every shard block goes to `sink`, the root last.
pub fn write<E>(
    links: Vec<Link>,
    version: Version,
    sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
) -> Result<Result<Rendered, HamtError>, E> {
    let hashed = links.into_iter().map(|l| (hash(&l.name), l)).collect();
    write_level(hashed, 0, version, sink)
}

fn write_level<E>(
    entries: Vec<(u64, Link)>,
    depth: usize,
    version: Version,
    sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
) -> Result<Result<Rendered, HamtError>, E> {
    if depth >= MAX_DEPTH {
        return Ok(Err(HamtError::HashExhausted));
    }
    let mut slots: Vec<Vec<(u64, Link)>> = (0..FANOUT).map(|_| Vec::new()).collect();
    for (h, link) in entries {
        let s = slot(h, depth, 8).expect("depth < 8");
        slots[s].push((h, link));
    }
    let mut occupied = Vec::new();
    let mut pb_links = Vec::new();
    let mut children_size = 0u64;
    for (s, mut here) in slots.into_iter().enumerate() {
        let (name, cid, tsize) = match here.len() {
            0 => continue,
            1 => {
                let (_, link) = here.pop().expect("one entry");
                (format!("{s:02X}{}", link.name), link.cid, link.tsize)
            }
            _ => match write_level(here, depth + 1, version, sink)? {
                Ok(sub) => (format!("{s:02X}"), sub.cid, sub.tsize),
                Err(e) => return Ok(Err(e)),
            },
        };
        occupied.push(s);
        children_size += tsize;
        pb_links.push(PbLink {
            cid,
            name: Some(name),
            size: Some(tsize),
        });
    }
    let node = PbNode {
        links: pb_links,
        data: Some(Bytes::from(shard_data(&bitfield(&occupied)))),
    };
    let block = node.into_bytes();
    let cid = super::cid_of(version, DAG_PB, &block);
    let tsize = block.len() as u64 + children_size;
    sink(cid, Block::from(block))?;
    Ok(Ok(Rendered { cid, tsize }))
}

/// A link of a shard node, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardLink {
    /// A directory entry: its name (without the slot label), CID and cumulative size.
    Entry { name: String, cid: Cid, size: u64 },
    /// A sub-shard one level down.
    Shard(Cid),
}

/// A shard node, parsed and checked.
pub struct Shard {
    pub links: Vec<(usize, ShardLink)>,
    bits: u32,
}

/// Whether a dag-pb block is a HAMT shard (by its UnixFS type).
pub fn is_shard(cid: &Cid, block: &[u8]) -> bool {
    cid.codec() == DAG_PB
        && matches!(
            rust_unixfs::dir::describe(block),
            rust_unixfs::dir::NodeDescription::HamtShard { .. }
        )
}

impl Shard {
    /// Parses a shard block: the fanout must be a power of two up to 256 and the hash
    /// murmur3; every link must start with a valid slot label.
    pub fn parse(cid: &Cid, block: &Bytes) -> Result<Self, HamtError> {
        let bad = |why: String| HamtError::Invalid(*cid, why);
        let node = PbNode::from_bytes(block.clone()).map_err(|e| bad(format!("dag-pb: {e}")))?;
        let data = node.data.clone().unwrap_or_default();
        let (fanout, hash_type) = shard_params(&data).ok_or_else(|| bad("not a shard".into()))?;
        if hash_type != MURMUR3_X64_64 {
            return Err(bad(format!("unsupported hash function 0x{hash_type:x}")));
        }
        if !(2..=FANOUT).contains(&fanout) || !fanout.is_power_of_two() {
            return Err(bad(format!("unsupported fanout {fanout}")));
        }
        let bits = fanout.trailing_zeros();
        let width = label_width(fanout);
        let mut links = Vec::with_capacity(node.links.len());
        for l in node.links {
            let name = l.name.unwrap_or_default();
            let label = name
                .get(..width)
                .ok_or_else(|| bad(format!("link {name:?} has no slot label")))?;
            let index = usize::from_str_radix(label, 16)
                .ok()
                .filter(|i| (*i as u64) < fanout)
                .ok_or_else(|| bad(format!("link {name:?} has no slot label")))?;
            let link = if name.len() == width {
                ShardLink::Shard(l.cid)
            } else {
                ShardLink::Entry {
                    name: name[width..].to_string(),
                    cid: l.cid,
                    size: l.size.unwrap_or(0),
                }
            };
            links.push((index, link));
        }
        Ok(Self { links, bits })
    }

    /// Where `name` is to be found from this shard at `depth`: here, one level down, or
    /// nowhere.
    pub fn find(&self, name: &str, depth: usize) -> Result<Lookup, HamtError> {
        let want = slot(hash(name), depth, self.bits).ok_or(HamtError::HashExhausted)?;
        for (index, link) in &self.links {
            if *index != want {
                continue;
            }
            match link {
                ShardLink::Shard(cid) => return Ok(Lookup::Descend(*cid)),
                ShardLink::Entry { name: n, cid, .. } if n == name => {
                    return Ok(Lookup::Found(*cid));
                }
                ShardLink::Entry { .. } => {}
            }
        }
        Ok(Lookup::Missing)
    }
}

/// The outcome of [`Shard::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Found(Cid),
    Descend(Cid),
    Missing,
}

/// Fanout and hash type from a UnixFS `Data` message of type 5, if it is one.
fn shard_params(data: &[u8]) -> Option<(u64, u64)> {
    use super::Field;
    let (mut kind, mut fanout, mut hash_type) = (None, None, None);
    super::scan_fields(data, |field, value| {
        if let Field::Varint(v) = value {
            match field {
                1 => kind = Some(v),
                5 => hash_type = Some(v),
                6 => fanout = Some(v),
                _ => {}
            }
        }
    })?;
    (kind == Some(HAMT_SHARD)).then_some((fanout?, hash_type?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_the_first_half_of_murmur3_x64_128() {
        // @multiformats/murmur3's murmur3128("hello") = cbd8a7b341bd9b02 5b1e906a48ae1d19
        assert_eq!(hash("hello"), 0xcbd8a7b341bd9b02);
        assert_eq!(hash("a"), 0x85555565f6597889);
        assert_eq!(slot(0xcbd8a7b341bd9b02, 0, 8), Some(0xcb));
        assert_eq!(slot(0xcbd8a7b341bd9b02, 1, 8), Some(0xd8));
        assert_eq!(slot(0xcbd8a7b341bd9b02, 0, 4), Some(0xc));
        assert_eq!(slot(1, 8, 8), None);
    }

    #[test]
    fn bitfields_pack_like_sparse_array() {
        // vectors printed by the JS importer's sparse-array
        assert_eq!(bitfield(&[0]), vec![1]);
        assert_eq!(bitfield(&[7]), vec![0x80]);
        assert_eq!(bitfield(&[8]), vec![0x01, 0x00]);
        assert_eq!(bitfield(&[13]), vec![0x20, 0x00]);
        assert_eq!(bitfield(&[64]), vec![1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut ends = vec![0x80];
        ends.extend([0; 30]);
        ends.push(0x01);
        assert_eq!(bitfield(&[0, 255]), ends);
    }
}
