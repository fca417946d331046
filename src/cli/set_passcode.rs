//! `set-passcode`: the local operator passcode of app-only sign-in, hashed with argon2id and
//! written next to the config, owner-only.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};

use crate::station::passcode;

/// Arguments of `set-passcode`.
#[derive(Debug, Clone, clap::Args)]
pub struct SetPasscodeArgs {
    /// The configuration file; the hash is written next to it.
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
}

/// `set-passcode`: asks for the operator passcode twice and writes its argon2id hash next to
/// the config, owner-only (0600; an existing file is tightened to that too).
pub fn set_passcode(args: &SetPasscodeArgs) -> Result<ExitCode> {
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password("New operator passcode (at least 8 characters): ")
            .context("reading the passcode")?,
    );
    if first.chars().count() < 8 {
        bail!("the passcode is too short: use at least 8 characters");
    }
    let again = zeroize::Zeroizing::new(
        rpassword::prompt_password("Again: ").context("reading the passcode")?,
    );
    if *first != *again {
        bail!("the two passcodes differ; nothing was changed");
    }
    let hash = passcode::hash_passcode(&first).map_err(|e| anyhow!(e))?;
    let file = passcode::passcode_file(&args.config);
    crate::owner_only::write(&file, &format!("{hash}\n"))
        .with_context(|| format!("writing {} owner-only", file.display()))?;
    println!(
        "Operator passcode hash written to {} (or put it in configs.json as \"{}\").",
        file.display(),
        passcode::PASSCODE_KEY
    );
    Ok(ExitCode::SUCCESS)
}
