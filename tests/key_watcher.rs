//! The key watcher: an idle key is inspected once when it is put in, then only watched for
//! presence (CTAPHID PING, which no key command sees), so it is never kept busy; taking it out
//! and putting it back is seen, and the key is inspected again.

mod kit;

use kit::events::Log;
use kit::slot::Request;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::Event;
use passkey_kiosk::engine::key_source::POLL_INTERVAL;

/// authenticatorGetInfo.
const GET_INFO: Request = Request::Cbor(0x04);
/// authenticatorClientPIN (getPinRetries while a key is inspected).
const CLIENT_PIN: Request = Request::Cbor(0x06);
/// YubiKey "read config": the serial number.
const READ_SERIAL: Request = Request::Vendor(0x42);

fn count(requests: &[Request], which: Request) -> usize {
    requests.iter().filter(|r| **r == which).count()
}

fn inserted(e: &Event) -> Option<()> {
    matches!(e, Event::KeyInserted(_)).then_some(())
}

#[test]
fn an_idle_key_is_inspected_once_per_insertion() {
    let st = Station::new(plain_tenant(1), "");
    let engine = st.engine("desk");
    let mut log = Log::default();
    let key = st.insert_key(48_000_001);
    log.until(&engine, "the key to be seen", inserted);
    let at_insertion = st.slot.requests();
    assert_eq!(count(&at_insertion, GET_INFO), 1, "{at_insertion:?}");
    assert_eq!(count(&at_insertion, READ_SERIAL), 1, "{at_insertion:?}");
    // No PIN set: nothing to count retries of.
    assert_eq!(count(&at_insertion, CLIENT_PIN), 0, "{at_insertion:?}");

    // Some ten polls of an idle key: nothing reaches it (no getInfo, serial or PIN retries).
    std::thread::sleep(POLL_INTERVAL * 10);
    let idle = st.slot.requests()[at_insertion.len()..].to_vec();
    assert!(idle.is_empty(), "the idle key received {idle:?}");

    // Still watched: taken out, it is seen gone; put back, it is inspected again, once.
    st.slot.insert(None);
    log.until(&engine, "the key to be seen removed", |e| {
        matches!(e, Event::KeyRemoved).then_some(())
    });
    st.slot.insert(Some(key));
    log.until(&engine, "the key to be seen again", inserted);
    std::thread::sleep(POLL_INTERVAL * 5);
    let again = st.slot.requests()[at_insertion.len()..].to_vec();
    assert_eq!(count(&again, GET_INFO), 1, "{again:?}");
    assert_eq!(count(&again, READ_SERIAL), 1, "{again:?}");
    assert_eq!(again.len(), at_insertion.len(), "{again:?}");
}
