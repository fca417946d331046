//! Every client call against the fake tenant (`cargo test -p graph --features fake`): secret and
//! certificate sign-in, group lookup, 2,500-member paging, transitive members, creationOptions in
//! both API versions, register/list/delete, throttling storms, 5xx HTML, token expiry, and a
//! dropped POST answer that must be recognised instead of re-posted.
#![cfg(feature = "fake")]

mod support;

use graph::fake::{ExtraGroup, FakeConfig, FakeTenant, Faults, RetryAfterStyle};
use graph::wire::method_id_for_credential;
use graph::{
    ApiVersion, Credentials, DeleteOutcome, Error, GraphClient, GraphConfig, IssuedOptions,
    RegisterRequest, SkipReason,
};
use sha2::Digest;
use std::time::{Duration, SystemTime};
use support::fast_policy;
/// Self-signed test certificate (CN=passkey-kiosk-test, RSA 2048, valid 100 years) and its key.
const TEST_CERT_PEM: &str = include_str!("data/test-cert.pem");
const TEST_KEY_PEM: &str = include_str!("data/test-key.pem");

fn config(fake: &FakeTenant, credentials: Credentials) -> GraphConfig {
    let mut c = fake.graph_config(credentials);
    c.retry = fast_policy(6, 6);
    c
}

fn client(fake: &FakeTenant) -> GraphClient {
    GraphClient::new(config(fake, Credentials::secret(fake.client_secret()))).expect("client")
}

async fn start(cfg: FakeConfig) -> FakeTenant {
    FakeTenant::start(cfg).await.expect("fake tenant")
}

/// A `none` attestation for the options, as an authenticator would produce it (ES256 key = the
/// P-256 generator point, a valid public key).
fn attest(issued: &IssuedOptions, credential_id: &[u8], name: &str) -> RegisterRequest {
    let cdj = format!(
        r#"{{"type":"webauthn.create","challenge":"{}","origin":"https://{}","crossOrigin":false}}"#,
        issued.options.challenge, issued.options.rp.id
    );
    let gx = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
    let gy = "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";
    let hex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    };
    let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20];
    cose.extend(hex(gx));
    cose.extend([0x22, 0x58, 0x20]);
    cose.extend(hex(gy));
    let mut ad = sha2::Sha256::digest(issued.options.rp.id.as_bytes()).to_vec();
    ad.push(0x45); // UP | UV | AT
    ad.extend([0, 0, 0, 0]);
    ad.extend([0u8; 16]);
    ad.extend((credential_id.len() as u16).to_be_bytes());
    ad.extend(credential_id);
    ad.extend(cose);
    let mut att = vec![0xa3, 0x63];
    att.extend(b"fmt");
    att.push(0x64);
    att.extend(b"none");
    att.push(0x67);
    att.extend(b"attStmt");
    att.push(0xa0);
    att.push(0x68);
    att.extend(b"authData");
    assert!(ad.len() < 256);
    att.extend([0x58, ad.len() as u8]);
    att.extend(ad);
    RegisterRequest {
        display_name: name.into(),
        credential_id: credential_id.to_vec(),
        client_data_json: cdj.into_bytes(),
        attestation_object: att,
        client_extension_results: serde_json::json!({"credProtect": 1, "hmac-secret": true}),
    }
}

fn cred_id(seed: u8) -> Vec<u8> {
    (0..64u8)
        .map(|i| i.wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn first_member_user(c: &GraphClient, fake: &FakeTenant) -> graph::User {
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    c.members(&g.id, false)
        .await
        .expect("members")
        .users
        .into_iter()
        .next()
        .expect("a user")
}

#[tokio::test]
async fn secret_sign_in_and_group_lookup() {
    let fake = start(FakeConfig {
        extra_groups: vec![
            ExtraGroup {
                display_name: "Twins".into(),
                users: 1,
                nested_in_scope: false,
            },
            ExtraGroup {
                display_name: "Twins".into(),
                users: 1,
                nested_in_scope: false,
            },
            ExtraGroup {
                display_name: "O'Brien & Co".into(),
                users: 1,
                nested_in_scope: false,
            },
        ],
        ..FakeConfig::default()
    })
    .await;
    let c = client(&fake);
    c.sign_in().await.expect("token");
    let g = c.find_group_by_name(fake.group_name()).await.expect("one");
    assert_eq!(g.id, fake.group_id());
    assert_eq!(c.group_by_id(&g.id).await.expect("by id").id, g.id);
    c.find_group_by_name("O'Brien & Co")
        .await
        .expect("quote escaped");
    match c.find_group_by_name("Twins").await {
        Err(Error::AmbiguousGroup { candidates, .. }) => assert_eq!(candidates.len(), 2),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.find_group_by_name("No such group").await,
        Err(Error::GroupNotFound { .. })
    ));
    assert!(matches!(
        c.group_by_id("00000000-0000-0000-0000-000000000000").await,
        Err(Error::GroupNotFound { .. })
    ));
}

#[tokio::test]
async fn wrong_secret_is_explained() {
    let fake = start(FakeConfig::default()).await;
    let c = GraphClient::new(config(&fake, Credentials::secret("not-the-secret"))).expect("client");
    let e = c.sign_in().await.expect_err("refused");
    let Error::Auth(a) = &e else { panic!("{e:?}") };
    assert_eq!(a.aadsts, Some(7000215));
    assert!(a.trace_id.is_some() && a.correlation_id.is_some());
    assert!(!e.to_string().contains("not-the-secret"));
    assert!(!e.to_string().contains(fake.client_secret()));
}

#[tokio::test]
async fn certificate_sign_in() {
    let fake = start(FakeConfig::default()).await;
    let creds = Credentials::certificate_from_pem(TEST_CERT_PEM, TEST_KEY_PEM).expect("pem");
    let c = GraphClient::new(config(&fake, creds.clone())).expect("client");
    // Not yet trusted: AADSTS700027 with the remedy.
    let e = c.sign_in().await.expect_err("unknown cert");
    let Error::Auth(a) = &e else { panic!("{e:?}") };
    assert_eq!(a.aadsts, Some(700027));
    assert!(e.to_string().contains("upload this certificate"), "{e}");
    let Credentials::Certificate { cert_der, .. } = &creds else {
        panic!("variant")
    };
    fake.add_certificate(cert_der.clone());
    let c = GraphClient::new(config(&fake, creds)).expect("client");
    c.sign_in().await.expect("trusted cert");
    c.find_group_by_name(fake.group_name())
        .await
        .expect("graph works");
}

#[tokio::test]
async fn members_paging_2500_and_transitive() {
    let fake = start(FakeConfig {
        users: 2500,
        ..FakeConfig::default()
    })
    .await;
    let c = client(&fake);
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    let direct = c.members(&g.id, false).await.expect("members");
    assert_eq!(direct.users.len(), 2500);
    let mut ids: Vec<_> = direct.users.iter().map(|u| u.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    assert!(direct.skipped.iter().any(|s| s.reason == SkipReason::Guest));
    for t in ["device", "servicePrincipal", "orgContact", "group"] {
        let want = format!("#microsoft.graph.{t}");
        assert!(
            direct
                .skipped
                .iter()
                .any(|s| s.reason == SkipReason::NotAUser(Some(want.clone()))),
            "{t} not reported: {:?}",
            direct.skipped
        );
    }
    let trans = c.members(&g.id, true).await.expect("transitive");
    assert_eq!(
        trans.users.len(),
        2503,
        "nested group's 3 users flattened in"
    );
    let expected: usize = fake.users().iter().filter(|u| !u.is_guest).count();
    assert!(trans.users.len() <= expected);
}

#[tokio::test]
async fn creation_options_beta_and_v1_both_shapes() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    let before = SystemTime::now();
    let o = c.creation_options(&user.id, 60).await.expect("beta");
    assert_eq!(o.options.rp.id, "login.microsoft.com");
    assert_eq!(o.options.user.name, user.user_principal_name);
    assert!(!o.options.challenge.is_empty());
    assert_eq!(&o.options.user.id[..3], b"OF:");
    let exp = o.expires_at.expect("expiry");
    let mins = exp.duration_since(before).expect("future").as_secs() / 60;
    assert!((58..=61).contains(&mins), "{mins}");

    fake.set_faults(Faults {
        creation_options_wrapped_in_value: true,
        ..Faults::default()
    });
    let mut cfg = config(&fake, Credentials::secret(fake.client_secret()));
    cfg.api_version = ApiVersion::V1;
    let v1 = GraphClient::new(cfg).expect("v1");
    let o1 = v1.creation_options(&user.id, 60).await.expect("v1 wrapped");
    let mins = o1
        .expires_at
        .expect("expiry")
        .duration_since(before)
        .expect("future")
        .as_secs()
        / 60;
    assert!(mins <= 5, "v1.0 has a fixed 5-minute challenge, got {mins}");
    assert_ne!(o1.options.challenge, o.options.challenge);
}

#[tokio::test]
async fn register_list_find_delete() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    let before = c.list_fido2_methods(&user.id).await.expect("list").len();
    let o = c.creation_options(&user.id, 10).await.expect("options");
    let cred = cred_id(1);
    let req = attest(&o, &cred, "Kiosk key with a name longer than thirty chars");
    let m = c.register_fido2_method(&user.id, &req).await.expect("201");
    assert_eq!(m.id, method_id_for_credential(&cred));
    assert_eq!(
        m.display_name.as_deref(),
        Some("Kiosk key with a name longer t")
    );
    assert_eq!(
        fake.registrations(&user.id)
            .iter()
            .filter(|r| r.id == m.id)
            .count(),
        1
    );
    let listed = c.list_fido2_methods(&user.id).await.expect("list");
    assert_eq!(listed.len(), before + 1);
    let found = c
        .find_registered_method(&user.id, &cred)
        .await
        .expect("find")
        .expect("ours");
    assert_eq!(found.id, m.id);
    // The challenge is single-use: the same body again is refused (permanent 400).
    let again = c
        .register_fido2_method(&user.id, &req)
        .await
        .expect_err("reuse");
    assert_eq!(again.graph_status(), Some(400));
    assert!(again.request_id().is_some(), "{again}");
    assert_eq!(
        c.delete_fido2_method(&user.id, &m.id)
            .await
            .expect("delete"),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        c.delete_fido2_method(&user.id, &m.id)
            .await
            .expect("delete again"),
        DeleteOutcome::AlreadyGone
    );
    assert!(c
        .find_registered_method(&user.id, &cred)
        .await
        .expect("find")
        .is_none());
}

#[tokio::test]
async fn dropped_post_response_is_recognised_not_reposted() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    fake.set_faults(Faults {
        drop_post_response_once_for: Some(user.id.clone()),
        ..Faults::default()
    });
    let o = c.creation_options(&user.id, 10).await.expect("options");
    let cred = cred_id(2);
    let req = attest(&o, &cred, "Dropped answer");
    let r = c
        .register_fido2_method_safely(&user.id, &req, || true)
        .await
        .expect("recognised");
    assert!(r.recovered);
    assert_eq!(r.posts, 1);
    assert_eq!(r.method.id, method_id_for_credential(&cred));
    let ours: Vec<_> = fake
        .registrations(&user.id)
        .into_iter()
        .filter(|m| m.credential_id == cred)
        .collect();
    assert_eq!(ours.len(), 1, "registered exactly once");
    assert!(fake.faulted_count() >= 1);
}

#[tokio::test]
async fn throttling_storm_with_retry_after_styles() {
    let fake = start(FakeConfig {
        users: 40,
        ..FakeConfig::default()
    })
    .await;
    let c = client(&fake);
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    let users = c.members(&g.id, false).await.expect("members").users;
    for style in [
        RetryAfterStyle::Decimal,
        RetryAfterStyle::Integer,
        RetryAfterStyle::Absent,
        RetryAfterStyle::HttpDate,
    ] {
        fake.set_faults(Faults {
            throttle_every_nth: Some(3),
            retry_after: style,
            retry_after_value: Duration::from_millis(300),
            ..Faults::default()
        });
        let before = fake.throttled_count();
        let tasks: Vec<_> = users
            .iter()
            .take(24)
            .map(|u| {
                let (c, id) = (c.clone(), u.id.clone());
                tokio::spawn(async move { c.list_fido2_methods(&id).await })
            })
            .collect();
        for t in tasks {
            t.await
                .expect("join")
                .unwrap_or_else(|e| panic!("{style:?}: {e}"));
        }
        assert!(fake.throttled_count() > before, "{style:?} never throttled");
    }
}

#[tokio::test]
async fn html_5xx_and_directory_503_are_retried() {
    let fake = start(FakeConfig::default()).await;
    let mut cfg = config(&fake, Credentials::secret(fake.client_secret()));
    cfg.retry = fast_policy(10, 10);
    let c = GraphClient::new(cfg).expect("client");
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    let users = c.members(&g.id, false).await.expect("members").users;
    fake.set_faults(Faults {
        random_5xx_ratio: 0.25,
        throttle_503_every_nth: Some(4),
        retry_after_value: Duration::from_millis(50),
        retry_after: RetryAfterStyle::Decimal,
        ..Faults::default()
    });
    for u in &users {
        c.list_fido2_methods(&u.id)
            .await
            .expect("retried through 5xx");
        c.creation_options(&u.id, 5)
            .await
            .expect("retried through 5xx");
    }
    assert!(fake.faulted_count() > 0 && fake.throttled_count() > 0);
}

#[tokio::test]
async fn token_expiry_mid_run() {
    let fake = start(FakeConfig {
        token_lifetime: Duration::from_secs(2),
        ..FakeConfig::default()
    })
    .await;
    let c = client(&fake);
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    let deadline = std::time::Instant::now() + Duration::from_millis(3500);
    let mut calls = 0;
    while std::time::Instant::now() < deadline {
        c.group_by_id(&g.id)
            .await
            .expect("token renewed transparently");
        calls += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(calls >= 10);
}

#[tokio::test]
async fn prefetch_many_users_in_parallel_under_throttling() {
    let fake = start(FakeConfig {
        users: 600,
        ..FakeConfig::default()
    })
    .await;
    let c = client(&fake);
    let g = c
        .find_group_by_name(fake.group_name())
        .await
        .expect("group");
    let users = c.members(&g.id, true).await.expect("members").users;
    assert!(users.len() >= 600);
    fake.set_faults(Faults {
        throttle_every_nth: Some(97),
        retry_after: RetryAfterStyle::Decimal,
        retry_after_value: Duration::from_millis(100),
        ..Faults::default()
    });
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (c, id) = (c.clone(), u.id.clone());
            tokio::spawn(async move { c.creation_options(&id, 30).await.map(|o| (id, o)) })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (id, o) = t.await.expect("join").expect("options despite throttling");
        assert!(!o.options.challenge.is_empty(), "{id}");
        ok += 1;
    }
    assert_eq!(ok, users.len());
    assert!(fake.throttled_count() >= 5);
}

/// The answer to a stored POST is lost and the list that should show it cannot be read:
/// the outcome stays unknown, never a refusal a caller could retry with a new passkey.
#[tokio::test]
async fn a_failed_look_up_after_an_unclear_post_keeps_the_outcome_unknown() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    fake.set_faults(Faults {
        drop_post_response_once_for: Some(user.id.clone()),
        fail_lists_with: Some(403),
        ..Faults::default()
    });
    let o = c.creation_options(&user.id, 10).await.expect("options");
    let cred = cred_id(31);
    let err = c
        .register_fido2_method_safely(&user.id, &attest(&o, &cred, "Lost answer"), || true)
        .await
        .expect_err("the method cannot be seen");
    assert!(
        matches!(err, Error::RegistrationOutcomeUnknown { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("look-up that followed failed"),
        "{err}"
    );
    assert_eq!(fake.registrations(&user.id).len(), 1, "stored once");
}

/// Graph's list lags behind the write: after a lost answer, the method is not listed yet and
/// the second POST is refused (its challenge is used). Still unknown: not a challenge
/// refusal that would send the station to create another passkey.
#[tokio::test]
async fn a_lagging_list_after_an_unclear_post_is_not_a_refusal() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    fake.set_faults(Faults {
        drop_post_response_once_for: Some(user.id.clone()),
        list_lag: Some(Duration::from_secs(30)),
        ..Faults::default()
    });
    let o = c.creation_options(&user.id, 10).await.expect("options");
    let cred = cred_id(32);
    let err = c
        .register_fido2_method_safely(&user.id, &attest(&o, &cred, "Lagging list"), || true)
        .await
        .expect_err("not listed yet");
    assert!(
        matches!(err, Error::RegistrationOutcomeUnknown { .. }),
        "{err:?}"
    );
    assert!(c
        .find_registered_method(&user.id, &cred)
        .await
        .expect("list")
        .is_none());
    assert_eq!(fake.registrations(&user.id).len(), 1);
}

/// Posting again a body whose earlier POST's outcome was unclear (recovery): the refusal
/// (challenge already used) is checked against the list, which by then shows the method.
#[tokio::test]
async fn posting_again_after_an_unclear_post_looks_up_before_giving_up() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    fake.set_faults(Faults {
        list_lag: Some(Duration::from_millis(10)),
        ..Faults::default()
    });
    let o = c.creation_options(&user.id, 10).await.expect("options");
    let cred = cred_id(33);
    let req = attest(&o, &cred, "Posted before");
    let first = c
        .register_fido2_method(&user.id, &req)
        .await
        .expect("stored");
    let r = c
        .register_fido2_method_again(&user.id, &req)
        .await
        .expect("found after the refusal");
    assert!(r.recovered);
    assert_eq!(r.method.id, first.id);
    assert_eq!(fake.registrations(&user.id).len(), 1);

    // A body Graph never stored and now refuses is refused after the look-up.
    let other = attest(&o, &cred_id(34), "Never stored");
    let err = c
        .register_fido2_method_again(&user.id, &other)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, Error::Graph(g) if g.is_challenge_rejected() && g.code == graph::CHALLENGE_USED),
        "{err:?}"
    );
}

/// A refused challenge is told by Graph's error code (expired, used), whatever its words.
#[tokio::test]
async fn refused_challenges_carry_their_code() {
    let fake = start(FakeConfig::default()).await;
    let c = client(&fake);
    let user = first_member_user(&c, &fake).await;
    fake.set_faults(Faults {
        challenge_timeout_override: Some(Duration::from_millis(1)),
        ..Faults::default()
    });
    let o = c.creation_options(&user.id, 10).await.expect("options");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = c
        .register_fido2_method(&user.id, &attest(&o, &cred_id(35), "Late"))
        .await
        .expect_err("expired");
    let Error::Graph(g) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((g.status, g.code.as_str()), (400, graph::CHALLENGE_EXPIRED));
    assert!(g.is_challenge_rejected());
    // The same words under another code are not a refused challenge.
    let other = graph::GraphError {
        code: "badRequest".into(),
        ..(**g).clone()
    };
    assert!(!other.is_challenge_rejected());
}
