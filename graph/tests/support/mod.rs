//! Shared by the graph crate's integration tests (each uses part of it).
#![allow(dead_code)]

use std::time::Duration;

use graph::RetryPolicy;

/// The client's real retry policy with delays of milliseconds, so tests of retries, throttling
/// and look-ups after a lost answer run quickly.
pub fn fast_policy(max_attempts: u32, max_throttled_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        max_throttled_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
        max_retry_after: Duration::from_secs(5),
        recheck_delay: Duration::from_millis(20),
    }
}

/// The client-credentials form that signs in to the fake tenant with its secret.
#[cfg(feature = "fake")]
pub fn secret_form(t: &graph::fake::FakeTenant) -> [(&'static str, &str); 4] {
    [
        ("client_id", t.client_id()),
        ("scope", t.scope()),
        ("client_secret", t.client_secret()),
        ("grant_type", "client_credentials"),
    ]
}

/// An app-only access token from the fake tenant's token endpoint (client secret).
#[cfg(feature = "fake")]
pub async fn secret_token(t: &graph::fake::FakeTenant) -> String {
    let resp = reqwest::Client::new()
        .post(t.token_url())
        .form(&secret_form(t))
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    let text = resp.text().await.expect("token body");
    assert_eq!(status, reqwest::StatusCode::OK, "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
