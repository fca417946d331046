//! The station's sign-in service without an engine, for kittests of the signed-in screens:
//! the real [`OperatorService`], passcodes checked inline, audit entries in a journal of its
//! own, every command the UI sends kept for [`outbox`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Instant;

use egui_kittest::Harness;
use passkey_kiosk::engine::api::{Command, Event};
use passkey_kiosk::station::operator_auth::{self, PasscodeCheck, Station};
use passkey_kiosk::station::OperatorService;
use passkey_kiosk::store::Journal;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::{EngineLink, KioskApp};

/// Commands the UI produced since the last call (kept by the desk's link, or in the outbox of
/// a kiosk without a link).
pub fn outbox(h: &mut Harness<'static, KioskApp>) -> Vec<Command> {
    let mut sent = SENT.with_borrow_mut(std::mem::take);
    sent.extend(h.state_mut().take_outbox());
    sent
}

/// The station's sign-in service without an engine, for kittests: the real
/// [`OperatorService`], passcodes checked inline, audit entries in a journal of its own. Every
/// command the UI sends is also kept for [`outbox`].
struct Desk {
    service: OperatorService,
    journal: Journal,
    _dir: tempfile::TempDir,
    events: VecDeque<Event>,
    checks: Vec<PasscodeCheck>,
}

impl Station for Desk {
    fn journal(&self) -> &Journal {
        &self.journal
    }
    fn default_operator(&self) -> &str {
        "station"
    }
    fn set_operator(&mut self, _operator: Option<String>) {}
    fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }
    fn check(&mut self, check: PasscodeCheck) {
        self.checks.push(check);
    }
}

thread_local! {
    static DESK: RefCell<Option<Desk>> = const { RefCell::new(None) };
    static SENT: RefCell<Vec<Command>> = const { RefCell::new(Vec::new()) };
}

/// Runs commands through the desk's service until no passcode check is left.
fn serve(command: Command) {
    DESK.with_borrow_mut(|desk| {
        let desk = desk.as_mut().expect("a station built by station_with");
        let mut effects = desk.service.command(command, Instant::now());
        loop {
            operator_auth::apply(effects, desk);
            let Some(check) = desk.checks.pop() else {
                break;
            };
            let ok = check.run();
            effects = desk.service.checked(check.attempt, ok, Instant::now());
        }
    });
}

/// The UI's link to the [`Desk`].
struct DeskLink;

impl EngineLink for DeskLink {
    fn send(&mut self, command: Command) {
        SENT.with_borrow_mut(|sent| sent.push(command.clone()));
        if OperatorService::handles(&command) {
            serve(command);
        }
    }
    fn try_recv(&mut self) -> Option<Event> {
        DESK.with_borrow_mut(|desk| desk.as_mut().and_then(|d| d.events.pop_front()))
    }
}

pub fn link(auth: OperatorAuth) -> Box<dyn EngineLink> {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    DESK.set(Some(Desk {
        service: OperatorService::new(auth),
        journal,
        _dir: dir,
        events: VecDeque::new(),
        checks: Vec::new(),
    }));
    SENT.with_borrow_mut(Vec::clear);
    Box::new(DeskLink)
}

/// The delegated sign-in runner reports a completed device-code sign-in (as `DelegatedLink`
/// does): the service records the operator, the UI shows them.
pub fn delegated_sign_in(h: &mut Harness<'static, KioskApp>, upn: &str) {
    serve(Command::OperatorSignedIn {
        operator: upn.into(),
    });
    h.state_mut().apply(Event::SignedIn {
        operator: upn.into(),
    });
    h.run_steps(2);
}

/// The desk's audit log: (operator, action, result).
pub fn desk_audit() -> Vec<(String, String, String)> {
    DESK.with_borrow(|desk| {
        desk.as_ref()
            .unwrap()
            .journal
            .audit_log()
            .unwrap()
            .into_iter()
            .map(|a| (a.operator, a.action, a.result))
            .collect()
    })
}
