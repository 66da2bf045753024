//! The command line: `ipfs-mcp serve [--host --port --debug --isolation --data-dir --backend
//! --config]`. Flags are the last configuration layer (see [`crate::config`]).

use crate::backend::BackendKind;
use crate::config::{CliOverrides, Settings};
use crate::startup::Application;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "ipfs-mcp",
    version,
    about = "A cached HTTP gateway in front of IPFS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Simulation,
    Kubo,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on (0 picks a free one) [default: 8000].
    #[arg(long)]
    pub port: Option<u16>,
    /// Enable /debug, /operations and the X-MCP-* headers.
    #[arg(long)]
    pub debug: bool,
    /// Use a private temporary data dir, removed on exit.
    #[arg(long)]
    pub isolation: bool,
    /// Data directory [default: the user's data dir, e.g. ~/.local/share/ipfs-mcp].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Which node to front [default: simulation].
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// Config file (TOML, or YAML by extension).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl ServeArgs {
    fn overrides(&self) -> CliOverrides {
        CliOverrides {
            host: self.host.clone(),
            port: self.port,
            debug: self.debug,
            isolation: self.isolation,
            data_dir: self.data_dir.clone(),
            backend: self.backend.map(|b| match b {
                BackendArg::Simulation => BackendKind::Simulation,
                BackendArg::Kubo => BackendKind::Kubo,
            }),
        }
    }
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(args) => {
            let settings = match Settings::load(args.config.as_deref(), &args.overrides()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("ipfs-mcp: {e}");
                    return 2;
                }
            };
            crate::telemetry::init(settings.server.debug);
            let app = match Application::build(settings).await {
                Ok(app) => app,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("ipfs-mcp: {e}");
                    return 1;
                }
            };
            match app.run_until_stopped().await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("ipfs-mcp: server error: {e}");
                    1
                }
            }
        }
    }
}
