//! Start-up checks: sign-in, and the tenant's FIDO2 policy when the app may read it
//! (Policy.Read.All). Without that permission the policy is not checked, only noted.
//!
//! With passkey profiles the rules depend on the person: their groups among the policy's
//! targets are read (`checkMemberGroups`) while the operator fetches the key, and the key is
//! judged against the profiles those groups give before anything is written to it.

use std::sync::Arc;

use graph::{Fido2Policy, KeyVerdict};

use super::api::{Check, CheckKind};
use super::steps::Shared;

/// Runs the checks; the policy, when read, is used to refuse keys before they are written.
pub fn run(shared: &Shared) -> (Vec<Check>, Option<Fido2Policy>) {
    run_with(&shared.graph, &shared.rt, &shared.config.tenant)
}

/// [`run`] with a client and runtime of the caller's (`doctor` has no engine).
pub fn run_with(
    graph: &graph::GraphClient,
    rt: &tokio::runtime::Handle,
    tenant: &str,
) -> (Vec<Check>, Option<Fido2Policy>) {
    let mut checks = Vec::new();
    let signed_in = rt.block_on(graph.sign_in());
    if graph.is_delegated() && matches!(signed_in, Err(graph::Error::NotSignedIn)) {
        // Nobody signed in yet (doctor): the sign-in endpoint is what can be checked.
        checks.push(login(rt.block_on(graph.login_status()), tenant));
        return (checks, None);
    }
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
    if policy.has_profiles() {
        let names: Vec<String> = policy
            .passkey_profiles
            .iter()
            .map(|p| format!("\"{}\"", p.name))
            .collect();
        checks.push(Check {
            kind: CheckKind::KeyRestrictions,
            ok: true,
            detail: format!(
                "passkey profiles {}; each person's key is checked against the profiles of their groups before anything is written to it",
                names.join(", ")
            ),
        });
        return (checks, Some(policy));
    }
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

/// Delegated sign-in happens when an operator signs in at the kiosk; what can be checked
/// before is that the sign-in endpoint answers for the tenant over verified TLS.
fn login(status: graph::Result<u16>, tenant: &str) -> Check {
    let (ok, detail) = match status {
        Ok(200) => (
            true,
            format!("the sign-in endpoint answers for tenant {tenant} over verified TLS; operators sign in with their own accounts at the kiosk"),
        ),
        Ok(400) => (
            false,
            format!("the sign-in endpoint does not know tenant {tenant}: correct tenantName in the config (the tenant's id or its domain)"),
        ),
        Ok(other) => (
            false,
            format!("the sign-in endpoint answered HTTP {other} for tenant {tenant}: check that the station reaches the login host directly or through the proxy (HTTPS_PROXY, proxy in the config)"),
        ),
        Err(e) => (
            false,
            format!("{e}: allow the login host through the firewall or proxy (HTTPS_PROXY, proxy in the config)"),
        ),
    };
    Check {
        kind: CheckKind::SignIn,
        ok,
        detail,
    }
}

/// What is known of the waiting person's groups among the policy's targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// Being read.
    Pending,
    /// The target groups the person is in.
    Known(Vec<String>),
    /// Could not be read (why): every profile is a candidate.
    Unknown(String),
}

impl From<graph::Result<Vec<String>>> for Membership {
    fn from(r: graph::Result<Vec<String>>) -> Self {
        match r {
            Ok(groups) => Membership::Known(groups),
            Err(e) => Membership::Unknown(e.to_string()),
        }
    }
}

/// Starts reading which of the policy's target groups the person is in, when passkey
/// profiles make that matter (`false`: nothing to read); `done` gets the answer.
pub fn ask_membership(
    shared: &Arc<Shared>,
    policy: Option<&Fido2Policy>,
    user_id: &str,
    done: impl FnOnce(Membership) + Send + 'static,
) -> bool {
    let groups = policy.map(Fido2Policy::target_groups).unwrap_or_default();
    if groups.is_empty() {
        return false;
    }
    let graph = shared.graph.clone();
    let user_id = user_id.to_owned();
    shared.rt.spawn(async move {
        let found = graph.member_groups_among(&user_id, &groups).await;
        if let Err(e) = &found {
            tracing::warn!(error = %e, "the person's groups could not be read; every passkey profile is a candidate");
        }
        done(found.into());
    });
    true
}

/// What the tenant's policy says of a key with this AAGUID for the person whose groups are
/// `membership` (`None`: no profiles, or none of them depends on groups).
pub fn key_verdict(
    policy: &Fido2Policy,
    aaguid: &str,
    membership: Option<&Membership>,
) -> KeyVerdict {
    let groups = match membership {
        Some(Membership::Known(g)) => Some(g.as_slice()),
        Some(Membership::Unknown(_) | Membership::Pending) => None,
        None => Some(&[][..]),
    };
    let mut verdict = policy.check_key(aaguid, groups);
    if let (Some(why), Some(Membership::Unknown(e))) = (verdict.refusal.as_mut(), membership) {
        why.push_str(&format!(
            " (the person's groups could not be read — {e} — so every passkey profile was tried; grant User.Read.All with GroupMember.Read.All to check theirs)"
        ));
    }
    verdict
}
