//! The demo's "Tap a card" through the real PC/SC stack: a private pcscd with vsmartcard's
//! virtual reader, the software card on it, the engine watching the readers, and the kiosk
//! driven by its accessible labels until the card is issued and registered.
#![cfg(feature = "pcsc")]

mod kit;
#[path = "../ctap/tests/pcsc_support/mod.rs"]
mod pcsc_support;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use kit::ui::{hand_over, pick_person, signed_in_demo_with, wait_until};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::KeySource;
use passkey_kiosk::store::{EnrollmentState, Journal};
use pcsc_support::Pcscd;

#[test]
fn a_card_tapped_in_the_demo_is_issued_through_pcscd() {
    let _one = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let world = DemoWorld::start(None, 6).unwrap();
    let keys = KeySource::SoftWithCards {
        vpcd: daemon.card_addr(0),
    };
    let mut h = signed_in_demo_with(&world, keys);
    let (user_id, upn) = pick_person(&mut h, 0);

    h.get_by_role_and_label(Role::Button, "Tap a card").click();
    wait_until(&mut h, "the card on the reader", |a| {
        a.state.key.as_ref().is_some_and(|k| k.card)
    });
    let card = h.state().state.key.clone().unwrap();
    assert!(card.address.starts_with("pcsc:Virtual PCD"), "{card:?}");
    assert!(
        card.serial.is_some(),
        "the serial from the card's OTP applet"
    );
    let issued = hand_over(&mut h);
    assert_eq!(issued.upn, upn);
    assert_eq!(issued.serial, card.serial);
    assert!(world
        .tenant
        .registrations(&upn)
        .iter()
        .any(|m| m.id == issued.method_id));

    // Taking the card off the reader is seen through pcscd too.
    h.get_by_role_and_label(Role::Button, "Remove the key")
        .click();
    wait_until(&mut h, "the card gone", |a| a.state.key.is_none());
    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    assert!(journal
        .enrollments_of(&user_id)
        .unwrap()
        .iter()
        .any(|e| e.state == EnrollmentState::Recorded));
}
