"""The monthly social media activity report: figures from the index, rendered to HTML or PDF."""

from dashboards.report.monthly import Month, MonthlyReport, build_report
from dashboards.report.render import PdfFailed, PdfUnavailable, html_to_pdf, render_html

__all__ = [
    "Month",
    "MonthlyReport",
    "PdfFailed",
    "PdfUnavailable",
    "build_report",
    "html_to_pdf",
    "render_html",
]
