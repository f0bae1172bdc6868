"""Self-contained HTML reports of video analyses (charts by `fau.plot`, inlined as SVG)."""

from .html import MAX_EVENT_ROWS, RESPONSIBLE_USE, render_report, write_report

__all__ = ["render_report", "write_report", "RESPONSIBLE_USE", "MAX_EVENT_ROWS"]
