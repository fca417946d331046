//! The fake tenant's per-app token bucket, seen over HTTP: a burst beyond it is answered 429
//! with Graph's throttling shape and a Retry-After that, once waited out, lets requests through
//! again; and the Graph client's bulk work stays within it.
#![cfg(feature = "fake")]

use std::time::{Duration, Instant};

use graph::fake::{FakeConfig, FakeTenant, Faults, RateLimit, RetryAfterStyle};
use graph::{Credentials, GraphClient, ThrottlePriority};
use reqwest::StatusCode;
use support::secret_token;

mod support;

/// The scope group's member users, listed by `client`.
async fn members(client: &GraphClient, t: &FakeTenant) -> Vec<graph::User> {
    let group = client
        .find_group_by_name(t.group_name())
        .await
        .expect("group");
    client
        .members(&group.id, false)
        .await
        .expect("members")
        .users
}

fn limited(per_second: f64, burst: u32) -> FakeConfig {
    FakeConfig {
        users: 8,
        existing_methods_every_nth: None,
        faults: Faults {
            rate_limit: Some(RateLimit { per_second, burst }),
            retry_after: RetryAfterStyle::Decimal,
            ..Faults::default()
        },
        ..FakeConfig::default()
    }
}

#[tokio::test]
async fn a_burst_beyond_the_bucket_gets_429_with_retry_after_and_waiting_restores() {
    let t = FakeTenant::start(limited(5.0, 4)).await.expect("fake");
    let bearer = secret_token(&t).await;
    let http = reqwest::Client::new();
    let url = format!("{}/beta/groups", t.base_url());
    let get = || http.get(&url).bearer_auth(&bearer).send();

    for i in 0..4 {
        let resp = get().await.expect("GET");
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "request {i} is within the burst"
        );
    }
    let resp = get().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().expect("ascii").to_owned())
    };
    let retry_after: f64 = header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("decimal seconds");
    assert!(
        retry_after > 0.0 && retry_after <= 0.2,
        "about one token at 5/s: {retry_after}"
    );
    assert_eq!(
        header("x-ms-throttle-scope"),
        Some(format!(
            "Tenant_Application/ReadWrite/{}/{}",
            t.client_id(),
            t.tenant()
        ))
    );
    assert_eq!(
        header("x-ms-throttle-information").as_deref(),
        Some("ResourceUnitLimitExceeded")
    );
    let body: serde_json::Value =
        serde_json::from_str(&resp.text().await.expect("body")).expect("JSON");
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(t.throttled_count(), 1);

    tokio::time::sleep(Duration::from_secs_f64(retry_after)).await;
    let resp = get().await.expect("GET");
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the wait Retry-After named is enough"
    );

    // Token requests are not Graph requests: they never take from the bucket.
    for _ in 0..10 {
        secret_token(&t).await;
    }
    t.set_rate_limit(None);
    for _ in 0..10 {
        assert_eq!(get().await.expect("GET").status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn integer_retry_after_rounds_the_wait_up() {
    let mut cfg = limited(2.0, 1);
    cfg.faults.retry_after = RetryAfterStyle::Integer;
    let t = FakeTenant::start(cfg).await.expect("fake");
    let bearer = secret_token(&t).await;
    let http = reqwest::Client::new();
    let url = format!("{}/beta/groups", t.base_url());
    assert_eq!(
        http.get(&url)
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("GET")
            .status(),
        StatusCode::OK
    );
    let resp = http
        .get(&url)
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
}

/// Bulk work through the client against a bucket its ceiling would overrun: every request
/// ends well, the app stays near the allowed rate, and few answers are 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_bulk_work_keeps_within_the_bucket() {
    let mut cfg = limited(100.0, 20);
    cfg.users = 500;
    cfg.faults.latency = Duration::from_millis(30);
    let t = FakeTenant::start(cfg).await.expect("fake");
    let client = GraphClient::new(t.graph_config(Credentials::secret(t.client_secret())))
        .expect("client")
        .with_priority(ThrottlePriority::Low);
    let users = members(&client, &t).await;
    assert!(users.len() >= 500);
    let before = t.graph_requests().len();
    let throttled_before = t.throttled_count();
    let start = Instant::now();
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (c, id) = (client.clone(), u.id.clone());
            tokio::spawn(async move { c.creation_options(&id, 30).await })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("join")
            .expect("options despite the limit");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sent = (t.graph_requests().len() - before) as f64;
    let throttled = (t.throttled_count() - throttled_before) as f64;
    // 32 in flight at 30 ms would ask 1,000/s of a 100/s bucket (about 90% answered 429):
    // the window must come down.
    assert!(
        throttled / sent <= 0.2,
        "{throttled} of {sent} requests throttled"
    );
    let rate = users.len() as f64 / elapsed;
    assert!(rate <= 100.0 + 20.0 / elapsed, "{rate:.1}/s");
}

/// A 429 with a long Retry-After pauses bulk work; the kiosk's interactive call made meanwhile
/// does not wait behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_calls_go_ahead_of_paused_bulk_work() {
    let t = FakeTenant::start(limited(1000.0, 1000))
        .await
        .expect("fake");
    let client =
        GraphClient::new(t.graph_config(Credentials::secret(t.client_secret()))).expect("client");
    let users = members(&client, &t).await;
    t.set_faults(Faults {
        throttle_every_nth: Some(1),
        retry_after: RetryAfterStyle::Decimal,
        retry_after_value: Duration::from_secs(3),
        ..Faults::default()
    });
    let bulk = client.with_priority(ThrottlePriority::Low);
    let id = users[0].id.clone();
    let started = Instant::now();
    let paused = tokio::spawn(async move { bulk.list_fido2_methods(&id).await });
    while t.throttled_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.set_faults(Faults::default());

    let interactive = client.with_priority(ThrottlePriority::High);
    let asked = Instant::now();
    interactive
        .creation_options(&users[1].id, 30)
        .await
        .expect("options");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "the interactive call waited {:?}",
        asked.elapsed()
    );
    assert!(!paused.is_finished(), "bulk work waits out the Retry-After");
    paused.await.expect("join").expect("list after the pause");
    assert!(started.elapsed() >= Duration::from_secs(3));
}
