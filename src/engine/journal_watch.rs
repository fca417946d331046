//! Other stations' work, as it happens: on a shared journal, a thread listens to the
//! journal's change announcements and hands them to the engine loop, which reads the people
//! concerned again and tells the UI. A lost connection is opened again (the server
//! restarting); what was announced meanwhile is unknown, so the whole queue is read again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::postgres::{Change, Listener};
use crate::store::{JournalLocation, Place};

/// How long one wait for announcements lasts: also how soon the thread sees `stop`.
const WAIT: Duration = Duration::from_millis(500);
/// Between attempts to listen again after the connection was lost.
const RETRY: Duration = Duration::from_secs(2);

/// Starts listening to `location`'s changes when it is a shared journal (`None`: a station's
/// own file, which nobody else changes). `to_msg` wraps what changed for the engine's inbox;
/// the thread ends when `stop` is set or the inbox is gone.
pub fn spawn<M: Send + 'static>(
    location: &JournalLocation,
    inbox: Sender<M>,
    to_msg: fn(Vec<Change>) -> M,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Option<JoinHandle<()>>> {
    let Place::Postgres { url, roots, .. } = &location.place else {
        return Ok(None);
    };
    let (url, roots) = ((**url).clone(), roots.clone());
    // Listening before the engine first reads the queue: nothing committed after that read
    // goes unheard.
    let mut listener = Listener::open(&url, &roots)
        .inspect_err(|e| tracing::warn!("not listening to other stations' changes yet: {e}"))
        .ok();
    // The engine reads the queue at start; after a loss, it is read again here.
    let mut lost = listener.is_none();
    std::thread::Builder::new()
        .name("journal-watch".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let Some(l) = listener.as_mut() else {
                    match Listener::open(&url, &roots) {
                        Ok(l) => {
                            listener = Some(l);
                            // Whatever changed while nobody listened.
                            if lost && inbox.send(to_msg(vec![Change::Queue])).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!("not listening to other stations' changes: {e}");
                            lost = true;
                            std::thread::sleep(RETRY);
                        }
                    }
                    continue;
                };
                match l.wait(WAIT) {
                    Ok(changes) if changes.is_empty() => {}
                    Ok(changes) => {
                        if inbox.send(to_msg(changes)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("lost the journal's change announcements: {e}");
                        listener = None;
                        lost = true;
                    }
                }
            }
        })
        .map(Some)
}
