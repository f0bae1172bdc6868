"""`fau.limits.peak_rss_mb` and `rss_mb`: the one reader of a process's peak and current
resident memory (VmHWM, VmRSS)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fau import FauError
from fau.limits import peak_rss_mb, rss_mb

ROOT = Path(__file__).resolve().parents[1]
linux_proc = pytest.mark.skipif(not Path("/proc/self/status").is_file(),
                                reason="no /proc (not Linux)")
#: Allocated and touched in the child (MiB): far above the noise of an interpreter's peak.
ALLOC_MB = 200


@linux_proc
def test_positive_float_for_this_process_and_by_pid():
    import os

    peak = peak_rss_mb()
    assert isinstance(peak, float) and peak > 0
    by_pid = peak_rss_mb(os.getpid())
    assert isinstance(by_pid, float) and by_pid >= peak


@linux_proc
def test_grows_after_touching_200_mb_in_a_fresh_interpreter():
    """The child measures itself: before, after allocating ``ALLOC_MB`` with numpy and
    writing every page, and after freeing it (a high-water mark does not go down)."""
    code = textwrap.dedent(f"""
        import numpy as np
        from fau.limits import peak_rss_mb, rss_mb
        before = peak_rss_mb()
        a = np.empty({ALLOC_MB} * 1024 * 1024, np.uint8)
        a[::4096] = 1  # touch every page: untouched pages are not resident
        a.fill(7)
        during = peak_rss_mb()
        del a
        print(before, during, peak_rss_mb())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, check=True)
    before, during, after = (float(v) for v in out.stdout.split())
    assert 0 < before < 200, before  # the child's own peak, not the pytest run's
    assert during - before >= 0.95 * ALLOC_MB, (before, during)
    # a high-water mark: freeing does not lower it, but for the kernel's per-CPU counting
    # (0.15 MiB lower just after the free on Linux 6.18)
    assert after >= during - 1, (during, after)


def test_none_where_it_cannot_be_read(monkeypatch):
    assert peak_rss_mb(2**22 + 12345) is None  # above Linux's largest pid (2**22): no such process

    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/self/status")

    monkeypatch.setattr("fau.limits.open", no_proc, raising=False)  # as on macOS or Windows
    assert peak_rss_mb() is None


@pytest.mark.parametrize("pid", [0, -1, "123", 1.5, True])
def test_bad_pid_is_a_fau_error(pid):
    with pytest.raises(FauError, match="pid must be a positive int"):
        peak_rss_mb(pid)


@linux_proc
def test_rss_now_follows_an_allocation_and_stays_under_the_peak():
    import numpy as np

    before = rss_mb()
    a = np.ones(ALLOC_MB * 1024 * 1024, np.uint8)  # touched: resident
    during = rss_mb()
    assert isinstance(during, float) and during - before >= 0.95 * ALLOC_MB, (before, during)
    del a
    after = rss_mb()
    assert after < during - 0.5 * ALLOC_MB, (during, after)  # freed: not a high-water mark
    assert during <= peak_rss_mb() + 1


@pytest.mark.parametrize("pid", [0, "123", True])
def test_rss_bad_pid_is_a_fau_error_and_no_process_is_none(pid):
    with pytest.raises(FauError, match="pid must be a positive int"):
        rss_mb(pid)
    assert rss_mb(2**22 + 12345) is None
