//! Kiosk frame time, headless: 100,000 people in the queue while a search is typed, one
//! character (or Backspace) per frame. Measures what the app costs per frame on the CPU: the
//! egui pass (search + layout of the visible rows) plus tessellation. Rasterisation is the
//! renderer's (`passkey-kiosk demo --bench-frames N` under Xvfb measures that too).
//!
//! `cargo bench -p passkey-kiosk --bench kiosk_frames` (FRAMES=n to change the count).

use std::time::Instant;

use passkey_kiosk::cli::kiosk::generated_people;
use passkey_kiosk::engine::api::Event;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::{KioskApp, State};

const NOW: i64 = 1_800_000_000;

fn main() {
    let frames: usize = std::env::var("FRAMES")
        .ok()
        .and_then(|f| f.parse().ok())
        .unwrap_or(2000);
    let ctx = egui::Context::default();
    let mut state = State::new(OperatorAuth::Demo, true);
    state.apply(Event::StartupChecks(vec![]));
    let people_start = Instant::now();
    state.apply(Event::Queue(generated_people(100_000, NOW)));
    let index_ms = people_start.elapsed().as_secs_f64() * 1e3;
    state.operator = Some("bench".into());
    let mut app = KioskApp::new(&ctx, state, None);
    app.set_now(NOW);

    let script: Vec<Option<char>> = "ada lovelace 4"
        .chars()
        .map(Some)
        .chain(std::iter::repeat_n(None, 14))
        .chain("grace hopper 9".chars().map(Some))
        .chain(std::iter::repeat_n(None, 14))
        .collect();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    let mut times = Vec::with_capacity(frames);
    let mut fewest_matches = usize::MAX;
    for i in 0..frames + 20 {
        let mut input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(i as f64 / 60.0),
            ..Default::default()
        };
        match script[i % script.len()] {
            Some(c) => input.events.push(egui::Event::Text(c.to_string())),
            None => {
                for pressed in [true, false] {
                    input.events.push(egui::Event::Key {
                        key: egui::Key::Backspace,
                        physical_key: None,
                        pressed,
                        repeat: false,
                        modifiers: egui::Modifiers::NONE,
                    });
                }
            }
        }
        let start = Instant::now();
        let output = ctx.run_ui(input, |ui| app.render(ui));
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(primitives);
        // The first frames build the font atlas: not what typing costs.
        if i >= 20 {
            times.push(elapsed);
        }
        fewest_matches = fewest_matches.min(app.state.queue.matches().len());
    }
    assert!(
        app.state.queue.len() == 100_000 && fewest_matches < 1000,
        "the typed search did not narrow the queue ({fewest_matches} matches)"
    );
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!("queue of 100,000 indexed in {index_ms:.0} ms");
    println!(
        "frame (egui pass + tessellation), {} frames typing: p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        times.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!("peak memory {line}");
        }
    }
}
