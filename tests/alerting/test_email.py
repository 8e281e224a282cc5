"""E-mail against a real SMTP server (aiosmtpd with STARTTLS and AUTH), started by each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from socmon_app.cli import app
from tests.alerting.helpers import (
    SmtpServer,
    make_harness,
    make_settings,
    smtp_server_on,
)
from tests.factories import make_post_alert

MATERNITY = "maternity@northbrook.nhs.example"
PS = "patient-services@northbrook.nhs.example"


@pytest.fixture
def smtp(tmp_path) -> Iterator[SmtpServer]:
    server = smtp_server_on(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def email_settings(tmp_path, smtp: SmtpServer, **smtp_extra):
    return make_settings(
        tmp_path, default_channels=["email"], smtp=smtp.smtp_settings(**smtp_extra)
    )


def test_one_message_per_recipient_group_over_starttls_with_both_bodies(tmp_path, smtp):
    smtp.start()
    harness = make_harness(email_settings(tmp_path, smtp))
    deliveries = harness.delivery.handle([make_post_alert("concern", ("maternity",))])
    assert [(d.recipient, d.channel, d.result) for d in deliveries] == [
        (MATERNITY, "email", "sent"),
        (PS, "email", "sent"),
    ]
    assert len(smtp.received) == 1  # one message to the group, not one per person
    mail = smtp.received[0]
    assert sorted(mail.rcpt_tos) == [MATERNITY, PS]
    assert mail.mail_from == "socmon@northbrook.nhs.example"
    assert smtp.logins == ["socmon"]  # authenticated (the server only allows it after STARTTLS)
    # (a long subject is folded onto a continuation line; unfolding leaves the space)
    assert mail.message["Subject"].strip() == f"[Concern] {make_post_alert().summary}"
    assert mail.message["X-Socmon-Alert"] == "concern:twitter:42"
    text, html = mail.body("plain"), mail.body("html")
    assert text.startswith("Concern from twitter @sam")
    assert "The labour ward left us waiting for hours" in text
    assert "http://127.0.0.1:8050/posts/twitter:42" in text
    assert '<a href="http://127.0.0.1:8050/posts/twitter:42">' in html
    assert "<blockquote" in html


def test_a_name_from_the_register_is_mailed_at_its_directory_address(tmp_path, smtp):
    smtp.start()
    harness = make_harness(email_settings(tmp_path, smtp))
    harness.delivery.handle([make_post_alert("policy_breach", (), post_kind="official_post")])
    assert sorted(smtp.received[0].rcpt_tos) == [
        "communications@northbrook.nhs.example",
        "director.communications@northbrook.nhs.example",
        "priya.shah@northbrook.nhs.example",
    ]


def test_someone_without_an_address_fails_alone_and_is_dead_lettered(tmp_path, smtp):
    smtp.start()
    settings = email_settings(tmp_path, smtp)
    directory = {"Director of Communications": "director.communications@northbrook.nhs.example"}
    settings = settings.model_copy(
        update={"alerting": settings.alerting.model_copy(update={"directory": directory})}
    )
    harness = make_harness(settings)
    results = {
        d.recipient: d
        for d in harness.delivery.handle(
            [make_post_alert("policy_breach", (), post_kind="official_post")]
        )
    }
    assert results["Priya Shah"].result == "failed"
    assert "no e-mail address for 'Priya Shah'" in results["Priya Shah"].detail
    assert results["Director of Communications"].result == "sent"
    assert sorted(smtp.received[0].rcpt_tos) == [
        "communications@northbrook.nhs.example",
        "director.communications@northbrook.nhs.example",
    ]
    assert [letter.reason for letter in harness.dead_letters.letters] == [
        "email delivery to Priya Shah failed: no e-mail address for 'Priya Shah': "
        "add it to alerting.directory"
    ]


def test_a_wrong_password_is_refused_once_not_retried_and_never_logged(tmp_path, smtp, caplog):
    smtp.start()
    harness = make_harness(email_settings(tmp_path, smtp, password="wrong-password-123"))
    deliveries = harness.delivery.handle([make_post_alert()])
    assert {d.result for d in deliveries} == {"failed"}
    assert "refused the login of 'socmon' (535)" in deliveries[0].detail
    assert harness.sample("socmon_delivery_retries_total", {"channel": "email"}) == 0
    assert smtp.received == []
    assert "wrong-password-123" not in caplog.text
    assert all("wrong-password-123" not in d.reason for d in harness.dead_letters.letters)


def test_smtp_down_then_up_within_the_retries_delivers_once(tmp_path, smtp):
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        smtp.start()  # the mail server comes back while we back off

    harness = make_harness(email_settings(tmp_path, smtp), sleep=sleep)
    deliveries = harness.delivery.handle([make_post_alert()])
    assert [d.result for d in deliveries] == ["sent", "sent"]
    assert len(naps) == 1
    assert len(smtp.received) == 1
    assert harness.sample("socmon_delivery_retries_total", {"channel": "email"}) == 1
    assert harness.delivery.handle([make_post_alert()]) == []  # redelivered: nobody told twice
    assert len(smtp.received) == 1


def test_smtp_down_for_every_retry_then_alerts_retry_delivers_exactly_once(tmp_path, smtp):
    settings = email_settings(tmp_path, smtp)
    harness = make_harness(settings, sleep=lambda _s: None)
    alerts = [make_post_alert(post_id=str(i)) for i in range(3)]
    failed = harness.delivery.handle(alerts)
    assert {d.result for d in failed} == {"failed"}
    # Four attempts for the first alert, one more for the second: five failures in a row open
    # the breaker, and the rest fail fast instead of waiting through their own retries.
    assert [d.detail.split(": [Errno")[0] for d in failed[::2]] == [
        f"SMTP server 127.0.0.1:{smtp.port} unreachable",
        "email circuit open after repeated failures; trying again in 60 s",
        "email circuit open after repeated failures; trying again in 60 s",
    ]
    assert harness.sample("socmon_delivery_retries_total", {"channel": "email"}) == 4
    assert harness.sample("socmon_deliveries_total", {"channel": "email", "result": "failed"}) == 6
    harness.index.record_deadletters(harness.dead_letters.letters)  # what the index stage does
    harness.index.close()

    smtp.start()
    runner = CliRunner()
    env = {
        "SOCMON_ALERTING__SMTP__PASSWORD": "correct horse battery staple",
    }
    config = tmp_path / "socmon.yaml"
    config.write_text(settings_yaml(settings, smtp))
    args = ["alerts", "retry", "--config", str(config), "--data-dir", str(tmp_path)]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "3 dead-lettered alert(s): 6 delivered now, 0 failed again" in result.output
    assert len(smtp.received) == 3
    assert sorted(m.message["X-Socmon-Alert"] for m in smtp.received) == [
        "concern:twitter:0",
        "concern:twitter:1",
        "concern:twitter:2",
    ]
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0, again.output
    assert "0 delivered now" in again.output
    assert len(smtp.received) == 3  # nobody told twice

    shown = runner.invoke(app, ["alerts", "show", "concern:twitter:1", "--data-dir", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert [line.split()[3:5] for line in lines if "sent" in line] == [
        ["sent", "email"],
        ["sent", "email"],
    ]
    assert sum(MATERNITY in line for line in lines) == 1


def settings_yaml(settings, smtp: SmtpServer) -> str:
    """A config file for the CLI: the bundled one with e-mail on (the password stays in env)."""
    import yaml

    from socmon.settings import default_config_text

    data = yaml.safe_load(default_config_text())
    data["alerting"]["default_channels"] = ["email"]
    smtp_cfg = smtp.smtp_settings()
    smtp_cfg.pop("password")
    data["alerting"]["smtp"] = smtp_cfg
    return yaml.safe_dump(data)
