//! `policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2`: the FIDO2
//! method policy, configurable per test, in either shape Graph serves: tenant-wide
//! (`isAttestationEnforced`, `keyRestrictions`) or with passkey profiles linked to include
//! targets. Default: enabled, self-service allowed, no attestation enforcement, no key
//! restrictions, no profiles (permissive), readable. Registrations are refused as the policy
//! says ([`refusal`]).

use std::collections::HashSet;

use hyper::{Response, StatusCode};
use serde_json::{json, Value};

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
    /// `isAttestationEnforced` (tenant-wide shape; ignored once there are profiles).
    pub attestation_enforced: bool,
    /// Enforced key restrictions: `allow` or `block`, with the AAGUIDs listed (tenant-wide
    /// shape; ignored once there are profiles).
    pub restrictions: Option<(String, Vec<String>)>,
    /// Passkey profiles; empty: the tenant has not moved to them.
    pub profiles: Vec<FakeProfile>,
    /// Include targets; empty: `all_users`, allowed the default profile (or, without one,
    /// every profile).
    pub targets: Vec<FakeTarget>,
    /// Exclude targets (group object ids).
    pub excluded: Vec<String>,
    /// `defaultPasskeyProfile`: a profile id.
    pub default_profile: Option<String>,
}

/// A passkey profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeProfile {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `passkeyTypes`, e.g. `deviceBound,synced`.
    pub passkey_types: String,
    /// `attestationEnforcement` is `registrationOnly`.
    pub attestation_enforced: bool,
    /// Enforced key restrictions: `allow` or `block`, with the AAGUIDs listed.
    pub restrictions: Option<(String, Vec<String>)>,
}

/// An include target: a group's object id (or `all_users`) and the profile ids its members
/// may use (empty: the default profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeTarget {
    /// Group object id or `all_users`.
    pub group: String,
    /// `allowedPasskeyProfiles`.
    pub profiles: Vec<String>,
}

impl Default for FakePolicy {
    fn default() -> Self {
        FakePolicy {
            readable: true,
            enabled: true,
            self_service_allowed: true,
            attestation_enforced: false,
            restrictions: None,
            profiles: Vec::new(),
            targets: Vec::new(),
            excluded: Vec::new(),
            default_profile: None,
        }
    }
}

impl FakeTenant {
    /// Replaces the FIDO2 method policy the tenant reports and enforces.
    pub fn set_fido2_policy(&self, policy: FakePolicy) {
        if let Ok(mut p) = self.shared.policy.lock() {
            *p = policy;
        }
    }
}

fn restrictions_json(r: &Option<(String, Vec<String>)>) -> Value {
    match r {
        Some((kind, list)) => json!({"isEnforced": true, "enforcementType": kind, "aaGuids": list}),
        None => json!({"isEnforced": false, "enforcementType": "block", "aaGuids": []}),
    }
}

/// Whether enforced restrictions refuse this AAGUID.
fn restricted(r: &Option<(String, Vec<String>)>, aaguid: &str) -> bool {
    r.as_ref().is_some_and(|(kind, list)| {
        let listed = list.iter().any(|a| a.eq_ignore_ascii_case(aaguid));
        if kind.eq_ignore_ascii_case("allow") {
            !listed
        } else {
            listed
        }
    })
}

impl FakePolicy {
    /// The include targets as served.
    fn served_targets(&self) -> Vec<FakeTarget> {
        if !self.targets.is_empty() {
            return self.targets.clone();
        }
        let profiles = match &self.default_profile {
            Some(d) => vec![d.clone()],
            None => self.profiles.iter().map(|p| p.id.clone()).collect(),
        };
        vec![FakeTarget {
            group: "all_users".into(),
            profiles,
        }]
    }

    /// The profiles a member of `groups` (lower-case ids) may use.
    fn profiles_of(&self, groups: &HashSet<String>) -> Vec<&FakeProfile> {
        let mut ids: Vec<String> = Vec::new();
        for t in self.served_targets() {
            if t.group == "all_users" || groups.contains(&t.group.to_lowercase()) {
                if t.profiles.is_empty() {
                    ids.extend(self.default_profile.clone());
                } else {
                    ids.extend(t.profiles);
                }
            }
        }
        self.profiles
            .iter()
            .filter(|p| ids.iter().any(|id| id.eq_ignore_ascii_case(&p.id)))
            .collect()
    }
}

/// Why the policy refuses a key registration for a member of `groups` (lower-case object
/// ids, nested groups included): the verified AAGUID and whether the attestation verified.
pub(crate) fn refusal(
    p: &FakePolicy,
    groups: &HashSet<String>,
    aaguid: &str,
    attested: bool,
) -> Option<String> {
    if !p.enabled {
        return Some("The FIDO2 authentication method is disabled for this tenant.".into());
    }
    if p.profiles.is_empty() {
        if restricted(&p.restrictions, aaguid) {
            return Some(format!(
                "The authenticator (AAGUID {aaguid}) is not allowed by the FIDO2 key restrictions."
            ));
        }
        if p.attestation_enforced && !attested {
            return Some("Attestation is enforced and the authenticator is not attested.".into());
        }
        return None;
    }
    if p.excluded
        .iter()
        .any(|g| groups.contains(&g.to_lowercase()))
    {
        return Some("The user is excluded from the FIDO2 authentication method policy.".into());
    }
    let profiles = p.profiles_of(groups);
    if profiles.is_empty() {
        return Some("The user is not in scope of any passkey profile.".into());
    }
    let takes = |pr: &&FakeProfile| {
        pr.passkey_types
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("deviceBound"))
            && (!pr.attestation_enforced || attested)
            && !restricted(&pr.restrictions, aaguid)
    };
    if profiles.iter().any(takes) {
        return None;
    }
    let names: Vec<&str> = profiles.iter().map(|pr| pr.name.as_str()).collect();
    Some(format!(
        "The authenticator (AAGUID {aaguid}) is not allowed by the user's passkey profiles ({}).",
        names.join(", ")
    ))
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
    let mut body = json!({
        "@odata.context": format!("{}/{}/$metadata#authenticationMethodConfigurations/$entity", g.ctx.base, g.version.as_str()),
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "id": "Fido2",
        "state": if p.enabled { "enabled" } else { "disabled" },
        "isSelfServiceRegistrationAllowed": p.self_service_allowed,
        "isAttestationEnforced": p.attestation_enforced,
        "keyRestrictions": restrictions_json(&p.restrictions),
        "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false}],
        "excludeTargets": p.excluded.iter().map(|id| json!({"targetType": "group", "id": id})).collect::<Vec<_>>(),
    });
    if !p.profiles.is_empty() {
        if let Some(o) = body.as_object_mut() {
            let targets: Vec<Value> = p
                .served_targets()
                .iter()
                .map(|t| json!({"targetType": "group", "id": t.group, "isRegistrationRequired": false, "allowedPasskeyProfiles": t.profiles}))
                .collect();
            let profiles: Vec<Value> = p
                .profiles
                .iter()
                .map(|pr| json!({
                    "id": pr.id,
                    "name": pr.name,
                    "passkeyTypes": pr.passkey_types,
                    "attestationEnforcement": if pr.attestation_enforced { "registrationOnly" } else { "disabled" },
                    "keyRestrictions": restrictions_json(&pr.restrictions),
                }))
                .collect();
            o.insert("includeTargets".into(), Value::from(targets));
            o.insert("passkeyProfiles".into(), Value::from(profiles));
            o.insert(
                "defaultPasskeyProfile".into(),
                p.default_profile.clone().map_or(Value::Null, Value::from),
            );
        }
    }
    http::graph_json(StatusCode::OK, &body, g.ctx)
}
