//! Fuzz target: see `ipfs_mcp::fuzz_checks::upload_name` for the property it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipfs_mcp::fuzz_checks::upload_name(data));
