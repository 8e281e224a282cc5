"""The agents' logic without a broker: a list of messages in, a `Step` out.

The same steps run inside the Faust agents, on the real broker, in tests/test_e2e.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from socmon.index.port import BulkResult, IndexUnavailable
from socmon.index.sqlite import SqliteIndex
from socmon.metrics import Metrics
from socmon.records import Alert, DeadLetter, EnrichedPost, parse_record
from socmon.settings import load_settings
from stream_processors import steps
from stream_processors.classify.classifier import PostClassifier
from tests.factories import make_deadletter, make_post

BROKEN = steps.Message("socmon.posts.raw/0/7", b'{"platform": "twitter", "text": ')


def message(record: EnrichedPost, offset: int = 0) -> steps.Message:
    return steps.Message(f"topic/0/{offset}", record.to_bytes())


@pytest.fixture(scope="module")
def classifier() -> PostClassifier:
    return PostClassifier.from_settings(load_settings(None))


def test_enrich_classifies_each_post_and_dead_letters_what_does_not_parse(
    classifier: PostClassifier,
) -> None:
    post = make_post("1", text="The midwives were wonderful, thank you").post
    step = steps.enrich(classifier, [steps.Message("raw/0/1", post.to_bytes()), BROKEN])

    [(key, value)] = step.out
    enriched = parse_record(EnrichedPost, value)
    assert key == b"twitter:1"
    assert enriched.post == post
    assert enriched.classification.sentiment == "compliment"
    [(letter, cause)] = step.dead
    assert (letter.stage, letter.origin, cause) == ("enrich", BROKEN.origin, "invalid_record")
    assert letter.payload == BROKEN.value.decode()
    assert step.taken == step.passed == ["twitter"]


def test_route_raises_the_alerts_of_each_post() -> None:
    concern = make_post("2", sentiment="concern", departments=("maternity",))
    plain = make_post("3")
    step = steps.route(None, [concern, plain])

    alerts = [parse_record(Alert, value) for _, value in step.out]
    assert [a.kind for a in alerts] == ["concern"]
    assert [key for key, _ in step.out] == [alerts[0].alert_id.encode()]
    assert step.alert_kinds == ["concern"]
    assert step.dead == []
    assert step.passed == ["twitter", "twitter"]


def test_index_writes_the_posts(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    try:
        step = steps.index(index, [message(make_post("4")), BROKEN])
        assert index.get_post("twitter:4") == make_post("4")
        assert step.indexed == [make_post("4")]
        assert step.passed == ["twitter"]
        assert [cause for _, cause in step.dead] == ["invalid_record"]
    finally:
        index.close()


class RefusingPosts:
    """A post store that refuses every post (as Elasticsearch refuses a malformed document),
    or only those whose keys it is given."""

    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        refused = [p.key for p in posts if not self.keys or p.key in self.keys]
        return BulkResult(
            len(posts) - len(refused), tuple((key, "mapper_parsing_exception") for key in refused)
        )


def test_only_the_posts_the_index_stored_are_routed() -> None:
    refused = make_post("7", sentiment="concern", departments=("maternity",))
    stored = make_post("8", sentiment="concern", departments=("maternity",))
    step = steps.index(RefusingPosts("twitter:7"), [message(refused), message(stored, 1)])  # type: ignore[arg-type]
    assert step.indexed == [stored]

    routed = steps.route(None, step.indexed)
    assert [parse_record(Alert, value).post for _, value in routed.out] == [stored.post]
    assert routed.taken == ["twitter"]


class UnavailablePosts:
    """A post store that cannot be reached (a locked SQLite file, Elasticsearch away)."""

    def upsert_posts(self, posts: Sequence[EnrichedPost]) -> BulkResult:
        raise IndexUnavailable("database is locked")


def test_an_unavailable_index_raises_instead_of_dead_lettering_the_batch() -> None:
    # The agent waits and retries the whole batch; a dead letter would lose the post.
    with pytest.raises(IndexUnavailable):
        steps.index(UnavailablePosts(), [message(make_post("9"))])  # type: ignore[arg-type]


def test_a_post_the_index_refuses_becomes_a_dead_letter_with_the_post() -> None:
    post = make_post("5")
    step = steps.index(RefusingPosts(), [message(post)])  # type: ignore[arg-type]

    [(letter, cause)] = step.dead
    assert cause == "rejected"
    assert letter.origin == "index/twitter:5"
    assert letter.reason == "index rejected the document: mapper_parsing_exception"
    assert parse_record(EnrichedPost, letter.payload) == post
    assert step.taken == ["twitter"]
    assert step.passed == []
    assert step.indexed == []


def test_dead_letters_are_stored_and_an_unreadable_one_is_kept_as_it_came(tmp_path: Path) -> None:
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    try:
        good = make_deadletter("file.jsonl:3")
        refused = steps.store_dead_letters(
            index, [steps.Message("dl/0/0", good.to_bytes()), steps.Message("dl/0/1", b"{oops")]
        )
        stored: list[DeadLetter] = index.deadletters()
        assert refused == []
        assert {letter.origin for letter in stored} == {"file.jsonl:3", "dl/0/1"}
        [kept] = [letter for letter in stored if letter.origin == "dl/0/1"]
        assert kept.payload == "{oops"
        assert kept.reason.startswith("unreadable dead letter:")
    finally:
        index.close()


def test_a_step_is_counted_in_the_stage_metrics(classifier: PostClassifier) -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    concern = make_post("6", sentiment="concern", departments=("maternity",))
    steps.route(None, [concern]).count(metrics, 0.01)
    steps.enrich(classifier, [BROKEN]).count(metrics, 0.01)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("socmon_items_in_total", stage="route", platform="twitter") == 1
    assert value("socmon_items_out_total", stage="route", platform="twitter") == 1
    assert value("socmon_alerts_total", kind="concern") == 1
    assert value("socmon_deadletters_total", stage="enrich", reason="invalid_record") == 1
    assert value("socmon_processing_seconds_count", stage="route") == 1


# -- authors erased on request ------------------------------------------------------------------


def test_a_post_by_an_erased_author_is_dead_lettered_without_its_text(
    classifier: PostClassifier, tmp_path: Path
) -> None:
    from socmon.erasure import ERASED_ON_REQUEST, ErasedAuthors, record_erasure
    from tests.factories import T0

    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    try:
        key = b"k" * 32
        record_erasure(index, "@Jane_Doe", key, items=1, erased_at=T0)
        erased = ErasedAuthors(index, key)
        theirs = make_post("5", author="JANE_DOE", text="my NHS number is 943 476 5919")
        others = make_post("6", author="@someone_else", text="thank you to the ward")

        enriched = steps.enrich(
            classifier,
            [steps.Message("raw/0/1", p.post.to_bytes()) for p in (theirs, others)],
            erased,
        )
        assert [k for k, _ in enriched.out] == [b"twitter:6"]
        [(letter, cause)] = enriched.dead
        assert (cause, letter.reason, letter.stage) == ("erased", ERASED_ON_REQUEST, "enrich")
        assert "943" not in letter.to_bytes().decode()
        assert "jane" not in letter.to_bytes().decode().lower()

        # enriched before the erasure came: the index step does not write it either
        stored = steps.index(index, [message(theirs), message(others, 1)], erased)
        assert [p.key for p in stored.indexed] == ["twitter:6"]
        assert index.get_post("twitter:5") is None
        assert [cause for _, cause in stored.dead] == ["erased"]
    finally:
        index.close()


def test_erased_authors_are_read_again_after_the_ttl(tmp_path: Path) -> None:
    from socmon.erasure import ErasedAuthors, record_erasure
    from tests.factories import T0

    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    now = [0.0]
    try:
        erased = ErasedAuthors(index, b"key-of-the-trust", ttl=5.0, clock=lambda: now[0])
        assert "@jane_doe" not in erased
        record_erasure(index, "jane_doe", b"key-of-the-trust", items=0, erased_at=T0)
        now[0] = 4.0
        assert "@jane_doe" not in erased  # still the set read at 0 s
        now[0] = 5.0
        assert "@Jane_Doe" in erased
        assert "jane_doe_fan" not in erased
        assert "" not in erased
    finally:
        index.close()
