//! `demo --bench-frames N`: frame times with 100,000 people while a search is typed.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Result};

use super::generated_people;
use crate::cli::kiosk::native_options;
use crate::engine::api::Event;
use crate::ui::operator::OperatorAuth;
use crate::ui::{KioskApp, State};

struct BenchApp {
    inner: KioskApp,
    frames: usize,
    intervals_ms: Vec<f64>,
    ui_ms: Vec<f64>,
    last: Option<Instant>,
    typed: usize,
    cpu_ms: Vec<f64>,
    /// Repaint without typing: the renderer's floor, for comparison.
    static_frames: bool,
}

/// What is typed, one character per frame; `\u{8}` is Backspace, and it starts over.
const SCRIPT: &str = "ada lovelace 4\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}grace 9\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}";

impl eframe::App for BenchApp {
    fn raw_input_hook(&mut self, _ctx: &egui::Context, raw: &mut egui::RawInput) {
        if self.static_frames {
            return;
        }
        let c = SCRIPT.chars().nth(self.typed % SCRIPT.chars().count());
        self.typed += 1;
        match c {
            Some('\u{8}') => {
                for pressed in [true, false] {
                    raw.events.push(egui::Event::Key {
                        key: egui::Key::Backspace,
                        physical_key: None,
                        pressed,
                        repeat: false,
                        modifiers: egui::Modifiers::NONE,
                    });
                }
            }
            Some(c) => raw.events.push(egui::Event::Text(c.to_string())),
            None => {}
        }
    }

    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let now = Instant::now();
        if let Some(last) = self.last {
            self.intervals_ms
                .push(now.duration_since(last).as_secs_f64() * 1e3);
        }
        self.last = Some(now);
        if let Some(cpu) = frame.info().cpu_usage {
            self.cpu_ms.push(f64::from(cpu) * 1e3);
        }
        self.inner.logic(ctx, frame);
        ctx.request_repaint();
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        self.inner.clear_color(visuals)
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let start = Instant::now();
        self.inner.ui(ui, frame);
        self.ui_ms.push(start.elapsed().as_secs_f64() * 1e3);
        if self.ui_ms.len() == self.frames {
            report(&mut self.intervals_ms, &mut self.ui_ms, &mut self.cpu_ms);
            self.inner.state.exit_chosen = true;
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(intervals: &mut [f64], ui: &mut [f64], cpu: &mut [f64]) {
    // The first frames include font atlas and shader set-up: not what typing costs.
    let skip = 10.min(intervals.len());
    let intervals = &mut intervals[skip..];
    let ui_skip = skip.min(ui.len());
    let ui = &mut ui[ui_skip..];
    intervals.sort_by(f64::total_cmp);
    ui.sort_by(f64::total_cmp);
    println!("frames measured: {}", intervals.len());
    println!(
        "frame interval (ui + tessellate + paint + swap), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(intervals, 0.5),
        percentile(intervals, 0.9),
        percentile(intervals, 0.99),
        percentile(intervals, 1.0)
    );
    println!(
        "ui pass (search + layout), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(ui, 0.5),
        percentile(ui, 0.9),
        percentile(ui, 0.99),
        percentile(ui, 1.0)
    );
    let cpu_skip = skip.min(cpu.len());
    let cpu = &mut cpu[cpu_skip..];
    cpu.sort_by(f64::total_cmp);
    println!(
        "eframe frame CPU time (ui + tessellate + GL calls, no swap), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(cpu, 0.5),
        percentile(cpu, 0.9),
        percentile(cpu, 0.99),
        percentile(cpu, 1.0)
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if line.starts_with("VmHWM") || line.starts_with("VmRSS") {
                println!("{line}");
            }
        }
    }
}

pub fn run(frames: usize, windowed: bool) -> Result<ExitCode> {
    let mut state = State::new(OperatorAuth::Demo, true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    state.apply(Event::StartupChecks(vec![]));
    state.apply(Event::Queue(generated_people(100_000, now)));
    state.operator = Some("bench".into());
    let mut options = native_options(windowed);
    options.glow_options.vsync = false;
    eframe::run_native(
        "Passkey Kiosk (bench)",
        options,
        Box::new(move |cc| {
            Ok(Box::new(BenchApp {
                inner: KioskApp::new(&cc.egui_ctx, state, None),
                frames: frames.max(20),
                intervals_ms: Vec::new(),
                ui_ms: Vec::new(),
                last: None,
                typed: 0,
                cpu_ms: Vec::new(),
                static_frames: std::env::var_os("PASSKEY_KIOSK_BENCH_STATIC").is_some(),
            }))
        }),
    )
    .map_err(|e| anyhow!("the bench window failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
