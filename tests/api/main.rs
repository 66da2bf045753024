//! Black-box HTTP tests: the real server on port 0, an isolated data dir, a real client.

#[path = "../common/mod.rs"]
mod common;

mod add;
mod add_tree;
mod auth;
mod batch;
mod cache;
mod car;
mod clients;

mod config;
mod conformance;
mod content;
mod encoding;
mod errors;
mod gateway;
mod helpers;
mod kubo;
mod malformed;
mod mcp;
mod metrics;
mod migrations;
mod node;
mod openapi;
mod pins_blocks_dag;
mod ratelimit;
mod rpc;
mod streaming;
mod system;
mod tls;
mod tracing;
