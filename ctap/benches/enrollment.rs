//! Client-side cost of one full enrollment against the in-process software key (the
//! figure the README reports): getInfo, key agreement + setPIN, token (mc) + makeCredential from
//! Graph's creation options, token (acfg) + setMinPINLength with forceChangePin.
//!
//! The key does real P-256/ECDSA work that a hardware key would do on its own chip, so the
//! time spent inside the soft key is measured and subtracted: client = total − key.
//!
//! Run: `cargo bench -p ctap --features soft --bench enrollment`
//!
//! Besides the criterion groups, a summary over N fresh keys (default 200, env
//! `ENROLLMENT_N`) is printed first, with medians for:
//! - `direct`: the client calling `SoftAuthenticator::process` (no framing);
//! - `ctaphid-mem`, `ctaphid-udp`: the same through real CTAPHID framing to the in-process
//!   server (`hid::server::in_process`) and over UDP (what python-fido2 uses in
//!   `python_fido2_reference.py`). There the key runs on server threads, so the client figure
//!   is the CPU time of the calling thread; wall time there is dominated by the server's
//!   20 ms poll while a request runs, not by the client;
//! - `direct+idle`: direct, thread CPU, with the thread idle 20 ms after each reply as in the
//!   CTAPHID variants; its gap to `direct` is caches going cold, not framing;
//! - the client's three P-256 key agreements alone (most of the client time).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion, SamplingMode};

use ctap::authenticator::Authenticator;
use ctap::handler::{CtapHandler, PresenceContext};
use ctap::hid::server::{in_process, serve_udp, ServerHandle};
use ctap::hid::HidChannel;
use ctap::pin::PinProtocol;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy, Unattended};
use ctap::transport::udp::UdpTransport;
use ctap::webauthn::CreationOptions;
use ctap::{CancelToken, CtapChannel, NoStatus, StatusSink};

const PIN: &str = "482916";

/// The fixture's creation options in their stored JSON form: parsing them is client work.
fn stored_creation_options() -> String {
    include_str!("../tests/data/creation-options.json").to_owned()
}

fn fresh_key() -> SoftAuthenticator {
    let key = SoftAuthenticator::new(SoftConfig::default()).unwrap();
    key.touch().set(TouchPolicy::Immediate);
    key
}

/// Time spent inside the key, shared between the key's thread(s) and the measuring thread.
#[derive(Clone, Default)]
struct KeyClock(Arc<AtomicU64>);

impl KeyClock {
    fn add(&self, d: Duration) {
        self.0.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
    fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// The soft key as a channel, called directly: no framing, no threads.
struct TimedSoft {
    key: SoftAuthenticator,
    clock: KeyClock,
    requests: u32,
    /// Idle time after each reply, as a real key's latency would leave the client thread:
    /// a control for cold caches when comparing with the CTAPHID variants.
    idle: Duration,
    /// Key time by thread CPU rather than wall, to match the clock of the total.
    cpu: bool,
}

impl TimedSoft {
    fn now(&self, origin: Instant) -> Duration {
        if self.cpu {
            thread_cpu()
        } else {
            origin.elapsed()
        }
    }
}

impl CtapChannel for TimedSoft {
    fn cbor(
        &mut self,
        request: &[u8],
        _status: &dyn StatusSink,
        _cancel: &CancelToken,
    ) -> ctap::Result<Vec<u8>> {
        let origin = Instant::now();
        let t = self.now(origin);
        let reply = self.key.process(request, &Unattended);
        self.clock.add(self.now(origin).saturating_sub(t));
        self.requests += 1;
        if !self.idle.is_zero() {
            std::thread::sleep(self.idle);
        }
        Ok(reply)
    }
    fn vendor(&mut self, _cmd: u8, _data: &[u8]) -> ctap::Result<Vec<u8>> {
        Err(ctap::hid::HidError::InvalidCommand.into())
    }
    fn wink(&mut self) -> ctap::Result<()> {
        Ok(())
    }
    fn max_msg_size(&self) -> usize {
        7609
    }
}

/// The soft key behind a CTAPHID server, with its CBOR handling timed.
struct TimedHandler {
    key: SoftAuthenticator,
    clock: KeyClock,
}

impl CtapHandler for TimedHandler {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        let t = Instant::now();
        let reply = self.key.process(request, presence);
        self.clock.add(t.elapsed());
        reply
    }
    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        self.key.handle_vendor(cmd, data)
    }
    fn wink(&mut self) {}
}

/// CPU time of the calling thread (the client), excluding the server threads of the key.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What one enrollment cost up to makeCredential (python-fido2's shorter sequence) and in all.
#[derive(Clone, Copy)]
struct Split {
    short: Duration,
    short_key: Duration,
    full: Duration,
    full_key: Duration,
}

/// The enrollment sequence. `now` is the clock that counts (wall or thread CPU) and `key`
/// the key time so far; both are sampled after makeCredential and at the end.
fn enroll(
    ch: &mut dyn CtapChannel,
    options_json: &str,
    now: &dyn Fn() -> Duration,
    key: &KeyClock,
) -> Split {
    let start = now();
    let key0 = key.get();
    let mut a = Authenticator::new(ch);
    let options = serde_json::from_str::<CreationOptions>(options_json).unwrap();
    a.get_info().unwrap();
    a.set_pin(PIN).unwrap();
    let reg = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap();
    black_box(&reg);
    let short = now() - start;
    let short_key = key.get() - key0;
    a.set_min_pin_length(PIN, Some(6), &[], true).unwrap();
    Split {
        short,
        short_key,
        full: now() - start,
        full_key: key.get() - key0,
    }
}

fn wall_since(origin: Instant) -> impl Fn() -> Duration {
    move || origin.elapsed()
}

fn direct(options_json: &str) -> Split {
    direct_with(options_json, false, Duration::ZERO)
}

/// The direct variant timed by wall clock, or by thread CPU (with `idle` sleeps after each
/// reply, which wall time would count but thread CPU does not).
fn direct_with(options_json: &str, cpu: bool, idle: Duration) -> Split {
    let clock = KeyClock::default();
    let mut ch = TimedSoft {
        key: fresh_key(),
        clock: clock.clone(),
        requests: 0,
        idle,
        cpu,
    };
    let split = if cpu {
        let cpu0 = thread_cpu();
        enroll(&mut ch, options_json, &move || thread_cpu() - cpu0, &clock)
    } else {
        enroll(&mut ch, options_json, &wall_since(Instant::now()), &clock)
    };
    // getInfo, (KA, setPIN), (getInfo, KA, token, mc), (KA, token, config): getInfo is
    // refetched only after setPIN changed it.
    assert_eq!(ch.requests, 10, "the enrollment sequence changed");
    split
}

enum Carrier {
    Memory,
    Udp,
}

/// A fresh key behind a CTAPHID server; the server handle (UDP) must outlive the channel.
fn hid_setup(carrier: &Carrier) -> (Box<dyn CtapChannel>, Option<ServerHandle>, KeyClock) {
    let clock = KeyClock::default();
    let handler = TimedHandler {
        key: fresh_key(),
        clock: clock.clone(),
    };
    match carrier {
        Carrier::Memory => (Box::new(in_process(handler).unwrap()), None, clock),
        Carrier::Udp => {
            let server = serve_udp("127.0.0.1:0".parse().unwrap(), handler).unwrap();
            let transport = UdpTransport::connect_addr(server.local_addr()).unwrap();
            let ch: HidChannel<UdpTransport> = HidChannel::open(transport).unwrap();
            (Box::new(ch), Some(server), clock)
        }
    }
}

/// One enrollment through CTAPHID: (total wall time, client-thread CPU split). The key runs
/// on server threads, so the calling thread's CPU time is client work only (key time 0).
fn through_hid(carrier: &Carrier, options_json: &str) -> (Duration, Split) {
    let (mut ch, server, _clock) = hid_setup(carrier);
    let cpu0 = thread_cpu();
    let wall0 = Instant::now();
    let cpu_now = || thread_cpu() - cpu0;
    let cpu = enroll(ch.as_mut(), options_json, &cpu_now, &KeyClock::default());
    let wall = wall0.elapsed();
    drop(ch);
    drop(server);
    (wall, cpu)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn pct(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() - 1) * p / 100]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Median client µs and key µs of the short and full sequences.
fn report(label: &str, client_is: &str, splits: &[Split]) {
    let client_full: Vec<_> = splits
        .iter()
        .map(|s| s.full.saturating_sub(s.full_key))
        .collect();
    let client_short: Vec<_> = splits
        .iter()
        .map(|s| s.short.saturating_sub(s.short_key))
        .collect();
    let key_full: Vec<_> = splits.iter().map(|s| s.full_key).collect();
    println!(
        "{label:<12} n={:<4} client({client_is}) full median {:>8.1} µs  p90 {:>8.1} µs | \
         short median {:>8.1} µs | key median {:>8.1} µs",
        splits.len(),
        us(median(client_full.clone())),
        us(pct(client_full, 90)),
        us(median(client_short)),
        us(median(key_full)),
    );
}

fn summary(n: usize, options_json: &str) {
    println!(
        "enrollment split over {n} fresh keys (full = 10 requests incl. setMinPINLength; \
         short = up to makeCredential, python-fido2's sequence):"
    );
    // Warm caches and lazy statics so the first sample is not an outlier.
    direct(options_json);
    let d: Vec<Split> = (0..n).map(|_| direct(options_json)).collect();
    report("direct", "wall−key", &d);
    let total: Vec<_> = d.iter().map(|s| s.full).collect();
    println!(
        "{:<12} total wall median {:>8.1} µs",
        "direct",
        us(median(total))
    );
    let d: Vec<Split> = (0..n)
        .map(|_| direct_with(options_json, true, Duration::ZERO))
        .collect();
    report("direct", "CPU−key", &d);
    // The floor: the client's three P-256 key agreements (ephemeral key + ECDH each).
    let peer = p256::SecretKey::random(&mut rand::rngs::OsRng).public_key();
    let ka: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..3 {
                black_box(PinProtocol::V2.encapsulate(&peer).unwrap());
            }
            t.elapsed()
        })
        .collect();
    println!(
        "{:<12} of which 3× key agreement (P-256 keygen + ECDH) median {:>8.1} µs",
        "direct",
        us(median(ka))
    );
    // Each CTAPHID request waits up to the server's 20 ms poll, so fewer iterations here.
    let m = n.div_ceil(5);
    // The same work with the thread idle 20 ms after each reply, as in the CTAPHID variants:
    // separates the framing's own cost from caches going cold between requests.
    let d: Vec<Split> = (0..m)
        .map(|_| direct_with(options_json, true, Duration::from_millis(20)))
        .collect();
    report("direct+idle", "CPU−key", &d);
    for (label, carrier) in [
        ("ctaphid-mem", Carrier::Memory),
        ("ctaphid-udp", Carrier::Udp),
    ] {
        let runs: Vec<(Duration, Split)> = (0..m)
            .map(|_| through_hid(&carrier, options_json))
            .collect();
        let cpu: Vec<Split> = runs.iter().map(|r| r.1).collect();
        let wall: Vec<Duration> = runs.iter().map(|r| r.0).collect();
        report(label, "thread CPU", &cpu);
        println!(
            "{label:<12} total wall median {:>8.1} ms (server poll latency, not client work)",
            median(wall).as_secs_f64() * 1e3
        );
    }
    println!();
}

fn benches(c: &mut Criterion) {
    let options_json = stored_creation_options();
    let mut g = c.benchmark_group("enrollment");
    g.sample_size(50);
    g.bench_function("direct/total", |b| {
        b.iter_batched(
            fresh_key,
            |key| {
                let clock = KeyClock::default();
                let mut ch = TimedSoft {
                    key,
                    clock: clock.clone(),
                    requests: 0,
                    idle: Duration::ZERO,
                    cpu: false,
                };
                black_box(enroll(
                    &mut ch,
                    &options_json,
                    &wall_since(Instant::now()),
                    &clock,
                ));
                ch
            },
            BatchSize::SmallInput,
        )
    });
    // Only the client's share: the key's time is subtracted per iteration.
    g.bench_function("direct/client", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let s = direct(&options_json);
                    s.full.saturating_sub(s.full_key)
                })
                .sum()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("enrollment-ctaphid");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    // Wall time through the in-process CTAPHID server: framing on both sides plus the
    // server's poll latency (see the printed summary for the client's CPU share).
    g.bench_function("in_process/wall", |b| {
        b.iter_batched(
            || hid_setup(&Carrier::Memory),
            |(mut ch, server, clock)| {
                black_box(enroll(
                    ch.as_mut(),
                    &options_json,
                    &wall_since(Instant::now()),
                    &clock,
                ));
                (ch, server)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(enrollment, benches);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listing = args.iter().any(|a| a == "--list");
    if !listing {
        // `cargo test --benches` runs this without --bench: keep that quick.
        let bench_mode = args.iter().any(|a| a == "--bench");
        let n = std::env::var("ENROLLMENT_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(if bench_mode { 200 } else { 3 });
        summary(n, &stored_creation_options());
    }
    enrollment();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
