//! National clouds: login host, Graph host and `.default` scope as one unit (tokens never cross
//! clouds), plus the URL rule: https everywhere, plain http only to loopback (tests, the fake).

use crate::error::{Error, Result};
use url::{Host, Url};

/// Which Microsoft cloud the tenant lives in (`shared/graph-spec/clouds.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cloud {
    /// Global (commercial, also GCC moderate).
    #[default]
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
    /// Explicit bases, e.g. the fake tenant or a test proxy; validated by [`Cloud::validate`]. The
    /// token scope is the global one (`https://graph.microsoft.com/.default`).
    Custom {
        /// e.g. `https://login.microsoftonline.com` (token URL = `{login_base}/{tenant}/oauth2/v2.0/token`).
        login_base: String,
        /// e.g. `https://graph.microsoft.com` (requests go to `{graph_base}/beta/...`).
        graph_base: String,
    },
}

impl Cloud {
    /// Parses a config name: `global`, `usgov` (`gcchigh`), `usgovdod` (`dod`), `china`.
    pub fn from_name(name: &str) -> Option<Cloud> {
        match name
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "global" | "public" | "commercial" | "gcc" => Some(Cloud::Global),
            "usgov" | "gcchigh" | "usgovl4" => Some(Cloud::UsGov),
            "usgovdod" | "dod" | "usgovl5" => Some(Cloud::UsGovDod),
            "china" | "21vianet" | "mooncake" => Some(Cloud::China),
            _ => None,
        }
    }

    /// Login (identity platform) base URL, without trailing slash.
    pub fn login_base(&self) -> &str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
            Cloud::Custom { login_base, .. } => login_base.trim_end_matches('/'),
        }
    }

    /// Graph base URL, without trailing slash.
    pub fn graph_base(&self) -> &str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
            Cloud::Custom { graph_base, .. } => graph_base.trim_end_matches('/'),
        }
    }

    /// The client-credentials scope: `{graph_host}/.default`. Custom bases stand in for the global
    /// cloud (a test double or a proxy in front of it), so they ask for the global Graph scope.
    pub fn default_scope(&self) -> String {
        match self {
            Cloud::Custom { .. } => format!("{}/.default", Cloud::Global.graph_base()),
            c => format!("{}/.default", c.graph_base()),
        }
    }

    /// Delegated scopes of the operator sign-in (device code): provisioning passkeys and reading
    /// group members with the operator's own rights, plus `openid profile` (the ID token names
    /// who signed in) and `offline_access` (a refresh token). Custom bases use the global host.
    pub fn delegated_scopes(&self) -> String {
        let host = match self {
            Cloud::Custom { .. } => Cloud::Global.graph_base(),
            c => c.graph_base(),
        };
        format!(
            "{host}/UserAuthMethod-Passkey.ReadWrite.All {host}/GroupMember.Read.All openid profile offline_access"
        )
    }

    /// Device authorization endpoint for a tenant (CONTRACT.md §1e).
    pub fn device_code_url(&self, tenant: &str) -> String {
        format!("{}/{}/oauth2/v2.0/devicecode", self.login_base(), tenant)
    }

    /// Token endpoint for a tenant; also the `aud` of certificate assertions.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login_base(), tenant)
    }

    /// Checks both bases (https, or http only to a loopback host) and returns them parsed.
    pub fn validate(&self) -> Result<(Url, Url)> {
        Ok((
            check_base_url("login base", self.login_base())?,
            check_base_url("graph base", self.graph_base())?,
        ))
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Refuses anything but https, or http to a loopback host: tokens and secrets never travel in clear.
pub fn check_transport(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InvalidConfig(format!(
            "{url} uses plain http to a non-loopback host; use https (http is allowed only for 127.0.0.0/8, ::1, localhost)"
        ))),
        other => Err(Error::InvalidConfig(format!(
            "{url}: unsupported scheme {other:?}; use https"
        ))),
    }
}

fn check_base_url(what: &str, s: &str) -> Result<Url> {
    let url = Url::parse(s)
        .map_err(|e| Error::InvalidConfig(format!("{what} {s:?} is not a URL: {e}")))?;
    check_transport(&url)?;
    if url.host().is_none() {
        return Err(Error::InvalidConfig(format!("{what} {s:?} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidConfig(format!(
            "{what} must not contain credentials"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidConfig(format!(
            "{what} {s:?} must not have a query or fragment"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_scopes() {
        assert_eq!(
            Cloud::Global.default_scope(),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            Cloud::UsGovDod.default_scope(),
            "https://dod-graph.microsoft.us/.default"
        );
        assert_eq!(
            Cloud::China.token_url("t"),
            "https://login.chinacloudapi.cn/t/oauth2/v2.0/token"
        );
        assert_eq!(Cloud::from_name("GCC-High"), Some(Cloud::UsGov));
        assert_eq!(
            Cloud::UsGov.delegated_scopes(),
            "https://graph.microsoft.us/UserAuthMethod-Passkey.ReadWrite.All https://graph.microsoft.us/GroupMember.Read.All openid profile offline_access"
        );
        assert_eq!(
            Cloud::China.device_code_url("t"),
            "https://login.chinacloudapi.cn/t/oauth2/v2.0/devicecode"
        );
    }

    #[test]
    fn custom_bases_https_or_loopback_only() {
        let ok = |l: &str, g: &str| {
            Cloud::Custom {
                login_base: l.into(),
                graph_base: g.into(),
            }
            .validate()
        };
        assert!(ok("http://127.0.0.1:8080", "http://127.0.0.5:1/").is_ok());
        assert!(ok("http://localhost:1", "http://[::1]:2").is_ok());
        assert!(ok("https://login.example", "https://graph.example").is_ok());
        assert!(ok("http://10.0.0.1", "https://graph.example").is_err());
        assert!(ok("https://login.example", "http://graph.example").is_err());
        assert!(ok("ftp://x", "https://graph.example").is_err());
        assert!(ok("https://u:p@login.example", "https://graph.example").is_err());
    }
}
