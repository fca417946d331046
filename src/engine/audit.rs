//! Audit entries written by the engine: a write that fails is shown to the operator as an
//! [`Event::Problem`], never dropped (the station must not go on silently without its log).

use super::api::{Event, OperatorError, Remedy};
use super::steps::Shared;
use crate::store::Journal;

/// The [`OperatorError::code`] of a failed audit write.
pub const AUDIT_FAILED: &str = "audit-failed";

impl Shared {
    /// Appends an audit entry; a failure becomes an [`Event::Problem`] naming the action and
    /// subject. `operator` is the one who started the work, captured when it started.
    pub fn audit(
        &self,
        journal: &Journal,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) {
        if let Err(e) = journal.audit(operator, action, subject, result, request_ids) {
            tracing::error!(action, error = %e, "audit entry not written");
            self.events
                .emit(Event::Problem(audit_failed(action, subject, &e)));
        }
    }
}

/// What the operator sees when an audit entry could not be written.
pub fn audit_failed(
    action: &str,
    subject: Option<&str>,
    error: &dyn std::fmt::Display,
) -> OperatorError {
    let about = subject.map(|s| format!(" of {s}")).unwrap_or_default();
    OperatorError {
        code: AUDIT_FAILED.into(),
        message: format!("the audit entry \"{action}\"{about} could not be written: {error}"),
        remedy: Remedy::CheckJournal,
        request_id: None,
        retry_possible: false,
    }
}
