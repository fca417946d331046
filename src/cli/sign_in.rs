//! Operator sign-in on the terminal for the headless commands (`prefetch`, `enroll`) when the
//! config says `"operatorSignIn": "delegated"`: the same device-code flow as the kiosk's
//! sign-in screen (`GraphClient::start_device_sign_in`, then `finish_device_sign_in`, which
//! polls), with the code on stderr so stdout stays parseable.
//!
//! Only the verification address, the user code and Entra's own sentence are printed; the
//! device code and the tokens never are. Ctrl-C while waiting stops the sign-in with exit
//! status 130 (nothing has been written yet); it is caught here, so it works even where the
//! process was started with SIGINT ignored (a background job).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use graph::{DeviceAuthorization, GraphClient, SignedInAccount};

/// Exit status when the operator's sign-in did not complete: declined, unknown or expired
/// code, or an account of another tenant.
pub const SIGN_IN_FAILED: u8 = 1;

/// What [`sign_in_if_delegated`] did.
#[derive(Debug)]
pub enum TerminalSignIn {
    /// App-only config: the station's own credential is used, nobody signs in.
    NotNeeded,
    /// The operator signed in; Graph is called with their token from now on.
    SignedIn(SignedInAccount),
    /// The sign-in did not complete; the reason was printed. Exit with [`failed_exit_code`].
    Failed,
    /// Ctrl-C while waiting: exit with [`cancelled_exit_code`].
    Cancelled,
}

/// Exit status after Ctrl-C (128 + SIGINT, as shells report it).
pub const CANCELLED: u8 = 130;

/// The exit status of a command stopped by a failed sign-in ([`SIGN_IN_FAILED`]).
pub fn failed_exit_code() -> ExitCode {
    ExitCode::from(SIGN_IN_FAILED)
}

/// The exit status of a command whose sign-in was cancelled with Ctrl-C ([`CANCELLED`]).
pub fn cancelled_exit_code() -> ExitCode {
    ExitCode::from(CANCELLED)
}

/// With a delegated Graph client, runs the device-code sign-in on `runtime`, telling the
/// operator on stderr what to do, and returns who signed in. `command` names what is being run
/// (for the messages). Declined, expired and wrong-tenant sign-ins print why and return
/// [`TerminalSignIn::Failed`]; errors that are not the operator's (network, configuration,
/// the app registration) are returned as errors.
pub fn sign_in_if_delegated(
    graph: &GraphClient,
    runtime: &tokio::runtime::Runtime,
    command: &str,
) -> Result<TerminalSignIn> {
    if !graph.is_delegated() {
        return Ok(TerminalSignIn::NotNeeded);
    }
    let mut err = std::io::stderr();
    let auth = runtime
        .block_on(graph.start_device_sign_in())
        .context("starting the operator's sign-in to Entra ID (device code)")?;
    // Listening before the code is shown: an operator (or a test) who presses Ctrl-C as soon
    // as the prompt appears must cancel, not kill the process half-way.
    let mut interrupt = {
        let _inside = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("listening for Ctrl-C")?
    };
    // Best effort: a closed stderr must not stop the sign-in.
    let _ = show_code(&mut err, &auth, command);
    let finished = runtime.block_on(async {
        tokio::select! {
            r = graph.finish_device_sign_in(&auth) => Some(r),
            _ = interrupt.recv() => None,
        }
    });
    let Some(finished) = finished else {
        let _ = writeln!(
            err,
            "Cancelled (Ctrl-C): nobody signed in, nothing was done."
        );
        return Ok(TerminalSignIn::Cancelled);
    };
    match finished {
        Ok(account) => {
            let _ = writeln!(err, "{}", signed_in_line(&account));
            Ok(TerminalSignIn::SignedIn(account))
        }
        Err(e) if is_operator_failure(&e) => {
            let _ = writeln!(
                err,
                "error: the operator sign-in did not complete: {e}\nNothing was done; run \
                 `passkey-kiosk {command}` again for a new code."
            );
            Ok(TerminalSignIn::Failed)
        }
        Err(e) => Err(anyhow::Error::new(e).context("operator sign-in to Entra ID (device code)")),
    }
}

/// Failures the operator caused or can fix by signing in again (exit 1), as opposed to errors
/// of the station or the tenant's set-up.
fn is_operator_failure(e: &graph::Error) -> bool {
    matches!(
        e,
        graph::Error::DeviceSignIn { .. } | graph::Error::WrongTenant { .. }
    )
}

/// The instructions: where to go, the code, how long it lasts, and Entra's own sentence.
fn show_code(
    out: &mut dyn Write,
    auth: &DeviceAuthorization,
    command: &str,
) -> std::io::Result<()> {
    let minutes = auth.expires_in.as_secs().div_ceil(60);
    writeln!(
        out,
        "Operator sign-in (operatorSignIn \"delegated\"): {command} runs with the rights of the \
         Entra ID account that signs in."
    )?;
    writeln!(out, "  Open:        {}", auth.verification_uri)?;
    writeln!(
        out,
        "  Enter code:  {}   (valid for {minutes} minute{})",
        auth.user_code,
        if minutes == 1 { "" } else { "s" }
    )?;
    if !auth.message.trim().is_empty() {
        writeln!(out, "  Entra ID:    {}", auth.message.trim())?;
    }
    writeln!(out, "Waiting for the sign-in (Ctrl-C cancels)...")?;
    out.flush()
}

fn signed_in_line(account: &SignedInAccount) -> String {
    match &account.name {
        Some(name) if *name != account.username => {
            format!("Signed in as {} ({name}).", account.username)
        }
        _ => format!("Signed in as {}.", account.username),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_in_line_names_the_account() {
        let mut a = SignedInAccount {
            username: "ops@contoso.com".into(),
            name: Some("Ops Desk".into()),
            object_id: None,
            tenant_id: None,
        };
        assert_eq!(
            signed_in_line(&a),
            "Signed in as ops@contoso.com (Ops Desk)."
        );
        a.name = None;
        assert_eq!(signed_in_line(&a), "Signed in as ops@contoso.com.");
    }

    #[test]
    fn operator_failures_are_declines_expiries_and_wrong_tenants() {
        assert!(is_operator_failure(&graph::Error::DeviceSignIn {
            failure: graph::DeviceFlowFailure::Declined,
            auth: None,
        }));
        assert!(is_operator_failure(&graph::Error::WrongTenant {
            username: "u".into(),
            signed_in: None,
            configured: "t".into(),
        }));
        assert!(!is_operator_failure(&graph::Error::NotSignedIn));
        assert!(!is_operator_failure(&graph::Error::InvalidConfig(
            "x".into()
        )));
    }
}
