//! How the kiosk window reaches the engine: the UI's [`EngineLink`] over a running engine, the
//! repaint callback the engine calls, and the window's options.

use std::sync::Arc;

use crate::engine::api::{Command, Event};
use crate::engine::EngineHandle;
use crate::ui::EngineLink;

/// The engine behind the UI's [`EngineLink`].
struct Link(EngineHandle);

impl EngineLink for Link {
    fn send(&mut self, command: Command) {
        self.0.send(command);
    }
    fn try_recv(&mut self) -> Option<Event> {
        self.0.try_recv()
    }
}

/// Wraps a running engine for the UI (tests use this with kittest).
pub fn link(handle: EngineHandle) -> Box<dyn EngineLink> {
    Box::new(Link(handle))
}

/// The repaint callback the engine calls after every event.
pub fn waker(ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}

pub(crate) fn native_options(windowed: bool) -> eframe::NativeOptions {
    let viewport = egui::ViewportBuilder::default()
        .with_title("Passkey Kiosk")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([1024.0, 700.0])
        .with_fullscreen(!windowed)
        .with_decorations(windowed);
    eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        // Flat colours gain nothing from dithering, and software GL pays for it per pixel.
        dithering: false,
        ..Default::default()
    }
}
