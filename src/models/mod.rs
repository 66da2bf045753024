//! Models: the service's logic, between controllers (HTTP) and the backend (IPFS node).
//!
//! Invariant: models know nothing of HTTP; they take and return plain Rust types and
//! [`crate::backend::BackendError`] (or their own error enum, as `auth`). Controllers are the
//! only callers.

pub mod auth;
pub mod car;
pub mod dag_walk;
pub mod health;
pub mod ipfs;
pub mod listing;
pub mod memory;
pub mod operations;
pub mod range;
pub mod ratelimit;
pub mod runtime;
pub mod sniff;
pub mod stats;
pub mod tar;
pub mod worker_memo;

pub use ipfs::IpfsModel;
