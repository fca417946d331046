//! `passkey-kiosk`: thin entry point; everything lives in the library so tests can drive it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    passkey_kiosk::logging::init();
    let cli = passkey_kiosk::cli::Cli::parse();
    match passkey_kiosk::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: what failed and why.
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
