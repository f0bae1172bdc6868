"""Integrity of the bundled expression model files (SHA-256, as for the landmarker).

``fau/models/SHA256SUMS`` lists, in ``sha256sum`` format, the digest of every expression
model file that ships in ``fau/models/`` (``expression_*.npz``, ``appearance_cnn.onnx``).
`read_checked` reads a file and, when it is one of the bundled files, refuses it unless
its digest matches: a truncated or swapped model file gives a `fau.ModelFileError` naming it,
never silently different scores. Files outside ``fau/models/`` (candidates scored by the
benchmarks) are read as they are.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from ..errors import FauError, ModelFileError
from ..resources import model_path

__all__ = ["read_checked", "bundled_digests", "is_bundled", "DIGESTS_FILE"]

#: The digest list inside ``fau/models/`` (``sha256sum`` format: ``<hex>  <name>``).
DIGESTS_FILE = "SHA256SUMS"


@lru_cache(maxsize=1)
def bundled_digests() -> dict[str, str]:
    """File name → expected SHA-256 (hex) of the bundled expression model files."""
    out: dict[str, str] = {}
    for line in model_path(DIGESTS_FILE).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            out[name.lstrip("*")] = digest.lower()
    return out


def is_bundled(path: str | Path) -> bool:
    """True for a file inside ``fau/models/`` (one whose digest `read_checked` checks)."""
    return Path(path).resolve().parent == model_path(DIGESTS_FILE).parent.resolve()


def read_checked(path: str | Path) -> bytes:
    """Bytes of a model file; a bundled one must match its listed SHA-256.

    Raises
    ------
    ModelFileError
        A bundled file cannot be read, or its digest is wrong or missing from
        ``SHA256SUMS``.
    FauError
        A file outside ``fau/models/`` cannot be read.
    """
    p = Path(path)
    bundled = is_bundled(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        error = ModelFileError if bundled else FauError
        raise error(f"cannot read model file {str(p)!r}: {exc.strerror}") from None
    if not bundled:
        return data
    expected = bundled_digests().get(p.name)
    digest = hashlib.sha256(data).hexdigest()
    if expected is None:
        raise ModelFileError(f"bundled model file {p.name!r} is not listed in fau/models/{DIGESTS_FILE}")
    if digest != expected:
        raise ModelFileError(
            f"bundled model file {p.name!r} is corrupt (sha256 {digest}, expected {expected}); "
            "reinstall fau"
        )
    return data
