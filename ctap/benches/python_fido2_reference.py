"""Client-CPU reference: python-fido2 (2.x) doing the enrollment sequence against our soft key.

Companion of benches/enrollment.rs, so both figures come from one machine. The key runs in
another process (`passkey-kiosk soft-key --udp 127.0.0.1:0`, a fresh one per iteration), so
this process's CPU time (time.process_time) is client work only: python-fido2's CTAPHID
framing over UDP, CBOR, PIN protocol 2 (ECDH, HKDF, AES), clientDataJSON and parsing Graph's
creation options. Waiting for the key costs no CPU.

Usage (from the repository root):
    python3 ctap/benches/python_fido2_reference.py [N]          # default N = 40

It runs `cargo build -p passkey-kiosk` once, then starts target/debug/passkey-kiosk per
iteration (override with PASSKEY_KIOSK_BIN). Prints the median client CPU of the short
sequence (getInfo, setPIN, token, makeCredential) and of the full one (+ token acfg,
setMinPINLength with forceChangePin), as benches/enrollment.rs does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fido2.ctap2 import ClientPin, Config, Ctap2
from fido2.ctap2.pin import PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "ctap" / "tests" / "data" / "fido2-registration-fixture.json"
PIN = "482916"
# The UDP transport is the interop test's (one CTAPHID report per datagram).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "interop"))
from fido2_client import REPORT, UdpConnection  # noqa: E402


def b64_lenient(s: str) -> bytes:
    """Graph's ids come padded, unpadded, std or url alphabet; python-fido2 has no such
    helper, so the client does this work itself (as ctap::webauthn does)."""
    s = s.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def start_key(binary: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [binary, "soft-key", "--udp", "127.0.0.1:0", "--touch", "immediate"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    m = re.search(r"udp:127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"soft key did not start: {line!r}")
    return proc, int(m.group(1))


def enroll(port: int, graph_body: str) -> tuple[float, float]:
    """Returns the client CPU seconds of (short, full) sequences."""
    t0 = time.process_time()
    desc = HidDescriptor(f"udp:{port}", 0x1050, 0x0407, REPORT, REPORT, "Soft key", None)
    dev = CtapHidDevice(desc, UdpConnection(port))
    ctap = Ctap2(dev)  # getInfo
    pk = json.loads(graph_body)["publicKey"]
    protocol = PinProtocolV2()
    client_pin = ClientPin(ctap, protocol)
    client_pin.set_pin(PIN)  # getKeyAgreement + setPIN
    rp_id = pk["rp"]["id"]
    token = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, rp_id)
    client_data = json.dumps(
        {
            "type": "webauthn.create",
            "challenge": pk["challenge"],
            "origin": f"https://{rp_id}",
            "crossOrigin": False,
        },
        separators=(",", ":"),
    ).encode()
    cdh = hashlib.sha256(client_data).digest()
    user = dict(pk["user"], id=b64_lenient(pk["user"]["id"]))
    excl = [{"type": "public-key", "id": b64_lenient(c["id"])} for c in pk["excludeCredentials"]]
    ext = pk.get("extensions", {})
    extensions = {"hmac-secret": True}
    levels = {
        "userVerificationOptional": 1,
        "userVerificationOptionalWithCredentialIDList": 2,
        "userVerificationRequired": 3,
    }
    if ext.get("credentialProtectionPolicy") in levels:
        extensions["credProtect"] = levels[ext["credentialProtectionPolicy"]]
    att = ctap.make_credential(
        cdh,
        pk["rp"],
        user,
        [{"type": p["type"], "alg": p["alg"]} for p in pk["pubKeyCredParams"]],
        exclude_list=excl,
        extensions=extensions,
        options={"rk": True},
        pin_uv_param=protocol.authenticate(token, cdh),
        pin_uv_protocol=protocol.VERSION,
    )
    assert att.fmt == "packed"
    t_short = time.process_time() - t0
    acfg = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    Config(ctap, protocol, acfg).set_min_pin_length(min_pin_length=6, force_change_pin=True)
    t_full = time.process_time() - t0
    dev.close()
    return t_short, t_full


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    binary = os.environ.get("PASSKEY_KIOSK_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "-q", "-p", "passkey-kiosk"], cwd=ROOT, check=True)
        binary = str(ROOT / "target" / "debug" / "passkey-kiosk")
    graph_body = json.dumps(json.loads(FIXTURE.read_text())["creationOptionsResponse"])
    shorts, fulls = [], []
    for i in range(n + 1):
        proc, port = start_key(binary)
        try:
            s, f = enroll(port, graph_body)
        finally:
            proc.kill()
            proc.wait()
        if i > 0:  # the first run pays imports and lazy initialisation
            shorts.append(s)
            fulls.append(f)
    q = lambda v, p: sorted(v)[(len(v) - 1) * p // 100]  # noqa: E731
    print(
        f"python-fido2 n={n} client CPU: short (getInfo, setPIN, token, makeCredential) "
        f"median {statistics.median(shorts) * 1e3:.2f} ms p90 {q(shorts, 90) * 1e3:.2f} ms | "
        f"full (+ token acfg, setMinPINLength forceChangePin) "
        f"median {statistics.median(fulls) * 1e3:.2f} ms p90 {q(fulls, 90) * 1e3:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
