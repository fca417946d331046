//! What can stop an enrollment, and the one mapping from it to what the operator sees
//! ([`OperatorError`]: code, message, remedy, Graph request-id, retry possible).

use super::api::OperatorError;
use crate::store::StoreError;

/// Why a job stopped. Typed causes are kept so the mapping can consult them.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The key refused or failed.
    #[error("{0}")]
    Ctap(#[from] ctap::Error),
    /// Graph refused or failed.
    #[error("{0}")]
    Graph(#[from] graph::Error),
    /// The journal could not be written: nothing further is done without it.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The key is not suitable (reason for the operator).
    #[error("{0}")]
    Refused(String),
    /// The key (reporting no serial) still holds passkeys: issued again only after a reset.
    #[error("{0}")]
    KeyInUse(String),
    /// The operator cancelled.
    #[error("cancelled by the operator")]
    Cancelled,
    /// The engine is shutting down or the UI went away while a PIN was awaited.
    #[error("no PIN was provided")]
    NoPin,
    /// Anything else (CSV file, bad stored options), with context.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

fn op(code: &str, message: String, remedy: &str, retry: bool) -> OperatorError {
    OperatorError {
        code: code.to_owned(),
        message,
        remedy: remedy.to_owned(),
        request_id: None,
        retry_possible: retry,
    }
}

/// The operator's view of an error: the single mapping used by the kiosk and the CLI.
pub fn operator_error(err: &JobError) -> OperatorError {
    match err {
        JobError::Ctap(e) => ctap_error(e),
        JobError::Graph(e) => graph_error(e),
        JobError::Store(e) => op(
            "journal",
            e.to_string(),
            "the journal must be writable (disk space, permissions); nothing further was done to the key",
            true,
        ),
        JobError::Refused(why) => op("key-refused", why.clone(), "insert another key", false),
        JobError::KeyInUse(why) => op(
            "key-in-use",
            why.clone(),
            "to issue it, reset the key first (Re-issue a key: a factory reset erases its passkeys and PIN), \
             then enroll the person again; or give them another key",
            false,
        ),
        JobError::Cancelled => op(
            "cancelled",
            "cancelled by the operator".into(),
            "start again when ready",
            true,
        ),
        JobError::NoPin => op(
            "pin-missing",
            "no PIN was provided".into(),
            "provide the key's PIN (PASSKEY_KIOSK_PIN / PASSKEY_KIOSK_NEW_PIN in the command line)",
            true,
        ),
        JobError::Other(e) => op("error", format!("{e:#}"), "see the message", true),
    }
}

fn ctap_error(e: &ctap::Error) -> OperatorError {
    use ctap::error::StatusCode as S;
    use ctap::Error as E;
    let (code, remedy, retry) = match e {
        E::Transport(_) | E::Timeout | E::Hid(_) => (
            "key-removed",
            "the key was removed or stopped answering: re-insert it and retry; what was done is in the journal",
            true,
        ),
        E::PinInvalid { .. } => (
            "pin-invalid",
            "check the PIN with the person and retry",
            true,
        ),
        E::ForcedPinChangePending => (
            "pin-change-pending",
            "the key demands a PIN change first: change its PIN (key change-pin), then retry",
            true,
        ),
        E::PinAlreadySet => (
            "pin-already-set",
            "the key already has a PIN: provide it, or reset the key",
            true,
        ),
        E::PinRules(_) => ("pin-rules", "choose a PIN that meets the key's rules", true),
        E::Unsupported(_) => ("key-unsupported", "use another key model", false),
        E::ResetNotAllowed => (
            "reset-not-allowed",
            "re-insert the key and reset within 10 seconds",
            true,
        ),
        E::Ctap(S::CredentialExcluded) => (
            "already-registered",
            "this key already holds a passkey for this person: use another key",
            false,
        ),
        E::Ctap(S::PinBlocked) => ("pin-blocked", "reset the key before issuing it", false),
        E::Ctap(S::KeepaliveCancel) => ("cancelled", "start again when ready", true),
        E::Ctap(S::UserActionTimeout) | E::Ctap(S::ActionTimeout) => (
            "touch-timeout",
            "retry and touch the key when it blinks",
            true,
        ),
        E::Ctap(S::KeyStoreFull) => (
            "key-full",
            "the key has no room: reset it or use another key",
            false,
        ),
        E::Ctap(S::PinAuthBlocked) => (
            "pin-auth-blocked",
            "remove and re-insert the key, then retry",
            true,
        ),
        _ => ("key-error", "retry; if it repeats, use another key", true),
    };
    op(code, e.to_string(), remedy, retry)
}

/// The operator's view of a Graph error (request-id included).
pub fn graph_error(e: &graph::Error) -> OperatorError {
    let (code, remedy, retry) = match e {
        graph::Error::Graph(g) => (
            format!("graph-{}", g.status),
            g.remedy().to_owned(),
            g.status >= 500 || g.status == 429,
        ),
        graph::Error::Throttled { status, .. } => (
            format!("graph-{status}"),
            "Microsoft Graph is throttling: wait a minute and retry".to_owned(),
            true,
        ),
        graph::Error::Http { .. } => (
            "network".to_owned(),
            "check the network connection and retry".to_owned(),
            true,
        ),
        graph::Error::RegistrationOutcomeUnknown { .. } => (
            "registration-unknown".to_owned(),
            "retry: the station looks the method up before posting again".to_owned(),
            true,
        ),
        graph::Error::Auth(a) => ("sign-in".to_owned(), a.remedy().to_owned(), false),
        graph::Error::NotSignedIn => (
            "not-signed-in".to_owned(),
            "the operator was signed out (delegated mode): sign in again, then retry".to_owned(),
            true,
        ),
        graph::Error::SelfProvisioning { .. } => (
            "graph-405-self".to_owned(),
            "another operator must enroll this person: an administrator cannot issue a key to their own account".to_owned(),
            false,
        ),
        graph::Error::ResponseTooLarge { .. } => (
            "graph-too-large".to_owned(),
            "check the cloud and base URLs in the configuration and any proxy or TLS inspection between the station and Microsoft".to_owned(),
            false,
        ),
        graph::Error::InvalidId { .. } => (
            "invalid-id".to_owned(),
            "this id cannot be sent to Microsoft Graph: check the person's or group's entry in Entra ID (or the input file)".to_owned(),
            false,
        ),
        _ => (
            "graph".to_owned(),
            "check the configuration and retry".to_owned(),
            false,
        ),
    };
    OperatorError {
        code,
        message: e.to_string(),
        remedy,
        request_id: e.request_id().map(str::to_owned),
        retry_possible: retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_pin_and_unplug_are_actionable() {
        let e = operator_error(&JobError::Ctap(ctap::Error::PinInvalid {
            retries_left: Some(5),
        }));
        assert_eq!(e.code, "pin-invalid");
        assert!(e.message.contains("5 attempts"));
        let e = operator_error(&JobError::Ctap(ctap::Error::Timeout));
        assert_eq!(e.code, "key-removed");
        assert!(e.retry_possible);
    }

    #[test]
    fn refused_ids_and_oversize_answers_are_final_with_a_remedy() {
        let e = graph_error(&graph::ids::check_id("user", "../../me").expect_err("refused"));
        assert_eq!(e.code, "invalid-id");
        assert!(e.message.contains("\"../../me\""), "{}", e.message);
        assert!(!e.retry_possible);
        let e = graph_error(&graph::Error::ResponseTooLarge {
            operation: "list fido2Methods",
            endpoint: "https://graph.microsoft.com/beta/users/u/authentication/fido2Methods".into(),
            status: 200,
            limit: graph::body::MAX_GRAPH_RESPONSE_BYTES,
            announced: None,
            request_id: Some("rid-1".into()),
            client_request_id: "crid-1".into(),
        });
        assert_eq!(e.code, "graph-too-large");
        assert_eq!(e.request_id.as_deref(), Some("rid-1"));
        assert!(!e.retry_possible);
    }
}
