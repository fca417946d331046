//! Creation options in the queue: when they are too close to expiry to use, fetching fresh
//! ones (and saving them whole in the journal), options for a proof-of-concept CSV row, and
//! that CSV's row for a person's options.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ctap::webauthn::{
    Attestation, CreationOptions, CredProtect, Extensions, RelyingParty, ResidentKey, User,
    UserVerification,
};
use graph::{ApiVersion, GraphClient, IssuedOptions};

use crate::report::users_to_register::UserRow;
use crate::store::{now_unix, parse_expiry, Challenge, QueuedUser};

/// A challenge expiring within this margin is replaced before makeCredential, so the
/// operator never sees an expired-challenge failure.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// When the queued challenge expires, if known.
pub fn challenge_expires_at(q: &QueuedUser) -> Option<SystemTime> {
    let secs = u64::try_from(q.challenge.expires_at?).ok()?;
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
    let issued = client.creation_options(&q.user_id, timeout_minutes).await?;
    let mut fresh = q.clone();
    if fresh.display_name.is_empty() {
        fresh.display_name = issued.options.user.display_name.clone().unwrap_or_default();
    }
    fresh.challenge = challenge(&issued);
    fresh.fetched_at = now_unix();
    Ok(fresh)
}

/// The journal's challenge for options as Graph issued them.
pub fn challenge(issued: &IssuedOptions) -> Challenge {
    Challenge {
        options: issued.options.clone(),
        expires_at: issued
            .expires_at
            .map(|t| time::OffsetDateTime::from(t).unix_timestamp()),
    }
}

/// A queue entry from Graph's options for `user_id` (object id, or UPN for CSV imports).
pub fn queued_from_options(user_id: &str, issued: &IssuedOptions) -> QueuedUser {
    let user = &issued.options.user;
    QueuedUser {
        user_id: user_id.to_owned(),
        upn: user.name.clone().unwrap_or_default(),
        display_name: user.display_name.clone().unwrap_or_default(),
        challenge: challenge(issued),
        existing_method_ids: Vec::new(),
        fetched_at: now_unix(),
    }
}

/// Options rebuilt from a proof-of-concept CSV row, as the proof of concept did (its
/// hard-coded choices): used only when Graph cannot be asked for the real ones. They lack
/// excludeCredentials, so a key the person already registered is not detected. Fails when
/// the row's user handle is not base64url.
pub fn queued_from_csv_row(row: &UserRow) -> Result<QueuedUser, String> {
    let user_handle = graph::creation_options::decode_base64_lenient(&row.user_handle)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("row for {}: User.ID is not base64url", row.upn))?;
    let options = CreationOptions {
        rp: RelyingParty {
            id: row.rp_id.clone(),
            name: Some("Microsoft".into()),
        },
        user: User {
            id: user_handle,
            name: Some(row.upn.clone()),
            display_name: Some(row.display_name.clone()),
        },
        challenge: row.challenge.clone(),
        algorithms: vec![-7, -257],
        exclude_credentials: Vec::new(),
        resident_key: ResidentKey::Required,
        user_verification: UserVerification::Required,
        attestation: Attestation::Direct,
        extensions: Extensions {
            credential_protection_policy: Some(CredProtect::UserVerificationOptional),
            enforce_credential_protection_policy: true,
            hmac_create_secret: true,
        },
    };
    Ok(QueuedUser {
        user_id: row.upn.clone(),
        upn: row.upn.clone(),
        display_name: row.display_name.clone(),
        challenge: Challenge {
            options,
            expires_at: parse_expiry(&row.challenge_expiry),
        },
        existing_method_ids: Vec::new(),
        fetched_at: now_unix(),
    })
}

/// The proof of concept's `usersToRegister.csv` row for `challenge`: the user handle as
/// unpadded base64url, the challenge verbatim, the expiry as RFC 3339 UTC (empty if unknown).
pub fn csv_row(upn: &str, display_name: &str, challenge: &Challenge) -> UserRow {
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    UserRow {
        upn: upn.to_owned(),
        display_name: display_name.to_owned(),
        user_handle: URL_SAFE_NO_PAD.encode(&challenge.options.user.id),
        challenge: challenge.options.challenge.clone(),
        challenge_expiry: challenge
            .expires_at
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| t.format(rfc3339).ok())
            .unwrap_or_default(),
        rp_id: challenge.options.rp.id.clone(),
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
    fn a_csv_row_round_trips_through_the_typed_options() {
        let r = row("2026-08-23T10:15:00Z");
        let q = queued_from_csv_row(&r).unwrap();
        assert_eq!(q.challenge.options.user.id, [0, 1, 2]);
        assert_eq!(q.challenge.expires_at, Some(1_787_480_100));
        assert_eq!(csv_row(&q.upn, &q.display_name, &q.challenge), r);
        let mut bad = r.clone();
        bad.user_handle = "A".into();
        assert!(queued_from_csv_row(&bad).unwrap_err().contains("a@x"));
    }

    #[test]
    fn expiry_decides_freshness() {
        let past = queued_from_csv_row(&row("2020-01-01T00:00:00Z")).unwrap();
        assert!(needs_fresh(&past, ApiVersion::Beta, EXPIRY_MARGIN));
        assert!(!challenge_still_valid(&past));
        let future = queued_from_csv_row(&row("2999-01-01T00:00:00")).unwrap();
        assert!(!needs_fresh(&future, ApiVersion::Beta, EXPIRY_MARGIN));
        assert!(needs_fresh(&future, ApiVersion::V1, EXPIRY_MARGIN));
        assert!(challenge_still_valid(&future));
        let opts = &future.challenge.options;
        assert_eq!(opts.rp.id, "login.microsoft.com");
        assert_eq!(opts.user.name.as_deref(), Some("a@x"));
    }
}
