"""RELIABILITY D6: signed webhooks (Standard Webhooks) and the reference
receiver: body flips, stale or future timestamps and wrong secrets are all
refused; a replayed id is processed once; both secrets verify in rotation."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from connectors.webhook.receiver import ReferenceReceiver
from connectors.webhook.signing import (
    SignatureError,
    secret_generate,
    sign,
    signed_headers,
    verify,
)

SECRET = secret_generate()
BODY = json.dumps(
    {"id": "evt_1", "golden_id": "GR0000001", "version": 3, "data": {"id_card": {}}},
    separators=(",", ":"),
)


def headers(body=BODY, *, secrets=(SECRET,), msg_id="evt_1", at=None):
    timestamp = int(time.time()) if at is None else at
    return signed_headers(
        secrets=list(secrets), msg_id=msg_id, timestamp=timestamp, body=body
    )


def test_the_signature_is_hmac_sha256_over_id_timestamp_body():
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = hmac.new(key, f"evt_1.1700000000.{BODY}".encode(), hashlib.sha256)
    value = sign(secrets=[SECRET], msg_id="evt_1", timestamp=1700000000, body=BODY)
    assert value == "v1," + base64.b64encode(expected.digest()).decode()


def test_a_genuine_message_verifies():
    assert (
        verify(secrets=[SECRET], headers=headers(), body=BODY.encode())["version"] == 3
    )


def test_every_one_byte_body_flip_is_refused():
    genuine = headers()
    raw = bytearray(BODY.encode())
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        with pytest.raises(SignatureError):
            verify(secrets=[SECRET], headers=genuine, body=bytes(flipped))


@pytest.mark.parametrize("offset", [301, 600, 86400, -301, -600, -86400])
def test_timestamps_more_than_300_seconds_off_either_way_are_refused(offset):
    stale = headers(at=int(time.time()) + offset)
    with pytest.raises(SignatureError):
        verify(secrets=[SECRET], headers=stale, body=BODY.encode())


def test_timestamps_within_the_tolerance_pass():
    for offset in (-290, 0, 290):
        ok = headers(at=int(time.time()) + offset)
        verify(secrets=[SECRET], headers=ok, body=BODY.encode())


def test_a_wrong_secret_a_changed_id_or_a_missing_header_is_refused():
    with pytest.raises(SignatureError):
        verify(secrets=[secret_generate()], headers=headers(), body=BODY.encode())
    tampered = {**headers(), "webhook-id": "evt_2"}
    with pytest.raises(SignatureError):
        verify(secrets=[SECRET], headers=tampered, body=BODY.encode())
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        partial = {k: v for k, v in headers().items() if k != name}
        with pytest.raises(SignatureError):
            verify(secrets=[SECRET], headers=partial, body=BODY.encode())
    garbage = {**headers(), "webhook-signature": "v1,%%%"}
    with pytest.raises(SignatureError):
        verify(secrets=[SECRET], headers=garbage, body=BODY.encode())


def test_during_a_rotation_old_and_new_secrets_both_verify():
    new = secret_generate()
    both = headers(secrets=(new, SECRET))
    assert len(both["webhook-signature"].split(" ")) == 2
    verify(secrets=[SECRET], headers=both, body=BODY.encode())  # not yet rotated
    verify(secrets=[new], headers=both, body=BODY.encode())  # already rotated
    verify(
        secrets=[new, SECRET], headers=headers(secrets=(SECRET,)), body=BODY.encode()
    )


def test_the_reference_receiver_processes_a_replayed_id_once():
    receiver = ReferenceReceiver([SECRET])
    assert receiver.handle(headers(), BODY.encode()) == (200, "applied")
    assert receiver.handle(headers(), BODY.encode()) == (200, "duplicate")
    assert receiver.state.applied == {"GR0000001": [3]}
    status, _reason = receiver.handle(
        headers(at=int(time.time()) - 3600), BODY.encode()
    )
    assert status == 401


def test_the_reference_receiver_ignores_an_older_version():
    receiver = ReferenceReceiver([SECRET])
    receiver.handle(headers(), BODY.encode())
    older = BODY.replace('"version":3', '"version":2')
    assert receiver.handle(headers(older, msg_id="evt_0"), older.encode()) == (
        200,
        "stale",
    )
    assert receiver.state.applied == {"GR0000001": [3]}


def test_the_reference_receiver_applies_a_batch_and_deduplicates_its_messages():
    receiver = ReferenceReceiver([SECRET])
    receiver.handle(headers(), BODY.encode())  # evt_1 alone first
    batch = json.dumps(
        {
            "type": "batch",
            "messages": [
                json.loads(BODY),
                {"id": "evt_2", "golden_id": "GR0000002", "version": 1, "data": {}},
            ],
        },
        separators=(",", ":"),
    )
    sent = headers(batch, msg_id="batch_1")
    assert receiver.handle(sent, batch.encode()) == (200, "duplicate,applied")
    assert receiver.handle(sent, batch.encode()) == (200, "duplicate,duplicate")
    assert receiver.state.applied == {"GR0000001": [3], "GR0000002": [1]}
    tampered = batch.replace('"version":1', '"version":9')
    assert receiver.handle(sent, tampered.encode())[0] == 401
