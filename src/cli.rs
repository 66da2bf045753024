//! The command line: `ipfs-mcp serve [--host --port --debug --isolation --data-dir --backend
//! --kubo-url --config]` (flags are the last configuration layer, see [`crate::config`]) and
//! `ipfs-mcp bench [--only --sizes --rows --seconds --dir --json]` and `ipfs-mcp keys
//! create|list|revoke` (the API keys in the data dir).

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
    /// Serve the Model Context Protocol over stdin/stdout, for desktop agents (the HTTP API
    /// listens beside it: on --port, else on a free port). Logs go to stderr.
    Mcp(ServeArgs),
    /// Benchmark the cache tiers on this machine against the raw crates under them.
    Bench(BenchArgs),
    /// Manage the API keys in the data dir (a running server picks changes up within a second).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show, save, validate or convert the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (defaults < --config < IPFS_MCP__* environment).
    Show {
        #[arg(long, default_value = "toml")]
        format: String,
        #[arg(long)]
        include_secrets: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Write the effective settings to a file (refused if it exists, unless --overwrite).
    Save {
        path: PathBuf,
        /// [default: by the file's extension, else toml]
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        include_secrets: bool,
        #[arg(long)]
        overwrite: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a config file; each error names its field.
    Validate { file: PathBuf },
    /// Print a config file's settings in another format.
    Convert {
        file: PathBuf,
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (once: only its hash is kept).
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: read, write, pin, admin.
        #[arg(long)]
        scopes: String,
        /// Its own rate, e.g. 600/min [default: auth.default_rate].
        #[arg(long)]
        rate: Option<String>,
        #[arg(long)]
        burst: Option<u32>,
        /// Lifetime, e.g. 30d.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        at: KeysAt,
    },
    /// List the keys (never their secrets).
    List {
        #[command(flatten)]
        at: KeysAt,
    },
    /// Revoke a key by id; its tokens stop working too.
    Revoke {
        id: String,
        #[command(flatten)]
        at: KeysAt,
    },
}

/// Where the keys live.
#[derive(Debug, clap::Args)]
pub struct KeysAt {
    /// Data directory [default: the one `serve` uses].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Config file (for its data dir and auth settings).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Only workloads whose name contains this (memory, disk, tiered, metadata, disk/get...).
    #[arg(long)]
    pub only: Option<String>,
    /// Object sizes, comma-separated (K/M suffixes).
    #[arg(long, value_delimiter = ',', default_value = "1K,64K,1M", value_parser = parse_size)]
    pub sizes: Vec<usize>,
    /// Rows in the metadata table for the query workload.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// Seconds of measurement per workload.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Scratch directory (on the disk you want to measure) [default: the system temp dir].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1024),
        Some((i, 'M' | 'm')) => (&s[..i], 1024 * 1024),
        _ => (s, 1),
    };
    match num.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n * mult),
        _ => Err(format!("invalid size {s:?}: expected e.g. 4096, 64K or 1M")),
    }
}

fn bench(args: BenchArgs) -> i32 {
    let base = args.dir.unwrap_or_else(std::env::temp_dir);
    let scratch = match tempfile::Builder::new()
        .prefix("ipfs-mcp-bench-")
        .tempdir_in(&base)
    {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "ipfs-mcp: cannot make a scratch dir in {}: {e}",
                base.display()
            );
            return 1;
        }
    };
    let options = crate::bench::BenchOptions {
        filter: args.only,
        sizes: args.sizes,
        rows: args.rows,
        seconds: args.seconds,
        progress: !args.json,
    };
    // on a plain thread: the workloads poll futures outside any runtime's task budget
    let (path, opts) = (scratch.path().to_path_buf(), options.clone());
    let results = std::thread::spawn(move || crate::bench::run(&opts, &path))
        .join()
        .unwrap_or_default();
    if results.is_empty() {
        eprintln!("ipfs-mcp: no workload matches {:?}", options.filter);
        return 2;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).unwrap_or_default()
        );
    } else {
        print!("{}", crate::bench::table(&results));
        println!(
            "ratio = ours / raw crate on the same workload (1.00x: no overhead); scratch: {}",
            base.display()
        );
    }
    0
}

fn config(cmd: ConfigCommand) -> Result<i32, String> {
    use crate::config::document::Format;
    let read = |file: &std::path::Path| -> Result<(String, Format), String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok((text, Format::of_path(file).unwrap_or(Format::Toml)))
    };
    let format_of = |f: &str| Format::parse(f).map_err(|e| e.to_string());
    match cmd {
        ConfigCommand::Show {
            format,
            include_secrets,
            config,
        } => {
            let s = Settings::load(config.as_deref(), &CliOverrides::default())
                .map_err(|e| e.to_string())?;
            print!(
                "{}",
                s.render(format_of(&format)?, include_secrets)
                    .map_err(|e| e.to_string())?
            );
            Ok(0)
        }
        ConfigCommand::Save {
            path,
            format,
            include_secrets,
            overwrite,
            config,
        } => {
            if path.exists() && !overwrite {
                return Err(format!(
                    "{} exists; pass --overwrite to replace it",
                    path.display()
                ));
            }
            let s = Settings::load(config.as_deref(), &CliOverrides::default())
                .map_err(|e| e.to_string())?;
            let format = match format {
                Some(f) => format_of(&f)?,
                None => Format::of_path(&path).unwrap_or(Format::Toml),
            };
            let text = s
                .render(format, include_secrets)
                .map_err(|e| e.to_string())?;
            crate::persistence::credentials::write_private(&path, text.as_bytes())
                .map_err(|e| e.to_string())?;
            eprintln!("saved {}", path.display());
            Ok(0)
        }
        ConfigCommand::Validate { file } => {
            let (text, format) = read(&file)?;
            match Settings::from_document(&text, format) {
                Ok(_) => {
                    println!("{}: valid", file.display());
                    Ok(0)
                }
                Err(errors) => {
                    for e in errors {
                        println!("{}: {}: {}", file.display(), e.field, e.message);
                    }
                    Ok(1)
                }
            }
        }
        ConfigCommand::Convert { file, to } => {
            let (text, format) = read(&file)?;
            let s = Settings::from_document(&text, format).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            print!(
                "{}",
                s.render(format_of(&to)?, true).map_err(|e| e.to_string())?
            );
            Ok(0)
        }
    }
}

fn keys(cmd: KeysCommand) -> i32 {
    use crate::models::auth::AuthModel;
    use crate::models::auth::keys::NewKey;
    use crate::models::auth::scope::{Rate, Scopes};
    let at = match &cmd {
        KeysCommand::Create { at, .. }
        | KeysCommand::List { at }
        | KeysCommand::Revoke { at, .. } => at,
    };
    let overrides = CliOverrides {
        data_dir: at.data_dir.clone(),
        ..Default::default()
    };
    let result = Settings::load(at.config.as_deref(), &overrides)
        .map_err(|e| e.to_string())
        .and_then(|s| {
            let dir = s.data_dir();
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            AuthModel::open(s.auth, Some(&dir)).map_err(|e| e.to_string())
        });
    let auth = match result {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ipfs-mcp: {e}");
            return 2;
        }
    };
    let outcome = match cmd {
        KeysCommand::Create {
            name,
            scopes,
            rate,
            burst,
            expires,
            ..
        } => (|| {
            let new = NewKey {
                name,
                scopes: Scopes::parse(&scopes)?,
                rate: rate.as_deref().map(Rate::parse).transpose()?,
                burst,
                expires_in: expires
                    .as_deref()
                    .map(humantime::parse_duration)
                    .transpose()
                    .map_err(|e| format!("--expires: {e}"))?,
            };
            let (record, key) = auth.create_key(new).map_err(|e| e.to_string())?;
            println!("{key}");
            eprintln!(
                "created key {} ({}) with scopes {}; it is shown only now",
                record.id, record.name, record.scopes
            );
            Ok(())
        })(),
        KeysCommand::List { .. } => {
            for k in auth.keys.list() {
                let state = match (k.revoked_ms, k.expires_ms) {
                    (Some(_), _) => "revoked",
                    (None, Some(e)) if e <= crate::persistence::metadata::now_ms() => "expired",
                    _ => "active",
                };
                let rate = k
                    .rate
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "default".into());
                println!("{}\t{}\t{}\t{}\t{}", k.id, k.name, k.scopes, rate, state);
            }
            Ok(())
        }
        KeysCommand::Revoke { id, .. } => auth
            .revoke_key(&id)
            .map(|k| eprintln!("revoked key {} ({})", k.id, k.name))
            .map_err(|e| e.to_string()),
    };
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ipfs-mcp: {e}");
            1
        }
    }
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
    /// RPC API of the node for `--backend kubo` [default: http://127.0.0.1:5001].
    #[arg(long)]
    pub kubo_url: Option<String>,
    /// Config file (TOML, or YAML by extension).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve a non-loopback address with authentication off (refused without this).
    #[arg(long)]
    pub allow_unauthenticated: bool,
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
            kubo_url: self.kubo_url.clone(),
            allow_unauthenticated: self.allow_unauthenticated,
        }
    }
}

/// The settings `serve` and `mcp` run with, and the logs started at their level (`Err`: the
/// exit code, the reason already printed).
fn settings_and_logs(args: &ServeArgs) -> Result<Settings, i32> {
    let settings = Settings::load(args.config.as_deref(), &args.overrides()).map_err(|e| {
        eprintln!("ipfs-mcp: {e}");
        2
    })?;
    let level = settings.telemetry.log_level.as_deref();
    crate::telemetry::init(settings.server.debug, level).map_err(|e| {
        eprintln!("ipfs-mcp: telemetry.log_level: {e}");
        2
    })?;
    Ok(settings)
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Bench(args) => bench(args),
        Command::Keys(cmd) => keys(cmd),
        Command::Config(cmd) => match config(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("ipfs-mcp: {e}");
                2
            }
        },
        Command::Mcp(mut args) => {
            // the HTTP side must not collide with a `serve` already on the default port
            args.port = args.port.or(Some(0));
            let settings = match settings_and_logs(&args) {
                Ok(s) => s,
                Err(code) => return code,
            };
            match Application::build(settings).await {
                Ok(app) => match app.serve_mcp_stdio().await {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("ipfs-mcp: {e}");
                        1
                    }
                },
                Err(e) => {
                    eprintln!("ipfs-mcp: {e}");
                    1
                }
            }
        }
        Command::Serve(args) => {
            let settings = match settings_and_logs(&args) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let app = match Application::build(settings).await {
                Ok(app) => {
                    if let Some(path) = &args.config {
                        app.reload_on_sighup(path.clone(), args.overrides());
                    }
                    app
                }
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
