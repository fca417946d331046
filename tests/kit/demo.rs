//! The demo's world (fake tenant, journal, software keys) driven through the real engine.

use std::sync::Arc;

use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::api::{Event, HistoryEntry, Person};
use passkey_kiosk::engine::{Engine, EngineHandle};

use super::events::Log;

/// An engine on the world's config and journal, once it sent the queue and the history at
/// start: the engine, the events so far, that queue and that history.
pub fn start_engine(world: &DemoWorld) -> (EngineHandle, Log, Vec<Person>, Vec<HistoryEntry>) {
    let engine = Engine::start(world.engine_setup(Arc::new(|| {})).unwrap()).unwrap();
    let mut log = Log::default();
    let queue = log.until(&engine, "the queue at start", |e| match e {
        Event::Queue(q) => Some(q.clone()),
        _ => None,
    });
    let history = log.until(&engine, "the history at start", |e| match e {
        Event::History(h) => Some(h.clone()),
        _ => None,
    });
    (engine, log, queue, history)
}
