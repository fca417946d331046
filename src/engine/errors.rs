//! What can stop an enrollment, and the one mapping from it to what the operator sees
//! ([`OperatorError`]: code, message, remedy, Graph request-id, retry possible).

use super::api::OperatorError;
use super::remedy::Remedy;
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
    /// The configured key name does not fit Graph for this key and person (checked before
    /// the key is touched).
    #[error("{0}")]
    KeyName(String),
    /// The operator cancelled.
    #[error("cancelled by the operator")]
    Cancelled,
    /// The engine is shutting down or the UI went away while a PIN was awaited.
    #[error("no PIN was provided")]
    NoPin,
    /// The key's own PIN policy refused every random PIN offered (its PIN was not set).
    #[error(
        "the key refused {offered} random PINs in a row under its own PIN policy; its PIN was not set"
    )]
    RandomPinRefused {
        /// How many PINs were offered.
        offered: usize,
    },
    /// Anything else (CSV file, bad stored options), with context.
    #[error("{0:#}")]
    Other(anyhow::Error),
}

fn op(code: &str, message: String, remedy: Remedy, retry: bool) -> OperatorError {
    OperatorError {
        code: code.to_owned(),
        message,
        remedy,
        request_id: None,
        retry_possible: retry,
    }
}

/// The code of an enrollment refused because another station holds the person or enrolled
/// them meanwhile.
pub const HELD_ELSEWHERE: &str = "held-elsewhere";

/// The operator's view of an error: the single mapping used by the kiosk and the CLI.
pub fn operator_error(err: &JobError) -> OperatorError {
    match err {
        JobError::Ctap(e) => ctap_error(e),
        JobError::Graph(e) => graph_error(e),
        // Another station holds or has enrolled the person: nothing is wrong with the journal.
        JobError::Store(
            e @ (StoreError::Claimed { .. } | StoreError::EnrolledElsewhere { .. }),
        ) => op(
            HELD_ELSEWHERE,
            e.to_string(),
            Remedy::Text("enroll the next person; take the key out".into()),
            false,
        ),
        JobError::Store(e) => op("journal", e.to_string(), Remedy::CheckJournal, true),
        JobError::Refused(why) => op("key-refused", why.clone(), Remedy::UseAnotherKey, false),
        JobError::KeyInUse(why) => op("key-in-use", why.clone(), Remedy::ResetKey, false),
        JobError::KeyName(why) => op(
            "key-name-too-long",
            why.clone(),
            Remedy::CheckConfiguration,
            false,
        ),
        JobError::Cancelled => op(
            "cancelled",
            "cancelled by the operator".into(),
            Remedy::StartAgain,
            true,
        ),
        JobError::NoPin => op(
            "pin-missing",
            "no PIN was provided".into(),
            Remedy::ProvidePin,
            true,
        ),
        JobError::RandomPinRefused { .. } => op(
            "random-pin-refused",
            err.to_string(),
            Remedy::KeyRefusesRandomPins,
            false,
        ),
        JobError::Other(e) => op("error", format!("{e:#}"), Remedy::RetryOrAnotherKey, true),
    }
}

fn ctap_error(e: &ctap::Error) -> OperatorError {
    use ctap::error::StatusCode as S;
    use ctap::Error as E;
    let (code, remedy, retry) = match e {
        E::Transport(_) | E::Timeout | E::Hid(_) => ("key-removed", Remedy::ReinsertKey, true),
        E::PinInvalid { .. } => ("pin-invalid", Remedy::CheckPin, true),
        E::ForcedPinChangePending => ("pin-change-pending", Remedy::ChangePin, true),
        E::PinAlreadySet => ("pin-already-set", Remedy::PinAlreadySet, true),
        E::PinRules(_) => ("pin-rules", Remedy::PinRules, true),
        E::Unsupported(_) => ("key-unsupported", Remedy::UseAnotherKeyModel, false),
        E::ResetNotAllowed => ("reset-not-allowed", Remedy::ReinsertAndReset, true),
        E::Ctap(S::CredentialExcluded) => ("already-registered", Remedy::AlreadyRegistered, false),
        E::Ctap(S::PinBlocked) => ("pin-blocked", Remedy::ResetKey, false),
        E::Ctap(S::PinPolicyViolation) => ("pin-policy", Remedy::PinRules, true),
        E::Ctap(S::KeepaliveCancel) => ("cancelled", Remedy::StartAgain, true),
        E::Ctap(S::UserActionTimeout) | E::Ctap(S::ActionTimeout) => {
            ("touch-timeout", Remedy::TouchKey, true)
        }
        E::Ctap(S::KeyStoreFull) => ("key-full", Remedy::ResetKey, false),
        E::Ctap(S::PinAuthBlocked) => ("pin-auth-blocked", Remedy::ReplugKey, true),
        _ => ("key-error", Remedy::RetryOrAnotherKey, true),
    };
    op(code, e.to_string(), remedy, retry)
}

/// The operator's view of a Graph error (request-id included).
pub fn graph_error(e: &graph::Error) -> OperatorError {
    let (code, remedy, retry) = match e {
        graph::Error::Graph(g) if g.status >= 500 || g.status == 429 => {
            (format!("graph-{}", g.status), Remedy::RetryLater, true)
        }
        graph::Error::Graph(g) => (
            format!("graph-{}", g.status),
            Remedy::Administrator(g.remedy()),
            false,
        ),
        graph::Error::Throttled { status, .. } => {
            (format!("graph-{status}"), Remedy::RetryLater, true)
        }
        graph::Error::Http { .. } => ("network".to_owned(), Remedy::CheckNetwork, true),
        graph::Error::RegistrationOutcomeUnknown { .. } => {
            ("registration-unknown".to_owned(), Remedy::Retry, true)
        }
        graph::Error::Auth(a) => ("sign-in".to_owned(), Remedy::Administrator(a.remedy()), false),
        graph::Error::NotSignedIn => ("not-signed-in".to_owned(), Remedy::SignInAgain, true),
        graph::Error::SelfProvisioning { .. } => {
            ("graph-405-self".to_owned(), Remedy::AnotherOperator, false)
        }
        graph::Error::ResponseTooLarge { .. } => (
            "graph-too-large".to_owned(),
            Remedy::Administrator(
                "check the station's cloud and base URLs, and any proxy or TLS inspection between the station and Microsoft",
            ),
            false,
        ),
        graph::Error::InvalidId { .. } => (
            "invalid-id".to_owned(),
            Remedy::Administrator(
                "this id cannot be sent to Microsoft Graph: check the person's or group's entry in Entra ID",
            ),
            false,
        ),
        _ => ("graph".to_owned(), Remedy::CheckConfiguration, false),
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
    fn pin_policy_refusals_say_what_to_do() {
        let e = operator_error(&JobError::RandomPinRefused { offered: 4 });
        assert_eq!(e.code, "random-pin-refused");
        assert!(e.message.contains("refused 4 random PINs"), "{}", e.message);
        assert_eq!(e.remedy, Remedy::KeyRefusesRandomPins);
        assert!(!e.retry_possible);
        let typed = operator_error(&JobError::Ctap(ctap::Error::Ctap(
            ctap::error::StatusCode::PinPolicyViolation,
        )));
        assert_eq!(
            (typed.code.as_str(), typed.remedy),
            ("pin-policy", Remedy::PinRules)
        );
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
