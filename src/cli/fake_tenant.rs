//! `passkey-kiosk fake-tenant`: a local fake Entra ID + Microsoft Graph (`graph::fake`), so an
//! administrator can try `prefetch` (and trainers the whole flow) with no Microsoft account.
//! Prints how to reach it and a ready-to-use `configs.json`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use graph::fake::{FakeConfig, FakeTenant, Faults, RateLimit};

/// Arguments of `fake-tenant`.
#[derive(Debug, clap::Args)]
pub struct FakeTenantArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8400)]
    pub port: u16,
    /// Users directly in the scope group (a guest, a device, an app, a contact and a nested
    /// group of 3 more users are added).
    #[arg(long, default_value_t = 50)]
    pub users: usize,
    /// Delay added before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Answer every Nth Graph request with 429 and Retry-After.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_every: Option<u32>,
    /// Graph requests per second the app may make (a token bucket, like Graph's per-app
    /// limit); beyond it requests get 429 with Retry-After.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,
    /// Requests the token bucket allows at once after a quiet spell [default: one second's
    /// worth of --rate-limit].
    #[arg(long, requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,
}

impl FakeTenantArgs {
    /// The token bucket `--rate-limit` and `--burst` describe.
    fn rate_limit(&self) -> Option<RateLimit> {
        let per_second = self.rate_limit?;
        Some(RateLimit {
            per_second: f64::from(per_second),
            burst: self.burst.unwrap_or(per_second),
        })
    }
}

/// Serves until Ctrl-C.
pub fn run(args: &FakeTenantArgs) -> Result<ExitCode> {
    let cfg = FakeConfig {
        port: args.port,
        users: args.users,
        faults: Faults {
            latency: Duration::from_millis(args.latency_ms),
            throttle_every_nth: args.throttle_every,
            rate_limit: args.rate_limit(),
            ..Faults::default()
        },
        ..FakeConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let tenant = FakeTenant::start(cfg)
            .await
            .with_context(|| format!("starting the fake tenant on 127.0.0.1:{}", args.port))?;
        println!("{}", tenant.connection_info());
        if let Some(limit) = args.rate_limit() {
            println!(
                "  rate limit:    {} Graph requests/s, burst {} (429 with Retry-After beyond)",
                limit.per_second, limit.burst
            );
        }
        println!("\nA configs.json for it (then: passkey-kiosk prefetch --config configs.json):\n");
        println!("{}", configs_json(&tenant));
        println!("\nCtrl-C stops the fake tenant (its directory and registrations are not kept).");
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        drop(tenant);
        Ok(ExitCode::SUCCESS)
    })
}

/// A configs.json pointing at `tenant`, keys in the proof of concept's order; it accepts the
/// software key (`allowTestKeys`), as training against a fake tenant needs.
pub fn configs_json(tenant: &FakeTenant) -> String {
    let s = |v: &str| serde_json::Value::from(v).to_string();
    let base = tenant.base_url();
    format!(
        "{{\n  \"tenantName\": {},\n  \"client_id\": {},\n  \"client_secret\": {},\n  \"usersInScopeGroup\": {},\n  \"challengeTimeoutInMinutes\": 60,\n  \"deleteExistingUserFIDOCredentials\": false,\n  \"useRandomPIN\": true,\n  \"useCTAP21Features\": true,\n  \"loginBaseUrl\": {},\n  \"graphBaseUrl\": {},\n  \"allowTestKeys\": true\n}}",
        s(tenant.tenant_domain()),
        s(tenant.client_id()),
        s(tenant.client_secret()),
        s(tenant.group_name()),
        s(&base),
        s(&base),
    )
}
