//! ipfs-mcp: a cached, production-grade HTTP gateway in front of IPFS.
//!
//! Layers (see ARCHITECTURE.md): [`controllers`] (HTTP) -> [`models`] (logic) -> [`backend`]
//! (an IPFS node behind one trait). [`unixfs`] is the shared importer/reader; [`startup`] wires
//! everything and owns the route table.

pub mod alloc;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod config;
pub mod controllers;
pub mod fuzz_checks;
pub mod metrics;
pub mod models;
pub mod persistence;
pub mod secret;
pub mod startup;
pub mod telemetry;
pub mod unixfs;
