//! Several stations, one queue: headless `enroll` runs (the real binary, one per station, each
//! with its own key slot and software keys) share a journal on a real PostgreSQL (started
//! here, as the tests start it) and the fake tenant with Graph latency on every response.
//!
//! Reports the throughput of one station and of all of them (people per second), their ratio,
//! the people registered more than once (must be 0), every PIN accounted for (each person's
//! PIN from the stations' keysRegistered.csv opens the key they were given), and the claim's
//! overhead per person: reserving the next person and giving the reservation back, timed
//! alone against the same database.
//!
//! `cargo bench -p passkey-kiosk --bench stations`
//! Environment: `BENCH_STATIONS` (8), `BENCH_PEOPLE` (per station, 1000), `BENCH_BASELINE`
//! (people for the one-station run, 100), `BENCH_LATENCY_MS` (150).

// The integration tests' kit and PostgreSQL, by path: Cargo builds each bench as a crate of
// its own.
#[path = "../tests/kit/mod.rs"]
mod kit;
#[path = "../tests/pg_support/mod.rs"]
mod pg_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ctap::soft::SoftAuthenticator;
use graph::fake::Faults;
use kit::keys::{pin_opens, soft_key};
use kit::slot::Slot;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::store::seal::KEY_ENV;
use passkey_kiosk::store::{Journal, JournalLocation};
use pg_support::PgServer;

/// The deployment's journal key (random PINs are stored in the shared journal only sealed).
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One shared journal with `people` queued (prefetched without latency: the prefetch is not
/// what is measured), Graph then answering after `latency`.
fn shared(server: &PgServer, people: usize, latency: Duration) -> Station {
    let st = Station::new(
        plain_tenant(people),
        &format!(
            r#","journalUrl":"{}","stationName":"desk-0","useRandomPIN":true"#,
            server.url()
        ),
    );
    st.prefetch();
    st.tenant.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    st
}

/// `stations` headless `enroll` runs at once until the queue is empty; the wall time and
/// each key given out, by serial.
fn run(st: &Station, stations: usize) -> (Duration, HashMap<String, SoftAuthenticator>) {
    let keys = Mutex::new(HashMap::new());
    let serial = AtomicU32::new(80_000_000);
    let start = Instant::now();
    std::thread::scope(|s| {
        for n in 0..stations {
            let (keys, serial) = (&keys, &serial);
            s.spawn(move || {
                let slot = Slot::new();
                let station = format!("desk-{n}");
                let mut child = st.spawn_enroll_as(&station, &slot, &[], &[(KEY_ENV, KEY)]);
                for line in BufReader::new(child.stdout.take().unwrap())
                    .lines()
                    .map_while(Result::ok)
                {
                    if line.contains("insert a new key for") {
                        let n = serial.fetch_add(1, Ordering::SeqCst);
                        let key = soft_key(n);
                        keys.lock().unwrap().insert(n.to_string(), key.clone());
                        slot.insert(Some(key));
                    }
                }
                assert!(child.wait().unwrap().success(), "station {station} failed");
            });
        }
    });
    (start.elapsed(), keys.into_inner().unwrap())
}

/// Every queued person registered exactly once, with a CSV row whose PIN opens their key.
fn check(st: &Station, people: usize, keys: &HashMap<String, SoftAuthenticator>) -> usize {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(st.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv")
            && path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("desk-")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            rows.extend(
                text.lines()
                    .skip(1)
                    .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>()),
            );
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert_eq!(rows.len(), people, "one row per person");
    let mut twice = 0;
    for row in &rows {
        let (upn, serial, pin) = (&row[0], &row[2], &row[3]);
        if st.tenant.registrations(upn).len() != 1 {
            twice += 1;
        }
        let key = keys.get(serial).expect("a key given out");
        assert!(
            pin_opens(key, pin),
            "{upn}: the PIN in the CSV opens the key"
        );
    }
    twice
}

/// Mean time to reserve the next person and give the reservation back.
fn claim_overhead(st: &Station) -> Duration {
    let mut config = Config::load(&st.config).unwrap();
    config.station_name = "timer".into();
    let mut j = Journal::open_at(&JournalLocation::from_config(&config).unwrap()).unwrap();
    let rounds = 500;
    let start = Instant::now();
    for _ in 0..rounds {
        let p = j.reserve_next(None).unwrap().expect("someone queued");
        j.release_reservation(&p.user_id).unwrap();
    }
    start.elapsed() / rounds
}

fn main() {
    let stations = env_usize("BENCH_STATIONS", 8);
    let per_station = env_usize("BENCH_PEOPLE", 1000);
    let baseline = env_usize("BENCH_BASELINE", 100);
    let latency = Duration::from_millis(env_usize("BENCH_LATENCY_MS", 150) as u64);

    let server = PgServer::start();
    let one = shared(&server, baseline, latency);
    let overhead = claim_overhead(&one);
    let (alone, keys) = run(&one, 1);
    let twice_alone = check(&one, baseline, &keys);
    drop(one);
    server.reset_schema();

    let people = stations * per_station;
    let many = shared(&server, people, latency);
    let (together, keys) = run(&many, stations);
    let twice = check(&many, people, &keys);

    let rate_one = baseline as f64 / alone.as_secs_f64();
    let rate_all = people as f64 / together.as_secs_f64();
    println!(
        "1 station: {baseline} people in {:.1} s = {rate_one:.2} people/s",
        alone.as_secs_f64()
    );
    println!(
        "{stations} stations: {people} people in {:.1} s = {rate_all:.2} people/s ({:.1}x one station)",
        together.as_secs_f64(),
        rate_all / rate_one
    );
    println!(
        "registered twice: {}; every PIN opens its person's key ({people} checked)",
        twice + twice_alone
    );
    println!(
        "claim overhead per person (reserve + give back): {:.2} ms",
        overhead.as_secs_f64() * 1000.0
    );
    println!(
        "Graph latency: {} ms on every response",
        latency.as_millis()
    );
}
