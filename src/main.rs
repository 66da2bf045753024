//! The `ipfs-mcp` binary: parse the command line and hand over to [`ipfs_mcp::cli`].

use clap::Parser;

#[actix_web::main]
async fn main() {
    let code = ipfs_mcp::cli::run(ipfs_mcp::cli::Cli::parse()).await;
    std::process::exit(code);
}
