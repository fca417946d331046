//! PINs for the command line: from an environment variable (automation) or a hidden prompt.
//! A PIN is never echoed, logged or put in an error.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

/// Current PIN of a key, for automation.
pub const PIN_ENV: &str = "PASSKEY_KIOSK_PIN";
/// New PIN to set, for automation.
pub const NEW_PIN_ENV: &str = "PASSKEY_KIOSK_NEW_PIN";

/// The current PIN: `PASSKEY_KIOSK_PIN`, else a hidden prompt on the terminal.
pub fn current_pin(prompt: &str) -> Result<Zeroizing<String>> {
    from_env_or_prompt(PIN_ENV, prompt)
}

/// The current PIN comes from `PASSKEY_KIOSK_PIN` (asking again would give the same one).
pub fn current_pin_is_preset() -> bool {
    env(PIN_ENV).is_some()
}

/// A new PIN: `PASSKEY_KIOSK_NEW_PIN`, else typed twice at a hidden prompt.
pub fn new_pin() -> Result<Zeroizing<String>> {
    if let Some(pin) = env(NEW_PIN_ENV) {
        return Ok(pin);
    }
    let first = prompt_hidden("New PIN: ", NEW_PIN_ENV)?;
    let second = prompt_hidden("New PIN again: ", NEW_PIN_ENV)?;
    if first != second {
        bail!("the two PINs typed differ; nothing was changed on the key");
    }
    Ok(first)
}

fn from_env_or_prompt(var: &str, prompt: &str) -> Result<Zeroizing<String>> {
    match env(var) {
        Some(pin) => Ok(pin),
        None => prompt_hidden(prompt, var),
    }
}

fn env(var: &str) -> Option<Zeroizing<String>> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Zeroizing::new)
}

fn prompt_hidden(prompt: &str, var: &str) -> Result<Zeroizing<String>> {
    if !std::io::stdin().is_terminal() {
        bail!("a PIN is needed but there is no terminal to ask on: set {var}");
    }
    let pin = rpassword::prompt_password(prompt).context("reading the PIN from the terminal")?;
    Ok(Zeroizing::new(pin))
}
