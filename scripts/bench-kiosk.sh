#!/bin/sh
# Kiosk frame-time benchmark: 100,000 people in the queue, a search typed one character per
# frame, on this machine's software renderer (Mesa llvmpipe) under Xvfb; prints percentiles and
# peak memory. Then the headless CPU-only bench (egui pass + tessellation, no display).
# FRAMES=n sets the frame count; PASSKEY_KIOSK_BENCH_STATIC=1 repaints without typing (the
# renderer's floor). Needs the packages of scripts/screenshots.sh.
set -eu
cd "$(dirname "$0")/.."
cargo build --release --bin passkey-kiosk
export XDG_RUNTIME_DIR="$(mktemp -d)"
Xvfb :96 -screen 0 1280x800x24 -nolisten tcp &
XVFB=$!
sleep 1
DISPLAY=:96 matchbox-window-manager -use_titlebar no -use_cursor no &
WM=$!
trap 'kill $WM $XVFB 2>/dev/null; rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
sleep 1
echo "== windowed (llvmpipe + Xvfb), load: $(cut -d' ' -f1-3 /proc/loadavg)"
DISPLAY=:96 ./target/release/passkey-kiosk demo --bench-frames "${FRAMES:-1000}" 2>/dev/null
echo "== headless (CPU only)"
cargo bench -p passkey-kiosk --bench kiosk_frames 2>/dev/null
