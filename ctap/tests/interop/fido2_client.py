"""python-fido2 (v2.x) as the CLIENT of the software CTAP 2.1 key, over CTAPHID-in-UDP or
over PC/SC (the key as a card in a reader).

Usage: python3 fido2_client.py <udp-port> [expected-serial]
       python3 fido2_client.py --pcsc <reader name>

Over UDP each 64-byte CTAPHID report travels as one UDP datagram to 127.0.0.1:<port> (the
SoloKeys-simulator convention the kiosk's UDP transport uses); over PC/SC python-fido2's
CtapPcscDevice (pyscard) speaks CTAP over ISO 7816 through pcscd. Everything the key says is
checked with python-fido2's own parsers and PackedAttestation().verify, so this is an
independent implementation judging ours. Exits non-zero on the first failed check.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import sys

from fido2.attestation import PackedAttestation
from fido2.ctap import CtapError, STATUS
from fido2.ctap2 import ClientPin, Config, Ctap2
from fido2.ctap2.pin import PinProtocolV1, PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

RP = "login.microsoft.com"
AAGUID = b"PasskeyKioskSoft"
REPORT = 64
YUBIKEY_READ_CONFIG = 0x42

checks = 0


def check(cond: bool, what: str) -> None:
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1
    print(f"ok   {what}", flush=True)


def expect_error(code: CtapError.ERR, what: str, fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except CtapError as e:
        check(e.code == code, f"{what}: {code.name} (got {e.code.name})")
        return
    raise AssertionError(f"{what}: expected {code.name}, got success")


class UdpConnection(CtapHidConnection):
    """One CTAPHID report per UDP datagram."""

    def __init__(self, port: int):
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(15)

    def write_packet(self, data: bytes) -> None:
        self.sock.sendto(bytes(data).ljust(REPORT, b"\0")[:REPORT], self.addr)

    def read_packet(self) -> bytes:
        data, _ = self.sock.recvfrom(4096)
        return data

    def close(self) -> None:
        self.sock.close()


def open_device():
    """The device named on the command line, and the serial to expect (HID only)."""
    if sys.argv[1] == "--pcsc":
        from fido2.pcsc import CtapPcscDevice

        reader = sys.argv[2]
        devices = [d for d in CtapPcscDevice.list_devices(reader) if reader in repr(d)]
        check(len(devices) == 1, f"one FIDO card on the reader {reader!r}")
        return devices[0], None
    port = int(sys.argv[1])
    serial = int(sys.argv[2]) if len(sys.argv) > 2 else None
    desc = HidDescriptor(f"udp:{port}", 0x1050, 0x0407, REPORT, REPORT, "Soft key", None)
    return CtapHidDevice(desc, UdpConnection(port)), serial


def main() -> int:
    dev, serial = open_device()
    over_hid = isinstance(dev, CtapHidDevice)
    ctap = Ctap2(dev)

    # getInfo as python-fido2 parses it.
    info = ctap.info
    check("FIDO_2_1" in info.versions, "versions include FIDO_2_1")
    check(bytes(info.aaguid) == AAGUID, "AAGUID is the test AAGUID")
    check(info.options.get("clientPin") is False, "clientPin false on a fresh key")
    check(info.options.get("pinUvAuthToken") is True, "pinUvAuthToken supported")
    check(info.options.get("authnrCfg") is True, "authnrCfg supported")
    check(list(info.pin_uv_protocols) == [2, 1], "pinUvAuthProtocols [2, 1]")
    check(info.max_msg_size == 1200, "maxMsgSize 1200")
    check(info.min_pin_length == 4, "minPINLength 4")
    check(set(info.extensions) >= {"credProtect", "hmac-secret", "minPinLength"}, "extensions")

    # Vendor command 0x42 (YubiKey read config), page 0: serial under TLV tag 0x02. CTAPHID
    # vendor commands have no form over ISO 7816.
    if over_hid:
        page = dev.call(YUBIKEY_READ_CONFIG, b"\x00")
        tlv, found = page[1 : 1 + page[0]], None
        while len(tlv) >= 2:
            tag, length = tlv[0], tlv[1]
            if tag == 0x02:
                found = struct.unpack(">I", tlv[2 : 2 + length])[0]
            tlv = tlv[2 + length :]
        if serial is None:
            check(found is not None, f"serial {found} from vendor command 0x42")
        else:
            check(found == serial, f"serial {serial} from vendor command 0x42")

    # setPIN, then changePIN with each protocol.
    v2 = ClientPin(ctap, PinProtocolV2())
    v1 = ClientPin(ctap, PinProtocolV1())
    v2.set_pin("123456")
    check(ctap.get_info().options.get("clientPin") is True, "clientPin true after setPIN")
    expect_error(CtapError.ERR.NOT_ALLOWED, "setPIN twice", v2.set_pin, "654321")
    check(v2.get_pin_retries()[0] == 8, "8 PIN retries")
    v1.change_pin("123456", "24681357")
    v2.change_pin("24681357", "13572468")
    pin = "13572468"
    expect_error(CtapError.ERR.PIN_INVALID, "wrong PIN", v2.get_pin_token, "00000000",
                 ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
    check(v2.get_pin_retries()[0] == 7, "a wrong PIN costs a retry")

    # Tokens with permissions; authenticatorConfig setMinPINLength.
    acfg = v2.get_pin_token(pin, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    check(v2.get_pin_retries()[0] == 8, "the right PIN restores the retries")
    Config(ctap, v2.protocol, acfg).set_min_pin_length(min_pin_length=6, rp_ids=[RP])
    info = ctap.get_info()
    check(info.min_pin_length == 6, "minPINLength raised to 6")
    check(not info.force_pin_change, "an 8-digit PIN needs no change")
    expect_error(CtapError.ERR.PIN_POLICY_VIOLATION, "minPINLength cannot decrease",
                 Config(ctap, v2.protocol, acfg).set_min_pin_length, min_pin_length=5)
    mc_only = v2.get_pin_token(pin, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
    expect_error(CtapError.ERR.PIN_AUTH_INVALID, "config with an mc-only token",
                 Config(ctap, v2.protocol, mc_only).set_min_pin_length, min_pin_length=7)

    # makeCredential: rk, credProtect, hmac-secret, minPinLength, UV by PIN token.
    for client_pin in (v2, v1):
        proto = client_pin.protocol
        token = client_pin.get_pin_token(
            pin, ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION, RP
        )
        cdh = hashlib.sha256(b'{"type":"webauthn.create","challenge":"x"}').digest()
        statuses = []
        att = ctap.make_credential(
            cdh,
            {"id": RP, "name": "Microsoft"},
            {"id": b"user-handle-1", "name": "ada@contoso.com", "displayName": "Ada"},
            [{"type": "public-key", "alg": -7}],
            extensions={"credProtect": 2, "hmac-secret": True, "minPinLength": True},
            options={"rk": True},
            pin_uv_param=proto.authenticate(token, cdh),
            pin_uv_protocol=proto.VERSION,
            on_keepalive=statuses.append,
        )
        name = f"makeCredential (protocol {proto.VERSION})"
        check(att.fmt == "packed", f"{name}: packed attestation")
        result = PackedAttestation().verify(att.att_stmt, att.auth_data, cdh)
        check(len(result.trust_path) == 1, f"{name}: PackedAttestation().verify with x5c")
        ad = att.auth_data
        check(ad.rp_id_hash == hashlib.sha256(RP.encode()).digest(), f"{name}: rpIdHash")
        check(ad.is_user_present() and ad.is_user_verified(), f"{name}: UP and UV")
        check(ad.is_attested() and ad.has_extension_data(), f"{name}: AT and ED")
        check(bytes(ad.credential_data.aaguid) == AAGUID, f"{name}: AAGUID in authData")
        check(
            ad.extensions == {"credProtect": 2, "hmac-secret": True, "minPinLength": 6},
            f"{name}: extension outputs {ad.extensions}",
        )
        check(STATUS.UPNEEDED in statuses, f"{name}: keepalive UPNEEDED while waiting for touch")
        # The mc permission is used up by one makeCredential.
        expect_error(
            CtapError.ERR.PIN_AUTH_INVALID, f"{name}: token reuse", ctap.make_credential,
            cdh, {"id": RP}, {"id": b"user-handle-2"}, [{"type": "public-key", "alg": -7}],
            pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
        )
        # excludeList with the new credential: CREDENTIAL_EXCLUDED.
        token = client_pin.get_pin_token(pin, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
        expect_error(
            CtapError.ERR.CREDENTIAL_EXCLUDED, f"{name}: excludeList", ctap.make_credential,
            cdh, {"id": RP}, {"id": b"user-handle-1"}, [{"type": "public-key", "alg": -7}],
            exclude_list=[{"type": "public-key", "id": ad.credential_data.credential_id}],
            pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
        )

        # getAssertion: a silent probe (up=false, the exclude-list pre-flight) finds the
        # credential by id without a touch; the signature verifies with the attested key.
        cred_id = ad.credential_data.credential_id
        public_key = ad.credential_data.public_key
        cdh_get = hashlib.sha256(b'{"type":"webauthn.get","challenge":"y"}').digest()
        statuses = []
        probe = ctap.get_assertion(
            RP, cdh_get, allow_list=[{"type": "public-key", "id": cred_id}],
            options={"up": False}, on_keepalive=statuses.append,
        )
        check(probe.credential["id"] == cred_id, f"{name}: silent getAssertion finds it")
        probe.verify(cdh_get, public_key)
        check(True, f"{name}: assertion signature verifies with the attested public key")
        check(not probe.auth_data.is_user_present() and not probe.auth_data.is_user_verified(),
              f"{name}: silent assertion has neither UP nor UV")
        check(STATUS.UPNEEDED not in statuses, f"{name}: no touch for a silent assertion")
        check(probe.auth_data.counter > ad.counter, f"{name}: signCount increased")
        expect_error(CtapError.ERR.NO_CREDENTIALS, f"{name}: getAssertion with an unknown id",
                     ctap.get_assertion, RP, cdh_get,
                     allow_list=[{"type": "public-key", "id": os.urandom(len(cred_id))}],
                     options={"up": False})
        # Without allowList the credProtect-2 credential needs UV: a ga token, a touch,
        # the user, and hmac-secret.
        expect_error(CtapError.ERR.NO_CREDENTIALS, f"{name}: credProtect 2 without UV",
                     ctap.get_assertion, RP, cdh_get, options={"up": False})
        token = client_pin.get_pin_token(pin, ClientPin.PERMISSION.GET_ASSERTION, RP)
        key_agreement, shared = client_pin._get_shared_secret()
        salt_enc = proto.encrypt(shared, b"\x11" * 32)
        statuses = []
        assertions = ctap.get_assertions(
            RP, cdh_get,
            extensions={"hmac-secret": {1: key_agreement, 2: salt_enc,
                                        3: proto.authenticate(shared, salt_enc),
                                        4: proto.VERSION}},
            pin_uv_param=proto.authenticate(token, cdh_get), pin_uv_protocol=proto.VERSION,
            on_keepalive=statuses.append,
        )
        check(len(assertions) == 1, f"{name}: one discoverable credential for the RP")
        found = assertions[0]
        check(found.credential["id"] == cred_id, f"{name}: discoverable getAssertion finds it")
        found.verify(cdh_get, public_key)
        check(found.auth_data.is_user_present() and found.auth_data.is_user_verified(),
              f"{name}: assertion with UP and UV")
        check(found.user["id"] == b"user-handle-1" and found.user.get("name") == "ada@contoso.com",
              f"{name}: user entity in full after UV")
        check(STATUS.UPNEEDED in statuses, f"{name}: keepalive UPNEEDED for the assertion")
        output = proto.decrypt(shared, found.auth_data.extensions["hmac-secret"])
        check(len(output) == 32, f"{name}: hmac-secret output decrypts to 32 bytes")

        # The exclude-list pre-flight as python-fido2's own client does it: one mc|ga token
        # authorises the silent probes, which then see a credProtect-3 credential, and still
        # authorises the makeCredential after them (up=false does not consume it).
        token = client_pin.get_pin_token(pin, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
        level3 = ctap.make_credential(
            cdh, {"id": RP}, {"id": b"user-handle-3"}, [{"type": "public-key", "alg": -7}],
            extensions={"credProtect": 3},
            pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
        ).auth_data
        check(level3.extensions == {"credProtect": 3}, f"{name}: a credProtect-3 credential")
        level3_id = level3.credential_data.credential_id
        probe_list = [{"type": "public-key", "id": os.urandom(32)},
                      {"type": "public-key", "id": level3_id}]
        expect_error(CtapError.ERR.NO_CREDENTIALS, f"{name}: credProtect 3 hidden without UV",
                     ctap.get_assertion, RP, cdh, allow_list=probe_list, options={"up": False})
        token = client_pin.get_pin_token(
            pin, ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION, RP
        )
        statuses = []
        probe = ctap.get_assertion(
            RP, cdh, allow_list=probe_list, options={"up": False},
            pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
            on_keepalive=statuses.append,
        )
        check(probe.credential["id"] == level3_id,
              f"{name}: a silent probe with an mc|ga token finds the credProtect-3 credential")
        check(not probe.auth_data.is_user_present() and probe.auth_data.is_user_verified(),
              f"{name}: the authorised silent probe has UV, not UP")
        check(STATUS.UPNEEDED not in statuses, f"{name}: no touch for the authorised probe")
        att = ctap.make_credential(
            cdh, {"id": RP}, {"id": b"user-handle-4"}, [{"type": "public-key", "alg": -7}],
            pin_uv_param=proto.authenticate(token, cdh), pin_uv_protocol=proto.VERSION,
        )
        check(att.auth_data.is_user_verified(),
              f"{name}: the same token then authorises the makeCredential")
    expect_error(CtapError.ERR.PUAT_REQUIRED, "makeCredential without a token",
                 ctap.make_credential, b"\0" * 32, {"id": RP}, {"id": b"u"},
                 [{"type": "public-key", "alg": -7}])

    # forceChangePin last: tokens are refused until the PIN changes.
    acfg = v1.get_pin_token(pin, ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    Config(ctap, v1.protocol, acfg).set_min_pin_length(force_change_pin=True)
    check(ctap.get_info().force_pin_change is True, "getInfo forcePINChange true")
    expect_error(CtapError.ERR.PIN_POLICY_VIOLATION, "token while a change is forced",
                 v2.get_pin_token, pin, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
    v2.change_pin(pin, "97531864")
    check(ctap.get_info().force_pin_change is False, "forcePINChange cleared by changePIN")
    v2.get_pin_token("97531864", ClientPin.PERMISSION.MAKE_CREDENTIAL, RP)
    check(True, "token after the forced change")

    # Not "N passed, M failed": that shape would pass for a test runner's closing line.
    print(f"fido2 interop: all {checks} checks ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
