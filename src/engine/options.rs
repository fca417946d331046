//! Creation options in the queue: when they are too close to expiry to use, fetching fresh
//! ones (and saving them whole in the journal), and options for a proof-of-concept CSV row.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graph::{ApiVersion, GraphClient};

use crate::report::users_to_register::UserRow;
use crate::store::{now_unix, QueuedUser};

/// A challenge expiring within this margin is replaced before makeCredential, so the
/// operator never sees an expired-challenge failure.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// When the queued challenge expires, if known (the same reading the journal stores).
pub fn challenge_expires_at(q: &QueuedUser) -> Option<SystemTime> {
    let secs = u64::try_from(crate::store::challenge_expires_at(q)?).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Whether fresh options must be fetched before makeCredential: v1.0 challenges live five
/// minutes (always fetched just in time); beta ones when they expire within `margin`.
pub fn needs_fresh(q: &QueuedUser, api: ApiVersion, margin: Duration) -> bool {
    if api == ApiVersion::V1 {
        return true;
    }
    match challenge_expires_at(q) {
        Some(t) => t <= SystemTime::now() + margin,
        None => true,
    }
}

/// Whether the challenge is still accepted (for "may we post this attestation").
pub fn challenge_still_valid(q: &QueuedUser) -> bool {
    challenge_expires_at(q).is_some_and(|t| t > SystemTime::now())
}

/// Fetches fresh options for `q`'s user; everything but the options is kept.
pub async fn refresh(
    client: &GraphClient,
    q: &QueuedUser,
    timeout_minutes: u32,
) -> graph::Result<QueuedUser> {
    let options = client.creation_options(&q.user_id, timeout_minutes).await?;
    let mut fresh = queued_from_options(&q.user_id, &options)
        .map_err(|e| graph::Error::InvalidArgument(format!("creation options: {e}")))?;
    fresh.upn.clone_from(&q.upn);
    if !q.display_name.is_empty() {
        fresh.display_name.clone_from(&q.display_name);
    }
    fresh.existing_method_ids.clone_from(&q.existing_method_ids);
    Ok(fresh)
}

/// A queue entry from Graph's options for `user_id` (object id, or UPN for CSV imports).
pub fn queued_from_options(
    user_id: &str,
    options: &graph::CreationOptions,
) -> Result<QueuedUser, serde_json::Error> {
    Ok(QueuedUser {
        user_id: user_id.to_owned(),
        upn: options.user_name().to_owned(),
        display_name: options.user_display_name().to_owned(),
        user_handle: options.user_id().to_owned(),
        challenge: options.challenge().to_owned(),
        challenge_expiry: options
            .challenge_timeout_date_time()
            .unwrap_or("")
            .to_owned(),
        rp_id: options.rp_id().to_owned(),
        creation_options: serde_json::to_value(options)?,
        existing_method_ids: Vec::new(),
        fetched_at: now_unix(),
    })
}

/// Options rebuilt from a proof-of-concept CSV row, as the proof of concept did (its
/// hard-coded choices): used only when Graph cannot be asked for the real ones. They lack
/// excludeCredentials, so a key the person already registered is not detected.
pub fn queued_from_csv_row(row: &UserRow) -> QueuedUser {
    let options = serde_json::json!({
        "challengeTimeoutDateTime": row.challenge_expiry,
        "publicKey": {
            "rp": {"id": row.rp_id, "name": "Microsoft"},
            "user": {"id": row.user_handle, "name": row.upn, "displayName": row.display_name},
            "challenge": row.challenge,
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
            "excludeCredentials": [],
            "authenticatorSelection": {"authenticatorAttachment": "cross-platform", "requireResidentKey": true, "residentKey": "required", "userVerification": "required"},
            "attestation": "direct",
            "extensions": {"hmacCreateSecret": true, "credentialProtectionPolicy": "userVerificationOptional", "enforceCredentialProtectionPolicy": true},
        }
    });
    QueuedUser {
        user_id: row.upn.clone(),
        upn: row.upn.clone(),
        display_name: row.display_name.clone(),
        user_handle: row.user_handle.clone(),
        challenge: row.challenge.clone(),
        challenge_expiry: row.challenge_expiry.clone(),
        rp_id: row.rp_id.clone(),
        creation_options: options,
        existing_method_ids: Vec::new(),
        fetched_at: now_unix(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(expiry: &str) -> UserRow {
        UserRow {
            upn: "a@x".into(),
            display_name: "A".into(),
            user_handle: "AAEC".into(),
            challenge: "Y2hhbGxlbmdl".into(),
            challenge_expiry: expiry.into(),
            rp_id: "login.microsoft.com".into(),
        }
    }

    #[test]
    fn expiry_decides_freshness() {
        let past = queued_from_csv_row(&row("2020-01-01T00:00:00Z"));
        assert!(needs_fresh(&past, ApiVersion::Beta, EXPIRY_MARGIN));
        assert!(!challenge_still_valid(&past));
        let future = queued_from_csv_row(&row("2999-01-01T00:00:00"));
        assert!(!needs_fresh(&future, ApiVersion::Beta, EXPIRY_MARGIN));
        assert!(needs_fresh(&future, ApiVersion::V1, EXPIRY_MARGIN));
        assert!(challenge_still_valid(&future));
        let opts =
            ctap::webauthn::CreationOptions::from_graph_value(&future.creation_options).unwrap();
        assert_eq!(opts.rp.id, "login.microsoft.com");
        assert_eq!(opts.user.name.as_deref(), Some("a@x"));
    }
}
