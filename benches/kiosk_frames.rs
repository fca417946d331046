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
    state.apply(Event::SignedIn {
        operator: "bench".into(),
    });
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
    let mut shaded = None;
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
        if i == 20 {
            shaded = Some(shaded_area(&primitives));
        }
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
    if let Some((meshes, triangles, pixels)) = shaded {
        println!(
            "what the renderer shades for one queue frame: {meshes} meshes, {triangles} triangles, \
             {pixels:.0} px ({:.0}% of the 1280x800 screen)",
            pixels / (1280.0 * 800.0) * 100.0
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            println!("peak memory {line}");
        }
    }
}

/// Meshes, triangles and the pixels they cover (overdraw counted): a software renderer such as
/// llvmpipe spends its time shading these pixels, so this is what its frame time follows.
fn shaded_area(primitives: &[egui::ClippedPrimitive]) -> (usize, usize, f64) {
    let (mut meshes, mut triangles, mut pixels) = (0, 0, 0.0);
    for clipped in primitives {
        let egui::epaint::Primitive::Mesh(mesh) = &clipped.primitive else {
            continue;
        };
        meshes += 1;
        triangles += mesh.indices.len() / 3;
        for t in mesh.indices.chunks_exact(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| mesh.vertices[i as usize].pos);
            let (ab, ac) = (b - a, c - a);
            pixels += f64::from((ab.x * ac.y - ab.y * ac.x).abs()) / 2.0;
        }
    }
    (meshes, triangles, pixels)
}
