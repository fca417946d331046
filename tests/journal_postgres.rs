//! The shared journal's foundations against a real PostgreSQL (Debian's server, started by
//! `pg_support`): connecting as the station's least-privilege role, the schema applied,
//! re-applied and refused when newer, sealed PINs only, and a server restart.

mod pg_support;

use std::thread;

use passkey_kiosk::config::Config;
use passkey_kiosk::store::postgres::{schema, JournalUrl, Roots, SchemaError};
use passkey_kiosk::store::seal::{self, JournalKey};
use pg_support::{PgServer, DATABASE, SCHEMA, STATION_PASSWORD, STATION_ROLE};
use zeroize::Zeroizing;

fn station(server: &PgServer) -> postgres::Client {
    JournalUrl::parse(&server.url())
        .unwrap()
        .connect(&Roots::System, None)
        .unwrap()
}

fn key() -> JournalKey {
    JournalKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "test").unwrap()
}

#[test]
fn the_station_connects_by_tcp_socket_or_pgpassword_as_a_least_privileged_role() {
    let server = PgServer::start();
    let who = |c: &mut postgres::Client| -> (String, String, bool) {
        let row = c
            .query_one(
                "SELECT current_user::text, current_schema()::text,
                        (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let expected = (STATION_ROLE.to_string(), SCHEMA.to_string(), false);

    let tcp = JournalUrl::parse(&server.url()).unwrap();
    assert!(!tcp.uses_tls(), "loopback goes without TLS");
    assert_eq!(
        who(&mut tcp.connect(&Roots::System, None).unwrap()),
        expected
    );

    let socket = JournalUrl::parse(&server.socket_url()).unwrap();
    assert!(!socket.uses_tls());
    assert_eq!(
        who(&mut socket.connect(&Roots::System, None).unwrap()),
        expected
    );

    let bare = JournalUrl::parse(&server.url_without_password()).unwrap();
    assert!(!bare.has_password());
    let password = Zeroizing::new(STATION_PASSWORD.to_string());
    assert_eq!(
        who(&mut bare.connect(&Roots::System, Some(&password)).unwrap()),
        expected
    );

    // A wrong password: refused, with what to check, and the password not repeated.
    let wrong = Zeroizing::new("not-the-password".to_string());
    let e = bare
        .connect(&Roots::System, Some(&wrong))
        .err()
        .expect("a wrong password is refused")
        .to_string();
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(
        e.contains("PGPASSWORD") && e.contains(&bare.to_string()),
        "{e}"
    );
    assert!(!e.contains("not-the-password"), "{e}");

    // Least privilege: the role can neither create databases nor write outside its schema.
    let mut c = station(&server);
    assert!(c.batch_execute("CREATE DATABASE other").is_err());
    assert!(c
        .batch_execute("CREATE TABLE public.intruder (x int)")
        .is_err());
    c.batch_execute("CREATE TABLE mine (x int)").unwrap();
    let schema: String = c
        .query_one(
            "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'mine'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(schema, SCHEMA);
}

#[test]
fn the_schema_is_applied_once_and_a_newer_one_is_refused() {
    let server = PgServer::start();
    let mut c = station(&server);

    let fresh = schema::apply(&mut c).unwrap();
    assert_eq!((fresh.from, fresh.to), (0, schema::VERSION));
    let mut tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables.sort();
    assert_eq!(
        tables,
        [
            "audit",
            "claim",
            "enrollment",
            "journal_key",
            "queue",
            "schema_version",
            "transition"
        ]
    );
    let station_columns = c
        .query(
            "SELECT table_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND column_name = 'station' ORDER BY 1",
            &[],
        )
        .unwrap();
    let with_station: Vec<String> = station_columns.iter().map(|r| r.get(0)).collect();
    assert_eq!(with_station, ["audit", "claim", "enrollment"]);

    // Re-applied: nothing changes, rows stay.
    c.execute(
        "INSERT INTO queue (user_id, upn, display_name, options, fetched_at)
         VALUES ('u1', 'ada@contoso.com', 'Ada', '{}', 1)",
        &[],
    )
    .unwrap();
    let again = schema::apply(&mut c).unwrap();
    assert_eq!((again.from, again.to), (schema::VERSION, schema::VERSION));
    let versions: i64 = c
        .query_one("SELECT count(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(versions, i64::from(schema::VERSION));
    let queued: i64 = c
        .query_one("SELECT count(*) FROM queue", &[])
        .unwrap()
        .get(0);
    assert_eq!(queued, 1);

    // A newer station migrated further: this one refuses, naming the remedy.
    let newer = schema::VERSION + 1;
    c.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)",
        &[&newer],
    )
    .unwrap();
    match schema::apply(&mut c) {
        Err(e @ SchemaError::TooNew { found, known }) => {
            assert_eq!((found, known), (newer, schema::VERSION));
            assert!(e.to_string().contains("upgrade Passkey Kiosk"), "{e}");
        }
        other => panic!("a newer schema was not refused: {other:?}"),
    }
}

#[test]
fn stations_starting_together_migrate_once() {
    let server = PgServer::start();
    let url = server.url();
    let applied: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                let mut c = JournalUrl::parse(&url)
                    .unwrap()
                    .connect(&Roots::System, None)
                    .unwrap();
                schema::apply(&mut c).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let fresh = applied.iter().filter(|a| a.from == 0).count();
    assert_eq!(fresh, 1, "{applied:?}");
    assert!(applied.iter().all(|a| a.to == schema::VERSION));
}

#[test]
fn pins_are_stored_only_sealed_and_open_only_in_their_row() {
    let server = PgServer::start();
    let mut c = station(&server);
    schema::apply(&mut c).unwrap();
    let insert = "INSERT INTO enrollment (station, user_id, upn, state, created_at, updated_at)
                  VALUES ('desk-1', $1, $1, 'started', 1, 1) RETURNING id";
    let first: i64 = c.query_one(insert, &[&"u1"]).unwrap().get(0);
    let second: i64 = c.query_one(insert, &[&"u2"]).unwrap().get(0);

    // A PIN in clear text is refused by the table itself.
    let clear = c.execute(
        "UPDATE enrollment SET pin_sealed = $2 WHERE id = $1",
        &[&first, &b"482913".as_slice()],
    );
    let e = clear.unwrap_err();
    assert!(
        e.as_db_error()
            .is_some_and(|d| d.constraint() == Some("enrollment_pin_sealed_check")),
        "{e:?}"
    );

    let k = key();
    let sealed = k.seal_pin(first, "482913").unwrap();
    c.execute(
        "UPDATE enrollment SET pin_sealed = $2 WHERE id = $1",
        &[&first, &sealed],
    )
    .unwrap();
    // Copied to another row, it is stored but does not open there.
    c.execute(
        "UPDATE enrollment SET pin_sealed = (SELECT pin_sealed FROM enrollment WHERE id = $1)
         WHERE id = $2",
        &[&first, &second],
    )
    .unwrap();
    let stored = |c: &mut postgres::Client, id: i64| -> Vec<u8> {
        c.query_one("SELECT pin_sealed FROM enrollment WHERE id = $1", &[&id])
            .unwrap()
            .get(0)
    };
    let back = stored(&mut c, first);
    assert_eq!(k.open_pin(first, &back).unwrap().as_str(), "482913");
    assert!(k.open_pin(second, &stored(&mut c, second)).is_err());
    let held: i64 = c
        .query_one(
            "SELECT count(*) FROM enrollment WHERE pin_sealed IS NOT NULL AND state = 'started'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 2);

    // The key check value: stored once, and a station with another key is told.
    let check = k.check_value().unwrap();
    c.execute(
        "INSERT INTO journal_key (check_sealed) VALUES ($1)",
        &[&check],
    )
    .unwrap();
    assert!(c
        .execute(
            "INSERT INTO journal_key (check_sealed) VALUES ($1)",
            &[&check]
        )
        .is_err());
    let stored_check: Vec<u8> = c
        .query_one("SELECT check_sealed FROM journal_key", &[])
        .unwrap()
        .get(0);
    let other =
        JournalKey::from_base64("eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=", "test").unwrap();
    assert!(matches!(
        seal::admit(Some(&other), Some(&stored_check)),
        Err(seal::SealError::WrongKey)
    ));
    assert!(matches!(
        seal::admit(None, Some(&stored_check)),
        Err(seal::SealError::KeyMissing)
    ));
    assert_eq!(
        seal::admit(Some(&k), Some(&stored_check)).unwrap(),
        seal::Admission::SameKey
    );
}

#[test]
fn a_restart_cuts_connections_and_keeps_committed_rows() {
    let mut server = PgServer::start();
    let mut c = station(&server);
    schema::apply(&mut c).unwrap();
    c.execute(
        "INSERT INTO audit (station, at, operator, action, result) VALUES ('desk-1', 1, 'op', 'enroll', 'ok')",
        &[],
    )
    .unwrap();
    server.restart();
    assert!(
        c.query_one("SELECT 1", &[]).is_err(),
        "the old session is gone"
    );
    let mut again = station(&server);
    let kept: i64 = again
        .query_one("SELECT count(*) FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(kept, 1);

    server.stop();
    let e = JournalUrl::parse(&server.url())
        .unwrap()
        .connect(&Roots::System, None)
        .err()
        .expect("a stopped server cannot be reached")
        .to_string();
    assert!(e.contains("check that PostgreSQL is running"), "{e}");
    assert!(!e.contains(STATION_PASSWORD), "{e}");
    server.start_again();
    assert_eq!(
        station(&server)
            .query_one("SELECT current_database()::text", &[])
            .unwrap()
            .get::<_, String>(0),
        DATABASE
    );
}

#[test]
fn tls_verifies_the_server_against_the_configured_ca_and_its_name() {
    let server = PgServer::start_with_tls();
    let url = JournalUrl::parse(&server.tls_url()).unwrap();
    assert!(url.uses_tls());
    let mut c = url.connect(&Roots::CaFile(server.ca_file()), None).unwrap();
    let encrypted: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted);

    // Refused: a CA that did not sign the certificate, the system's roots (which do not hold
    // the test CA), and an address the certificate does not name.
    let refused = |url: &JournalUrl, roots: Roots| -> String {
        url.connect(&roots, None)
            .err()
            .expect("an unverified server is refused")
            .to_string()
    };
    let e = refused(&url, Roots::CaFile(server.stranger_ca_file()));
    assert!(
        e.contains("UnknownIssuer") && e.contains("journalCaFile"),
        "{e}"
    );
    let e = refused(&url, Roots::System);
    assert!(e.contains("journalCaFile"), "{e}");
    // The same through the configuration's keys.
    let config_file = server.socket_dir().join("configs.json");
    let text = serde_json::json!({
        "tenantName": "contoso.onmicrosoft.com",
        "client_id": "00000000-0000-0000-0000-000000000001",
        "client_secret": "not-used",
        "usersInScopeGroup": "Passkey rollout",
        "journalUrl": server.tls_url(),
        "journalCaFile": server.ca_file(),
        "stationName": "desk-7",
    })
    .to_string();
    let config = Config::parse(&config_file, &text, None).unwrap();
    let from_config = config.journal_url.as_ref().unwrap();
    let mut c = from_config.connect(&config.journal_roots(), None).unwrap();
    let role: String = c
        .query_one("SELECT current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(role, STATION_ROLE);
    assert_eq!(config.station_name, "desk-7");

    let by_address =
        JournalUrl::parse(&server.tls_url().replace("localhost", "127.0.0.1")).unwrap();
    let e = refused(&by_address, Roots::CaFile(server.ca_file()));
    assert!(e.contains("not valid for name"), "{e}");
    assert!(!e.contains(STATION_PASSWORD), "{e}");
}
