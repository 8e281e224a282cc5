"""Turns a `MonthlyReport` into HTML (Jinja2 templates beside this module) and into PDF.

PDF is printed by a headless Chromium (Debian package ``chromium``), which lays the page out
exactly as the HTML shows; without it the report still renders as HTML.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from dashboards.report.charts import horizontal_bars, stacked_columns
from dashboards.report.monthly import Change, MonthlyReport

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
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
    return env


def _format_change(change: Change) -> str:
    """``+3 (+25%)``, ``−2 (−10%)``, ``no change``, or ``+4 (new)`` when there was none."""
    if change.delta == 0:
        return "no change"
    sign = "+" if change.delta > 0 else "−"
    percent = change.percent
    relative = "new" if percent is None else f"{sign}{abs(percent):.0f}%"
    return f"{sign}{abs(change.delta)} ({relative})"


def charts(report: MonthlyReport) -> dict[str, Markup]:
    """The report's charts as inline SVG, by name."""
    series = ("compliment", "concern")
    top_departments = [
        (row.name, {"compliment": row.compliments.now, "concern": row.concerns.now})
        for row in report.departments[:12]
    ]
    trend = [
        (
            sentiment,
            {"previous": change.before, "this month": change.now},
        )
        for sentiment, change in report.sentiment.items()
    ]
    return {
        "departments": horizontal_bars(
            "departments", "Compliments and concerns by department", top_departments, series
        ),
        "daily": stacked_columns(
            "daily",
            "Mentions per day by sentiment",
            report.daily,
            ("concern", "compliment", "neutral"),
        ),
        "trend": horizontal_bars(
            "trend",
            f"{report.month.label} against {report.month.previous.label}",
            trend,
            ("previous", "this month"),
        ),
    }


def render_html(report: MonthlyReport) -> str:
    """The report as one self-contained HTML page (styles and charts inline)."""
    template = _environment().get_template("monthly.html.j2")
    return template.render(report=report, charts=charts(report))


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
