//! `policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2`: the FIDO2
//! method policy, configurable per test. Default: enabled, self-service allowed, no
//! attestation enforcement, no key restrictions (permissive), readable.

use hyper::{Response, StatusCode};
use serde_json::json;

use super::http::{self, graph_error, Body};
use super::router::GraphReq;
use super::FakeTenant;

/// The fake tenant's FIDO2 policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePolicy {
    /// false: the app lacks Policy.Read.All (403 Authorization_RequestDenied).
    pub readable: bool,
    /// `state` is `enabled`.
    pub enabled: bool,
    /// `isSelfServiceRegistrationAllowed`.
    pub self_service_allowed: bool,
    /// `isAttestationEnforced`.
    pub attestation_enforced: bool,
    /// Enforced key restrictions: `allow` or `block`, with the AAGUIDs listed.
    pub restrictions: Option<(String, Vec<String>)>,
}

impl Default for FakePolicy {
    fn default() -> Self {
        FakePolicy {
            readable: true,
            enabled: true,
            self_service_allowed: true,
            attestation_enforced: false,
            restrictions: None,
        }
    }
}

impl FakeTenant {
    /// Replaces the FIDO2 method policy the tenant reports.
    pub fn set_fido2_policy(&self, policy: FakePolicy) {
        if let Ok(mut p) = self.shared.policy.lock() {
            *p = policy;
        }
    }
}

/// `GET .../authenticationMethodConfigurations/fido2`.
pub(crate) fn get(g: &GraphReq<'_>) -> Response<Body> {
    let Ok(p) = g.shared.policy.lock().map(|p| p.clone()) else {
        return http::internal(g.ctx);
    };
    if !p.readable {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            g.ctx,
        );
    }
    let (kind, aaguids, enforced) = match &p.restrictions {
        Some((kind, list)) => (kind.clone(), list.clone(), true),
        None => ("block".to_owned(), Vec::new(), false),
    };
    http::graph_json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/{}/$metadata#authenticationMethodConfigurations/$entity", g.ctx.base, g.version.as_str()),
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "id": "Fido2",
            "state": if p.enabled { "enabled" } else { "disabled" },
            "isSelfServiceRegistrationAllowed": p.self_service_allowed,
            "isAttestationEnforced": p.attestation_enforced,
            "keyRestrictions": {"isEnforced": enforced, "enforcementType": kind, "aaGuids": aaguids},
            "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}],
        }),
        g.ctx,
    )
}
