"""Synthetic video clips with exact per-frame alpha, built from still images with ground truth.

A subject (image + alpha from an eval set) moves over a moving scene (pan and zoom of another
image); every frame gets fresh sensor noise and a small exposure wobble, and the clip is
compressed with H.264 as a phone would. The truth of frame t is the alpha the composite was made
with (quantised to 8 bits first, so the composite and its truth agree exactly).

Layout written by :func:`make_clips` (each clip folder is also an eval set for ``alphacut eval``)::

    <out>/manifest.json
    <out>/<clip>/clip.mp4               H.264 (yuv420p), the video to cut out
    <out>/<clip>/images/<clip>_000000.png   frame t as decoded from clip.mp4 (what a model sees)
    <out>/<clip>/gt/<clip>_000000.png       frame t's exact alpha, 8-bit

Needs the ``video`` extra (PyAV, OpenCV).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError, OutputError
from ..video._deps import require_av, require_cv2

__all__ = ["DEFAULT_CLIPS", "ClipSpec", "Still", "load_still", "make_clip", "make_clips", "pick_still"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Still:
    """A subject or a scene: RGB float32 H×W×3 in [0, 1] and its alpha H×W (ones for a scene)."""

    name: str
    rgb: NDArray[np.float32]
    alpha: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ClipSpec:
    """One synthetic clip. `subject`/`scene` are (set, stem) pairs, or '' stems to pick by seed.

    motion: 'sway' (a few pixels, a webcam talking head), 'drift' (slow travel and zoom),
    'walk' (crosses a good part of the frame). framing: 'centre' or 'bottom' (the subject runs
    off the frame's bottom edge, as shoulders do in a webcam shot). cut_at: frame index where a
    second subject/scene pair takes over (a scene cut), or None.
    """

    name: str
    subject: tuple[str, str]
    scene: tuple[str, str]
    size_wh: tuple[int, int] = (640, 360)
    frames: int = 48
    fps: int = 24
    motion: str = "drift"
    framing: str = "centre"
    subject_height: float = 0.7  # subject height as a fraction of the frame height
    cut_at: int | None = None
    subject2: tuple[str, str] | None = None
    scene2: tuple[str, str] | None = None
    noise_sigma: float = 3.0  # per-frame Gaussian sensor noise, in 8-bit levels
    crf: int = 26
    audio: bool = False  # add a quiet AAC tone (exercises audio passthrough)
    seed: int = 0


DEFAULT_CLIPS: tuple[ClipSpec, ...] = (
    ClipSpec("webcam_person", ("davis_people", ""), ("sod_bsds_dev", ""), motion="sway", framing="bottom",
             subject_height=0.95, audio=True, seed=1),
    ClipSpec("person_drift", ("davis_people", ""), ("davis_objects", ""), motion="drift", seed=2),
    ClipSpec("animal_walk", ("davis_animals", ""), ("sod_bsds_dev", ""), motion="walk", subject_height=0.55,
             seed=3),
    ClipSpec("product_turntable", ("ecommerce_synthetic", ""), ("davis_objects", ""), size_wh=(480, 480),
             motion="sway", subject_height=0.75, noise_sigma=2.0, seed=4),
    ClipSpec("object_drift", ("davis_objects", ""), ("sod_bsds_dev", ""), motion="drift", subject_height=0.6,
             seed=5),
    ClipSpec("webcam_cut", ("davis_people", ""), ("sod_bsds_dev", ""), motion="sway", framing="bottom",
             subject_height=0.9, cut_at=24, subject2=("davis_people", ""), scene2=("davis_animals", ""),
             seed=6),
)


# ------------------------------------------------------------------------------------------ stills

def _read_rgb(path: Path) -> NDArray[np.float32]:
    cv2 = require_cv2()
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError("input.undecodable", f"Can't read {path} as an image.")
    rgb: NDArray[np.float32] = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.float32) / np.float32(255)
    return rgb


def _read_alpha(path: Path) -> NDArray[np.float32]:
    from ..io.decode import read_matte  # the one matte reader

    return read_matte(path)


def load_still(evaldata: Path, set_name: str, stem: str, *, as_scene: bool = False) -> Still:
    """One evaldata pair; as a scene, its own subject inpainted away and alpha = 1 everywhere."""
    images = evaldata / set_name / "images"
    found = sorted(images.glob(stem + ".*"))
    if not found:
        raise InputError("input.not-found", f"No image {stem}.* in {images}.")
    rgb = _read_rgb(found[0])
    alpha = _read_alpha(evaldata / set_name / "gt" / f"{stem}.png")
    if as_scene:
        return Still(f"{set_name}/{stem}", _without_subject(rgb, alpha), np.ones(rgb.shape[:2], np.float32))
    if set_name == "grabcut":  # 128 marks 'unknown': call it foreground for compositing
        alpha = np.where(np.abs(alpha - 128 / 255) < 1e-3, np.float32(1), alpha)
    return Still(f"{set_name}/{stem}", rgb, alpha)


def _without_subject(rgb: NDArray[np.float32], alpha: NDArray[np.float32]) -> NDArray[np.float32]:
    """A scene with its own subject inpainted away (OpenCV Telea): the clip's truth says only the
    pasted subject is foreground, so no other salient object may remain for a model to keep."""
    cv2 = require_cv2()
    mask = (alpha > 0.02).astype(np.uint8)
    if not mask.any():
        return rgb
    grow = max(3, round(0.02 * max(mask.shape)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    u8 = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    filled = cv2.inpaint(u8, mask * 255, 7, cv2.INPAINT_TELEA)
    out: NDArray[np.float32] = filled.astype(np.float32) / np.float32(255)
    return out


def _stems(evaldata: Path, set_name: str) -> list[str]:
    manifest = evaldata / "MANIFEST.csv"
    if manifest.is_file():
        with manifest.open(newline="") as fh:
            return sorted(row["stem"] for row in csv.DictReader(fh) if row["set"] == set_name)
    return sorted(p.stem for p in (evaldata / set_name / "gt").glob("*.png"))


def _subject_ok(alpha: NDArray[np.float32], framing: str) -> bool:
    """A subject that fills 3-60% of its image and, unless it will run off the bottom edge,
    touches no image border (a cut-off subject would show a straight edge mid-frame)."""
    fg = alpha > 0.5
    frac = float(fg.mean())
    if not 0.03 <= frac <= 0.6:
        return False
    edges = {"top": fg[0].mean(), "left": fg[:, 0].mean(), "right": fg[:, -1].mean(), "bottom": fg[-1].mean()}
    allowed = {"bottom"} if framing == "bottom" else set()
    return all(v < 0.002 for k, v in edges.items() if k not in allowed)


def pick_still(evaldata: Path, set_name: str, seed: int, *, framing: str = "centre",
               as_scene: bool = False, avoid: Sequence[str] = ()) -> Still:
    """A deterministic choice (by `seed`) among the set's pairs that suit the role, `avoid` last."""
    stems = _stems(evaldata, set_name)
    if not stems:
        raise InputError("input.not-found", f"No pairs in {evaldata / set_name}.")
    order = list(np.random.default_rng(seed).permutation(len(stems)))
    fresh = [i for i in order if f"{set_name}/{stems[i]}" not in avoid]
    for i in fresh + [i for i in order if i not in fresh]:  # reuse a pair only when no other suits
        if as_scene:  # a scene whose own subject is small enough to inpaint away convincingly
            gt = _read_alpha(evaldata / set_name / "gt" / f"{stems[i]}.png")
            if float((gt > 0.5).mean()) <= 0.2:
                return load_still(evaldata, set_name, stems[i], as_scene=True)
            continue
        still = load_still(evaldata, set_name, stems[i])
        if _subject_ok(still.alpha, framing):
            return still
    role = "scene (subject at most 20% of it)" if as_scene else f"{framing} subject"
    raise InputError("input.not-found", f"No pair in {set_name} suits a {role}.")


def _resolve(evaldata: Path, pair: tuple[str, str], seed: int, *, framing: str, as_scene: bool,
             avoid: Sequence[str] = ()) -> Still:
    set_name, stem = pair
    if stem:
        return load_still(evaldata, set_name, stem, as_scene=as_scene)
    return pick_still(evaldata, set_name, seed, framing=framing, as_scene=as_scene, avoid=avoid)


# ------------------------------------------------------------------------------------------ motion

def _bbox(alpha: NDArray[np.float32]) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > 0.02)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


#: Motion runs through one cycle in this many seconds (then back), whatever the clip's length, so
#: the motion per frame is that of the default 48-frame clip at 24 fps.
CYCLE_S = 2.0


def _cycle(spec: ClipSpec, t: int) -> float:
    """Where frame t is in the motion: 0 → 1 over CYCLE_S seconds, then back to 0 (a triangle wave)."""
    x = (t / spec.fps / CYCLE_S) % 2.0
    return x if x <= 1.0 else 2.0 - x


def _subject_affine(spec: ClipSpec, subject: Still, t: int) -> NDArray[np.float64]:
    """2×3 matrix mapping subject-image pixels to frame pixels at frame t."""
    w, h = spec.size_wh
    x0, y0, x1, y1 = _bbox(subject.alpha)
    bw, bh = x1 - x0, y1 - y0
    u = _cycle(spec, t)
    rng = np.random.default_rng(spec.seed)
    phase = float(rng.uniform(0, 2 * math.pi))
    base = spec.subject_height * h / bh
    if spec.motion == "sway":
        dx = 0.012 * w * math.sin(2 * math.pi * 0.8 * u + phase)
        dy = 0.006 * h * math.sin(2 * math.pi * 1.3 * u + phase)
        scale = base * (1 + 0.01 * math.sin(2 * math.pi * 0.5 * u))
    elif spec.motion == "drift":
        dx = 0.12 * w * (u - 0.5)
        dy = 0.02 * h * math.sin(2 * math.pi * u + phase)
        scale = base * (1 + 0.08 * u)
    elif spec.motion == "walk":
        dx = 0.45 * w * (u - 0.5)
        dy = 0.015 * h * abs(math.sin(2 * math.pi * 2 * u))
        scale = base
    else:
        raise ValueError(f"unknown motion {spec.motion!r}")
    cx = w / 2 + dx
    if spec.framing == "bottom":  # the subject's bottom 12% falls below the frame
        top = h - 0.88 * bh * scale + dy
    else:
        top = (h - bh * scale) / 2 + dy
    tx = cx - (x0 + bw / 2) * scale
    ty = top - y0 * scale
    return np.array([[scale, 0, tx], [0, scale, ty]], np.float64)


def _scene_affine(spec: ClipSpec, scene: Still, t: int) -> NDArray[np.float64]:
    """2×3 matrix mapping scene pixels to frame pixels: a slow pan and zoom."""
    w, h = spec.size_wh
    sh, sw = scene.rgb.shape[:2]
    u = _cycle(spec, t)
    cover = max(w / sw, h / sh) * 1.25  # 25% slack to pan in
    zoom = cover * (1 + 0.10 * u)
    rng = np.random.default_rng(spec.seed + 1000)
    direction = rng.uniform(-1, 1, 2)
    slack_x = (sw * zoom - w) / 2
    slack_y = (sh * zoom - h) / 2
    ox = -slack_x * 0.8 * direction[0] * (2 * u - 1)
    oy = -slack_y * 0.8 * direction[1] * (2 * u - 1)
    tx = w / 2 - sw * zoom / 2 + ox
    ty = h / 2 - sh * zoom / 2 + oy
    return np.array([[zoom, 0, tx], [0, zoom, ty]], np.float64)


def render_frame(spec: ClipSpec, subject: Still, scene: Still, t: int,
                 rng: np.random.Generator) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Frame t before compression (RGB uint8) and its exact alpha (uint8)."""
    cv2 = require_cv2()
    w, h = spec.size_wh
    bg = cv2.warpAffine(scene.rgb, _scene_affine(spec, scene, t), (w, h), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REFLECT)
    m = _subject_affine(spec, subject, t)
    fg = cv2.warpAffine(subject.rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(subject.alpha, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0)
    if spec.framing == "bottom":  # the subject continues below its image: extend its last row
        alpha = _extend_down(alpha, m, subject)
    alpha_u8 = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
    a = (alpha_u8.astype(np.float32) / 255)[..., None]
    comp = fg * a + bg * (1 - a)
    gain = 1 + 0.01 * rng.standard_normal()  # auto-exposure wobble
    noisy = comp * gain * 255 + rng.standard_normal(comp.shape).astype(np.float32) * spec.noise_sigma
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8), alpha_u8


def _extend_down(alpha: NDArray[np.float32], m: NDArray[np.float64], subject: Still) -> NDArray[np.float32]:
    """Below the subject image's last row (mapped into the frame), repeat that row's alpha."""
    h = alpha.shape[0]
    last = subject.alpha.shape[0] - 1
    y_last = math.floor(m[1, 1] * last + m[1, 2])
    if 0 <= y_last < h - 1:
        alpha = alpha.copy()
        alpha[y_last + 1:] = alpha[y_last]
    return alpha


# ------------------------------------------------------------------------------------------ encoding

def _encode_h264(frames: Sequence[NDArray[np.uint8]] | Any, path: Path, spec: ClipSpec) -> None:
    av = require_av()
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=spec.fps)
        stream.width, stream.height = spec.size_wh
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(spec.crf), "preset": "medium"}
        audio = None
        if spec.audio:
            audio = out.add_stream("aac", rate=48000)
            audio.layout = "mono"
        n = 0
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
            n += 1
        for packet in stream.encode():
            out.mux(packet)
        if audio is not None:
            _mux_tone(out, audio, seconds=n / spec.fps)
    tmp.replace(path)


def _mux_tone(out: Any, stream: Any, *, seconds: float, hz: float = 440.0) -> None:
    av = require_av()
    rate = 48000
    total = round(seconds * rate)
    chunk = 1024
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        t = (np.arange(start, start + n) / rate).astype(np.float32)
        samples = (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def decode_rgb_frames(path: Path) -> list[NDArray[np.uint8]]:
    """Every frame of a (small) clip as RGB uint8, in order."""
    av = require_av()
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# ------------------------------------------------------------------------------------------ clips

def make_clip(spec: ClipSpec, subjects: Sequence[Still], scenes: Sequence[Still], out_dir: Path,
              *, write_frames: bool = True) -> dict[str, Any]:
    """Render, compress and write one clip; `subjects`/`scenes` have 2 entries when spec.cut_at is set."""
    cv2 = require_cv2()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gt").mkdir(exist_ok=True)
    rng = np.random.default_rng(spec.seed + 7)

    def pair(t: int) -> tuple[Still, Still]:
        k = 1 if spec.cut_at is not None and t >= spec.cut_at else 0
        return subjects[k], scenes[k]

    def frames() -> Any:
        for t in range(spec.frames):
            subject, scene = pair(t)
            rgb, alpha = render_frame(spec, subject, scene, t, rng)
            cv2.imwrite(str(out_dir / "gt" / f"{spec.name}_{t:06d}.png"), alpha)
            yield rgb

    clip = out_dir / "clip.mp4"
    _encode_h264(frames(), clip, spec)
    decoded = 0
    if write_frames:
        (out_dir / "images").mkdir(exist_ok=True)
        for t, rgb in enumerate(decode_rgb_frames(clip)):
            cv2.imwrite(str(out_dir / "images" / f"{spec.name}_{t:06d}.png"), rgb[:, :, ::-1])
            decoded += 1
        if decoded != spec.frames:
            raise OutputError("output.incomplete", f"{clip} decodes to {decoded} frames, not {spec.frames}.")
    info = asdict(spec)
    info.update(subjects=[s.name for s in subjects], scenes=[s.name for s in scenes],
                clip_bytes=clip.stat().st_size)
    log.info("clip %s: %d frames, %s, %d bytes", spec.name, spec.frames, info["subjects"], info["clip_bytes"])
    return info


def make_clips(evaldata: Path, out: Path, specs: Sequence[ClipSpec] = DEFAULT_CLIPS, *,
               frames: int | None = None, seed: int = 0,
               on_clip: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Build every clip of `specs` from `evaldata` into `out`; returns (and writes) the manifest."""
    if out.exists() and any(out.iterdir()):
        raise OutputError("output.exists", f"{out} is not empty.", hint="Pick a new folder or empty it.")
    out.mkdir(parents=True, exist_ok=True)
    used: list[str] = []
    clips = []
    for spec in specs:
        if frames is not None:
            cut = None if spec.cut_at is None else min(spec.cut_at, frames // 2)
            spec = replace(spec, frames=frames, cut_at=cut)
        spec = replace(spec, seed=spec.seed + 100 * seed)
        subjects = [_resolve(evaldata, spec.subject, spec.seed, framing=spec.framing, as_scene=False, avoid=used)]
        scenes = [_resolve(evaldata, spec.scene, spec.seed, framing=spec.framing, as_scene=True, avoid=used)]
        if spec.cut_at is not None:
            subjects.append(_resolve(evaldata, spec.subject2 or spec.subject, spec.seed + 50,
                                     framing=spec.framing, as_scene=False, avoid=used + [subjects[0].name]))
            scenes.append(_resolve(evaldata, spec.scene2 or spec.scene, spec.seed + 50, framing=spec.framing,
                                   as_scene=True, avoid=used + [scenes[0].name]))
        used += [s.name for s in subjects + scenes]
        if on_clip:
            on_clip(spec.name)
        clips.append(make_clip(spec, subjects, scenes, out / spec.name))
    manifest = {"evaldata": str(evaldata), "seed": seed, "clips": clips}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest



def samples_clip(samples: Path, out_dir: Path, *, frames: int = 36, matte: NDArray[np.float32] | None = None
                 ) -> dict[str, Any]:
    """A small webcam-like clip from the bundled samples: astronaut.jpg over a pan of rocket.jpg.

    The subject's alpha is `matte` (default: the default model's matte of the still photo); the
    composite is built with it, so it is the clip's exact per-frame truth. 480×270, H.264 + AAC.
    """
    rgb = _read_rgb(samples / "astronaut.jpg")
    if matte is None:
        from ..api import Remover

        matte = Remover().matte(str(samples / "astronaut.jpg"))
    subject = Still("samples/astronaut", rgb, np.asarray(matte, np.float32))
    scene = Still("samples/rocket", _read_rgb(samples / "rocket.jpg"), np.ones((1, 1), np.float32))
    spec = ClipSpec("samples_astronaut", ("samples", "astronaut"), ("samples", "rocket"), size_wh=(480, 270),
                    frames=frames, motion="sway", framing="bottom", subject_height=0.95, audio=True, crf=28, seed=9)
    return make_clip(spec, [subject], [scene], out_dir)
