//! The engine with a deployment-sized journal: 100,000 people queued, 20,000 of them recorded.
//!
//! Two stations against the fake tenant (50 real members, options prefetched for real): one
//! whose journal is padded with `BENCH_QUEUED` people (copies of a real person's options) and
//! `BENCH_RECORDED` recorded enrollments (with attestation-sized blobs), and one with only the
//! 50. For each it measures:
//! - engine start (journal open, recovery, start-up checks) until the first `Event::Queue`;
//! - the read model's work per finished job (one person's status, the history), and the time
//!   per key through the engine (software key, instant touch, random PIN), whose difference
//!   between the two stations is what the journal's size adds to every job;
//! - `passkey-kiosk enroll --user X` of one key, the real binary against a software key on UDP.
//!
//! `cargo bench -p passkey-kiosk --bench engine_scale`
//! Environment: `BENCH_QUEUED` (100000), `BENCH_RECORDED` (20000), `BENCH_KEYS` (3).

#[path = "../tests/enroll_support/mod.rs"]
mod enroll_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use enroll_support::{plain_tenant, soft_key, Station};
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Command, Event};
use passkey_kiosk::engine::{queue_view, Engine, EngineHandle, EngineSetup, KeySource};
use passkey_kiosk::store::{Journal, QueuedUser};

/// Members of the fake tenant (the people actually enrolled).
const MEMBERS: usize = 50;
const CONFIG: &str = r#","useRandomPIN":true,"useCTAP21Features":true"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A station whose journal holds the tenant's members plus `queued - MEMBERS` copies, and
/// `recorded` recorded enrollments of the copies.
fn station(queued: usize, recorded: usize) -> (Station, Vec<QueuedUser>) {
    let st = Station::new(plain_tenant(MEMBERS), CONFIG);
    st.prefetch();
    let mut journal = Journal::open(&st.journal).expect("journal");
    let members = journal.queue().expect("queue");
    let template = members[0].clone();
    let padding: Vec<QueuedUser> = (0..queued.saturating_sub(MEMBERS))
        .map(|n| QueuedUser {
            user_id: format!("pad-{n:06}"),
            upn: format!("pad.{n:06}@contoso.example"),
            display_name: format!("Padding Person {n}"),
            ..template.clone()
        })
        .collect();
    journal.upsert_queue(&padding).expect("padding");
    drop(journal);
    // Recorded enrollments written directly, in one transaction (the store's API commits
    // each state change durably: 20,000 people would take minutes).
    let mut conn = rusqlite::Connection::open(&st.journal).expect("sqlite");
    let tx = conn.transaction().expect("tx");
    {
        let mut e = tx
            .prepare(
                "INSERT INTO enrollment (user_id, upn, state, pin_source, serial, aaguid, credential_id,
                   client_data_json, attestation_object, method_id, created_at, updated_at)
                 VALUES (?1, ?2, 'recorded', 'random', ?3, 'aaguid', ?4, ?5, ?6, ?7, 1, 1)",
            )
            .expect("insert");
        let mut t = tx
            .prepare("INSERT INTO transition (enrollment_id, from_state, to_state, at) VALUES (?1, 'hardened', 'recorded', 1)")
            .expect("insert");
        let blob = vec![0x5a_u8; 900];
        for p in padding.iter().take(recorded) {
            e.execute(rusqlite::params![
                p.user_id,
                p.upn,
                format!("serial-{}", p.user_id),
                &blob[..64],
                &blob[..200],
                &blob,
                format!("method-{}", p.user_id)
            ])
            .expect("enrollment");
            t.execute([tx.last_insert_rowid()]).expect("transition");
        }
    }
    tx.commit().expect("commit");
    // A journal in service has long been checkpointed: the first job must not pay for this.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    })
    .expect("checkpoint");
    (st, members)
}

fn engine(st: &Station) -> EngineHandle {
    let config = Config::load(&st.config).expect("config");
    Engine::start(EngineSetup {
        graph: passkey_kiosk::tenant::connect(&config).expect("client"),
        journal: passkey_kiosk::store::JournalLocation::from_config(&config).expect("journal"),
        config,
        keys_registered: st.out.clone(),
        operator: "bench".into(),
        key_source: KeySource::Soft,
        wake: Arc::new(|| {}),
        operator_auth: passkey_kiosk::station::OperatorAuth::Headless,
    })
    .expect("engine")
}

struct Figures {
    start: Duration,
    read_model: Duration,
    per_key: Duration,
    enroll_user: Duration,
}

fn measure(queued: usize, recorded: usize, keys: usize) -> Figures {
    let t = Instant::now();
    let (st, members) = station(queued, recorded);
    eprintln!(
        "  journal with {queued} queued, {recorded} recorded built in {:.1?}",
        t.elapsed()
    );

    // Start-up sends recovery, its checks, then the queue and the history.
    let t = Instant::now();
    let handle = engine(&st);
    while !matches!(handle.recv(), Some(Event::Queue(_))) {}
    let start = t.elapsed();
    while !matches!(handle.recv(), Some(Event::History(_))) {}

    let mut per_key = Duration::ZERO;
    for q in members.iter().take(keys) {
        handle.send(Command::InsertSoftKey);
        while !matches!(handle.recv(), Some(Event::KeyInserted(_))) {}
        let t = Instant::now();
        handle.send(Command::Enroll {
            user_id: q.user_id.clone(),
        });
        loop {
            match handle.recv() {
                Some(Event::Finished { .. }) => break,
                Some(Event::Failed { error, .. }) => panic!("{error:?}"),
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
        // What the engine does once the job is done (the read model's refresh) comes in
        // before the next command is looked at: wait for the history it sends last.
        while !matches!(handle.recv(), Some(Event::History(_))) {}
        per_key += t.elapsed();
    }
    per_key /= keys as u32;
    handle.send(Command::Shutdown);
    drop(handle);

    // What the engine reads from the journal after each finished job.
    let journal = Journal::open(&st.journal).expect("journal");
    let rounds = keys;
    let t = Instant::now();
    for q in members.iter().take(rounds) {
        read_after_job(&journal, &q.user_id);
    }
    let read_model = t.elapsed() / rounds as u32;

    let person = &members[keys];
    let t = Instant::now();
    let (status, out) = st.enroll(&["--user", &person.upn], &[], |line| {
        if line.contains("insert a new key for") {
            st.slot.insert(Some(soft_key(90_000)));
        }
    });
    let enroll_user = t.elapsed();
    assert!(status.success(), "{out}");
    Figures {
        start,
        read_model,
        per_key,
        enroll_user,
    }
}

fn main() {
    let queued = env_usize("BENCH_QUEUED", 100_000);
    let recorded = env_usize("BENCH_RECORDED", 20_000);
    let keys = env_usize("BENCH_KEYS", 3).clamp(1, MEMBERS - 1);
    let big = measure(queued, recorded, keys);
    let small = measure(MEMBERS, 0, keys);
    println!("engine at scale: {queued} queued, {recorded} recorded vs {MEMBERS} queued");
    println!(
        "  engine start to the first queue event: {:.1?} vs {:.1?}",
        big.start, small.start
    );
    println!(
        "  read model per finished job:           {:.2?} vs {:.2?}",
        big.read_model, small.read_model
    );
    println!(
        "  per key through the engine (soft key): {:.1?} vs {:.1?} (+{:.1?} from the journal's size)",
        big.per_key,
        small.per_key,
        big.per_key.saturating_sub(small.per_key)
    );
    println!(
        "  enroll --user of one key (binary):     {:.2?} vs {:.2?} ({:.2}x)",
        big.enroll_user,
        small.enroll_user,
        big.enroll_user.as_secs_f64() / small.enroll_user.as_secs_f64()
    );
}

/// The journal reads the engine does after a finished job: the person's status, the history.
/// (main before the read model: `queue_view::people` twice, to find the person and to resend
/// the whole queue, then the history.)
fn read_after_job(journal: &Journal, user_id: &str) {
    queue_view::person(journal, user_id)
        .expect("person")
        .expect("queued");
    queue_view::history(journal).expect("history");
}
