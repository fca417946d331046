//! Delegated operator sign-in against the fake tenant (`cargo test -p graph --features fake`):
//! the device-code flow with scripted polls (pending → slow_down → approve, declined, bad code,
//! expired), Graph calls with the operator's token, refresh before expiry, sign-out, and the 405
//! an administrator gets when provisioning their own account.
#![cfg(feature = "fake")]

mod support;

use std::time::{Duration, Instant};

use graph::fake::{DevicePoll, FakeConfig, FakeTenant};
use graph::{
    Cloud, Credentials, DeviceAuthorization, DeviceFlowFailure, Error, GraphClient, GraphConfig,
    RetryPolicy,
};
use support::fast_policy;

fn delegated_client(fake: &FakeTenant) -> GraphClient {
    let mut c = GraphConfig::new(
        Cloud::Custom {
            login_base: fake.base_url(),
            graph_base: fake.base_url(),
        },
        fake.tenant(),
        fake.client_id(),
        Credentials::Delegated,
    );
    c.retry = fast_policy(3, 3);
    GraphClient::new(c).expect("client")
}

async fn fake(flow: Vec<DevicePoll>, interval_secs: u64, lifetime: Duration) -> FakeTenant {
    FakeTenant::start(FakeConfig {
        users: 5,
        device_flow: flow,
        device_interval_secs: interval_secs,
        token_lifetime: lifetime,
        ..FakeConfig::default()
    })
    .await
    .expect("fake tenant")
}

/// Starts a sign-in with a short slow_down step so the test does not wait 5 s per slow_down.
async fn start(client: &GraphClient) -> DeviceAuthorization {
    let mut auth = client.start_device_sign_in().await.expect("device code");
    auth.slow_down_step = Duration::from_millis(300);
    auth
}

#[tokio::test]
async fn pending_slow_down_then_approve_signs_the_operator_in() {
    let fake = fake(
        vec![
            DevicePoll::Pending,
            DevicePoll::SlowDown,
            DevicePoll::Approve,
        ],
        0,
        Duration::from_secs(3599),
    )
    .await;
    let client = delegated_client(&fake);
    assert!(client.is_delegated());

    // Before sign-in Graph cannot be called.
    let e = client.find_group_by_name("FIDO2").await.unwrap_err();
    assert!(matches!(e, Error::NotSignedIn), "{e}");
    assert!(matches!(client.sign_in().await, Err(Error::NotSignedIn)));

    let auth = start(&client).await;
    assert_eq!(auth.verification_uri, "https://microsoft.com/devicelogin");
    assert_eq!(auth.user_code.len(), 9);
    assert_eq!(auth.expires_in, Duration::from_secs(900));
    assert!(auth.message.contains(&auth.user_code));
    // The device code is a secret: never in Debug.
    let shown = format!("{auth:?}");
    assert!(!shown.contains("DAQABAAE"), "{shown}");

    let begun = Instant::now();
    let account = client.finish_device_sign_in(&auth).await.expect("approved");
    // interval 0, then +300 ms after slow_down: the third poll waited for it.
    assert!(begun.elapsed() >= Duration::from_millis(300));
    let admin = fake.admin().expect("admin");
    assert_eq!(account.username, admin.upn);
    assert_eq!(account.object_id.as_deref(), Some(admin.id.as_str()));
    assert_eq!(account.name.as_deref(), Some(admin.display_name.as_str()));
    assert_eq!(client.signed_in_account().await, Some(account));

    // Graph calls now carry the operator's token.
    let group = client.find_group_by_name("FIDO2").await.expect("group");
    let members = client.members(&group.id, false).await.expect("members");
    assert!(!members.users.is_empty());
    let user = &members.users[0];
    client
        .creation_options(&user.id, 60)
        .await
        .expect("creationOptions for someone else");

    // An administrator cannot provision their own account: 405, as a clear typed error.
    let e = client.creation_options(&admin.id, 60).await.unwrap_err();
    match &e {
        Error::SelfProvisioning { user, graph } => {
            assert_eq!(user, &admin.id);
            assert_eq!(graph.status, 405);
            assert!(graph.request_id.is_some());
        }
        other => panic!("expected SelfProvisioning, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("own account") && text.contains("request-id"),
        "{text}"
    );
    assert_eq!(e.graph_status(), Some(405));
    assert!(e.request_id().is_some());

    // Sign-out drops the tokens: Graph refuses again until the next sign-in.
    client.sign_out().await;
    assert_eq!(client.signed_in_account().await, None);
    let e = client.members(&group.id, false).await.unwrap_err();
    assert!(matches!(e, Error::NotSignedIn), "{e}");
}

#[tokio::test]
async fn declined_bad_code_and_expired_stop_with_typed_errors() {
    for (poll, failure, aadsts) in [
        (DevicePoll::Declined, DeviceFlowFailure::Declined, 70020),
        (
            DevicePoll::BadCode,
            DeviceFlowFailure::BadVerificationCode,
            70018,
        ),
        (DevicePoll::Expired, DeviceFlowFailure::Expired, 70019),
    ] {
        let fake = fake(
            vec![DevicePoll::Pending, poll],
            0,
            Duration::from_secs(3599),
        )
        .await;
        let client = delegated_client(&fake);
        let auth = start(&client).await;
        let e = client.finish_device_sign_in(&auth).await.unwrap_err();
        match &e {
            Error::DeviceSignIn {
                failure: f,
                auth: Some(a),
            } => {
                assert_eq!(*f, failure);
                assert_eq!(a.aadsts, Some(aadsts));
                assert!(a.trace_id.is_some() && a.correlation_id.is_some());
            }
            other => panic!("expected DeviceSignIn {failure:?}, got {other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.contains(&format!("AADSTS{aadsts}"))
                && text.contains("trace id")
                && text.contains("start a new sign-in"),
            "{text}"
        );
        assert_eq!(client.signed_in_account().await, None);
    }
}

#[tokio::test]
async fn a_code_that_runs_out_on_the_station_clock_stops_polling() {
    let fake = fake(vec![DevicePoll::Pending], 0, Duration::from_secs(3599)).await;
    let client = delegated_client(&fake);
    let mut auth = start(&client).await;
    auth.expires_in = Duration::from_millis(200);
    auth.interval = Duration::from_millis(50);
    let e = client.finish_device_sign_in(&auth).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::DeviceSignIn {
                failure: DeviceFlowFailure::Expired,
                auth: None
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_refresh_token_renews_the_access_token_before_it_expires() {
    // 2 s tokens: renewed at half their lifetime.
    let fake = fake(vec![DevicePoll::Approve], 0, Duration::from_secs(2)).await;
    let client = delegated_client(&fake);
    let auth = start(&client).await;
    client.finish_device_sign_in(&auth).await.expect("approved");
    let group = client.find_group_by_name("FIDO2").await.expect("group");
    // Past half the lifetime the token is renewed before the call: refresh + the lookup.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let before = fake.request_count();
    client.find_group_by_name("FIDO2").await.expect("group");
    assert_eq!(fake.request_count(), before + 2, "one refresh, one lookup");
    // Long after the first token expired, calls keep working on renewed tokens.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client
        .members(&group.id, false)
        .await
        .expect("members after renewal");
    assert!(client.signed_in_account().await.is_some());
}

#[tokio::test]
async fn app_only_clients_refuse_the_device_flow() {
    let fake = fake(vec![DevicePoll::Approve], 0, Duration::from_secs(3599)).await;
    let mut c = GraphConfig::new(
        Cloud::Custom {
            login_base: fake.base_url(),
            graph_base: fake.base_url(),
        },
        fake.tenant(),
        fake.client_id(),
        Credentials::secret(fake.client_secret()),
    );
    c.retry = RetryPolicy::default();
    let client = GraphClient::new(c).expect("client");
    assert!(!client.is_delegated());
    let e = client.start_device_sign_in().await.unwrap_err();
    assert!(matches!(e, Error::InvalidConfig(_)), "{e}");
    assert_eq!(
        format!("{:?}", Credentials::Delegated),
        "Credentials::Delegated"
    );
}

#[tokio::test]
async fn an_operator_of_another_tenant_is_refused_and_not_signed_in() {
    const OTHER: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
    let fake = fake(vec![DevicePoll::Approve], 0, Duration::from_secs(3599)).await;
    // The client names the tenant by id: the ID token's tid must be that id.
    let client = delegated_client(&fake);
    fake.set_id_token_tenant(Some(OTHER));
    let auth = start(&client).await;
    let e = client.finish_device_sign_in(&auth).await.unwrap_err();
    let admin = fake.admin().expect("admin");
    match &e {
        Error::WrongTenant {
            username,
            signed_in,
            configured,
        } => {
            assert_eq!(username, &admin.upn);
            assert_eq!(signed_in.as_deref(), Some(OTHER));
            assert_eq!(configured, fake.tenant());
        }
        other => panic!("expected WrongTenant, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains(OTHER) && text.contains(fake.tenant()) && text.contains("not signed in"),
        "{text}"
    );
    // The tokens were dropped: nobody is signed in and Graph cannot be called.
    assert_eq!(client.signed_in_account().await, None);
    assert!(matches!(client.sign_in().await, Err(Error::NotSignedIn)));
    let e = client.find_group_by_name("FIDO2").await.unwrap_err();
    assert!(matches!(e, Error::NotSignedIn), "{e}");

    // The configured tenant's id in another case is the same tenant.
    fake.set_id_token_tenant(Some(&fake.tenant().to_ascii_uppercase()));
    let auth = start(&client).await;
    client
        .finish_device_sign_in(&auth)
        .await
        .expect("same tenant, other case");
    client.sign_out().await;

    // A client that names the tenant by domain is bound by the tenant's own endpoint: the
    // token's tid is not compared (the fake, unlike Entra, was told to lie about it).
    fake.set_id_token_tenant(Some(OTHER));
    let mut c = GraphConfig::new(
        Cloud::Custom {
            login_base: fake.base_url(),
            graph_base: fake.base_url(),
        },
        fake.tenant_domain(),
        fake.client_id(),
        Credentials::Delegated,
    );
    c.retry = RetryPolicy::default();
    let by_domain = GraphClient::new(c).expect("client");
    let auth = start(&by_domain).await;
    let account = by_domain
        .finish_device_sign_in(&auth)
        .await
        .expect("domain-named tenant");
    assert_eq!(account.tenant_id.as_deref(), Some(OTHER));
}

#[tokio::test]
async fn a_refused_other_tenant_sign_in_also_ends_an_earlier_session() {
    let fake = fake(vec![DevicePoll::Approve], 0, Duration::from_secs(3599)).await;
    let client = delegated_client(&fake);
    let auth = start(&client).await;
    client.finish_device_sign_in(&auth).await.expect("approved");
    assert!(client.signed_in_account().await.is_some());
    fake.set_id_token_tenant(Some("00000000-0000-0000-0000-000000000001"));
    let auth = start(&client).await;
    let e = client.finish_device_sign_in(&auth).await.unwrap_err();
    assert!(matches!(e, Error::WrongTenant { .. }), "{e:?}");
    assert_eq!(client.signed_in_account().await, None);
    assert!(matches!(client.sign_in().await, Err(Error::NotSignedIn)));
}
