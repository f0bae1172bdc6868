#!/usr/bin/env bash
# Install what tests/test_browser.py needs, only when missing:
#   - Debian's Chromium at /usr/bin/chromium (apt; needs root, ~2 min, ~780 MB)
#   - the Playwright Python package (pip), used with executable_path=/usr/bin/chromium.
# Playwright's own browser download (`playwright install`) is never run.
#
# Usage: bash .ci/browser.sh [PYTHON]     (PYTHON: the interpreter whose environment gets
#                                          playwright; default: python3 on PATH)
# Then:  PYTHON -m pytest -m browser tests/test_browser.py
set -euo pipefail
PY="${1:-python3}"

if [ ! -x /usr/bin/chromium ]; then
    echo "browser.sh: installing Debian chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null | head -n 1 >&2 || true

if ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo "browser.sh: installing playwright (pip)" >&2
    "$PY" -m pip install -q playwright
fi
"$PY" -c "import playwright, sys; sys.stderr.write('browser.sh: playwright ok\n')"
