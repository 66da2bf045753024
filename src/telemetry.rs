//! Logging through `tracing`; `RUST_LOG` overrides the default level.

use tracing_subscriber::EnvFilter;

pub fn init(debug: bool) {
    let default = if debug { "debug,sled=info" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
