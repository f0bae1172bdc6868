"""Screenshots of an HTML report's sections in headless Chromium (for docs/img/).

Opens the report from disk (file:// URL: nothing else is loaded) in Debian's Chromium via
Playwright (``executable_path=/usr/bin/chromium``; see .ci/browser.sh), 1100 px wide, and
saves one PNG per element: ``--element ID=OUT.png`` (repeatable; ``page`` = the whole page).
Also checks that the page made no network request.

    python benchmarks/report_screenshots.py report.html --element summary-heatmap=heat.png
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report", type=Path)
    ap.add_argument("--element", action="append", default=[], metavar="ID=OUT.png")
    ap.add_argument("--width", type=int, default=1100, help="viewport width (px)")
    a = ap.parse_args()
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": a.width, "height": 1200})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(a.report.resolve().as_uri())
        page.wait_for_load_state("load")
        for spec in a.element:
            eid, out = spec.split("=", 1)
            if eid == "page":
                page.screenshot(path=out, full_page=True)
            else:
                page.locator(f"#{eid}").screenshot(path=out)
            print(out)
        browser.close()
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    print(f"{len(requests)} requests, {len(outside)} outside the file: {outside[:3]}")


if __name__ == "__main__":
    main()
