//! Fake tenant: a real HTTP server on 127.0.0.1 that behaves like the Microsoft identity
//! platform's token endpoint and Microsoft Graph for FIDO2 provisioning on behalf of users
//! (`shared/graph-spec/CONTRACT.md` §8). Tests, benchmarks and the demo mode run against it.
//!
//! One base URL serves both hosts: `POST {base}/{tenant}/oauth2/v2.0/token` and
//! `{base}/beta/...`, `{base}/v1.0/...`. It is strict on purpose (unknown JSON properties,
//! padded base64, wrong origins, reused challenges are rejected) so client drift shows up in
//! tests, and it can inject the faults real tenants produce (429/503/504, slow responses,
//! dropped connections, early challenge expiry).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use graph::fake::{FakeConfig, FakeTenant, Faults};
//! let tenant = FakeTenant::start(FakeConfig { users: 100, ..FakeConfig::default() }).await?;
//! tenant.set_faults(Faults { throttle_every_nth: Some(10), ..Faults::default() });
//! println!("{}", tenant.connection_info()); // token URL, client id + secret, group
//! // ... point the Graph client at tenant.base_url() for both login and Graph ...
//! assert!(tenant.registrations(&tenant.users()[0].id).is_empty());
//! # Ok(()) }
//! ```
//!
//! The server is bare hyper rather than a router framework because one fault needs to close a
//! connection without answering, and Graph paths carry OData function syntax
//! (`creationOptions(challengeTimeoutInMinutes=10)`) that is easier to parse by hand.

mod directory;
mod fido2;
mod http;
mod policy;
mod rate_limit;
mod router;
mod state;
mod token;
mod webauthn;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use policy::{FakePolicy, FakeProfile, FakeTarget};
pub use rate_limit::RateLimit;
pub use state::{FakeMethod, FakeUser};

/// How the 429 fault states its `Retry-After` header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetryAfterStyle {
    /// `Retry-After: 2` (whole seconds, rounded up).
    #[default]
    Integer,
    /// `Retry-After: 2.128` (what the Graph docs sample shows).
    Decimal,
    /// `Retry-After: Sun, 23 Aug 2026 10:00:02 GMT`.
    HttpDate,
    /// No header at all: the client must back off on its own.
    Absent,
}

/// How creationOptions encodes `excludeCredentials[].id` (all three occur in production).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExcludeIdEncoding {
    /// base64url without padding (v1.0 doc).
    #[default]
    Base64Url,
    /// Standard base64 with `+ /` and `=` padding (2024 beta responses).
    StdBase64Padded,
    /// base64url plus a trailing digit counting the removed `=` (the method id format).
    PadDigit,
}

/// Faults to inject. The default injects none.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Delay before every response.
    pub latency: Duration,
    /// Every Nth Graph request (1-based count of Graph requests) gets 429 TooManyRequests.
    pub throttle_every_nth: Option<u32>,
    /// How the 429 (and 503 throttle) states Retry-After.
    pub retry_after: RetryAfterStyle,
    /// The wait Retry-After announces.
    pub retry_after_value: Duration,
    /// Every Nth Graph request gets 503 `Request_ThrottledTemporarily` (directory throttling).
    pub throttle_503_every_nth: Option<u32>,
    /// Share of Graph requests (0.0..=1.0) answered 503 or 504 with an HTML or empty body,
    /// before any work is done.
    pub random_5xx_ratio: f64,
    /// The next successful POST fido2Methods for this user (id or UPN, or `*` for anyone) is
    /// stored, then the connection is closed without an answer. Fires once.
    pub drop_post_response_once_for: Option<String>,
    /// Challenges stop being accepted after this long, whatever creationOptions advertised.
    pub challenge_timeout_override: Option<Duration>,
    /// A newly registered method shows in list responses only this long after the POST
    /// stored it (Graph's list lags right after a write); GET by id sees it at once.
    pub list_lag: Option<Duration>,
    /// List fido2Methods answers with this HTTP status and a Graph error (e.g. 403).
    pub fail_lists_with: Option<u16>,
    /// Return creationOptions as `{"value": {...}}` like the beta doc example.
    pub creation_options_wrapped_in_value: bool,
    /// Encoding of `excludeCredentials[].id`.
    pub exclude_id_encoding: ExcludeIdEncoding,
    /// Graph describes registered methods (the answer to a POST fido2Methods, lists, gets) with
    /// another model's `aaGuid` and `notAttested` (what [`FakeTenant::registrations`] shows is
    /// right): a client must notice.
    pub misreported_registration: bool,
    /// `checkMemberGroups` answers with this HTTP status and a Graph error (e.g. 403: the app
    /// may not read users).
    pub fail_member_groups_with: Option<u16>,
    /// Graph's per-app throttling: beyond this token bucket, requests are answered 429
    /// `TooManyRequests` with the time until the next token as Retry-After (stated as
    /// `retry_after` says).
    pub rate_limit: Option<RateLimit>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            throttle_every_nth: None,
            retry_after: RetryAfterStyle::Integer,
            retry_after_value: Duration::from_secs(1),
            throttle_503_every_nth: None,
            random_5xx_ratio: 0.0,
            drop_post_response_once_for: None,
            challenge_timeout_override: None,
            list_lag: None,
            fail_lists_with: None,
            creation_options_wrapped_in_value: false,
            exclude_id_encoding: ExcludeIdEncoding::Base64Url,
            misreported_registration: false,
            fail_member_groups_with: None,
            rate_limit: None,
        }
    }
}

/// What one poll of the device-code flow answers (CONTRACT.md §1e).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// 400 `authorization_pending` (AADSTS70016): keep polling.
    Pending,
    /// 400 `slow_down` (RFC 8628): add 5 s to the interval.
    SlowDown,
    /// 400 `authorization_declined`: the admin refused.
    Declined,
    /// 400 `bad_verification_code` (AADSTS70018).
    BadCode,
    /// 400 `expired_token` (AADSTS70019): restart the flow.
    Expired,
    /// 200 with a delegated token for [`FakeTenant::admin`].
    Approve,
}

/// A group besides the scope group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraGroup {
    /// displayName; may equal the scope group's name to make the lookup ambiguous.
    pub display_name: String,
    /// Generated users that are direct members of this group.
    pub users: usize,
    /// Make this group a direct member of the scope group, so its users appear in the scope
    /// group's transitiveMembers but not in its members.
    pub nested_in_scope: bool,
}

/// What the fake tenant contains and how it behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeConfig {
    /// Generated member users directly in the scope group.
    pub users: usize,
    /// displayName of the scope group.
    pub group_name: String,
    /// More groups: by default one nested group of 3 users (so transitive differs from direct).
    pub extra_groups: Vec<ExtraGroup>,
    /// Also put a guest user, a device, a service principal and an org contact in the scope group.
    pub mixed_members: bool,
    /// The second page of a paged member list is empty (with a nextLink), as Graph sometimes does.
    pub empty_page_after_first: bool,
    /// Every Nth member user starts with one registered FIDO2 method (`None`: nobody).
    pub existing_methods_every_nth: Option<usize>,
    /// Access-token lifetime (`expires_in`).
    pub token_lifetime: Duration,
    /// Injected faults (changeable later with [`FakeTenant::set_faults`]).
    pub faults: Faults,
    /// Seed of the generated directory, ids and credentials.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The tenant's verified domain, accepted in the token URL besides the tenant id.
    pub tenant_domain: String,
    /// Domain of generated UPNs.
    pub upn_domain: String,
    /// Relying-party id creationOptions announces (origin must be `https://{rp_id}`).
    pub rp_id: String,
    /// The only scope the token endpoint accepts for client credentials.
    pub scope: String,
    /// Answers of successive device-code polls (the last one repeats until redeemed).
    pub device_flow: Vec<DevicePoll>,
    /// `interval` of the device-code response, in seconds.
    pub device_interval_secs: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            users: 25,
            group_name: "FIDO2".into(),
            extra_groups: state::default_extra_groups(),
            mixed_members: true,
            empty_page_after_first: true,
            existing_methods_every_nth: Some(7),
            token_lifetime: Duration::from_secs(3599),
            faults: Faults::default(),
            seed: 1,
            port: 0,
            tenant_domain: "contoso.onmicrosoft.com".into(),
            upn_domain: "contoso.example".into(),
            rp_id: "login.microsoft.com".into(),
            scope: "https://graph.microsoft.com/.default".into(),
            device_flow: vec![
                DevicePoll::Pending,
                DevicePoll::SlowDown,
                DevicePoll::Approve,
            ],
            device_interval_secs: 5,
        }
    }
}

/// State shared by the server tasks and the [`FakeTenant`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub state: Mutex<state::State>,
    pub base_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub cfg: FakeConfig,
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub faulted: AtomicU64,
    pub policy: Mutex<policy::FakePolicy>,
    /// Every Graph request (token endpoint excluded), in arrival order.
    pub log: Mutex<Vec<LoggedRequest>>,
}

/// A Graph request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// GET, POST, …
    pub method: String,
    /// The path, e.g. `/beta/users/{id}/authentication/fido2Methods/creationOptions`.
    pub path: String,
    /// `x-ms-throttle-priority`, when sent.
    pub priority: Option<String>,
}

impl Shared {
    /// The state lock; `None` if a previous holder panicked (callers answer 500).
    pub fn lock(&self) -> Option<MutexGuard<'_, state::State>> {
        self.state.lock().ok()
    }
}

/// A running fake tenant. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeTenant {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTenant {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

impl FakeTenant {
    /// Binds `127.0.0.1:cfg.port` and starts serving on the current tokio runtime.
    pub async fn start(cfg: FakeConfig) -> std::io::Result<FakeTenant> {
        let listener = TcpListener::bind(("127.0.0.1", cfg.port)).await?;
        let addr = listener.local_addr()?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed.wrapping_mul(31).wrapping_add(7));
        let tenant_id = state::guid(&mut rng);
        let client_id = state::guid(&mut rng);
        // Shaped like a real secret value (`xxx8Q~...`, 40 characters).
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";
        let tail: String = (0..34)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        let client_secret = format!("Fk{}8Q~{tail}", rng.gen_range(0..10));
        let st = state::State::generate(&cfg);
        let shared = Arc::new(Shared {
            state: Mutex::new(st),
            base_url: format!("http://{addr}"),
            tenant_id,
            client_id,
            client_secret,
            cfg,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            policy: Mutex::new(policy::FakePolicy::default()),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(FakeTenant { shared, addr, task })
    }

    /// `http://127.0.0.1:PORT`: login and Graph are both served here.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Tenant id (GUID). The tenant domain is accepted in the token URL too.
    pub fn tenant(&self) -> &str {
        &self.shared.tenant_id
    }

    /// A client configuration for this tenant (its base URL for login and Graph), signing in
    /// with `credentials`.
    pub fn graph_config(&self, credentials: crate::Credentials) -> crate::GraphConfig {
        crate::GraphConfig::new(
            crate::Cloud::Custom {
                login_base: self.base_url(),
                graph_base: self.base_url(),
            },
            self.tenant(),
            self.client_id(),
            credentials,
        )
    }

    /// The tenant's domain (`contoso.onmicrosoft.com` by default).
    pub fn tenant_domain(&self) -> &str {
        &self.shared.cfg.tenant_domain
    }

    /// `{base}/{tenant}/oauth2/v2.0/token`: also the `aud` a client assertion must carry.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.shared.base_url, self.shared.tenant_id
        )
    }

    /// The scope the token endpoint accepts.
    pub fn scope(&self) -> &str {
        &self.shared.cfg.scope
    }

    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The client secret value.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// displayName of the scope group.
    pub fn group_name(&self) -> &str {
        &self.shared.cfg.group_name
    }

    /// Object id of the scope group.
    pub fn group_id(&self) -> String {
        self.shared
            .lock()
            .and_then(|st| st.objects.get(st.scope_group).map(|g| g.id.clone()))
            .unwrap_or_default()
    }

    /// Object ids of the groups with this display name (several groups may share one).
    pub fn group_ids_named(&self, name: &str) -> Vec<String> {
        self.shared
            .lock()
            .map(|st| {
                st.objects
                    .iter()
                    .filter(|o| {
                        matches!(o.kind, state::Kind::Group { .. }) && o.display_name == name
                    })
                    .map(|o| o.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Trusts a client certificate (DER) for client assertions, found by `x5t#S256` or `x5t`.
    pub fn add_certificate(&self, cert_der: Vec<u8>) {
        let sha1 = sha1::Sha1::digest(&cert_der).to_vec();
        let sha256 = sha2::Sha256::digest(&cert_der).to_vec();
        if let Some(mut st) = self.shared.lock() {
            st.certs.push(state::TrustedCert {
                der: cert_der,
                sha1,
                sha256,
            });
        }
    }

    /// Limits Graph requests to a token bucket (`None`: no limit), keeping the other faults.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        if let Some(mut st) = self.shared.lock() {
            st.faults.rate_limit = limit;
            st.rate_bucket = None;
        }
    }

    /// Replaces the injected faults.
    pub fn set_faults(&self, f: Faults) {
        if let Some(mut st) = self.shared.lock() {
            st.faults = f;
        }
    }

    /// The faults currently injected.
    pub fn faults(&self) -> Faults {
        self.shared
            .lock()
            .map(|st| st.faults.clone())
            .unwrap_or_default()
    }

    /// The administrator a device-code sign-in authenticates as. Not a group member and not in
    /// [`FakeTenant::users`]; provisioning this account with a delegated token answers 405.
    pub fn admin(&self) -> Option<FakeUser> {
        let st = self.shared.lock()?;
        st.objects.get(st.admin).and_then(state::State::fake_user)
    }

    /// `{base}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/devicecode",
            self.shared.base_url, self.shared.tenant_id
        )
    }

    /// Every user of the tenant: the scope group's members (with the guest among them), then
    /// the users of the extra groups.
    pub fn users(&self) -> Vec<FakeUser> {
        self.shared
            .lock()
            .map(|st| st.fake_users())
            .unwrap_or_default()
    }

    /// FIDO2 methods registered for a user (object id or UPN); empty for unknown users.
    pub fn registrations(&self, user_id_or_upn: &str) -> Vec<FakeMethod> {
        let Some(st) = self.shared.lock() else {
            return Vec::new();
        };
        let Some(idx) = st.user_index(user_id_or_upn) else {
            return Vec::new();
        };
        st.objects
            .get(idx)
            .and_then(|u| st.methods.get(&u.id))
            .cloned()
            .unwrap_or_default()
    }

    /// Every request received (token endpoint included).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Every Graph request so far (token endpoint excluded), in arrival order.
    pub fn graph_requests(&self) -> Vec<LoggedRequest> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Requests answered 429 or 503 `Request_ThrottledTemporarily`.
    pub fn throttled_count(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Requests answered with a random 503/504 or dropped on purpose.
    pub fn faulted_count(&self) -> u64 {
        self.shared.faulted.load(Ordering::Relaxed)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_connection(stream, shared.clone()));
                }
                // e.g. out of file descriptors: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: tokio::net::TcpStream, shared: Arc<Shared>) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let svc = hyper::service::service_fn(move |req| router::handle(shared.clone(), req));
    // A handler error (the dropped-response fault) makes hyper close the connection unanswered.
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, svc)
        .await;
}

/// A fake tenant running on its own thread and tokio runtime, for callers without a runtime
/// (the GUI demo, the CLI). Derefs to [`FakeTenant`]; dropping it stops the server and thread.
#[derive(Debug)]
pub struct FakeTenantHandle {
    tenant: FakeTenant,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for FakeTenantHandle {
    type Target = FakeTenant;
    fn deref(&self) -> &FakeTenant {
        &self.tenant
    }
}

impl Drop for FakeTenantHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a fake tenant on a new thread with its own runtime; returns once it is listening.
pub fn spawn_in_thread(cfg: FakeConfig) -> std::io::Result<FakeTenantHandle> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fake-tenant")
        .enable_all()
        .build()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("fake-tenant".into())
        .spawn(move || {
            rt.block_on(async move {
                let started = FakeTenant::start(cfg).await;
                let ok = started.is_ok();
                if ready_tx.send(started).is_err() || !ok {
                    return;
                }
                // Serve until the handle is dropped (or the sender vanishes).
                let _ = stop_rx.await;
            });
        })?;
    match ready_rx.recv() {
        Ok(Ok(tenant)) => Ok(FakeTenantHandle {
            tenant,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(std::io::Error::other(
            "fake tenant thread exited before starting",
        )),
    }
}

impl FakeTenant {
    /// A human-readable summary: URLs, tenant, client id and secret, scope group.
    pub fn connection_info(&self) -> String {
        format!(
            "fake tenant listening on {base}\n  token URL:     {token}\n  Graph:         {base}/beta  {base}/v1.0\n  tenant:        {tenant} ({domain})\n  client id:     {cid}\n  client secret: {secret}\n  scope group:   {group} ({gid})\n  scope:         {scope}",
            base = self.base_url(),
            token = self.token_url(),
            tenant = self.tenant(),
            domain = self.tenant_domain(),
            cid = self.client_id(),
            secret = self.client_secret(),
            group = self.group_name(),
            gid = self.group_id(),
            scope = self.scope(),
        )
    }
}
