//! Logging to stderr through `tracing`; `RUST_LOG` selects the level (default: warnings).
//!
//! Nothing secret is ever passed to a log macro: PINs and secrets are wrapped types whose
//! `Debug` prints `***`.

/// Installs the stderr subscriber once; later calls do nothing.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
