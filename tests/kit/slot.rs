//! A UDP "key slot": a USB port for software keys that the engine polls as it polls a real
//! port, into which a test plugs, pulls and swaps keys.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ctap::handler::{CtapHandler, PresenceContext};
use ctap::hid::server::{serve_udp, ServerHandle};
use ctap::soft::SoftAuthenticator;
use passkey_kiosk::engine::KeySource;

/// A USB port for software keys, at a UDP address the engine polls as it polls a real port.
/// A key put in is served there; taking it out, or swapping it for another, stops that
/// server, as pulling a USB key ends its device: whatever channel was open to the last key
/// is gone, and the next key is a new device.
#[derive(Clone)]
pub struct Slot(Arc<SlotInner>);

struct SlotInner {
    addr: SocketAddr,
    held: Held,
    server: Mutex<Option<ServerHandle>>,
}

/// A request that reached the key in the slot (CTAPHID PING and INIT never reach it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A CTAP2 command (authenticatorGetInfo is 0x04, authenticatorClientPIN 0x06).
    Cbor(u8),
    /// A CTAPHID vendor command (0x42: the YubiKey "read config" that holds the serial).
    Vendor(u8),
}

/// What the server hands requests to: the key in the slot, noting each request.
#[derive(Clone, Default)]
struct Held {
    key: Arc<Mutex<Option<SoftAuthenticator>>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl CtapHandler for Held {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        if let Some(&command) = request.first() {
            self.requests.lock().unwrap().push(Request::Cbor(command));
        }
        let key = self.key.lock().unwrap().clone();
        match key {
            Some(k) => k.process(request, presence),
            None => vec![0x01],
        }
    }
    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        self.requests.lock().unwrap().push(Request::Vendor(cmd));
        let mut key = self.key.lock().unwrap().clone()?;
        key.handle_vendor(cmd, data)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

impl Slot {
    /// An empty slot at a free local address: nothing answers there yet.
    pub fn new() -> Slot {
        let held = Held::default();
        let addr = serve_udp("127.0.0.1:0".parse().unwrap(), held.clone())
            .unwrap()
            .local_addr();
        Slot(Arc::new(SlotInner {
            addr,
            held,
            server: Mutex::new(None),
        }))
    }

    /// Where it is.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Its device spec, as `--device` takes it.
    pub fn device(&self) -> String {
        format!("udp:{}", self.0.addr)
    }

    /// Where the engine looks for keys: this slot, as it polls a USB port.
    pub fn keys(&self) -> KeySource {
        KeySource::Device(self.device().parse().unwrap())
    }

    /// Puts `key` in, in place of any other (`None`: takes the key out).
    pub fn insert(&self, key: Option<SoftAuthenticator>) {
        let plugged = key.is_some();
        *self.0.held.key.lock().unwrap() = key;
        self.unplug();
        if plugged {
            self.replug();
        }
    }

    /// Pulls the "USB cable": the address stops answering (a request in flight dies); the
    /// key stays in the slot for [`Slot::replug`].
    pub fn unplug(&self) {
        self.0.server.lock().unwrap().take();
    }

    /// Plugs the key in the slot in again: a new device at the same address.
    pub fn replug(&self) {
        let mut server = self.0.server.lock().unwrap();
        server.take();
        *server = Some(serve_udp(self.0.addr, self.0.held.clone()).unwrap());
    }

    /// Every request that reached a key in this slot so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.0.held.requests.lock().unwrap().clone()
    }
}
