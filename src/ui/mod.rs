//! The kiosk UI (egui): renders from [`State`], appends [`Command`]s to an outbox, does no I/O.
//!
//! [`KioskApp`] is the eframe glue: `logic()` drains engine events into [`State::apply`] and
//! enforces the kiosk rules (no close without Exit, idle lock); `ui()` renders the screens and
//! hands the outbox to the engine. Repaints happen only on input, on engine events (the engine's
//! wake callback requests one) and while something animates, so an idle station uses no CPU.

pub mod operator;
pub mod pin_pad;
pub mod queue_index;
pub mod remedy;
pub mod screens;
pub mod secret;
pub mod state;
pub mod theme;
pub mod widgets;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::api::{Command, Event};

pub use state::State;

/// The UI's view of the engine: commands out, events in, never blocking.
pub trait EngineLink {
    /// Queues a command for the engine.
    fn send(&mut self, command: Command);
    /// The next event, if one is waiting.
    fn try_recv(&mut self) -> Option<Event>;
}

/// The kiosk as an eframe app.
pub struct KioskApp {
    /// Everything on screen.
    pub state: State,
    outbox: Vec<Command>,
    link: Option<Box<dyn EngineLink>>,
    fixed_now: Option<i64>,
    last_input: f64,
    closing: bool,
    /// `Shutdown` went to the engine (once, when the kiosk closes).
    shutdown_sent: bool,
    /// Set from outside (a termination signal): close as the operator's Exit would.
    terminate: Option<Arc<AtomicBool>>,
}

impl KioskApp {
    /// Builds the app and applies the kiosk theme. Without a link, commands stay in the outbox
    /// (tests read them with [`Self::take_outbox`]).
    pub fn new(ctx: &egui::Context, state: State, link: Option<Box<dyn EngineLink>>) -> Self {
        theme::apply(ctx);
        KioskApp {
            state,
            outbox: Vec::new(),
            link,
            fixed_now: None,
            last_input: 0.0,
            closing: false,
            shutdown_sent: false,
            terminate: None,
        }
    }

    /// Closes the kiosk, as Exit does, once `flag` is set (and the UI woken).
    pub fn close_when(mut self, flag: Arc<AtomicBool>) -> Self {
        self.terminate = Some(flag);
        self
    }

    /// Applies an event as if the engine had sent it (tests).
    pub fn apply(&mut self, event: Event) {
        self.state.apply(event);
    }

    /// Commands produced since the last call (only when there is no engine link).
    pub fn take_outbox(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.outbox)
    }

    /// Freezes the clock used for challenge expiry (tests, screenshots).
    pub fn set_now(&mut self, unix_seconds: i64) {
        self.fixed_now = Some(unix_seconds);
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl eframe::App for KioskApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(link) = self.link.as_mut() {
            while let Some(event) = link.try_recv() {
                self.state.apply(event);
            }
        }
        self.state.now = self.fixed_now.unwrap_or_else(unix_now);
        let terminate = self.terminate.as_ref();
        if terminate.is_some_and(|t| t.load(Ordering::SeqCst)) {
            self.state.exit_chosen = true;
        }
        // Closing (Exit accepted by the sign-in service, or a signal): the engine finishes first.
        if self.state.exit_chosen && !self.shutdown_sent {
            self.outbox.push(Command::Shutdown);
            self.shutdown_sent = true;
        }

        // A kiosk closes only through the operator's Exit, not through the window manager.
        if ctx.input(|i| i.viewport().close_requested()) && !self.state.exit_chosen {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.state.close_refused = true;
        }

        let (time, active) = ctx.input(|i| (i.time, !i.events.is_empty() || i.pointer.is_moving()));
        if active {
            self.last_input = time;
        }
        if let Some(limit) = self.state.idle_lock_secs {
            if self.state.operator.is_some() && !self.state.locked && !self.state.lock_requested {
                let idle = time - self.last_input;
                if idle >= limit {
                    // Hidden at once; the sign-in service locks (and audits) the station.
                    self.outbox.push(Command::Lock);
                    self.state.lock_requested = true;
                } else {
                    // Wake exactly when the lock is due; no polling in between.
                    ctx.request_repaint_after(Duration::from_secs_f64(limit - idle));
                }
            }
        }
        if self.state.screen() == state::Screen::Queue {
            // Challenge expiry is shown in minutes.
            ctx.request_repaint_after(Duration::from_secs(30));
        }
    }

    fn clear_color(&self, _visuals: &egui::Visuals) -> [f32; 4] {
        egui::Color32::WHITE.to_normalized_gamma_f32()
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.render(ui);
    }
}

impl KioskApp {
    /// One frame of the UI (what `eframe::App::ui` does), callable without eframe: the
    /// headless frame-time bench drives it with a bare `egui::Context`.
    pub fn render(&mut self, ui: &mut egui::Ui) {
        screens::show(ui, &mut self.state, &mut self.outbox);
        if self.state.exit_chosen && !self.closing {
            self.closing = true;
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(link) = self.link.as_mut() {
            for command in self.outbox.drain(..) {
                link.send(command);
            }
        }
    }
}
