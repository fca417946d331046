//! After a registration: what Graph says it registered is compared with the key that was
//! enrolled. Another AAGUID (or, where the person's policy enforces attestation, a passkey
//! not registered as attested) means the key is not what it told the station, or Graph
//! judged it differently: the passkey stays registered (it is on this key), and the
//! difference is audited, noted on the enrollment and shown to the operator with Graph's
//! request-id, so that an administrator looks at it before the key is trusted.

use super::api::{Event, OperatorError, Remedy};
use super::steps::Shared;
use crate::store::Journal;

/// The [`OperatorError::code`] of a registration that differs from the key.
pub const REGISTRATION_MISMATCH: &str = "registration-mismatch";

/// How the registered method differs from the key (`key_aaguid` from its getInfo), if it does.
pub fn mismatch(
    method: &graph::Fido2Method,
    key_aaguid: &str,
    attestation_required: bool,
) -> Option<String> {
    let mut found = Vec::new();
    match method.aa_guid.as_deref() {
        Some(a) if a.eq_ignore_ascii_case(key_aaguid) => {}
        Some(a) => found.push(format!(
            "Graph registered AAGUID {a}{}, the key reported {key_aaguid}",
            method
                .model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )),
        // Nothing to compare with: not a difference.
        None => tracing::warn!("the registered method carries no aaGuid"),
    }
    if attestation_required && method.attestation_level.as_deref() != Some("attested") {
        found.push(format!(
            "attestation is enforced for this person and Graph registered the passkey as {}",
            method
                .attestation_level
                .as_deref()
                .unwrap_or("of unknown attestation")
        ));
    }
    (!found.is_empty()).then(|| found.join("; "))
}

/// What the registration must show.
pub struct Expected<'a> {
    /// The person.
    pub upn: &'a str,
    /// The key's AAGUID (getInfo).
    pub key_aaguid: &'a str,
    /// The person's policy takes the key only attested.
    pub attestation_required: bool,
}

/// Compares and, on a difference, audits it, notes it on enrollment `id` and tells the
/// operator. Returns the difference.
pub fn check(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    id: i64,
    done: &graph::Registration,
    expected: &Expected<'_>,
) -> Option<String> {
    let why = mismatch(
        &done.method,
        expected.key_aaguid,
        expected.attestation_required,
    )?;
    let upn = expected.upn;
    let text = format!(
        "the passkey of {upn} was registered (method {}), but {why}",
        done.method.id
    );
    let rid: Vec<&str> = done.request_id.as_deref().into_iter().collect();
    shared.audit(
        journal,
        operator,
        "verify-registration",
        Some(upn),
        &format!("mismatch: {why} (method {})", done.method.id),
        &rid,
    );
    let _ = journal.note_error(id, &text);
    shared.events.emit(Event::Problem(OperatorError {
        code: REGISTRATION_MISMATCH.into(),
        message: text,
        remedy: Remedy::Administrator(
            "check this passkey's model in the Entra admin center before the key is handed over, and delete the method if the key is not the model it claims",
        ),
        request_id: done.request_id.clone(),
        retry_possible: false,
    }));
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(aaguid: Option<&str>, level: &str) -> graph::Fido2Method {
        graph::Fido2Method {
            id: "m".into(),
            display_name: None,
            created_date_time: None,
            last_used_date_time: None,
            aa_guid: aaguid.map(str::to_owned),
            model: None,
            attestation_certificates: Vec::new(),
            attestation_level: Some(level.into()),
            passkey_type: None,
        }
    }

    #[test]
    fn differences_are_named() {
        let k = "50617373-6b65-794b-696f-736b536f6674";
        assert_eq!(
            mismatch(&method(Some(&k.to_uppercase()), "attested"), k, true),
            None
        );
        assert_eq!(mismatch(&method(None, "notAttested"), k, false), None);
        let why = mismatch(
            &method(Some("cb69481e-8ff7-4039-93ec-0a2729a154a8"), "notAttested"),
            k,
            true,
        )
        .unwrap();
        assert!(
            why.contains("Graph registered AAGUID cb69481e") && why.contains("as notAttested"),
            "{why}"
        );
        assert!(mismatch(&method(Some(k), "notAttested"), k, false).is_none());
    }
}
