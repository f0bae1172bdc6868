"""The shape of the code: layers, no import circle, short functions, a light ``import fau``.

These check the rules of docs/architecture.md on the source itself (parsed with `ast`),
and what ``import fau`` and ``fau --help`` load (in a fresh interpreter).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "fau"
#: Longest function or method allowed in fau/, in source lines (def line to last line,
#: docstring included).
MAX_FUNCTION_LINES = 120
#: Libraries that must not load with ``import fau`` or ``fau --help``: model runtimes,
#: web, plotting, video decoding and cluster libraries (each costs 0.1-1 s to import).
HEAVY = ("xgboost", "sklearn", "matplotlib", "fastapi", "av", "dask", "onnxruntime")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(path: Path, module: str) -> set[str]:
    """fau modules ``module`` imports anywhere (functions included; TYPE_CHECKING blocks
    excluded: they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "fau")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fau":
                continue
            found.add(target)
            for a in node.names:  # `from . import x` may name a submodule
                found.add(f"{target}.{a.name}")
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        deps = {d for d in _imports(path, name) if d in files and d != name}
        graph[name] = deps
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a list of modules), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            # A package's __init__ importing its submodules is how packages work; a
            # submodule importing its package back (``from .. import x``) closes a circle.
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_inside_fau():
    graph = _graph()
    assert "fau.detector" in graph and "fau.pipeline" in graph
    cycle = _cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_pipeline_is_below_detector_and_video():
    graph = _graph()
    assert "fau.pipeline" in graph["fau.detector"]
    assert "fau.pipeline" in graph["fau.video.detect"]
    assert "fau.detector" not in graph["fau.video.detect"]
    assert not {d for d in graph["fau.pipeline"] if d.startswith(("fau.video", "fau.detector",
                                                                   "fau.serve", "fau.cli"))}


#: The layers of docs/architecture.md, bottom up: a module imports from its own layer or
#: below. A name matches a module and its submodules (the longest match wins).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("fau", "fau.errors", "fau.resources", "fau.files", "fau.limits", "fau.paths",
     "fau.csvsafe", "fau.xmlsafe", "fau.io"),
    ("fau.landmarks",),
    ("fau.au",),
    ("fau.expression", "fau.audio"),
    ("fau.pipeline",),
    ("fau.detector",),
    ("fau.video", "fau.plot"),
    ("fau.report", "fau.export"),
    ("fau.job",),
    ("fau.batch", "fau.serve"),
    ("fau.cli", "fau.__main__"),
)
#: Upward imports by design: `Detector.detect_video` delegates to the video layer (a
#: lazy import inside the method; the video layer sees the detector only as a type).
ALLOWED_UPWARD = {("fau.detector", "fau.video.detect")}


def _layer(module: str) -> int | None:
    best = None
    for i, names in enumerate(LAYERS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > best[1]):
                best = (i, len(n))
    return None if best is None else best[0]


def test_imports_run_downward():
    graph = _graph()
    unplaced = sorted(m for m in graph if _layer(m) is None)
    assert not unplaced, f"modules in no layer of LAYERS (add them): {unplaced}"
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                    if _layer(d) > _layer(m) and (m, d) not in ALLOWED_UPWARD)
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def _package(module: str) -> str:
    """The package a module belongs to: ``fau.video.detect`` -> ``fau.video``; a top-level
    module (``fau.detector``) and ``fau`` itself -> ``fau``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (ROOT / parts[-1]).is_dir() else "fau"


def _private_imports_across_packages() -> list[str]:
    """``from <module of another package> import _name`` anywhere in fau/."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    found = []
    for module, path in sorted(files.items()):
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "fau" or _package(target) == _package(module):
                continue
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} "
                                 f"{a.name} from {target}")
    return found


def test_no_private_helper_is_imported_across_packages():
    """A helper another package needs is public in its module (no leading underscore)."""
    assert _package("fau.video.detect") == "fau.video" and _package("fau.detector") == "fau"
    assert _package("fau.batch") == "fau.batch"
    found = _private_imports_across_packages()
    assert not found, "private names imported from another package:\n" + "\n".join(found)


def _long_functions() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                n = node.end_lineno - start + 1
                if n > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} "
                                 f"{node.name} ({n} lines)")
    return found


def test_no_function_longer_than_120_lines():
    long = _long_functions()
    assert not long, "functions over 120 lines:\n" + "\n".join(long)


def _loaded(code: str) -> dict:
    probe = (
        "import json, sys\n" + code + "\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_fau_loads_no_heavy_library():
    assert _loaded("import fau") == []


def test_fau_help_loads_no_heavy_library():
    code = ("import contextlib, io\nfrom fau.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n")
    assert _loaded(code) == []
    for cmd in ("image", "video", "live", "batch", "serve"):
        assert _loaded(code.replace("['--help']", f"[{cmd!r}, '--help']")) == [], cmd


@pytest.mark.parametrize("name", ["Detector", "AU_NAMES", "EXPRESSIONS", "run_batch",
                                  "load_image", "FauError"])
def test_public_names_resolve(name):
    import fau

    assert getattr(fau, name) is not None
    assert name in fau.__all__
