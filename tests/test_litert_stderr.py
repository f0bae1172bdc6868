"""`native_stderr_silenced` from several threads: stderr comes back when the last leaves."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import os, sys, threading
    from fau.landmarks.litert import native_stderr_silenced

    order = sys.argv[1]            # which thread leaves first: "a" or "b"
    a_in, b_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def worker(name, my_in, other_in):
        if name == "b":
            a_in.wait()            # b starts while a already holds stderr silenced
        with native_stderr_silenced():
            my_in.set()
            other_in.wait()
            os.write(2, b"hidden-" + name.encode() + b"\\n")
            if name != order:
                first_out.wait()
        if name == order:
            first_out.set()

    ta = threading.Thread(target=worker, args=("a", a_in, b_in))
    tb = threading.Thread(target=worker, args=("b", b_in, a_in))
    ta.start(); tb.start(); ta.join(); tb.join()
    os.write(2, b"visible-after\\n")
    sys.stderr.write("python-after\\n"); sys.stderr.flush()
""")


@pytest.mark.parametrize("first", ["a", "b"])
def test_stderr_restored_after_overlapping_silences(first):
    r = subprocess.run([sys.executable, "-c", SCRIPT, first], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "hidden" not in r.stderr
    assert "visible-after" in r.stderr and "python-after" in r.stderr
