"""Data protection on both index adapters (SQLite and a real osmem-server): the retention period
deletes old records, and an erasure removes a person's posts and logs only that it happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from dashboards.privacy import erase_author
from dashboards.web.feedback import CORRECTIONS, record_correction
from socmon.erasure import ERASURES, KEY_FILE, erasure_key, handle_hash
from socmon.index.port import PostQuery
from socmon.index.retention import apply_retention, retention_cutoff
from socmon.settings import IndexSettings, Settings
from socmon_app.cli import app
from tests.dashboards.backends import Backend, backend  # noqa: F401
from tests.factories import make_alert, make_deadletter, make_delivery, make_post

NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
KEY = b"test-erasure-key"
DAY = timedelta(days=1)


@pytest.fixture
def cli(backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path) -> CliRunner:  # noqa: F811
    """A runner whose commands open the test's index (the factory patched to the backend)."""
    monkeypatch.setattr("socmon.index.factory.open_index", lambda settings: backend.opener())
    monkeypatch.setenv("SOCMON_DATA_DIR", str(tmp_path / "data"))
    # the settings name the test's index, so the commands find one where they look
    monkeypatch.setenv("SOCMON_INDEX__BACKEND", backend.name)
    if backend.name == "sqlite":
        monkeypatch.setenv("SOCMON_INDEX__SQLITE_PATH", str(tmp_path / "socmon.db"))
    return CliRunner()


# -- retention ----------------------------------------------------------------------------------


def test_retention_deletes_records_older_than_the_period_only(backend: Backend) -> None:  # noqa: F811
    index = backend.index
    old, kept = NOW - 366 * DAY, NOW - 364 * DAY
    index.upsert_posts(
        [
            make_post("old", text="an old complaint", created_at=old),
            make_post("kept", text="a recent complaint", created_at=kept),
        ]
    )
    index.record_alerts([make_alert(created_at=old), make_alert("spike", "s", created_at=kept)])
    index.record_deliveries([make_delivery(delivered_at=old)])
    index.record_deadletters([make_deadletter("a:1", created_at=old)])

    assert apply_retention(index, IndexSettings(retention_days=365), NOW) == 4

    assert [p.key for p in index.search_posts(PostQuery(text="complaint"))] == ["twitter:kept"]
    stats = index.stats()
    assert (stats.indexed, stats.alerts, stats.deliveries, stats.deadletter) == (
        1,
        {"spike": 1},
        0,
        0,
    )
    # idempotent: a second run (tomorrow's schedule, or a retry) finds nothing more
    assert apply_retention(index, IndexSettings(retention_days=365), NOW) == 0


def test_a_shorter_retention_period_deletes_more(backend: Backend) -> None:  # noqa: F811
    backend.index.upsert_posts(
        [make_post(str(n), created_at=NOW - n * 10 * DAY) for n in range(1, 6)]  # 10..50 days
    )
    # 40 and 50 days old go; 30 days old is exactly at the cutoff and stays
    assert apply_retention(backend.index, IndexSettings(retention_days=30), NOW) == 2
    assert backend.index.stats().indexed == 3


def test_retention_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        retention_cutoff(IndexSettings(), datetime(2026, 11, 1))
    assert retention_cutoff(IndexSettings(retention_days=10), NOW) == NOW - 10 * DAY


def test_retention_apply_command_reports_what_it_deleted(
    backend: Backend,  # noqa: F811
    cli: CliRunner,
    tmp_path,
) -> None:
    from alerting import outbox

    backend.index.upsert_posts(
        [make_post("old", created_at=NOW - 400 * DAY), make_post("new", created_at=NOW - DAY)]
    )
    path = tmp_path / "data" / "outbox.jsonl"
    sent = (NOW - DAY).isoformat()  # both sent yesterday: the post's time decides
    outbox.append(
        path,
        [
            {"alert_id": "a", "posted_at": (NOW - 400 * DAY).isoformat(), "sent_at": sent},
            {"alert_id": "b", "posted_at": (NOW - DAY).isoformat(), "sent_at": sent},
            {"alert_id": "c", "posted_at": None, "sent_at": (NOW - 400 * DAY).isoformat()},
        ],
    )
    result = cli.invoke(app, ["retention", "apply", "--now", "2026-11-01T03:00Z"])
    assert result.exit_code == 0, result.output
    assert (
        "deleted 1 records and 2 outbox lines from before 2025-11-01T03:00:00+00:00"
        in result.stdout
    )
    assert [row["alert_id"] for row in outbox.read(path)] == ["b"]
    assert "retention 365 days" in result.stdout
    assert backend.index.get_post("twitter:old") is None
    assert backend.index.get_post("twitter:new") is not None


def test_retention_apply_refuses_a_time_without_zone(cli: CliRunner) -> None:
    result = cli.invoke(app, ["retention", "apply", "--now", "2026-11-01T03:00"])
    assert result.exit_code == 2
    assert "time zone" in result.stderr


def test_index_setup_says_how_retention_is_enforced(tmp_path) -> None:
    result = CliRunner().invoke(app, ["index", "setup", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "index ready (sqlite)" in result.stdout
    assert "older than 365 days are deleted by `socmon retention apply`" in result.stdout
    assert (tmp_path / "socmon.db").exists()


# -- erasure ------------------------------------------------------------------------------------


def _fill_with_jane(target: Backend) -> None:
    theirs = make_post("1", author="@Jane_Doe", text="my NHS number is 943 476 5919")
    again = make_post("2", author="JANE_DOE", text="still waiting for my results")
    others = make_post("3", author="@someone_else", text="my appointment was moved")
    target.index.upsert_posts([theirs, again, others])
    target.index.record_alerts([make_alert("concern", theirs.key, post=theirs)])
    target.index.record_alerts([make_alert("concern", others.key, post=others)])


def test_erasure_removes_their_posts_and_logs_only_that_it_happened(backend: Backend) -> None:  # noqa: F811
    _fill_with_jane(backend)
    entry, erased = erase_author(backend.index, "@jane_doe", KEY, now=NOW)

    assert entry.items == 3  # two posts and the alert quoting one
    assert sorted(erased.post_keys) == ["twitter:1", "twitter:2"]
    assert [p.key for p in backend.index.search_posts(PostQuery())] == ["twitter:3"]
    assert backend.index.search_posts(PostQuery(text="number")) == []
    assert backend.index.stats().alerts == {"concern": 1}

    logged = backend.index.get_documents(ERASURES)
    assert logged == [entry]
    assert logged[0].erased_at == NOW
    # the same person, however the request spells the handle, has the same hash
    assert entry.author_sha256 == handle_hash("Jane_Doe", KEY) == handle_hash(" @JANE_DOE", KEY)
    assert entry.author_sha256 != handle_hash("someone_else", KEY)
    stored = logged[0].model_dump_json().lower()
    for leaked in ("jane", "943 476 5919", "results"):
        assert leaked not in stored


def test_erasing_an_unknown_author_logs_zero_items(backend: Backend) -> None:  # noqa: F811
    _fill_with_jane(backend)
    entry, _ = erase_author(backend.index, "@nobody_here", KEY, now=NOW)
    assert entry.items == 0
    assert backend.index.stats().indexed == 3
    assert backend.index.get_documents(ERASURES) == [entry]


def test_erasure_needs_a_handle(backend: Backend) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="handle"):
        erase_author(backend.index, " @ ", KEY)


def test_erase_command_logs_on_stderr_without_the_handle(
    backend: Backend,  # noqa: F811
    cli: CliRunner,
    tmp_path,
) -> None:
    _fill_with_jane(backend)
    result = cli.invoke(app, ["erase", "--author", "@Jane_Doe", "--yes"])
    assert result.exit_code == 0, result.output
    assert "erasure recorded:" in result.stderr
    assert "items=3" in result.stderr
    key = (tmp_path / "data" / KEY_FILE).read_text().strip().encode()
    assert f"author_sha256={handle_hash('jane_doe', key)}" in result.stderr
    assert "jane" not in result.output.lower()
    assert [p.key for p in backend.index.search_posts(PostQuery())] == ["twitter:3"]
    assert len(backend.index.get_documents(ERASURES)) == 1
    # what it erased, and what it could not
    assert "erased 2 posts, 1 alerts" in result.stdout
    assert "messages already sent" in result.stdout
    assert "Kafka topics" in result.stdout


def test_erasure_takes_the_corrections_of_their_posts(backend: Backend) -> None:  # noqa: F811
    _fill_with_jane(backend)
    for key in ("twitter:1", "twitter:3"):
        stored = backend.index.get_post(key)
        assert stored is not None
        record_correction(
            backend.index, stored, corrected_by="alice", sentiment="compliment", departments=None
        )
    entry, _ = erase_author(backend.index, "jane_doe", KEY, now=NOW)
    assert entry.items == 4  # two posts, the alert, and the correction naming one of them
    assert [c.post_key for c in backend.index.get_documents(CORRECTIONS)] == ["twitter:3"]


def test_erase_command_blanks_the_outbox_lines_about_them(
    backend: Backend,  # noqa: F811
    cli: CliRunner,
    tmp_path,
) -> None:
    from alerting import outbox

    _fill_with_jane(backend)
    theirs, others = (a.alert_id for a in backend.index.alerts_between(NOW - 3650 * DAY, NOW))
    if "twitter:3" in theirs:
        theirs, others = others, theirs
    path = tmp_path / "data" / "outbox.jsonl"
    text = "my NHS number is 943 476 5919 (@Jane_Doe)"
    outbox.append(
        path,
        [
            {"alert_id": theirs, "alert_ids": [theirs], "recipient": "a", "text": text},
            {"alert_id": others, "alert_ids": [others], "recipient": "a", "text": "moved"},
        ],
    )
    result = cli.invoke(app, ["erase", "--author", "@Jane_Doe", "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 outbox lines" in result.stdout
    rows = list(outbox.read(path))
    assert [row["alert_id"] for row in rows] == [theirs, others]  # who was told stays
    assert rows[0]["text"] == outbox.ERASED
    assert rows[1]["text"] == "moved"
    assert "943 476" not in path.read_text()


def test_erase_command_asks_first_and_stops_on_no(
    backend: Backend,  # noqa: F811
    cli: CliRunner,
) -> None:
    _fill_with_jane(backend)
    result = cli.invoke(app, ["erase", "--author", "@Jane_Doe"], input="n\n")
    assert result.exit_code == 1
    assert backend.index.stats().indexed == 3
    assert backend.index.get_documents(ERASURES) == []


def test_the_erasure_hash_is_keyed_so_a_list_of_handles_does_not_reverse_it() -> None:
    import hashlib

    plain = hashlib.sha256(b"jane_doe").hexdigest()
    assert handle_hash("jane_doe", KEY) != plain
    assert handle_hash("jane_doe", KEY) != handle_hash("jane_doe", b"another-trust-key")
    with pytest.raises(ValueError, match="key"):
        handle_hash("jane_doe", b"")


def test_the_erasure_key_is_made_once_private_and_then_kept(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = erasure_key(settings)
    path = tmp_path / "data" / KEY_FILE
    assert len(first) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert erasure_key(settings) == first
    configured = Settings(data_dir=tmp_path / "data", dashboard={"erasure_key": "from-the-env"})
    assert erasure_key(configured) == b"from-the-env"
