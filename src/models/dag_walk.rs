//! A DAG walked block by block from a root, depth-first in link order: what Kubo's `refs`,
//! `dag stat` and `pin verify` are made of.
//!
//! Each step loads one block (through the backend, identity CIDs from the CID itself) and
//! reports it with its links; the caller decides what to print. `unique` visits a block once
//! however many parents link to it (what `dag stat` counts and `refs --unique` prints);
//! without it a shared block is visited once per path to it, as Kubo's plain `refs -r` does.
//! A block that cannot be loaded is a [`Step::Missing`] and the walk goes on around it, so
//! `pin verify` can list every broken node; callers that need the whole DAG stop there.

use crate::backend::{Backend, BackendError, ipld, resolve};
use cid::Cid;
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// Load blocks at depths below this (the root is depth 0): `Some(1)` reads the root only
    /// and reports its links (`refs` without `-r`). `None`: the whole DAG.
    pub max_depth: Option<usize>,
    /// Visit each block once.
    pub unique: bool,
}

/// One block reached.
#[derive(Debug, Clone)]
pub enum Step {
    Block {
        cid: Cid,
        depth: usize,
        size: usize,
        links: Vec<Cid>,
    },
    Missing {
        cid: Cid,
        error: BackendError,
    },
}

pub struct DagWalk {
    backend: Arc<dyn Backend>,
    stack: Vec<(Cid, usize)>,
    seen: HashSet<Cid>,
    options: WalkOptions,
}

impl DagWalk {
    pub fn new(backend: Arc<dyn Backend>, root: Cid, options: WalkOptions) -> Self {
        Self {
            backend,
            stack: vec![(root, 0)],
            seen: HashSet::from([root]),
            options,
        }
    }

    /// Every distinct block of `root`'s DAG, each once.
    pub fn whole(backend: Arc<dyn Backend>, root: Cid) -> Self {
        let options = WalkOptions {
            max_depth: None,
            unique: true,
        };
        Self::new(backend, root, options)
    }

    /// The next block, or `None` when the walk is over.
    pub async fn next(&mut self) -> Option<Step> {
        let (cid, depth) = self.stack.pop()?;
        let block = match resolve::load(&*self.backend, cid).await {
            Ok(b) => b,
            Err(error) => return Some(Step::Missing { cid, error }),
        };
        let links = match ipld::links(&cid, &block) {
            Ok(l) => l,
            Err(error) => return Some(Step::Missing { cid, error }),
        };
        let deeper = self.options.max_depth.is_none_or(|m| depth + 1 < m);
        if deeper {
            for child in links.iter().rev() {
                if !self.options.unique || self.seen.insert(*child) {
                    self.stack.push((*child, depth + 1));
                }
            }
        }
        Some(Step::Block {
            cid,
            depth,
            size: block.len(),
            links,
        })
    }

    /// The walk as a stream of steps.
    pub fn into_stream(self) -> futures_util::stream::BoxStream<'static, Step> {
        use futures_util::StreamExt;
        futures_util::stream::unfold(self, |mut walk| async move {
            walk.next().await.map(|step| (step, walk))
        })
        .boxed()
    }
}

/// What `dag stat` reports: the DAG's distinct blocks and their total size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DagSize {
    pub blocks: u64,
    pub size: u64,
}

/// Every distinct block of `root`'s DAG; a missing block is an error (the size is unknown).
pub async fn size(backend: Arc<dyn Backend>, root: Cid) -> Result<DagSize, BackendError> {
    let mut walk = DagWalk::whole(backend, root);
    let mut total = DagSize { blocks: 0, size: 0 };
    while let Some(step) = walk.next().await {
        match step {
            Step::Block { size, .. } => {
                total.blocks += 1;
                total.size += size as u64;
            }
            Step::Missing { error, .. } => return Err(error),
        }
    }
    Ok(total)
}

/// The blocks of `root`'s DAG that cannot be read, with why (empty: the DAG is whole).
pub async fn broken(backend: Arc<dyn Backend>, root: Cid) -> Vec<(Cid, BackendError)> {
    let mut walk = DagWalk::whole(backend, root);
    let mut bad = Vec::new();
    while let Some(step) = walk.next().await {
        if let Step::Missing { cid, error } = step {
            bad.push((cid, error));
        }
    }
    bad
}
