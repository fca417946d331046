//! SIGTERM, SIGINT and SIGHUP close the kiosk the way the operator's Exit does (a shutdown, or
//! Ctrl-C in the terminal that started the demo): the engine stops in order and the demo removes
//! its temporary directory. A second signal exits at once (the journal's write-ahead records
//! make that safe too; recovery finishes the work on the next start).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

/// Starts a thread that sets the returned flag and wakes the UI on the first signal.
pub fn close_on_signals(ctx: egui::Context) -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the signal listener")?;
    let mut streams = {
        let _inside = rt.enter();
        [
            SignalKind::terminate(),
            SignalKind::interrupt(),
            SignalKind::hangup(),
        ]
        .map(signal)
    };
    for s in &streams {
        if let Err(e) = s {
            anyhow::bail!("listening for termination signals: {e}");
        }
    }
    let set = flag.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async move {
                let [Ok(term), Ok(int), Ok(hup)] = &mut streams else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                        _ = hup.recv() => {}
                    }
                    if set.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    ctx.request_repaint();
                }
            })
        })
        .context("starting the signal listener")?;
    Ok(flag)
}
