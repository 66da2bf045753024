//! Fuzz target: see `ipfs_mcp::fuzz_checks::metadata_filter` for the property it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ipfs_mcp::fuzz_checks::metadata_filter(data));
