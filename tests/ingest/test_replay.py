"""The replay connector: the documented line format, dead letters with line numbers, batches."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.connectors.replay import ReplayConnector, parse_replay_line
from socmon.records import DeadLetter, Post

GOOD = {
    "platform": "twitter",
    "id": "123",
    "kind": "mention",
    "account": "NorthbrookNHS",
    "author": "jo_bloggs",
    "text": "Thank you to the staff in A&E 💙",
    "created_at": "2026-10-30T09:15:00+00:00",
    "url": "https://x.com/jo_bloggs/status/123",
    "media": [{"type": "photo"}],
}


def test_a_valid_line_becomes_a_post_keyed_by_platform_and_id():
    post = parse_replay_line(json.dumps(GOOD), "f.jsonl:1")
    assert isinstance(post, Post)
    assert post.key == "twitter:123"
    assert post.source == "replay"
    assert post.media[0].type == "photo"


def test_url_and_media_are_optional():
    line = {k: v for k, v in GOOD.items() if k not in ("url", "media")}
    assert isinstance(parse_replay_line(json.dumps(line), "f:1"), Post)


def test_invalid_json_is_a_dead_letter_naming_the_line():
    letter = parse_replay_line('{"platform": "twitter", "id": ', "sample.jsonl:17")
    assert isinstance(letter, DeadLetter)
    assert letter.origin == "sample.jsonl:17"
    assert letter.reason.startswith("not valid JSON")
    assert letter.payload == '{"platform": "twitter", "id": '


def test_a_missing_field_is_named():
    line = {k: v for k, v in GOOD.items() if k != "text"}
    letter = parse_replay_line(json.dumps(line), "f:2")
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "missing field(s): text"


def test_a_bad_value_is_explained():
    letter = parse_replay_line(json.dumps(GOOD | {"kind": "retweet"}), "f:3")
    assert isinstance(letter, DeadLetter)
    assert "kind" in letter.reason
    letter = parse_replay_line(json.dumps(GOOD | {"created_at": "yesterday"}), "f:4")
    assert isinstance(letter, DeadLetter)
    assert "created_at" in letter.reason


def test_a_time_without_timezone_is_rejected():
    letter = parse_replay_line(json.dumps(GOOD | {"created_at": "2026-10-30T09:15:00"}), "f:5")
    assert isinstance(letter, DeadLetter)
    assert "created_at" in letter.reason


def test_unknown_fields_are_rejected_not_ignored():
    letter = parse_replay_line(json.dumps(GOOD | {"retweets": 4}), "f:6")
    assert isinstance(letter, DeadLetter)
    assert "retweets" in letter.reason


def write_lines(path: Path, n: int, start: int = 0, bad_at: tuple[int, ...] = ()) -> None:
    with path.open("a", encoding="utf-8") as fh:
        for i in range(start, start + n):
            if i in bad_at:
                fh.write("{not json\n")
            else:
                fh.write(json.dumps(GOOD | {"id": str(i)}) + "\n")


def test_the_connector_reads_in_batches_and_resumes_from_its_checkpoint(tmp_path):
    path = tmp_path / "posts.jsonl"
    write_lines(path, 25, bad_at=(3, 20))
    connector = ReplayConnector(path, batch_lines=10)
    first = connector.poll(None)
    assert (len(first.posts), len(first.rejects), first.checkpoint) == (9, 1, "10")
    assert not first.exhausted
    second = connector.poll(first.checkpoint)
    third = connector.poll(second.checkpoint)
    assert third.exhausted
    assert third.checkpoint == "25"
    ids = [p.post_id for f in (first, second, third) for p in f.posts]
    assert ids == [str(i) for i in range(25) if i not in (3, 20)]
    assert [r.origin for r in third.rejects] == [f"{path}:21"]
    write_lines(path, 3, start=25)
    more = connector.poll(third.checkpoint)
    assert [p.post_id for p in more.posts] == ["25", "26", "27"]


def test_deeply_nested_json_is_a_dead_letter_not_a_crash():
    letter = parse_replay_line("[" * 100_000 + "]" * 100_000, "f.jsonl:4")
    assert isinstance(letter, DeadLetter)
    assert letter.reason == "not valid JSON: nested too deeply"
    assert len(letter.payload) < 70_000  # cut, so the dead letter fits a Kafka message


def test_a_huge_post_is_a_dead_letter_with_its_size():
    line = json.dumps(GOOD | {"text": "x" * 2_000_000})
    letter = parse_replay_line(line, "f.jsonl:5")
    assert isinstance(letter, DeadLetter)
    assert letter.reason.startswith("line too long: 2,000,")
    assert letter.payload.endswith("characters in all]")


def test_post_text_is_bounded():
    letter = parse_replay_line(json.dumps(GOOD | {"text": "y" * 100_001}), "f.jsonl:6")
    assert isinstance(letter, DeadLetter)
    assert "text" in letter.reason


def test_a_date_outside_2000_to_2099_is_a_dead_letter():
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1999-12-31T23:59Z"):
        letter = parse_replay_line(json.dumps(GOOD | {"created_at": when}), "f.jsonl:7")
        assert isinstance(letter, DeadLetter), when
        assert "2000 to 2099" in letter.reason


def test_invalid_utf8_is_a_dead_letter_and_the_rest_of_the_file_goes_on(tmp_path):
    path = tmp_path / "posts.jsonl"
    good = json.dumps(GOOD).encode()
    bad = json.dumps(GOOD | {"id": "9"}).encode().replace(b"staff", b"st\xffaff")
    path.write_bytes(good + b"\n" + bad + b"\n" + json.dumps(GOOD | {"id": "8"}).encode() + b"\n")
    fetched = ReplayConnector(path).poll(None)
    assert [p.post_id for p in fetched.posts] == ["123", "8"]
    [letter] = fetched.rejects
    assert letter.origin == f"{path}:2"
    assert letter.reason.startswith("not valid UTF-8 at byte ")
    assert "\ufffd" in letter.payload
    assert fetched.checkpoint == "3"
