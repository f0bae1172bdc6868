"""fau: facial action units and explainable expression scores from a face mesh.

>>> import fau
>>> det = fau.Detector()                          # doctest: +SKIP
>>> det.detect_image("photo.jpg")                 # doctest: +SKIP

fau measures visible facial movements and scores how an expression would likely be
read by people; it does not know what anyone feels. See docs/responsible-use.md.
"""

from .au.geometry import AU_NAMES
from .batch import batch  # fau.batch(...): many videos, joblib or Dask (dask imported lazily)
from .detector import Detector
from .errors import FauError
from .expression.labels import EXPRESSIONS
from .io import load_image

__version__ = "0.1.0"

__all__ = ["Detector", "FauError", "AU_NAMES", "EXPRESSIONS", "batch", "load_image", "__version__"]
