"""Print markdown tables of all benchmark results (for docs/benchmarks.md).

Reads every ``benchmarks/results/*__*.json`` written by
:func:`fer_eval.write_result` and prints, per protocol, one table of
model / accuracy / macro-F1 / ECE / n / n_unscored, then a table of per-class F1.

Usage
-----
``python benchmarks/make_table.py [RESULTS_DIR]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PROTOCOL_TITLES = {
    "fer2013": "FER-2013 labels (7 classes), PrivateTest",
    "ferplus": "FER+ majority labels (8 classes), PrivateTest",
}


def load_results(folder: str | Path = RESULTS) -> list[dict[str, Any]]:
    """Load all result records in ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Folder with ``{name}__{protocol}.json`` files.

    Returns
    -------
    list of dict
        Records sorted by protocol, then accuracy (descending).
    """
    recs = [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*__*.json"))]
    return sorted(recs, key=lambda r: (r["protocol"], -r["metrics"]["accuracy"], r["name"]))


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.1f}"


def render(records: list[dict[str, Any]]) -> str:
    """Markdown text: a summary table and a per-class F1 table per protocol.

    Parameters
    ----------
    records : list of dict
        Output of :func:`load_results`.

    Returns
    -------
    str
    """
    lines: list[str] = []
    for proto in sorted({r["protocol"] for r in records}):
        rs = [r for r in records if r["protocol"] == proto]
        lines += [f"### {PROTOCOL_TITLES.get(proto, proto)}", ""]
        lines += ["| model | accuracy % | macro-F1 % | ECE % | n | n_unscored |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in rs:
            m = r["metrics"]
            lines.append(f"| {r['name']} | {_pct(m['accuracy'])} | {_pct(m['macro_f1'])} | "
                         f"{_pct(m['ece'])} | {m['n']} | {m['n_unscored']} |")
        names = rs[0]["metrics"]["class_names"]
        lines += ["", f"Per-class F1 % ({proto})", "",
                  "| model | " + " | ".join(names) + " |",
                  "|---|" + "---:|" * len(names)]
        for r in rs:
            pc = r["metrics"]["per_class"]
            lines.append(f"| {r['name']} | " + " | ".join(_pct(pc[c]["f1"]) for c in names) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables for the given (or default) results folder."""
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else RESULTS
    records = load_results(folder)
    if not records:
        print(f"no results in {folder}", file=sys.stderr)
        return 1
    print(render(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
