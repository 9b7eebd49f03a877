"""The public entry points: Remover (one model session, reused and thread-safe) and remove().

The pipeline (numpy, Pillow, scipy) and the inference runtime are imported on first use, not here: a
Remover starts loading its model in a background thread at once, and the first image is decoded
while that thread works (docs/studies/performance-rounds.md, "Cold start: where it went and what is left").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .models.catalog import ModelSpec
from .options import Options, resolve

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from PIL import Image

    from .io.decode import ImageInput
    from .models.store import ModelStore
    from .pipeline import Cutout, Prepared
    from .runtime.base import Backend
    from .runtime.faces import FaceLandmarker

__all__ = ["FACE_LANDMARK_MODEL", "Remover", "remove"]

log = logging.getLogger(__name__)

#: The catalog model that finds the chin and eyes for the id-photo presets (runtime/faces.py).
FACE_LANDMARK_MODEL = "mediapipe-face-landmark"
#: ... and the face detector that finds the face first (BlazeFace full range: bench/id_photo/id_photo_detectors.py).
FACE_DETECTION_MODEL = "mediapipe-face-detection-full"


class Remover:
    """Holds one loaded model and cuts out any number of images, from any number of threads.

    Example:
        >>> remover = Remover()                      # the default model, fetched once and cached
        >>> remover.remove("photo.jpg").save("photo.png")
        >>> alpha = remover.matte("photo.jpg")       # H×W float32 in [0, 1]
    """

    def __init__(self, model: str | ModelSpec | None = None, options: Options | None = None, *,
                 backend: Backend | None = None, settings: Settings | None = None,
                 store: ModelStore | None = None, threads: int | None = None,
                 providers: Sequence[str] | None = None, face_landmarks: bool | None = None,
                 spin_wait: bool | None = None, runtime: str | None = None, concurrency: int = 1) -> None:
        self.options = options or Options()
        self.settings = settings or load_settings()
        # id-photo presets: the face landmark model (FACE_LANDMARK_MODEL) is fetched by the store and
        # loaded on the first ID photo. Without it (face_landmarks=False, and by default when the caller
        # brings its own backend and so manages models itself) the chin is estimated from the face box,
        # about 5% of the head off, and a warning says so.
        # spin_wait: whether onnxruntime's threads busy-wait between steps (None: its default, yes);
        # False for batches, whose decode and finish threads need the cores (runtime/onnx.py).
        # runtime: "auto", "openvino" or "onnxruntime" (runtime/choice.py); None: the settings' (default auto).
        self.runtime = runtime or str(self.settings.runtime.value)
        # concurrency: how many images the caller cuts out at once from its own threads (the server's
        # workers), each with `threads` threads: OpenVINO then runs that many streams (runtime/choice.py).
        self._face_landmarks = face_landmarks if face_landmarks is not None else backend is None
        self._landmarker: FaceLandmarker | None = None
        self._landmarker_lock = threading.Lock()
        if isinstance(model, ModelSpec):
            self.spec = model
        else:
            if store is None:
                store = self._new_store()
            model_id = model or self.settings.model.value or store.catalog.default
            self.spec = store.catalog.get(model_id)
        if self.spec.task != "matting":  # before anything is fetched or loaded for it
            from .errors import ModelError

            raise ModelError("model.wrong-task", f"'{self.spec.id}' is a {self.spec.task} model, not a "
                             "background remover.", hint="Choose a matting model: `alphacut models list`.")
        if backend is None:
            if store is None:
                store = self._new_store()
            path = store.ensure(self.spec.id)
            backend = _load_in_background(path, self.spec, threads=threads or self.settings.threads.value,
                                          providers=providers, optimized_dir=store.optimized_dir,
                                          check=partial(store.check, self.spec.id), spin_wait=spin_wait,
                                          runtime=self.runtime, concurrency=concurrency,
                                          resolution=self.options.resolution)
        self._store = store
        self.backend: Backend = backend
        log.info("Remover: model %s (%s)", self.spec.id, self.spec.checksum[:19])

    def wait_ready(self) -> Remover:
        """Wait until the model is loaded (it loads in the background from construction on).

        Every call waits by itself; this only moves the wait, and a load failure (BackendError),
        to a place of your choosing, e.g. a server's startup.
        """
        from .runtime.background import BackgroundBackend

        if isinstance(self.backend, BackgroundBackend):
            self.backend.wait()
        return self

    @property
    def model_id(self) -> str:
        return self.spec.id

    @property
    def _max_bytes(self) -> int:
        """The largest encoded image this Remover reads (settings: --max-bytes, ALPHACUT_MAX_BYTES)."""
        from .options import DEFAULT_MAX_BYTES

        return int(self.settings.max_bytes.value) or DEFAULT_MAX_BYTES

    def _estimate_peak_bytes(self, size_wh: tuple[int, int], options: Options | None = None, *,
                            input_bytes: int = 0) -> int:
        """The memory one cutout of an image this size adds at its peak (alphacut.cost), before any work."""
        from .cost import estimate_peak_bytes

        opts = options or self.options
        return estimate_peak_bytes(size_wh, opts.resolution or self.spec.input_size, opts, input_bytes=input_bytes,
                                   model_id=self.spec.id)

    def _image_size_wh(self, image: ImageInput) -> tuple[int, int] | None:
        """The image's (w, h) from its header alone, or None when it can't be read (decoding says why)."""
        from .io.decode import peek_size_wh

        return peek_size_wh(image)

    def _check_memory(self, image: ImageInput, options: Options, limit: int | None, *, limit_text: str,
                     hint: str) -> None:
        """Refuse (input.too-costly) an image whose estimated peak memory is above `limit`, from its
        header alone, before anything is decoded. An unreadable header passes: decoding reports it."""
        from .cost import check_fits
        from .io.decode import peek_size_wh

        if limit is None:
            return
        size = peek_size_wh(image)
        if size is None:
            return
        if isinstance(image, (bytes, bytearray, memoryview)):
            nbytes = len(image)
        elif isinstance(image, (str, os.PathLike)):
            nbytes = os.stat(image).st_size
        else:
            nbytes = 0
        name = str(image) if isinstance(image, (str, os.PathLike)) else "The image"
        check_fits(self._estimate_peak_bytes(size, options, input_bytes=nbytes), limit,
                   name=f"{name} ({size[0]}x{size[1]}, model side {options.resolution or self.spec.input_size})",
                   limit_text=limit_text, hint=hint)

    def _new_store(self) -> ModelStore:
        """The model store of this Remover's settings (its home and offline switch)."""
        from .models.store import ModelStore

        return ModelStore(self.settings.home_path, offline=bool(self.settings.offline.value))

    def landmarker(self, options: Options) -> FaceLandmarker | None:
        """The face landmark model when options frame a head (the id-photo presets), else None.

        Loaded on first use; the store fetches it (npm, like the default model) unless offline, else
        ModelError. None without face landmarks (see __init__): the chin is then estimated.
        """
        if options.head_frame is None or not self._face_landmarks:
            return None
        with self._landmarker_lock:
            if self._landmarker is None:
                from .runtime.faces import FULL_RANGE, FaceDetector, FaceLandmarker

                if self._store is None:
                    self._store = self._new_store()
                catalog = self._store.catalog
                landmark_path = self._store.ensure(FACE_LANDMARK_MODEL)  # first: its error names the older model
                detector = FaceDetector(self._store.ensure(FACE_DETECTION_MODEL), config=FULL_RANGE,
                                        runtime=self.runtime, optimized_dir=self._store.optimized_dir,
                                        model_hash=catalog.get(FACE_DETECTION_MODEL).checksum)
                self._landmarker = FaceLandmarker(landmark_path, runtime=self.runtime,
                                                  optimized_dir=self._store.optimized_dir,
                                                  model_hash=catalog.get(FACE_LANDMARK_MODEL).checksum,
                                                  name=FACE_LANDMARK_MODEL, detector=detector)
                log.info("Remover: face detector %s (%s) and landmarks %s (%s) for head framing",
                         FACE_DETECTION_MODEL, catalog.get(FACE_DETECTION_MODEL).checksum[:19],
                         FACE_LANDMARK_MODEL, catalog.get(FACE_LANDMARK_MODEL).checksum[:19])
            return self._landmarker

    def _opts(self, options: Options | None, overrides: dict[str, Any]) -> Options:
        opts = options or self.options
        if not overrides:
            return opts
        changes = resolve(overrides, skip_none=False)  # any name: bg= or background=
        if changes.get("preset") is not None:  # a preset is a whole set of options: it, then the overrides
            return Options.from_kwargs(**changes)
        return Options.from_kwargs(**{**_fields(opts), **changes})

    def cutout(self, image: ImageInput, options: Options | None = None, **overrides: Any) -> Cutout:
        """The composed image, the full-resolution matte and how it was made."""
        from .pipeline import cut

        opts = self._opts(options, overrides)
        return cut(image, self.backend, self.spec, opts, landmarker=self.landmarker(opts), max_bytes=self._max_bytes)

    def remove(self, image: ImageInput, options: Options | None = None, **overrides: Any) -> Image.Image:
        """The cutout as a Pillow image: RGBA, or RGB when a background colour is set."""
        return self.cutout(image, options, **overrides).image

    def matte(self, image: ImageInput, options: Options | None = None, **overrides: Any) -> NDArray[np.float32]:
        """The alpha matte at the image's full resolution: H×W float32 in [0, 1]."""
        from .pipeline import predict_matte

        return predict_matte(image, self.backend, self.spec, self._opts(options, overrides), max_bytes=self._max_bytes)

    def _prepare(self, image: ImageInput, options: Options) -> Prepared:
        """Stage 1 of 3 (decode + preprocess), for batch and video, which pipeline many images."""
        from .pipeline import prepare

        return prepare(image, self.backend, self.spec, options, max_bytes=self._max_bytes)

    def _infer(self, prepared: Prepared) -> NDArray[np.float32]:
        """Stage 2 of 3: the model itself."""
        from .pipeline import infer

        return infer(prepared, self.backend)

    def _finish(self, prepared: Prepared, raw: NDArray[np.float32], options: Options) -> Cutout:
        """Stage 3 of 3: matte, refinement and composition at full resolution."""
        from .pipeline import finish

        return finish(prepared, raw, self.spec, options, landmarker=self.landmarker(options))

    def _matte_from(self, prepared: Prepared, raw: NDArray[np.float32], options: Options) -> NDArray[np.float32]:
        """Stage 3a: the model's output as the full-resolution matte (refined and cleaned)."""
        from .pipeline import matte_from_raw

        return matte_from_raw(prepared, raw, self.spec, options)

    def _compose(self, prepared: Prepared, alpha: NDArray[np.float32], options: Options, *,
                background_rgb: NDArray[np.float32] | None = None) -> Cutout:
        """Stage 3b: a full-resolution matte (e.g. one steadied over video frames) composed as options say.

        background_rgb: the background picture from _background_picture(), decoded once for many frames.
        """
        from .pipeline import compose_cutout

        return compose_cutout(prepared, alpha, self.spec, options, landmarker=self.landmarker(options),
                              background_rgb=background_rgb)

    def _background_picture(self, options: Options, size_wh: tuple[int, int] | None = None) -> NDArray[np.float32] | None:
        """options' background picture decoded (H×W×3 float32, covering size_wh when given), or None."""
        from .composition import background_picture

        return background_picture(options, size_wh)

    def remove_bytes(self, image: ImageInput, options: Options | None = None, **overrides: Any) -> bytes:
        """The cutout encoded in options.format (PNG by default)."""
        from .pipeline import cut, encode_cutout

        opts = self._opts(options, overrides)
        return encode_cutout(cut(image, self.backend, self.spec, opts, landmarker=self.landmarker(opts),
                                 max_bytes=self._max_bytes), opts)


    # The pipeline stages were public methods before 0.2; batch and video use the underscored ones.
    def prepare(self, image: ImageInput, options: Options) -> Prepared:
        """Deprecated: internal (batch and video); use cutout(), matte() or remove_bytes()."""
        _deprecated_stage("prepare")
        return self._prepare(image, options)

    def infer(self, prepared: Prepared) -> NDArray[np.float32]:
        """Deprecated: internal (batch and video); use cutout(), matte() or remove_bytes()."""
        _deprecated_stage("infer")
        return self._infer(prepared)

    def finish(self, prepared: Prepared, raw: NDArray[np.float32], options: Options) -> Cutout:
        """Deprecated: internal (batch and video); use cutout(), matte() or remove_bytes()."""
        _deprecated_stage("finish")
        return self._finish(prepared, raw, options)

    def matte_from(self, prepared: Prepared, raw: NDArray[np.float32], options: Options) -> NDArray[np.float32]:
        """Deprecated: internal (video); use matte()."""
        _deprecated_stage("matte_from")
        return self._matte_from(prepared, raw, options)

    def compose(self, prepared: Prepared, alpha: NDArray[np.float32], options: Options, *,
                background_rgb: NDArray[np.float32] | None = None) -> Cutout:
        """Deprecated: internal (video); use cutout()."""
        _deprecated_stage("compose")
        return self._compose(prepared, alpha, options, background_rgb=background_rgb)

    def background_picture(self, options: Options, size_wh: tuple[int, int] | None = None) -> NDArray[np.float32] | None:
        """Deprecated: internal (video)."""
        _deprecated_stage("background_picture")
        return self._background_picture(options, size_wh)


def _deprecated_stage(name: str) -> None:
    import warnings

    warnings.warn(f"Remover.{name} is internal now (a pipeline stage of batch and video) and will be removed; "
                  "use Remover.cutout, matte, remove or remove_bytes.", DeprecationWarning, stacklevel=3)


def _load_in_background(path: Path, spec: ModelSpec, *, threads: int | None, providers: Sequence[str] | None,
                        optimized_dir: Path | None = None, check: Callable[[], object] | None = None,
                        spin_wait: bool | None = None, runtime: str = "auto", concurrency: int = 1,
                        resolution: int | None = None) -> Backend:
    """The backend for `path` on `runtime` (runtime/choice.py: OpenVINO or onnxruntime), built (the
    runtime imported, the model compiled or loaded from its cache) in its own thread.

    `check` (the store's full sha256 of the model file) runs first in that thread, so a damaged
    file is never loaded; it overlaps the caller's own work (imports, decoding) like the load.
    Running it beside the session's creation instead gained nothing measurable on this 2-core
    machine, so it stays in order (docs/studies/performance-rounds.md, "Model integrity: the hash on
    every load").
    """
    from .runtime.background import BackgroundBackend

    input_side = resolution or spec.input_size  # OpenVINO compiles (or loads) this size with the model

    def build() -> Backend:
        if check is not None:
            check()  # ModelError model.hash-mismatch: nothing is loaded
        from .runtime.choice import load_backend

        return load_backend(path, runtime=runtime, output_index=spec.output_index, threads=threads,
                            providers=providers, name=spec.id, optimized_dir=optimized_dir,
                            model_hash=spec.checksum, spin_wait=spin_wait,
                            input_hw=(input_side, input_side), concurrency=concurrency)

    return BackgroundBackend(build, name=spec.id)


def _fields(opts: Options) -> dict[str, Any]:
    return {name: getattr(opts, name) for name in opts.__dataclass_fields__}


def remove(image: ImageInput, *, model: str | None = None, **options: Any) -> Image.Image:
    """Remove the background from one image; reuse a Remover for many.

    Example:
        >>> import alphacut
        >>> alphacut.remove("photo.jpg", bg="white").save("photo-white.jpg")
    """
    return Remover(model, Options.from_kwargs(**options)).remove(image)
