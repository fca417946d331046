//! Reports over UDP: each datagram is exactly one 64-byte report, no report-ID byte.
//!
//! The SoloKeys simulator convention: the client sends to the simulator's `HOST:PORT` from a
//! socket bound to a local port, and the simulator answers to whoever sent the last datagram
//! (our device end refines it: each channel is answered where it was heard from).

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::{Report, ReportTransport, REPORT_LEN};
use crate::{Error, Result};

/// The client end: talks to one simulator (or [`crate::hid::server::serve_udp`]).
#[derive(Debug)]
pub struct UdpTransport {
    socket: UdpSocket,
    peer: SocketAddr,
}

impl UdpTransport {
    /// Resolves `host:port` and binds an ephemeral local port for the replies.
    pub fn connect(host_port: &str) -> Result<Self> {
        let peer = host_port
            .to_socket_addrs()
            .map_err(|e| Error::Transport(format!("cannot resolve {host_port}: {e}")))?
            .next()
            .ok_or_else(|| Error::Transport(format!("{host_port} resolves to no address")))?;
        Self::connect_addr(peer)
    }

    /// Binds an ephemeral local port of the same address family and connects it to `peer`, so
    /// only its datagrams are received.
    pub fn connect_addr(peer: SocketAddr) -> Result<Self> {
        let local: SocketAddr = if peer.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)
            .and_then(|s| s.connect(peer).map(|()| s))
            .map_err(|e| Error::Transport(format!("cannot open a UDP socket to {peer}: {e}")))?;
        Ok(Self { socket, peer })
    }

    /// The simulator's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
}

impl ReportTransport for UdpTransport {
    fn send(&mut self, report: &Report) -> Result<()> {
        let peer = self.peer;
        match self.socket.send(report) {
            Ok(n) if n == REPORT_LEN => Ok(()),
            Ok(n) => Err(Error::Transport(format!(
                "sent only {n} of 64 bytes to {peer}"
            ))),
            Err(e) => Err(Error::Transport(format!("cannot send to {peer}: {e}"))),
        }
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        let peer = self.peer;
        recv_report(&self.socket, timeout, |s, buf| {
            s.recv(buf).map(|n| (n, peer))
        })
        .map(|r| r.map(|(report, _)| report))
        .map_err(|e| {
            if e.kind() == io::ErrorKind::ConnectionRefused {
                Error::Transport(format!(
                    "nothing listens at {peer} (is the simulator running?)"
                ))
            } else {
                Error::Transport(format!("cannot receive from {peer}: {e}"))
            }
        })
    }
}

/// How many channels' addresses the device end remembers (the oldest are forgotten first).
const MAX_PEERS: usize = 256;

/// The device end (used by the CTAPHID server): answers each channel at the address it last
/// heard that channel from, anything else whoever sent the last datagram. So a second client
/// (a presence check from another socket) never diverts the replies and keepalives of a
/// request running for the first.
#[derive(Debug)]
pub struct UdpServerPort {
    socket: UdpSocket,
    peer: Option<SocketAddr>,
    /// Channel id → address, most recently heard last.
    peers: VecDeque<(u32, SocketAddr)>,
}

/// The channel id a report is on (its first four bytes, CTAP 2.1 §11.2.4).
fn cid_of(report: &Report) -> u32 {
    u32::from_be_bytes([report[0], report[1], report[2], report[3]])
}

impl UdpServerPort {
    /// Wraps a bound socket.
    pub fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            peer: None,
            peers: VecDeque::new(),
        }
    }

    fn heard(&mut self, cid: u32, from: SocketAddr) {
        self.peers.retain(|(c, _)| *c != cid);
        if self.peers.len() >= MAX_PEERS {
            self.peers.pop_front();
        }
        self.peers.push_back((cid, from));
        self.peer = Some(from);
    }

    /// The address the port listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl ReportTransport for UdpServerPort {
    fn send(&mut self, report: &Report) -> Result<()> {
        let cid = cid_of(report);
        let known = self.peers.iter().find(|(c, _)| *c == cid).map(|(_, a)| *a);
        let Some(peer) = known.or(self.peer) else {
            // Nobody has talked to us yet, so there is nobody to answer.
            return Ok(());
        };
        self.socket
            .send_to(report, peer)
            .map(|_| ())
            .map_err(|e| Error::Transport(format!("cannot send to {peer}: {e}")))
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        match recv_report(&self.socket, timeout, |s, buf| s.recv_from(buf)) {
            Ok(Some((report, from))) => {
                self.heard(cid_of(&report), from);
                Ok(Some(report))
            }
            Ok(None) => Ok(None),
            // An ICMP "port unreachable" from a client that went away: not our failure.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Ok(None),
            Err(e) => Err(Error::Transport(format!("UDP receive failed: {e}"))),
        }
    }
}

/// Waits for one exactly-64-byte datagram; other sizes are dropped (they are not reports).
fn recv_report(
    socket: &UdpSocket,
    timeout: Duration,
    recv: impl Fn(&UdpSocket, &mut [u8]) -> io::Result<(usize, SocketAddr)>,
) -> io::Result<Option<(Report, SocketAddr)>> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // A zero read timeout means "block forever" to the OS, so wait at least 1 ms.
        socket.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        // One spare byte tells an oversized datagram from an exact one.
        let mut buf = [0u8; REPORT_LEN + 1];
        match recv(socket, &mut buf) {
            Ok((n, from)) if n == REPORT_LEN => {
                let mut report = [0u8; REPORT_LEN];
                report.copy_from_slice(&buf[..REPORT_LEN]);
                return Ok(Some((report, from)));
            }
            Ok((n, from)) => {
                tracing::debug!(len = n, %from, "dropping a UDP datagram that is not one 64-byte report");
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_server_port_exchange_reports() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let mut port = UdpServerPort::new(server);
        let mut client = UdpTransport::connect(&addr.to_string()).unwrap();
        let mut r = [0u8; 64];
        r[63] = 9;
        client.send(&r).unwrap();
        assert_eq!(port.recv(Duration::from_secs(2)).unwrap(), Some(r));
        r[0] = 1;
        port.send(&r).unwrap();
        assert_eq!(client.recv(Duration::from_secs(2)).unwrap(), Some(r));
        assert_eq!(client.recv(Duration::from_millis(20)).unwrap(), None);
    }

    #[test]
    fn each_channel_is_answered_where_it_was_heard_from() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let mut port = UdpServerPort::new(server);
        let mut a = UdpTransport::connect(&addr.to_string()).unwrap();
        let mut b = UdpTransport::connect(&addr.to_string()).unwrap();
        let on = |cid: u32| {
            let mut r = [0u8; 64];
            r[..4].copy_from_slice(&cid.to_be_bytes());
            r
        };
        a.send(&on(1)).unwrap();
        assert_eq!(port.recv(Duration::from_secs(2)).unwrap(), Some(on(1)));
        b.send(&on(2)).unwrap();
        assert_eq!(port.recv(Duration::from_secs(2)).unwrap(), Some(on(2)));
        // b spoke last, yet channel 1's reply goes to a.
        port.send(&on(1)).unwrap();
        port.send(&on(2)).unwrap();
        assert_eq!(a.recv(Duration::from_secs(2)).unwrap(), Some(on(1)));
        assert_eq!(b.recv(Duration::from_secs(2)).unwrap(), Some(on(2)));
        // A channel never heard from goes to the last sender.
        port.send(&on(3)).unwrap();
        assert_eq!(b.recv(Duration::from_secs(2)).unwrap(), Some(on(3)));
        assert_eq!(a.recv(Duration::from_millis(20)).unwrap(), None);
    }

    #[test]
    fn odd_sized_datagrams_are_dropped() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let mut port = UdpServerPort::new(server);
        let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
        raw.send_to(&[1u8; 65], addr).unwrap();
        raw.send_to(&[1u8; 10], addr).unwrap();
        raw.send_to(&[2u8; 64], addr).unwrap();
        assert_eq!(port.recv(Duration::from_secs(2)).unwrap(), Some([2u8; 64]));
    }
}
