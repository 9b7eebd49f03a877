"""alphacut: background removal that runs entirely on your own hardware.

Example:
    >>> import alphacut
    >>> alphacut.remove("photo.jpg").save("photo.png")
"""

from .api import Remover, remove
from .errors import AlphacutError, BackendError, InputError, ModelError, OptionsError, OutputError
from .options import Color, Options, OutputFormat
from .pipeline import Cutout, CutoutInfo

__version__ = "0.1.0"

__all__ = [
    "AlphacutError",
    "BackendError",
    "Color",
    "Cutout",
    "CutoutInfo",
    "InputError",
    "ModelError",
    "Options",
    "OptionsError",
    "OutputError",
    "OutputFormat",
    "Remover",
    "__version__",
    "remove",
]
