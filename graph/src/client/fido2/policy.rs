//! The tenant's FIDO2 authentication-method policy (`Policy.Read.All`), read before a key is
//! written to: Graph refuses registrations when the method is disabled, when self-service
//! setup is off (required even for provisioning on behalf of users), or when key
//! restrictions exclude the key's AAGUID.
//!
//! `GET /policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2`
//! (`fido2AuthenticationMethodConfiguration`, beta and v1.0).

use serde::{Deserialize, Serialize};

use crate::client::GraphClient;
use crate::error::Result;

/// `fido2AuthenticationMethodConfiguration`, the parts the station checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Policy {
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub state: String,
    /// Self-service setup allowed (Graph requires it for provisioning too).
    #[serde(default)]
    pub is_self_service_registration_allowed: bool,
    /// Only attested keys are accepted.
    #[serde(default)]
    pub is_attestation_enforced: bool,
    /// AAGUID allow or block list.
    #[serde(default)]
    pub key_restrictions: Option<KeyRestrictions>,
}

/// `fido2KeyRestrictions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRestrictions {
    /// Whether the list is enforced.
    #[serde(default)]
    pub is_enforced: bool,
    /// `allow` or `block`.
    #[serde(default)]
    pub enforcement_type: String,
    /// The AAGUIDs listed.
    #[serde(default)]
    pub aa_guids: Vec<String>,
}

impl Fido2Policy {
    /// The FIDO2 method is enabled.
    pub fn is_enabled(&self) -> bool {
        self.state.eq_ignore_ascii_case("enabled")
    }

    /// Why a key with this AAGUID would be refused by key restrictions, if it would.
    pub fn aaguid_refusal(&self, aaguid: &str) -> Option<String> {
        let r = self.key_restrictions.as_ref().filter(|r| r.is_enforced)?;
        let listed = r.aa_guids.iter().any(|a| a.eq_ignore_ascii_case(aaguid));
        if r.enforcement_type.eq_ignore_ascii_case("allow") && !listed {
            Some(format!(
                "the tenant's FIDO2 key restrictions allow only listed models, and AAGUID {aaguid} is not listed"
            ))
        } else if r.enforcement_type.eq_ignore_ascii_case("block") && listed {
            Some(format!(
                "the tenant's FIDO2 key restrictions block this model (AAGUID {aaguid})"
            ))
        } else {
            None
        }
    }
}

impl GraphClient {
    /// The tenant's FIDO2 method policy. Needs `Policy.Read.All`; without it Graph answers 403
    /// and the caller should only warn.
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
    }
}
