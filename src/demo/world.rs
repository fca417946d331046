//! The demo's world: a fake tenant on 127.0.0.1, its config, and a journal whose queue was
//! prefetched the way a real station's is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use graph::fake::{FakeConfig, FakeTenantHandle};

use crate::config::{Config, OperatorSignIn};
use crate::engine::{EngineSetup, KeySource};
use crate::station::OperatorAuth;

/// A demo's world: a fake tenant on 127.0.0.1 and a directory with its config and journal.
pub struct DemoWorld {
    /// The fake Entra ID + Graph.
    pub tenant: FakeTenantHandle,
    /// The validated config pointing at it.
    pub config: Config,
    /// Where the demo's files are.
    pub dir: PathBuf,
    /// vsmartcard's virtual reader (`HOST:PORT`) for the demo's software cards, if any.
    pub card_reader: Option<String>,
    remove_on_drop: bool,
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl DemoWorld {
    /// Starts a fake tenant with `users` people and writes its config into `dir` (a fresh
    /// temporary directory, removed on drop, when `None`).
    pub fn start(dir: Option<&Path>, users: usize) -> Result<DemoWorld> {
        Self::start_with(dir, users, None, true)
    }

    /// [`Self::start`] without `prefetch`: the journal's queue is empty, so the engine fetches
    /// it live from the scope group when it starts (a station whose operator never ran
    /// `prefetch`).
    pub fn start_without_queue(dir: Option<&Path>, users: usize) -> Result<DemoWorld> {
        Self::start_with(dir, users, None, false)
    }

    /// [`Self::start`] with delegated operator sign-in: the config has `operatorSignIn:
    /// "delegated"` and no client secret, and the fake tenant answers the device-code polls
    /// with pending, pending, approve, `poll_interval_secs` apart. (The queue is still
    /// prefetched app-only, as an administrator would have done beforehand.)
    pub fn start_delegated(
        dir: Option<&Path>,
        users: usize,
        poll_interval_secs: u64,
    ) -> Result<DemoWorld> {
        Self::start_with(dir, users, Some(poll_interval_secs), true)
    }

    fn start_with(
        dir: Option<&Path>,
        users: usize,
        delegated_interval: Option<u64>,
        prefetch: bool,
    ) -> Result<DemoWorld> {
        let (dir, remove_on_drop) = match dir {
            Some(d) => (d.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "passkey-kiosk-demo-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut fake = FakeConfig {
            users,
            ..FakeConfig::default()
        };
        if let Some(interval) = delegated_interval {
            use graph::fake::DevicePoll;
            fake.device_flow = vec![
                DevicePoll::Pending,
                DevicePoll::Pending,
                DevicePoll::Approve,
            ];
            fake.device_interval_secs = interval;
        }
        let tenant =
            graph::fake::spawn_in_thread(fake).context("starting the demo's fake tenant")?;
        let config_path = dir.join("configs.json");
        let app_only_text = crate::cli::fake_tenant::configs_json(&tenant);
        let app_only = Config::parse(&config_path, &app_only_text, None)
            .map_err(|e| anyhow!("the demo's config is invalid: {e}"))?;
        let text = match delegated_interval {
            None => app_only_text,
            Some(_) => delegated_config_text(&app_only_text)?,
        };
        crate::owner_only::write(&config_path, &text)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let config = Config::parse(&config_path, &text, None)
            .map_err(|e| anyhow!("the demo's config is invalid: {e}"))?;
        if prefetch {
            prefetch_into_journal(&app_only, &dir)?;
        }
        Ok(DemoWorld {
            tenant,
            config,
            dir,
            card_reader: None,
            remove_on_drop,
        })
    }

    /// The demo's keys: software keys, and software cards when it has a card reader.
    pub fn key_source(&self) -> KeySource {
        match &self.card_reader {
            Some(vpcd) => KeySource::SoftWithCards { vpcd: vpcd.clone() },
            None => KeySource::Soft,
        }
    }

    /// The engine set-up for this world: software keys, journal and CSV in the directory.
    pub fn engine_setup(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<EngineSetup> {
        Ok(EngineSetup {
            config: self.config.clone().for_kiosk(),
            graph: crate::tenant::connect(&self.config)?,
            journal: crate::store::JournalLocation::from_config(&self.config)?,
            keys_registered: self.dir.join("keysRegistered.csv"),
            operator: String::new(),
            key_source: self.key_source(),
            wake,
            operator_auth: match self.config.operator_sign_in {
                OperatorSignIn::Delegated => OperatorAuth::Delegated,
                OperatorSignIn::AppOnly => OperatorAuth::Demo,
            },
        })
    }
}

/// The same config for delegated sign-in: no client secret, `operatorSignIn: "delegated"`.
fn delegated_config_text(app_only: &str) -> Result<String> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(app_only).context("the demo's config")?;
    map.remove("client_secret");
    map.insert("operatorSignIn".into(), "delegated".into());
    serde_json::to_string_pretty(&map).context("the demo's config")
}

/// The demo's queue comes the way a real station's does: `prefetch` into the journal.
fn prefetch_into_journal(config: &Config, dir: &Path) -> Result<()> {
    let client = crate::tenant::connect(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the demo's prefetch runtime")?;
    let request = crate::engine::prefetch::PrefetchRequest::from_config(config);
    let report = runtime
        .block_on(crate::engine::prefetch::prefetch(
            &client,
            &request,
            &mut |_| {},
        ))
        .context("prefetching the demo's queue")?;
    let mut journal = crate::store::Journal::open_for(config)
        .with_context(|| format!("opening {}", config.journal_path.display()))?;
    report.save(&dir.join("usersToRegister.csv"), &mut journal)?;
    Ok(())
}
