//! The tenant's FIDO2 authentication-method policy (`Policy.Read.AuthenticationMethod` or
//! `Policy.Read.All`), read before a key is written to: Graph refuses registrations when the
//! method is disabled, when self-service setup is off (required even for provisioning on
//! behalf of users), or when the rules that apply to the person exclude the key.
//!
//! `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2`
//! (`fido2AuthenticationMethodConfiguration`, beta and v1.0) comes in two shapes, both read
//! here: the tenant-wide one (`isAttestationEnforced`, `keyRestrictions`), and passkey
//! profiles (`passkeyProfiles`, linked to the include targets by `allowedPasskeyProfiles`),
//! which replace the tenant-wide fields (deprecated since 2025-10). Unknown fields are
//! ignored and missing ones mean "not set"; a field of the wrong type is a decode error.

use std::collections::HashSet;

use serde::{Deserialize, Deserializer, Serialize};

use crate::client::GraphClient;
use crate::error::Result;

/// The include target that stands for every user.
pub const ALL_USERS: &str = "all_users";

/// `fido2AuthenticationMethodConfiguration`, the parts the station checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Policy {
    /// `enabled` or `disabled`.
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
    /// Self-service setup allowed (Graph requires it for provisioning too).
    #[serde(default, deserialize_with = "null_default")]
    pub is_self_service_registration_allowed: bool,
    /// Only attested keys are accepted (tenant-wide shape).
    #[serde(default, deserialize_with = "null_default")]
    pub is_attestation_enforced: bool,
    /// AAGUID allow or block list (tenant-wide shape).
    #[serde(default)]
    pub key_restrictions: Option<KeyRestrictions>,
    /// Who may use the method, and (with profiles) with which profiles.
    #[serde(default, deserialize_with = "null_default")]
    pub include_targets: Vec<PolicyTarget>,
    /// Who may not (wins over the include targets).
    #[serde(default, deserialize_with = "null_default")]
    pub exclude_targets: Vec<PolicyTarget>,
    /// The passkey profiles; empty in tenants that have not moved to them.
    #[serde(default, deserialize_with = "null_default")]
    pub passkey_profiles: Vec<PasskeyProfile>,
    /// Id of the baseline profile (created by the migration to profiles).
    #[serde(default)]
    pub default_passkey_profile: Option<String>,
}

/// `fido2KeyRestrictions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRestrictions {
    /// Whether the list is enforced.
    #[serde(default, deserialize_with = "null_default")]
    pub is_enforced: bool,
    /// `allow` or `block`.
    #[serde(default, deserialize_with = "null_default")]
    pub enforcement_type: String,
    /// The AAGUIDs listed.
    #[serde(default, deserialize_with = "null_default")]
    pub aa_guids: Vec<String>,
}

/// An include or exclude target (`passkeyAuthenticationMethodTarget` / `excludeTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTarget {
    /// A group's object id, or `all_users`.
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    /// `group` (the `user` value is no longer recommended).
    #[serde(default, deserialize_with = "null_default")]
    pub target_type: String,
    /// Ids of the profiles the target's members may use (empty without profiles).
    #[serde(default, deserialize_with = "null_default")]
    pub allowed_passkey_profiles: Vec<String>,
}

/// `passkeyProfile`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyProfile {
    /// Its id (a GUID).
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    /// Its name, as the administrator sees it.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Flags: `deviceBound`, `synced` (comma-separated).
    #[serde(default, deserialize_with = "null_default")]
    pub passkey_types: String,
    /// `disabled` or `registrationOnly`.
    #[serde(default, deserialize_with = "null_default")]
    pub attestation_enforcement: String,
    /// AAGUID allow or block list of this profile.
    #[serde(default)]
    pub key_restrictions: Option<KeyRestrictions>,
}

/// What the policy says of one key for one person, before anything is written to the key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyVerdict {
    /// Why Graph would refuse the registration, if it would (naming the profiles).
    pub refusal: Option<String>,
    /// Graph accepts the key only attested: the registration must come back `attested`.
    pub attestation_required: bool,
    /// The profile that accepts the key (profiles only).
    pub profile: Option<String>,
}

/// `null` read as the type's default (Graph sends `null` for unset collections).
fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An AAGUID of zeros: the key names no model, so it cannot be attested.
fn is_nil_aaguid(aaguid: &str) -> bool {
    aaguid.chars().all(|c| c == '0' || c == '-')
}

impl KeyRestrictions {
    /// Why this list refuses the AAGUID, if it is enforced and does.
    pub fn refusal(&self, aaguid: &str) -> Option<String> {
        if !self.is_enforced {
            return None;
        }
        let listed = self.aa_guids.iter().any(|a| a.eq_ignore_ascii_case(aaguid));
        if self.enforcement_type.eq_ignore_ascii_case("allow") && !listed {
            Some(format!(
                "allow only listed models, and AAGUID {aaguid} is not listed"
            ))
        } else if self.enforcement_type.eq_ignore_ascii_case("block") && listed {
            Some(format!("block this model (AAGUID {aaguid})"))
        } else {
            None
        }
    }
}

impl PasskeyProfile {
    /// Device-bound passkeys (a security key's) are among its types; no types stated
    /// restricts nothing.
    pub fn allows_device_bound(&self) -> bool {
        self.passkey_types.trim().is_empty()
            || self
                .passkey_types
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("deviceBound"))
    }

    /// Only attested keys may register.
    pub fn enforces_attestation(&self) -> bool {
        self.attestation_enforcement
            .eq_ignore_ascii_case("registrationOnly")
    }

    /// Why this profile refuses a security key with this AAGUID, if it does.
    pub fn refusal(&self, aaguid: &str) -> Option<String> {
        if !self.allows_device_bound() {
            return Some(format!(
                "passkey profile \"{}\" takes only {} passkeys, not security keys",
                self.name, self.passkey_types
            ));
        }
        if self.enforces_attestation() && is_nil_aaguid(aaguid) {
            return Some(format!(
                "passkey profile \"{}\" enforces attestation, and the key reports no AAGUID (it cannot be attested)",
                self.name
            ));
        }
        let r = self.key_restrictions.as_ref()?.refusal(aaguid)?;
        Some(format!(
            "passkey profile \"{}\" key restrictions {r}",
            self.name
        ))
    }
}

impl PolicyTarget {
    fn is_all_users(&self) -> bool {
        self.id.eq_ignore_ascii_case(ALL_USERS)
    }

    /// Whether a person in `groups` (lower-case ids) is a member of this target.
    fn covers(&self, groups: &HashSet<String>) -> bool {
        self.is_all_users() || groups.contains(&self.id.to_lowercase())
    }
}

impl Fido2Policy {
    /// The FIDO2 method is enabled.
    pub fn is_enabled(&self) -> bool {
        self.state.eq_ignore_ascii_case("enabled")
    }

    /// The tenant has moved to passkey profiles.
    pub fn has_profiles(&self) -> bool {
        !self.passkey_profiles.is_empty()
    }

    /// Why a key with this AAGUID would be refused by the tenant-wide key restrictions.
    pub fn aaguid_refusal(&self, aaguid: &str) -> Option<String> {
        let r = self.key_restrictions.as_ref()?.refusal(aaguid)?;
        Some(format!("the tenant's FIDO2 key restrictions {r}"))
    }

    /// The groups (lower-case object ids) whose membership decides which profiles apply to a
    /// person: the include and exclude targets other than `all_users`. Empty without
    /// profiles, or when every target is `all_users`.
    pub fn target_groups(&self) -> Vec<String> {
        if !self.has_profiles() {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        self.include_targets
            .iter()
            .chain(&self.exclude_targets)
            .filter(|t| !t.is_all_users() && !t.id.is_empty())
            .map(|t| t.id.to_lowercase())
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }

    fn profile(&self, id: &str) -> Option<&PasskeyProfile> {
        self.passkey_profiles
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
    }

    /// The profiles a target's members may use: those it lists, else the default profile.
    fn target_profiles(&self, target: &PolicyTarget) -> Vec<&PasskeyProfile> {
        if target.allowed_passkey_profiles.is_empty() {
            return self
                .default_passkey_profile
                .as_deref()
                .and_then(|d| self.profile(d))
                .into_iter()
                .collect();
        }
        target
            .allowed_passkey_profiles
            .iter()
            .filter_map(|id| self.profile(id))
            .collect()
    }

    /// What the policy says of a key with `aaguid` for a person who is a member of `groups`
    /// (object ids, any case; `None`: not known, so every profile any include target allows
    /// is a candidate and a key is refused only when none of them takes it).
    ///
    /// With profiles: exclude targets win; the person's include targets give the profiles,
    /// and a key any one of them accepts is accepted. Without: the tenant-wide key
    /// restrictions and attestation enforcement.
    pub fn check_key(&self, aaguid: &str, groups: Option<&[String]>) -> KeyVerdict {
        if !self.has_profiles() {
            let refusal = self.aaguid_refusal(aaguid).or_else(|| {
                (self.is_attestation_enforced && is_nil_aaguid(aaguid)).then(|| {
                    "the tenant's FIDO2 policy enforces attestation, and the key reports no AAGUID (it cannot be attested)".to_owned()
                })
            });
            return KeyVerdict {
                refusal,
                attestation_required: self.is_attestation_enforced,
                profile: None,
            };
        }
        let groups: Option<HashSet<String>> =
            groups.map(|g| g.iter().map(|id| id.to_lowercase()).collect());
        if let Some(g) = &groups {
            if let Some(t) = self.exclude_targets.iter().find(|t| t.covers(g)) {
                return KeyVerdict {
                    refusal: Some(format!(
                        "the person is excluded from the tenant's FIDO2 policy (exclude target {})",
                        t.id
                    )),
                    ..KeyVerdict::default()
                };
            }
        }
        let mut candidates: Vec<&PasskeyProfile> = Vec::new();
        for t in &self.include_targets {
            if groups.as_ref().is_none_or(|g| t.covers(g)) {
                for p in self.target_profiles(t) {
                    if !candidates.iter().any(|c| c.id == p.id) {
                        candidates.push(p);
                    }
                }
            }
        }
        if candidates.is_empty() {
            return KeyVerdict {
                refusal: Some(
                    "no passkey profile of the tenant's FIDO2 policy applies to the person (not in any group it targets)"
                        .into(),
                ),
                ..KeyVerdict::default()
            };
        }
        let accepting: Vec<&&PasskeyProfile> = candidates
            .iter()
            .filter(|p| p.refusal(aaguid).is_none())
            .collect();
        if accepting.is_empty() {
            let reasons: Vec<String> = candidates
                .iter()
                .filter_map(|p| p.refusal(aaguid))
                .collect();
            return KeyVerdict {
                refusal: Some(reasons.join("; ")),
                ..KeyVerdict::default()
            };
        }
        KeyVerdict {
            refusal: None,
            // Graph takes the key under any accepting profile: attestation is required only
            // when every one of them enforces it.
            attestation_required: accepting.iter().all(|p| p.enforces_attestation()),
            profile: accepting.first().map(|p| p.name.clone()),
        }
    }
}

impl GraphClient {
    /// The tenant's FIDO2 method policy. Needs `Policy.Read.AuthenticationMethod` (or
    /// `Policy.Read.All`); without it Graph answers 403 and the caller should only warn.
    pub async fn fido2_policy(&self) -> Result<Fido2Policy> {
        let url = self.url(
            "policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2",
            None,
        )?;
        self.get_json("get FIDO2 method policy", url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOFT: &str = "50617373-6b65-794b-696f-736b536f6674";

    #[test]
    fn allow_and_block_lists() {
        let mut p: Fido2Policy = serde_json::from_value(serde_json::json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "id": "Fido2", "state": "enabled", "isSelfServiceRegistrationAllowed": true,
            "isAttestationEnforced": true,
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["AAAA"]}
        }))
        .unwrap();
        assert!(p.is_enabled());
        assert!(p.aaguid_refusal("aaaa").is_none());
        assert!(p.aaguid_refusal("bbbb").is_some());
        if let Some(r) = p.key_restrictions.as_mut() {
            r.enforcement_type = "block".into();
        }
        assert!(p.aaguid_refusal("AAAA").is_some());
        assert!(p.aaguid_refusal("bbbb").is_none());
        // Without profiles the tenant-wide rules decide, attestation included.
        let v = p.check_key("bbbb", None);
        assert!(v.refusal.is_none() && v.attestation_required, "{v:?}");
        assert!(p
            .check_key("00000000-0000-0000-0000-000000000000", None)
            .refusal
            .is_some_and(|r| r.contains("cannot be attested")));
    }

    /// The documented PATCH example (beta and v1.0), nulls and unknown fields.
    fn profiles_policy() -> Fido2Policy {
        serde_json::from_value(serde_json::json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "id": "Fido2", "state": "enabled", "isSelfServiceRegistrationAllowed": true,
            "isAttestationEnforced": null,
            "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": null},
            "defaultPasskeyProfile": "00000000-0000-0000-0000-000000000001",
            "somethingNew": {"x": 1},
            "includeTargets": [
                {"targetType": "group", "id": "all_users", "isRegistrationRequired": false,
                 "allowedPasskeyProfiles": ["00000000-0000-0000-0000-000000000001"]},
                {"targetType": "group", "id": "AAAAAAAA-1111-2222-3333-444444444444",
                 "allowedPasskeyProfiles": ["b5a1c7de-0000-4000-8000-000000000002"]},
                {"targetType": "group", "id": "cccccccc-1111-2222-3333-444444444444"}
            ],
            "excludeTargets": [{"targetType": "group", "id": "eeeeeeee-1111-2222-3333-444444444444"}],
            "passkeyProfiles": [
                {"id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile",
                 "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "disabled",
                 "keyRestrictions": {"isEnforced": true, "enforcementType": "allow",
                                     "aaGuids": ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]}},
                {"id": "b5a1c7de-0000-4000-8000-000000000002", "name": "Admins",
                 "passkeyTypes": "deviceBound", "attestationEnforcement": "registrationOnly",
                 "keyRestrictions": {"isEnforced": false, "enforcementType": "allow", "aaGuids": []}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_profiles_of_a_persons_groups_decide() {
        let p = profiles_policy();
        assert!(p.has_profiles());
        assert_eq!(
            p.target_groups(),
            [
                "aaaaaaaa-1111-2222-3333-444444444444",
                "cccccccc-1111-2222-3333-444444444444",
                "eeeeeeee-1111-2222-3333-444444444444"
            ]
        );
        // Everyone: only the default profile, whose allow list lacks the key.
        let v = p.check_key(SOFT, Some(&[]));
        let why = v.refusal.unwrap();
        assert!(
            why.contains("\"Default passkey profile\"") && why.contains("is not listed"),
            "{why}"
        );
        // In the admins' group (any case): the Admins profile takes it, attested.
        let admin = ["aaaaaaaa-1111-2222-3333-444444444444".to_owned()];
        let v = p.check_key(SOFT, Some(&admin));
        assert_eq!(v.refusal, None);
        assert!(v.attestation_required);
        assert_eq!(v.profile.as_deref(), Some("Admins"));
        // Membership unknown: some profile takes it, so it is not refused.
        assert_eq!(p.check_key(SOFT, None).refusal, None);
        // Excluded wins.
        let both = [
            admin[0].clone(),
            "EEEEEEEE-1111-2222-3333-444444444444".to_owned(),
        ];
        assert!(p
            .check_key(SOFT, Some(&both))
            .refusal
            .is_some_and(|r| r.contains("excluded")));
        // A listed model under the default profile: accepted, attestation not required.
        let v = p.check_key("CB69481E-8FF7-4039-93EC-0A2729A154A8", Some(&[]));
        assert_eq!((v.refusal, v.attestation_required), (None, false));
    }

    #[test]
    fn synced_only_and_unattestable_keys_are_refused() {
        let mut p = profiles_policy();
        p.passkey_profiles[0].passkey_types = "synced".into();
        let why = p.check_key(SOFT, Some(&[])).refusal.unwrap();
        assert!(why.contains("only synced passkeys"), "{why}");
        let admin = ["aaaaaaaa-1111-2222-3333-444444444444".to_owned()];
        let why = p
            .check_key("00000000-0000-0000-0000-000000000000", Some(&admin))
            .refusal
            .unwrap();
        assert!(why.contains("\"Admins\" enforces attestation"), "{why}");
    }

    #[test]
    fn bad_shapes_are_errors() {
        let bad = serde_json::json!({"state": "enabled", "passkeyProfiles": "deviceBound"});
        assert!(serde_json::from_value::<Fido2Policy>(bad).is_err());
        let bad = serde_json::json!({"includeTargets": [{"id": "all_users", "allowedPasskeyProfiles": 1}]});
        assert!(serde_json::from_value::<Fido2Policy>(bad).is_err());
    }
}
