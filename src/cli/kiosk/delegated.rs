//! Delegated operator sign-in (device code) in front of the engine: the engine starts once the
//! first operator has signed in, because its start-up checks need the operator's token.

use std::sync::{mpsc, Arc};

use anyhow::{bail, Context, Result};

use crate::engine::api::{Check, CheckKind, Command, Event, OperatorError, Remedy};
use crate::engine::{Engine, EngineHandle, EngineSetup};
use crate::ui::EngineLink;

/// Delegated mode's runtime side: runs the device-code sign-in the UI asks for (the UI only
/// shows the code from [`Event::DeviceCode`]), starts the engine once the first operator has
/// signed in (its start-up checks need the operator's token), tells it who signed in, and drops
/// the tokens on sign-out. Everything else passes through to the engine.
struct DelegatedLink {
    graph: graph::GraphClient,
    rt: tokio::runtime::Runtime,
    tx: mpsc::Sender<(u64, SignInOutcome)>,
    rx: mpsc::Receiver<(u64, SignInOutcome)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    setup: Option<EngineSetup>,
    engine: Option<EngineHandle>,
    /// The current sign-in attempt; answers of older (cancelled) ones are dropped.
    attempt: u64,
    flow: Option<tokio::task::JoinHandle<()>>,
    ready: std::collections::VecDeque<Event>,
}

enum SignInOutcome {
    Event(Event),
    SignedIn(String),
}

/// Wraps an engine set-up whose Graph client is delegated (`Credentials::Delegated`): the engine
/// starts after the first sign-in.
pub fn delegated_link(setup: EngineSetup) -> Result<Box<dyn EngineLink>> {
    if !setup.graph.is_delegated() {
        bail!("delegated_link needs a delegated Graph client (operatorSignIn \"delegated\")");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("operator-sign-in")
        .enable_all()
        .build()
        .context("starting the sign-in runtime")?;
    let (tx, rx) = mpsc::channel();
    let mut ready = std::collections::VecDeque::new();
    // The Graph checks (sign-in, group, policy) run when the engine starts, after sign-in.
    ready.push_back(Event::StartupChecks(vec![Check {
        kind: CheckKind::Configuration,
        ok: true,
        detail: "delegated operator sign-in: the Entra ID and Graph checks run once an operator \
                 has signed in"
            .into(),
    }]));
    Ok(Box::new(DelegatedLink {
        graph: setup.graph.clone(),
        wake: Arc::clone(&setup.wake),
        rt,
        tx,
        rx,
        setup: Some(setup),
        engine: None,
        attempt: 0,
        flow: None,
        ready,
    }))
}

/// A sign-in failure as the operator sees it; AADSTS code, trace and correlation ids are in
/// the message (Graph's request-id, when there is one, in its field).
pub fn sign_in_error(e: &graph::Error) -> OperatorError {
    let (code, remedy) = match e {
        graph::Error::DeviceSignIn { failure, .. } => (
            failure.code().to_owned(),
            Remedy::Text("choose \"Sign in with Entra ID\" to get a new code".into()),
        ),
        graph::Error::Auth(a) => ("sign-in".to_owned(), Remedy::Administrator(a.remedy())),
        graph::Error::WrongTenant { .. } => (
            "wrong-tenant".to_owned(),
            Remedy::Text(
                "sign in with an account of the station's tenant (or an account invited to it)"
                    .into(),
            ),
        ),
        graph::Error::Http { .. } | graph::Error::Throttled { .. } => (
            "network".to_owned(),
            Remedy::Text("check the station's network connection, then sign in again".into()),
        ),
        _ => ("sign-in".to_owned(), Remedy::CheckConfiguration),
    };
    OperatorError {
        code,
        message: e.to_string(),
        remedy,
        request_id: e.request_id().map(str::to_owned),
        retry_possible: true,
    }
}

impl DelegatedLink {
    fn stop_flow(&mut self) {
        self.attempt += 1;
        if let Some(flow) = self.flow.take() {
            flow.abort();
        }
    }

    fn start_flow(&mut self) {
        self.stop_flow();
        let attempt = self.attempt;
        let graph = self.graph.clone();
        let tx = self.tx.clone();
        let wake = Arc::clone(&self.wake);
        let send = move |o: SignInOutcome| {
            let _ = tx.send((attempt, o));
            wake();
        };
        self.flow = Some(self.rt.spawn(async move {
            let auth = match graph.start_device_sign_in().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "device-code sign-in could not start");
                    return send(SignInOutcome::Event(Event::SignInFailed(sign_in_error(&e))));
                }
            };
            let expires_at = auth
                .expires_at()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            send(SignInOutcome::Event(Event::DeviceCode {
                user_code: auth.user_code.clone(),
                verification_uri: auth.verification_uri.clone(),
                expires_at,
                message: auth.message.clone(),
            }));
            match graph.finish_device_sign_in(&auth).await {
                Ok(account) => send(SignInOutcome::SignedIn(account.username)),
                Err(e) => {
                    tracing::warn!(error = %e, "device-code sign-in stopped");
                    send(SignInOutcome::Event(Event::SignInFailed(sign_in_error(&e))))
                }
            }
        }));
    }

    /// The operator is in: start the engine (first time) and name them on the audit log.
    fn signed_in(&mut self, operator: String) -> Event {
        if let Some(setup) = self.setup.take() {
            match Engine::start(setup) {
                Ok(engine) => self.engine = Some(engine),
                Err(e) => self.ready.push_back(Event::StartupChecks(vec![Check {
                    kind: CheckKind::EngineStarted,
                    ok: false,
                    detail: format!("{e:#}"),
                }])),
            }
        }
        if let Some(engine) = &self.engine {
            engine.send(Command::OperatorSignedIn {
                operator: operator.clone(),
            });
        }
        Event::SignedIn { operator }
    }
}

impl EngineLink for DelegatedLink {
    fn send(&mut self, command: Command) {
        match command {
            Command::StartDelegatedSignIn => self.start_flow(),
            Command::CancelDelegatedSignIn => self.stop_flow(),
            // Signing out, and locking (which signs a delegated operator out): the engine's
            // sign-in service audits it and answers; the tokens go here.
            command @ (Command::SignOut | Command::Lock) => {
                self.stop_flow();
                let graph = self.graph.clone();
                // Tokens dropped off the UI thread (a refresh in flight holds the cache briefly).
                self.rt.spawn(async move { graph.sign_out().await });
                if let Some(engine) = &self.engine {
                    engine.send(command);
                }
            }
            other => {
                if let Some(engine) = &self.engine {
                    engine.send(other);
                }
            }
        }
    }

    fn try_recv(&mut self) -> Option<Event> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        while let Ok((attempt, outcome)) = self.rx.try_recv() {
            if attempt != self.attempt {
                continue;
            }
            return Some(match outcome {
                SignInOutcome::Event(e) => e,
                SignInOutcome::SignedIn(operator) => {
                    self.flow = None;
                    self.signed_in(operator)
                }
            });
        }
        self.engine.as_ref().and_then(EngineHandle::try_recv)
    }
}

impl Drop for DelegatedLink {
    fn drop(&mut self) {
        self.stop_flow();
        // The engine finishes what is in flight before the sign-in runtime goes away.
        self.engine = None;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrong_tenant_sign_in_says_which_account_to_use() {
        let e = graph::Error::WrongTenant {
            username: "ops@fabrikam.com".into(),
            signed_in: Some("22222222-2222-2222-2222-222222222222".into()),
            configured: "11111111-1111-1111-1111-111111111111".into(),
        };
        let shown = super::sign_in_error(&e);
        assert_eq!(shown.code, "wrong-tenant");
        assert!(shown
            .message
            .contains("22222222-2222-2222-2222-222222222222"));
        assert!(shown
            .message
            .contains("11111111-1111-1111-1111-111111111111"));
        assert!(shown.remedy.ui().contains("station's tenant"));
    }
}
