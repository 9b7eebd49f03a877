"""The face landmark model's plumbing without the model: its fetch from MediaPipe's packed assets (fake
npm), the crop geometry, the refusal of a face the model does not confirm, and when a Remover loads it.
The model itself is tested in tests/integration/test_id_photo_real.py."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from alphacut import Options, Remover
from alphacut.errors import InputError, ModelError
from alphacut.models.catalog import load_catalog
from alphacut.models.store import ModelStore
from alphacut.runtime.fake import FakeBackend

from ..models.test_store import PKG, VERSION, FakeNpm, _catalog, _payload, _sha, _spec
from ..models.test_store import store_npm as _fake_npm
from ..portraits import BACKGROUND, draw_portrait

store_npm = pytest.fixture(_fake_npm.__wrapped__, name="store_npm")  # the fake npm client of test_store
INNER = "/third_party/mediapipe/modules/face_landmark/face_landmark.tflite"


def _packed_tarball(path: Path, files: dict[str, bytes]) -> None:
    """An npm tarball like @mediapipe/face_mesh's: one .data file and its loader script with the offsets."""
    data, entries, pos = b"", [], 0
    for name, blob in files.items():
        entries.append({"filename": name, "start": pos, "end": pos + len(blob)})
        data += blob
        pos += len(blob)
    loader = ("var Module = {}; (function() { function loadPackage(metadata) {} loadPackage("
              + json.dumps({"files": entries, "remote_package_size": pos}) + "); })();").encode()
    with tarfile.open(path, "w:gz") as tf:
        for name, blob in (("package/x_packed_assets.data", data), ("package/x_packed_assets_loader.js", loader)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))


def _asset_spec(model_id: str, final: bytes, asset: bytes, *, inner: str = INNER):
    source = {"kind": "npm", "package": PKG, "version": VERSION, "resource": f"x_packed_assets.data:{inner}",
              "resource_checksum": _sha(asset)}
    return _spec(model_id, final, source)


def test_the_catalog_entry_is_pinned():
    spec = load_catalog().get("mediapipe-face-landmark")
    assert spec.task == "face-landmarks" and spec.verified and spec.input_size == 192
    [source] = spec.sources
    assert source.package == "@mediapipe/face_mesh" and source.transform == "tflite-to-onnx"
    assert source.resource_checksum == "sha256:c603fa6149219a3e9487dc9abd7a0c24474c77263273d24868378cdf40aa26d1"
    from alphacut.models.transforms import TRANSFORMS

    assert "tflite-to-onnx" in TRANSFORMS


def test_a_packed_asset_is_taken_out_by_its_offsets_and_verified(tmp_path, store_npm: FakeNpm):
    asset = _payload(5000, seed=3)
    _packed_tarball(store_npm.tarball, {"/other.binarypb": b"x" * 123, INNER: asset, "/last.tflite": b"y" * 9})
    store = ModelStore(tmp_path / "home", catalog=_catalog(_asset_spec("lm", asset, asset)), npm=str(store_npm.exe))
    assert store.ensure("lm").read_bytes() == asset
    assert len(store_npm.calls) == 1


def test_a_packed_asset_with_other_bytes_is_refused(tmp_path, store_npm: FakeNpm):
    asset = _payload(5000, seed=3)
    _packed_tarball(store_npm.tarball, {INNER: asset[:-1] + b"!"})
    store = ModelStore(tmp_path / "home", catalog=_catalog(_asset_spec("lm", asset, asset)), npm=str(store_npm.exe))
    with pytest.raises(ModelError) as err:
        store.ensure("lm")
    assert err.value.code == "model.hash-mismatch"
    assert not store.is_cached("lm") and not list((tmp_path / "home" / "models").glob("lm.onnx*[!k]"))


def test_a_missing_packed_asset_names_the_close_ones(tmp_path, store_npm: FakeNpm):
    asset = _payload(100)
    _packed_tarball(store_npm.tarball, {INNER: asset})
    spec = _asset_spec("lm", asset, asset, inner=INNER.replace("face_landmark.tflite", "face_landmarks.tflite"))
    store = ModelStore(tmp_path / "home", catalog=_catalog(spec), npm=str(store_npm.exe))
    with pytest.raises(ModelError) as err:
        store.ensure("lm")
    assert err.value.code == "model.fetch-failed" and "face_landmark.tflite" in str(err.value)


@pytest.mark.parametrize("angle", [0.0, 0.3])
@pytest.mark.parametrize("side", [80.0, 1000.0])  # 1000: reduced with INTER_AREA before the warp
def test_a_crop_maps_back_to_the_image(angle, side):
    import cv2

    from alphacut.runtime.faces import _crop

    img = np.zeros((1200, 1400, 3), np.uint8)
    dot = (700.0, 580.0)
    r = max(2, int(side / 60))
    cv2.circle(img, (int(dot[0]), int(dot[1])), r, (255, 255, 255), -1)
    crop, to_image = _crop(cv2, img, (690.0, 600.0), side, angle, 192)
    assert crop.shape == (192, 192, 3) and crop.dtype == np.float32 and crop.max() <= 1.0
    weights = crop[:, :, 0]
    ys, xs = np.mgrid[:192, :192]
    u, v = float((xs * weights).sum() / weights.sum()), float((ys * weights).sum() / weights.sum())
    x, y = to_image @ np.array([u + 0.5, v + 0.5, 1.0])  # pixel centres
    assert abs(x - dot[0] - 0.5) <= 1.5 + side / 192 and abs(y - dot[1] - 0.5) <= 1.5 + side / 192, (x, y)


def _constant_landmark_model(path: Path, presence_logit: float) -> Path:
    """An ONNX model shaped like the converted face mesh model whose output ignores the picture."""
    from onnx import TensorProto, helper, numpy_helper

    bias = np.zeros((1, 1405), np.float32)
    bias[0, :1404] = np.tile([96.0, 96.0, 0.0], 468)
    bias[0, 1404] = presence_logit
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
             helper.make_node("Gemm", ["flat", "w", "b"], ["outputs"])]
    graph = helper.make_graph(nodes, "constant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 192, 192])],
                              [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, [1, 1405])],
                              initializer=[numpy_helper.from_array(np.zeros((3, 1405), np.float32), "w"),
                                           numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def test_a_face_the_landmark_model_does_not_confirm_is_refused(tmp_path):
    from alphacut.ops.pixels import u8_to_float
    from alphacut.portrait import place_portrait
    from alphacut.runtime.faces import FaceLandmarker, detect_faces

    p = draw_portrait()
    alpha = (np.abs(p.rgb.astype(np.float32) - np.float32(BACKGROUND)).max(axis=2) > 30).astype(np.float32)
    options = Options.from_kwargs(preset="id-photo")
    no_face = FaceLandmarker(_constant_landmark_model(tmp_path / "no.onnx", -10.0))
    with pytest.raises(InputError) as err:
        place_portrait(u8_to_float(p.rgb), alpha, options, no_face)
    assert err.value.code == "input.no-face" and err.value.hint
    face = FaceLandmarker(_constant_landmark_model(tmp_path / "yes.onnx", 10.0))
    assert face.locate(p.rgb, detect_faces(p.rgb)[0]).presence > 0.99


def test_a_remover_loads_the_landmark_model_only_for_head_framing(tmp_path, tiny_spec):
    portrait = draw_portrait().rgb
    # its own backend: the caller manages models, so no landmark model unless asked for (a warning says so)
    assert Remover(tiny_spec, backend=FakeBackend()).landmarker(Options.from_kwargs(preset="id-photo")) is None
    offline = ModelStore(tmp_path / "home", offline=True)
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(256, 256)), store=offline, face_landmarks=True)
    assert remover.landmarker(Options()) is None
    remover.cutout(portrait, Options.from_kwargs(size_wh="300x300"))  # no head framing: nothing fetched
    with pytest.raises(ModelError) as err:  # offline and not cached: says how to fetch it
        remover.cutout(portrait, Options.from_kwargs(preset="id-photo"))
    assert err.value.code == "model.not-cached" and "alphacut models fetch mediapipe-face-landmark" in (err.value.hint or "")
    with pytest.raises(ModelError):  # every entry point asks for it: remove_bytes (the server's) too
        remover.remove_bytes(portrait, Options.from_kwargs(preset="id-photo-us"))


def test_the_landmark_model_is_not_a_background_remover(tmp_path):
    spec = load_catalog().get("mediapipe-face-landmark")
    with pytest.raises(ModelError) as err:
        Remover(spec, backend=FakeBackend())
    assert err.value.code == "model.wrong-task" and err.value.hint
