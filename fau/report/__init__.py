"""Self-contained HTML reports of video analyses (inline SVG charts drawn by matplotlib)."""

from .html import AU_GROUPS, RESPONSIBLE_USE, render_report, write_report
from .svg import line_chart

__all__ = ["render_report", "write_report", "line_chart", "RESPONSIBLE_USE", "AU_GROUPS"]
