//! Connecting to the tenant described by `configs.json`: one place maps the config to a
//! Graph client, so `prefetch`, `enroll` and the kiosk all talk to Entra the same way.

use anyhow::{Context, Result};
use graph::{Credentials, GraphClient, GraphConfig};

use crate::config::{Config, Credential};

/// The Graph client settings for `config` (reads the certificate files when configured).
pub fn graph_config(config: &Config) -> Result<GraphConfig> {
    let credentials = match &config.credential {
        Credential::Secret(secret) => Credentials::secret(secret.expose()),
        // The operator signs in at the kiosk (device code); until then Graph calls fail with
        // `graph::Error::NotSignedIn`.
        Credential::Delegated => Credentials::Delegated,
        Credential::Certificate {
            certificate,
            private_key,
        } => Credentials::certificate_from_files(certificate, private_key).with_context(|| {
            format!(
                "{}: clientCertificate ({} / {})",
                config.path.display(),
                certificate.display(),
                private_key.display()
            )
        })?,
    };
    let mut graph = GraphConfig::new(
        config.cloud.clone(),
        config.tenant.clone(),
        config.client_id.clone(),
        credentials,
    );
    graph.api_version = config.graph_api_version;
    graph.concurrency = graph::Concurrency::Adaptive {
        ceiling: config.max_concurrent_graph_requests,
    };
    graph.proxy.clone_from(&config.proxy);
    Ok(graph)
}

/// A Graph client for `config` (no network traffic until the first call).
pub fn connect(config: &Config) -> Result<GraphClient> {
    GraphClient::new(graph_config(config)?).context("setting up the Microsoft Graph client")
}
