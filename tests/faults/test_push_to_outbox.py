"""Push end to end: `socmon up` with Bluesky's Jetstream (a local server replaying recorded
frames) and the webhook receiver on. A reply to the Trust's Bluesky account streamed by
Jetstream and a signed comment Meta pushes to the receiver are both classified, indexed and
alerted: their concern alerts reach the outbox, with nothing polled."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from ingest.webhooks.app import META_PATH
from ingest.webhooks.signatures import meta_signature
from socmon.broker import free_port
from tests.faults.running import Up, wait_until
from tests.ingest.push.servers import JetstreamReplay, jetstream_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OFFICIAL_DID = "did:plc:northbrooknhs000000000001"
PAGE = "104836251234567"
APP_SECRET = "meta-app-secret-of-the-push-test"


def jetstream_reply() -> str:
    """A stranger's reply to the Trust's post, as Jetstream sends a new post."""
    parent = {
        "uri": f"at://{OFFICIAL_DID}/app.bsky.feed.post/3m2dnhsflu01a",
        "cid": "bafyreia3m2dnhsflu01a0000000000000000000000000000000",
    }
    record = {
        "$type": "app.bsky.feed.post",
        "createdAt": "2026-11-30T10:15:00.000Z",
        "langs": ["en"],
        "text": "Left alone on the labour ward for two hours, nobody answered the call bell. "
        "Awful care from the maternity unit.",
        "reply": {"root": parent, "parent": parent},
    }
    return json.dumps(
        {
            "did": "did:plc:strangerpush0000000000001",
            "time_us": 1796034900000000,
            "kind": "commit",
            "commit": {
                "rev": "3m3pushrev01",
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": "3m3pushreply1",
                "record": record,
                "cid": "bafyreipushreply10000000000000000000000000000000000",
            },
        }
    )


def page_comment() -> bytes:
    """Meta's push of a new comment on the Trust's Page (the `feed` field)."""
    value = {
        "from": {"id": "7002", "name": "Dan Ward"},
        "post_id": f"{PAGE}_1002",
        "comment_id": "1002_6001",
        "parent_id": f"{PAGE}_1002",
        "created_time": 1796035000,
        "item": "comment",
        "verb": "add",
        "message": "Antenatal appointment cancelled for the third time and nobody at maternity "
        "answers the phone. Appalling.",
    }
    change = {"field": "feed", "value": value}
    entry = {"id": PAGE, "time": 1796035001, "changes": [change]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


def receiver_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def outbox_alert_ids(data: Path) -> set[str]:
    path = data / "outbox.jsonl"
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["alert_id"] for row in rows}


def test_a_jetstream_reply_and_a_pushed_page_comment_reach_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    accounts = [
        {"platform": "bluesky", "handle": "northbrooknhs.bsky.social", "platform_id": OFFICIAL_DID},
        {"platform": "facebook", "handle": "NorthbrookHospitals", "platform_id": PAGE},
    ]
    monkeypatch.setenv("SOCMON_ACCOUNTS", json.dumps([{**a, "team": "Comms"} for a in accounts]))
    monkeypatch.setenv("SOCMON_CONNECTORS__BLUESKY__ENABLED", "true")
    monkeypatch.setenv("SOCMON_CONNECTORS__WEBHOOKS__ENABLED", "true")
    monkeypatch.setenv("SOCMON_CONNECTORS__WEBHOOKS__PORT", str(port))
    monkeypatch.setenv("SOCMON_CONNECTORS__WEBHOOKS__META_APP_SECRET", APP_SECRET)
    monkeypatch.setenv("SOCMON_CONNECTORS__WEBHOOKS__META_VERIFY_TOKEN", "verify-token-of-the-test")
    replay = JetstreamReplay([jetstream_reply()])
    with jetstream_server(replay) as url:
        monkeypatch.setenv("SOCMON_CONNECTORS__BLUESKY__JETSTREAM_URL", url)
        up = Up("--data-dir", str(tmp_path))
        try:
            up.wait_for(r"started webhook receiver", 60)
            up.wait_for(r"started connectors runner \(bluesky\)", 60)
            receiver = f"http://127.0.0.1:{port}"
            wait_until(lambda: receiver_up(receiver), timeout=60, step=0.2)
            body = page_comment()
            answer = httpx.post(
                f"{receiver}{META_PATH}",
                content=body,
                headers={
                    "X-Hub-Signature-256": meta_signature(APP_SECRET, body),
                    "Content-Type": "application/json",
                },
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            wanted = ("facebook:1002_6001", "3m3pushreply1")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                ids = outbox_alert_ids(tmp_path)
                if all(any(key in alert for alert in ids) for key in wanted):
                    break
                time.sleep(0.3)
        finally:
            up.kill()
    ids = outbox_alert_ids(tmp_path)
    concerns = {alert for alert in ids if alert.startswith("concern:")}
    assert any("facebook:1002_6001" in alert for alert in concerns), (ids, up.text[-3000:])
    assert any("3m3pushreply1" in alert for alert in concerns), (ids, up.text[-3000:])
    assert replay.cursors() == [None], "a first run asks Jetstream for live posts, no cursor"
