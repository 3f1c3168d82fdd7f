"""The probe's fast BER reader against pyasn1, on many random and damaged responses.

The fast reader decodes device replies on the hot path; pyasn1 (through pysnmp's message
spec) is the reference. On every valid response they must agree, and on damaged data the
fast reader may refuse (the probe then asks pyasn1) but must never return something that
pyasn1 reads differently.
"""

from __future__ import annotations

import random

from pyasn1.codec.ber import encoder
from pysnmp.proto import api

from inventory.probes import snmp

V2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def _random_value(rng: random.Random):
    kind = rng.randrange(13)
    if kind == 0:
        return V2.Integer(rng.randint(-(2**31), 2**31 - 1))
    if kind == 1:
        size = rng.choice([0, 1, 5, 127, 128, 300, 1200])
        return V2.OctetString(bytes(rng.randrange(256) for _ in range(size)))
    if kind == 2:
        arcs = (1, 3, *(rng.randint(0, 2**32 - 1) for _ in range(rng.randint(1, 12))))
        return V2.ObjectIdentifier(arcs)
    if kind == 3:
        return V2.IpAddress(".".join(str(rng.randrange(256)) for _ in range(4)))
    if kind == 4:
        return V2.Counter32(rng.choice([0, 1, 127, 128, 255, 256, 2**31, 2**32 - 1]))
    if kind == 5:
        return V2.Gauge32(rng.randint(0, 2**32 - 1))
    if kind == 6:
        return V2.TimeTicks(rng.randint(0, 2**32 - 1))
    if kind == 7:
        return V2.Counter64(rng.choice([0, 2**32, 2**63, 2**64 - 1, rng.randint(0, 2**64 - 1)]))
    if kind == 8:
        return V2.Opaque(bytes(rng.randrange(256) for _ in range(rng.randint(0, 9))))
    if kind == 9:
        return V2.NoSuchObject("")
    if kind == 10:
        return V2.NoSuchInstance("")
    if kind == 11:
        return V2.EndOfMibView("")
    return V2.Null("")


def _response(rng: random.Random) -> bytes:
    message = V2.Message()
    pdu = V2.ResponsePDU()
    V2.apiPDU.set_defaults(pdu)
    V2.apiPDU.set_request_id(pdu, rng.randint(0, 2**31 - 1))
    V2.apiPDU.set_error_status(pdu, rng.choice([0, 0, 0, 2, 5]))
    V2.apiPDU.set_error_index(pdu, rng.randint(0, 3))
    varbinds = [
        ((1, 3, 6, 1, 2, 1, rng.randint(1, 99), rng.randint(0, 2**31 - 1)), _random_value(rng))
        for _ in range(rng.randint(0, 40))
    ]
    V2.apiPDU.set_varbinds(pdu, varbinds)
    V2.apiMessage.set_defaults(message)
    V2.apiMessage.set_community(message, bytes(rng.randrange(33, 127) for _ in range(8)))
    V2.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message)


def _pyasn1_or_none(data: bytes):
    try:
        return snmp._decode_pyasn1(data)
    except Exception:
        return None


def test_valid_responses_read_the_same_both_ways():
    rng = random.Random(20261129)
    for _ in range(400):
        data = _response(rng)
        assert snmp._decode_fast(data) == snmp._decode_pyasn1(data)


def test_damaged_responses_never_read_differently():
    rng = random.Random(7)
    accepted_by_both = 0
    for _ in range(300):
        original = bytearray(_response(rng))
        for _ in range(10):
            damaged = bytearray(original)
            action = rng.randrange(3)
            if action == 0 and damaged:
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            elif action == 1:
                del damaged[rng.randrange(len(damaged) + 1) :]
            else:
                position = rng.randrange(len(damaged) + 1)
                damaged[position:position] = bytes(rng.randrange(256) for _ in range(3))
            data = bytes(damaged)
            try:
                fast = snmp._decode_fast(data)
            except (ValueError, IndexError, KeyError):
                continue  # refused: the probe falls back to pyasn1
            reference = _pyasn1_or_none(data)
            if reference is not None:
                accepted_by_both += 1
                assert fast == reference, data.hex()
    # The check above must have had real work: many damaged messages stay decodable.
    assert accepted_by_both > 100
