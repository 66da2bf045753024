//! The pin set: which roots the node keeps, recursively or directly. Stored in sled and
//! flushed before a change is acknowledged.

use crate::backend::{BackendError, Pin, PinKind};
use cid::Cid;

pub struct PinStore {
    tree: sled::Tree,
}

impl PinStore {
    pub fn open(db: &sled::Db) -> Result<Self, BackendError> {
        Ok(Self {
            tree: db.open_tree("pins")?,
        })
    }

    pub fn get(&self, cid: &Cid) -> Result<Option<PinKind>, BackendError> {
        Ok(self.tree.get(cid.to_bytes())?.map(|v| decode_kind(&v)))
    }

    pub fn set(&self, cid: &Cid, kind: PinKind) -> Result<(), BackendError> {
        self.tree.insert(cid.to_bytes(), kind.as_str().as_bytes())?;
        self.tree.flush()?;
        Ok(())
    }

    pub fn remove(&self, cid: &Cid) -> Result<(), BackendError> {
        self.tree.remove(cid.to_bytes())?;
        self.tree.flush()?;
        Ok(())
    }

    /// Direct and recursive pins (indirect ones are derived by walking recursive pins).
    pub fn list(&self) -> Result<Vec<Pin>, BackendError> {
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (k, v) = item?;
            let cid = Cid::try_from(&k[..])
                .map_err(|e| BackendError::Storage(format!("corrupt pin key: {e}")))?;
            out.push(Pin {
                cid,
                kind: decode_kind(&v),
            });
        }
        Ok(out)
    }
}

fn decode_kind(v: &[u8]) -> PinKind {
    if v == b"direct" {
        PinKind::Direct
    } else {
        PinKind::Recursive
    }
}
