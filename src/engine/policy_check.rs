//! Start-up checks: sign-in, and the tenant's FIDO2 policy when the app may read it
//! (Policy.Read.All). Without that permission the policy is not checked, only noted.

use graph::Fido2Policy;

use super::api::{Check, CheckKind};
use super::steps::Shared;

/// Runs the checks; the policy, when read, is used to refuse keys before they are written.
pub fn run(shared: &Shared) -> (Vec<Check>, Option<Fido2Policy>) {
    run_with(&shared.graph, &shared.rt)
}

/// [`run`] with a client and runtime of the caller's (`doctor` has no engine).
pub fn run_with(
    graph: &graph::GraphClient,
    rt: &tokio::runtime::Handle,
) -> (Vec<Check>, Option<Fido2Policy>) {
    let mut checks = Vec::new();
    let signed_in = rt.block_on(graph.sign_in());
    checks.push(Check {
        kind: CheckKind::SignIn,
        ok: signed_in.is_ok(),
        detail: match &signed_in {
            Ok(()) => "ok".into(),
            Err(e) => e.to_string(),
        },
    });
    if signed_in.is_err() {
        return (checks, None);
    }
    let policy = match rt.block_on(graph.fido2_policy()) {
        Ok(p) => p,
        Err(e) => {
            let detail = if e.graph_status() == Some(403) {
                format!("not checked: the app may not read it (grant Policy.Read.All to check it before keys are written){}",
                    e.request_id().map(|r| format!(" (request-id {r})")).unwrap_or_default())
            } else {
                format!("not checked: {e}")
            };
            checks.push(Check {
                kind: CheckKind::Fido2Policy,
                ok: true,
                detail,
            });
            return (checks, None);
        }
    };
    checks.push(Check {
        kind: CheckKind::Fido2Enabled,
        ok: policy.is_enabled(),
        detail: if policy.is_enabled() {
            "ok".into()
        } else {
            "the FIDO2 method is disabled in the tenant: Graph will refuse every registration; enable it in Entra ID > Authentication methods".into()
        },
    });
    checks.push(Check {
        kind: CheckKind::SelfServiceSetup,
        ok: policy.is_self_service_registration_allowed,
        detail: if policy.is_self_service_registration_allowed {
            "ok".into()
        } else {
            "\"Allow self-service set up\" is off: Graph refuses provisioning too; turn it on in the FIDO2 policy".into()
        },
    });
    let restrictions = match policy.key_restrictions.as_ref().filter(|r| r.is_enforced) {
        Some(r) => format!(
            "{} list of {} AAGUID(s); keys are checked before anything is written to them",
            r.enforcement_type,
            r.aa_guids.len()
        ),
        None => "none".into(),
    };
    checks.push(Check {
        kind: CheckKind::KeyRestrictions,
        ok: true,
        detail: if policy.is_attestation_enforced {
            format!("{restrictions}; attestation enforced (only attested keys are accepted)")
        } else {
            restrictions
        },
    });
    (checks, Some(policy))
}

/// Why the tenant would refuse a key with this AAGUID, if it would.
pub fn aaguid_refusal(policy: &Fido2Policy, aaguid: &str) -> Option<String> {
    policy.aaguid_refusal(aaguid)
}
