"""Turns a `MonthlyReport` into HTML (Jinja2 templates beside this module) and into PDF.

PDF is printed by a headless Chromium (Debian package ``chromium``), which lays the page out
exactly as the HTML shows; without it the report still renders as HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from dashboards.report.charts import horizontal_bars, line_chart, stacked_columns
from dashboards.report.handling import rule_name
from dashboards.report.monthly import Change, MonthlyReport
from dashboards.report.summary import duration, executive_summary

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHART_DEPARTMENTS = 10
PDF_TIMEOUT = 120.0  # seconds; a cold Chromium start on a small machine takes a few


class PdfUnavailable(Exception):
    """No way to print PDF here; the message says what to install."""


class PdfFailed(Exception):
    """The browser ran but did not produce the PDF; the message holds its output."""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dashboards.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a misspelt name in a template fails the test, not the page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["change"] = _format_change
    env.filters["duration"] = duration
    env.filters["rule"] = _rule_name
    env.filters["without_domain"] = _without_domain
    return env


def _format_change(change: Change) -> str:
    """``+3 (+25%)``, ``−2 (−10%)``, ``no change``, or ``+4 (new)`` when there was none."""
    if change.delta == 0:
        return "no change"
    sign = "+" if change.delta > 0 else "−"
    percent = change.percent
    relative = "new" if percent is None else f"{sign}{abs(percent):.0f}%"
    return f"{sign}{abs(change.delta)} ({relative})"


def _rule_name(rule: str) -> str:
    """A policy rule as a table's words: ``nhs_number`` -> ``NHS number``."""
    words = rule_name(rule)
    return words[0].upper() + words[1:]


def common_domain(report: MonthlyReport) -> str | None:
    """The e-mail domain of most of the people alerted about urgent posts, when it is that of
    at least half of them: the urgent table writes those addresses without it."""
    domains = Counter(
        person.recipient.rpartition("@")[2].casefold()
        for incident in report.urgent
        for person in incident.alerted
        if "@" in person.recipient
    )
    if not domains:
        return None
    domain, count = domains.most_common(1)[0]
    return domain if count * 2 >= sum(domains.values()) else None


def _without_domain(recipient: str, domain: str | None) -> str:
    if domain and recipient.casefold().endswith("@" + domain):
        return recipient[: -len(domain) - 1]
    return recipient


def charts(report: MonthlyReport) -> dict[str, Markup]:
    """The report's charts as inline SVG, by name."""
    # the ten busiest: a chart short enough (a quarter of a page) never to leave a page
    # half empty when it moves on to the next; the table beside it lists them all
    top_departments = [
        (row.name, {"compliment": row.compliments.now, "concern": row.concerns.now})
        for row in report.departments[:CHART_DEPARTMENTS]
    ]
    trend = [
        (
            point.month.start.strftime("%b %y"),
            {
                "posts": point.mentions,
                "concerns": point.concerns,
                "compliments": point.compliments,
            },
        )
        for point in report.trend
    ]
    return {
        "trend": line_chart(
            "trend",
            f"The public's posts per month, {report.trend[0].month.label} to {report.month.label}",
            trend,
            ("posts", "concerns", "compliments"),
        ),
        "daily": stacked_columns(
            "daily",
            "Mentions per day by sentiment",
            report.daily,
            ("concern", "compliment", "neutral"),
        ),
        "departments": horizontal_bars(
            "departments",
            f"Compliments and concerns, the {len(top_departments)} busiest departments",
            top_departments,
            ("compliment", "concern"),
        ),
    }


def render_html(report: MonthlyReport) -> str:
    """The report as one self-contained HTML page (styles and charts inline)."""
    template = _environment().get_template("monthly.html.j2")
    return template.render(
        report=report,
        charts=charts(report),
        summary=executive_summary(report),
        domain=common_domain(report),
    )


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def html_to_pdf(html: str, timeout: float = PDF_TIMEOUT) -> bytes:
    """Print the page to PDF with headless Chromium; `PdfUnavailable` when there is none."""
    browser = find_browser()
    if browser is None:
        msg = (
            "PDF needs a headless Chromium, and none was found on PATH: install it "
            "(Debian/Ubuntu: apt-get install chromium) or use --format html"
        )
        raise PdfUnavailable(msg)
    with tempfile.TemporaryDirectory(prefix="socmon-report-") as folder:
        page, pdf = Path(folder) / "report.html", Path(folder) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        argv = [
            browser,
            "--headless",
            # the sandbox needs user namespaces, which containers and root often lack
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            # a profile of its own, so a running browser of the user's is not disturbed
            f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        try:
            result = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            msg = f"{browser} did not print the report within {timeout:.0f} s"
            raise PdfFailed(msg) from exc
        if not pdf.exists() or pdf.stat().st_size == 0:
            output = (result.stderr or result.stdout).decode("utf-8", errors="replace")
            msg = f"{browser} exited with {result.returncode} and wrote no PDF:\n{output[-2000:]}"
            raise PdfFailed(msg)
        return pdf.read_bytes()
