"""`socmon routes explain`, `socmon alerts show` and the start-up checks of `socmon alerting`."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from socmon.index.sqlite import SqliteIndex
from socmon_app.cli import app
from tests.stream_processors.test_alert_rules import enriched

runner = CliRunner()


def test_explain_a_post_from_the_index_says_who_is_told_how_when_and_why(tmp_path):
    index = SqliteIndex(tmp_path / "socmon.db")
    index.setup()
    index.upsert_posts(
        [enriched(text="Nobody answers the phone", sentiment="concern", departments=())]
    )
    index.close()
    result = runner.invoke(app, ["routes", "explain", "twitter:42", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "alert concern:twitter:42 [concern]" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("  now")]
    assert [line[1:3] for line in lines] == [
        ["file", "communications@northbrook.nhs.example"],
        ["file", "patient-services@northbrook.nhs.example"],
    ]
    assert "no department recognised: the communications team stands in" in out
    assert "note: no department recognised; the communications team is told instead" in out


def test_explain_a_post_that_is_not_indexed_fails(tmp_path):
    SqliteIndex(tmp_path / "socmon.db").setup()
    result = runner.invoke(app, ["routes", "explain", "twitter:404", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no post twitter:404 in the index" in result.output


def test_a_dry_run_classifies_the_text_then_routes_it(tmp_path):
    result = runner.invoke(
        app,
        [
            "routes",
            "explain",
            "--text",
            "The midwives on the labour ward were wonderful, thank you",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["classification"]["sentiment"] == "compliment"
    [alert] = payload["alerts"]
    assert alert["kind"] == "compliment"
    assert {(t["recipient"], t["when"]) for t in alert["targets"]} == {
        ("maternity@northbrook.nhs.example", "digest"),
        ("patient-services@northbrook.nhs.example", "digest"),
    }


def test_a_dry_run_of_an_official_post_with_an_nhs_number_escalates_the_breach(tmp_path):
    result = runner.invoke(
        app,
        [
            "routes",
            "explain",
            "--text",
            "Thanks to our patient, NHS number 943 476 5919, for the lovely card",
            "--kind",
            "official_post",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    alerts = json.loads(result.output)["alerts"]
    breach = next(a for a in alerts if a["kind"] == "policy_breach")
    assert [t["recipient"] for t in breach["targets"]] == [
        "Priya Shah",
        "Director of Communications",
        "communications@northbrook.nhs.example",
    ]


def test_alerting_refuses_a_route_to_an_unknown_department(tmp_path):
    config = tmp_path / "socmon.yaml"
    config.write_text(
        "alerting:\n  routes:\n    - {kind: concern, department: maternty, to: [department]}\n"
    )
    result = runner.invoke(app, ["alerting", "--config", str(config)])
    assert result.exit_code == 2
    assert "unknown department(s) maternty" in result.output


def test_alerts_show_says_so_when_nobody_was_told(tmp_path):
    SqliteIndex(tmp_path / "socmon.db").setup()
    result = runner.invoke(app, ["alerts", "show", "concern:x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no deliveries recorded for concern:x" in result.output


def test_alerts_show_on_a_data_dir_without_an_index_says_so_without_a_traceback(tmp_path):
    result = runner.invoke(app, ["alerts", "show", "concern:x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
