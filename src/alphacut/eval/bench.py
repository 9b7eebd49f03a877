"""`alphacut bench`: alphacut and its peers on the same weights and the same images, in one run.

Every number comes from a fresh child process, timed by the parent (spawn to exit) and measured with
os.wait4 (peak RSS of that child alone), so cold start and memory are honest and every tool is
measured the same way:

- batch images/s: the whole folder in one process, files in → matte files out, model load excluded.
  alphacut runs through its real CLI (`alphacut remove FOLDER -o OUT -f mask`), i.e. the pipelined
  batch runner; the peers through bench/peer_rembg.py and bench/peer_imgly.mjs (serial loops).
- warm s/image: file in → matte file out for one image at a time, after a warm-up image, median.
- cold start: a fresh process cutting out one image (spawn → exit, the file is written), against the
  same tool's warm time for that same image.
- MAE of every tool's mattes against the ground truth, on the same images.

The bench set (mixed sizes, several >= 12 MP photos, every image with its GT) comes from
make_bench_set(), built from ../shared/evaldata.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..io.files import IMAGE_SUFFIXES
from ..models.catalog import Catalog, SourceKind

__all__ = [
    "DEFAULT_BENCH_MIX",
    "PEERS",
    "BenchItem",
    "BenchReport",
    "ToolConfig",
    "ToolResult",
    "machine_description",
    "mae_per_image",
    "make_bench_set",
    "run_compare",
    "spawn_measured",
    "splice_report",
    "to_json",
    "to_markdown",
]

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[3]
BENCH_DIR = REPO / "bench"
PEERS = ("rembg", "imgly")
from ..options import FAST_MODEL, FAST_RESOLUTION


# ------------------------------------------------------------------------------------ the bench set
@dataclass(frozen=True, slots=True)
class BenchItem:
    """One bench image: evaldata pair `set/stem` (by sorted position `pick` = fraction in [0, 1)),
    at its own size (size_wh None) or centre-cropped to size_wh's aspect and upscaled to size_wh."""

    set: str
    pick: float
    size_wh: tuple[int, int] | None = None


# 12 images at their own size (2 per set with binary or exact GT) and 4 photos of 12 and 24 MP.
# adobe_crops (320 px soft-alpha crops) is left out: every tool scores ~0.36 MAE there and it would
# dominate the mean. The order interleaves large and small images, as a real folder would.
DEFAULT_BENCH_MIX: tuple[BenchItem, ...] = (
    BenchItem("davis_people", 0.0),
    BenchItem("grabcut", 0.0),
    BenchItem("davis_people", 0.25, (4240, 2832)),  # 12.0 MP
    BenchItem("ebay_products", 0.0),
    BenchItem("davis_animals", 0.0),
    BenchItem("davis_objects", 0.25, (6000, 4000)),  # 24.0 MP
    BenchItem("ecommerce_synthetic", 0.0),
    BenchItem("davis_objects", 0.0),
    BenchItem("davis_animals", 0.25, (4240, 2832)),  # 12.0 MP
    BenchItem("grabcut", 0.5),
    BenchItem("davis_people", 0.5),
    BenchItem("ebay_products", 0.25, (4900, 4900)),  # 24.0 MP
    BenchItem("davis_animals", 0.5),
    BenchItem("davis_objects", 0.5),
    BenchItem("ebay_products", 0.5),
    BenchItem("ecommerce_synthetic", 0.5),
)


def _pairs(evaldata: Path, set_name: str) -> list[tuple[Path, Path]]:
    images = evaldata / set_name / "images"
    gts = evaldata / set_name / "gt"
    if not images.is_dir() or not gts.is_dir():
        raise InputError("input.not-found", f"{evaldata / set_name} has no images/ and gt/ folders.",
                         hint="Point --evaldata at ../shared/evaldata.")
    out = []
    for img in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        gt = gts / f"{img.stem}.png"
        if gt.is_file():
            out.append((img, gt))
    if not out:
        raise InputError("input.not-found", f"No image in {images} has a GT in {gts}.")
    return out


def _centre_crop_box(w: int, h: int, aspect: float) -> tuple[int, int, int, int]:
    """The largest centred box of the given width/height aspect inside w×h."""
    if w / h > aspect:
        cw = round(h * aspect)
        x = (w - cw) // 2
        return (x, 0, x + cw, h)
    ch = round(w / aspect)
    y = (h - ch) // 2
    return (0, y, w, y + ch)


def make_bench_set(evaldata: Path, out: Path, *, mix: Sequence[BenchItem] = DEFAULT_BENCH_MIX,
                   jpeg_quality: int = 90) -> dict[str, Any]:
    """Write out/images, out/gt and out/manifest.json from evaldata pairs; deterministic.

    Native images are copied byte for byte with their GT. Upscaled ones are centre-cropped to the
    target aspect (image and GT alike), resized with Lanczos (image, saved as JPEG) and bilinear (GT,
    so a binary GT gets a soft edge a few pixels wide instead of staircases).
    """
    from PIL import Image

    if out.exists() and any(out.iterdir()):
        raise InputError("input.exists", f"{out} exists and is not empty.", hint="Remove it or choose another --out.")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, item in enumerate(mix):
        pairs = _pairs(evaldata, item.set)
        img_path, gt_path = pairs[min(len(pairs) - 1, math.floor(item.pick * len(pairs)))]
        name = f"{i:02d}_{item.set}_{img_path.stem}"
        unknown = item.set == "grabcut"  # 128 = unknown band (evaldata README): not scored
        if item.size_wh is None:
            dst = out / "images" / f"{name}{img_path.suffix.lower()}"
            shutil.copyfile(img_path, dst)
            shutil.copyfile(gt_path, out / "gt" / f"{name}.png")
            with Image.open(dst) as im:
                w, h = im.size
        else:
            if unknown:
                raise InputError("input.invalid", "grabcut GT has an unknown band; don't upscale it.")
            w, h = item.size_wh
            with Image.open(img_path) as im, Image.open(gt_path) as g:
                box = _centre_crop_box(im.width, im.height, w / h)
                big = im.convert("RGB").crop(box).resize((w, h), Image.Resampling.LANCZOS)
                big.save(out / "images" / f"{name}.jpg", quality=jpeg_quality)
                g.convert("L").crop(box).resize((w, h), Image.Resampling.BILINEAR).save(out / "gt" / f"{name}.png")
            dst = out / "images" / f"{name}.jpg"
        entries.append({"name": name, "file": dst.name, "source": f"{item.set}/{img_path.name}",
                        "width": w, "height": h, "upscaled": item.size_wh is not None, "gt_unknown_128": unknown})
    manifest = {"made_by": "alphacut.eval.bench.make_bench_set", "evaldata": str(evaldata), "images": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


# ------------------------------------------------------------------------------------------ quality
def _read_alpha(path: Path) -> NDArray[np.float32]:
    from ..io.decode import read_matte

    return read_matte(path)


def _unknown_flags(gt_dir: Path) -> dict[str, bool]:
    manifest = gt_dir.parent / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {e["name"]: bool(e.get("gt_unknown_128")) for e in data.get("images", [])}
    return {}


def mae_per_image(pred_dir: Path, gt_dir: Path, stems: Sequence[str]) -> dict[str, float]:
    """MAE of pred_dir/<stem>.png (its alpha, or the grey level of a mask) against gt_dir/<stem>.png.

    GT pixels equal to 128 are not scored where the bench manifest marks the GT as having an unknown
    band (grabcut). A missing or wrongly sized prediction raises InputError: a tool that did not
    produce every matte must not get a score.
    """
    unknown = _unknown_flags(gt_dir)
    out: dict[str, float] = {}
    for stem in stems:
        pred_path, gt_path = pred_dir / f"{stem}.png", gt_dir / f"{stem}.png"
        if not pred_path.is_file():
            raise InputError("eval.not-found", f"{pred_path} is missing: the tool wrote no matte for {stem}.")
        if not gt_path.is_file():
            raise InputError("eval.not-found", f"{gt_path} is missing: no ground truth for {stem}.")
        pred, gt = _read_alpha(pred_path), _read_alpha(gt_path)
        if pred.shape != gt.shape:
            raise InputError("eval.size-mismatch", f"{pred_path} is {pred.shape[1]}x{pred.shape[0]}, its GT "
                             f"{gt.shape[1]}x{gt.shape[0]}.")
        diff = np.abs(pred - gt)
        if unknown.get(stem):
            diff = diff[np.rint(gt * 255) != 128]
        out[stem] = float(diff.mean())
    return out


# ---------------------------------------------------------------------------------- child processes
@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    peak_rss_mb: float
    cpu_s: float  # user + system CPU time of the child: steadier than wall time on a shared machine
    returncode: int
    stdout: str
    stderr: str


#: Runs the measured command as its own child and reports its wall time and rusage. Needed because
#: Linux hands a spawned child the peak RSS of the process it was spawned from (exec records the old
#: address space's high-water mark in the child's ru_maxrss): measured straight from a large parent
#: (a test run that loaded the model, the bench after scoring 24 MP mattes) a child's "peak" would be
#: the parent's. This launcher is a few MB, so the figure is the command's own.
_LAUNCHER = r"""
import json, os, sys, time
report, cmd = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
with open(report, "w") as fh:
    json.dump({"wall_s": wall, "maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
               "status": status}, fh)
"""


def spawn_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run cmd to completion: wall time spawn → exit and the command's own peak RSS and CPU (os.wait4,
    taken by a small launcher process, see _LAUNCHER)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="alphacut-spawn-") as tmp:
        report = Path(tmp) / "rusage.json"
        launcher = subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), *cmd], stdout=out, stderr=err,
                                  env=env, cwd=cwd, check=False)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if launcher.returncode != 0 or not report.is_file():
            return Measured(wall_s=0.0, peak_rss_mb=0.0, cpu_s=0.0, returncode=launcher.returncode or 1,
                            stdout=stdout, stderr=stderr + f"\n(launcher failed with exit code {launcher.returncode})")
        data = json.loads(report.read_text())
        return Measured(wall_s=float(data["wall_s"]), peak_rss_mb=data["maxrss_kb"] / 1024, cpu_s=float(data["cpu_s"]),
                        returncode=os.waitstatus_to_exitcode(int(data["status"])), stdout=stdout, stderr=stderr)


def _child_env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2])
    pp = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + pp if pp else ""), "PYTHONUNBUFFERED": "1"}


# What the `alphacut` console script runs (pyproject [project.scripts]).
_CLI = "import sys; from alphacut.cli import entry; sys.argv[0] = 'alphacut'; entry()"

# Warm, serial, file in -> matte file out, one image at a time after a warm-up image.
_WARM_WORKER = r"""
import json, sys, time
from pathlib import Path
import alphacut
from alphacut.options import Options
from alphacut.config import load_settings
args = json.loads(sys.argv[1])
settings = load_settings({"home": args["home"]} if args["home"] else {})
remover = alphacut.Remover(args["model"], settings=settings, threads=args["threads"])
opts = Options.from_kwargs(format="mask", resolution=args["resolution"])
paths = [Path(p) for p in args["images"]]
out = Path(args["out"])
remover.remove_bytes(paths[0], opts)
times = {}
for p in paths:
    t = time.perf_counter()
    (out / (p.stem + ".png")).write_bytes(remover.remove_bytes(p, opts))
    times[p.stem] = time.perf_counter() - t
print(json.dumps({"per_image_file_s": times}))
"""


@dataclass(frozen=True, slots=True)
class ToolConfig:
    """One row of the comparison: a tool and how it is run."""

    label: str
    kind: str  # "alphacut", "rembg" or "imgly"
    model: str | None = None  # alphacut model id
    resolution: int | None = None
    fmt: str = "mask"  # alphacut output format ("mask" = what the peers write; "png" = the default cutout)
    warm_and_cold: bool = True


@dataclass(frozen=True, slots=True)
class ToolResult:
    label: str
    images: int
    batch_s: float  # median over repeats
    batch_runs_s: tuple[float, ...]
    images_per_s: float
    process_wall_s: float  # spawn → exit of the batch run: imports, model load, warm-up, batch
    process_cpu_s: float  # user + system CPU of that process (median over repeats)
    warm_s_per_image: float | None
    cold_start_s: float | None
    warm_same_image_s: float | None
    peak_rss_mb: float  # max over the batch runs
    mae: float  # mean over images
    mae_per_image: dict[str, float] = field(default_factory=dict)
    notes: str = ""

    @property
    def cold_ratio(self) -> float | None:
        if self.cold_start_s is None or not self.warm_same_image_s:
            return None
        return self.cold_start_s / self.warm_same_image_s


@dataclass(frozen=True, slots=True)
class BenchReport:
    folder: str
    images: int
    megapixels: float
    sizes: str
    results: tuple[ToolResult, ...]
    command: str
    machine: str
    load_before: str
    load_after: str
    model_file: str
    models: str = ""  # which model each alphacut row ran, when not all the same file


def _peer_cmd(kind: str, model_file: Path, images: Path, out: Path, json_path: Path, *, limit: int | None = None,
              warmup: bool = True) -> list[str]:
    extra = ([] if limit is None else ["--limit", str(limit)]) + ([] if warmup else ["--no-warmup"])
    if kind == "rembg":
        py = BENCH_DIR / ".envs" / "rembg" / "bin" / "python"
        return [str(py), str(BENCH_DIR / "peer_rembg.py"), "--model", str(model_file), "--images", str(images),
                "--out", str(out), "--json", str(json_path), *extra]
    node = shutil.which("node") or "node"
    return [node, str(BENCH_DIR / "peer_imgly.mjs"), "--model", str(model_file), "--images", str(images),
            "--out", str(out), "--json", str(json_path), *extra]


def ensure_peers(peers: Sequence[str]) -> None:
    """Install missing peers with bench/setup_peers.sh; InputError with the reason when that fails."""
    missing = []
    for p in peers:
        if p == "rembg" and not (BENCH_DIR / ".envs" / "rembg" / "bin" / "python").exists():
            missing.append(p)
        if p == "imgly" and not (BENCH_DIR / ".envs" / "imgly" / "node_modules" / "@imgly").is_dir():
            missing.append(p)
    if not missing:
        return
    script = BENCH_DIR / "setup_peers.sh"
    if not script.is_file():
        raise InputError("bench.peers-missing", f"{', '.join(missing)} not installed and {script} is not there.",
                         hint="Run alphacut bench --compare from a clone of the alphacut repository.")
    log.warning("installing peers %s with %s", ", ".join(missing), script)
    proc = subprocess.run(["bash", str(script), *missing], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InputError("bench.peers-missing", f"Could not install {', '.join(missing)}: "
                         f"{(proc.stderr or proc.stdout).strip()[-800:]}",
                         hint=f"Run {script} {' '.join(missing)} yourself and read its message.")


class _Runner:
    def __init__(self, images: Path, stems: list[str], work: Path, *, home: Path | None, threads: int | None,
                 model_file: Path) -> None:
        self.images, self.stems, self.work = images, stems, work
        self.home, self.threads, self.model_file = home, threads, model_file
        self.env = _child_env()

    def _alphacut_cli(self, cfg: ToolConfig, *args: str) -> list[str]:
        cmd = [sys.executable, "-c", _CLI]
        if self.home is not None:
            cmd += ["--home", str(self.home)]
        cmd += ["remove", *args, "-f", cfg.fmt, "-q", "--overwrite"]
        if cfg.model:
            cmd += ["-m", cfg.model]
        if cfg.resolution:
            cmd += ["--resolution", str(cfg.resolution)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        return cmd

    def batch(self, cfg: ToolConfig, rep: int) -> tuple[float, Measured, Path, dict[str, Any]]:
        out = self.work / f"{cfg.label}.batch{rep}".replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        if cfg.kind == "alphacut":
            m = spawn_measured(self._alphacut_cli(cfg, str(self.images), "-o", str(out)), env=self.env)
            _check(m, cfg.label)
            found = re.search(r"done, \d+ skipped, (\d+) failed in ([0-9.]+) s", m.stderr)
            if not found or int(found.group(1)):
                raise RuntimeError(f"{cfg.label}: unexpected output: {m.stderr[-1500:]}")
            # The model loads in the background while the first images decode: its load is not batch
            # time (as for the peers, timed after session creation).
            waited = re.search(r"([0-9.]+) s of it waiting for the model to load", m.stderr)
            return float(found.group(2)) - (float(waited.group(1)) if waited else 0.0), m, out, {}
        js = out.with_suffix(".json")
        # rembg's batch starts cold after session creation, like alphacut's (first inference included);
        # imgly creates its session inside its first call, so it gets one warm-up call to exclude model load.
        m = spawn_measured(_peer_cmd(cfg.kind, self.model_file, self.images, out, js, warmup=cfg.kind == "imgly"),
                           env=self.env)
        _check(m, cfg.label)
        data = json.loads(js.read_text())
        return float(data["batch_s"]), m, out, data

    def cold(self, cfg: ToolConfig, first: Path) -> Measured:
        out = self.work / f"{cfg.label}.cold".replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        if cfg.kind == "alphacut":
            m = spawn_measured(self._alphacut_cli(cfg, str(first), "-o", str(out / f"{first.stem}.png")),
                               env=self.env)
        else:
            single = self.work / "cold_input"
            if not single.is_dir():
                single.mkdir()
                shutil.copyfile(first, single / first.name)
            m = spawn_measured(_peer_cmd(cfg.kind, self.model_file, single, out, out / "cold.json", warmup=False),
                               env=self.env)
        _check(m, cfg.label)
        return m

    def warm(self, cfg: ToolConfig, paths: list[Path]) -> dict[str, float]:
        """alphacut only: the peers report their warm per-image times from the batch run itself."""
        out = self.work / f"{cfg.label}.warm".replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        args = {"home": str(self.home) if self.home else None, "model": cfg.model, "threads": self.threads,
                "resolution": cfg.resolution, "images": [str(p) for p in paths], "out": str(out)}
        m = spawn_measured([sys.executable, "-c", _WARM_WORKER, json.dumps(args)], env=self.env)
        _check(m, cfg.label)
        return dict(json.loads(m.stdout.strip().splitlines()[-1])["per_image_file_s"])


def _check(m: Measured, label: str) -> None:
    if m.returncode != 0:
        raise RuntimeError(f"{label} exited with {m.returncode}: {m.stderr.strip()[-2000:]}")


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def _models_note(catalog: Catalog, default_id: str, weights_id: str, fast: bool) -> str:
    if default_id == weights_id:
        return "alphacut runs the same file." if not fast else \
            f"alphacut runs the same file; its --fast row runs `{FAST_MODEL}`."
    spec = catalog.get(default_id)
    return (f"alphacut's default row runs `{default_id}` ({spec.description}), derived from that file on this "
            f"machine; the `alphacut -m {weights_id}` row runs the very file the peers run"
            + (f"; the --fast row runs `{FAST_MODEL}`." if fast else "."))


def published_weights(catalog: Catalog, model_id: str) -> str:
    """The model a derived model is made from, followed to the downloaded file (itself if not derived)."""
    seen = {model_id}
    spec = catalog.get(model_id)
    while spec.sources and spec.sources[0].kind is SourceKind.DERIVE and spec.sources[0].base:
        base = spec.sources[0].base
        if base in seen:
            break
        seen.add(base)
        spec = catalog.get(base)
    return spec.id


def run_compare(folder: Path, *, gt: Path | None = None, peers: Sequence[str] = (), fast: bool = False,
                resolution: int | None = None, model: str | None = None, threads: int | None = None,
                home: Path | None = None, repeats: int = 1, cutout: bool = False, command: str = "",
                work: Path | None = None) -> BenchReport:
    """Measure alphacut (and peers on the same weights) on folder; see the module docstring."""
    from PIL import Image

    from ..config import load_settings
    from ..models.store import ModelStore

    images = folder / "images" if (folder / "images").is_dir() else folder
    gt_dir = gt if gt is not None else (folder / "gt" if (folder / "gt").is_dir() else None)
    if gt_dir is None:
        raise InputError("input.not-found", f"No ground truth for {folder}.",
                         hint="Pass --gt DIR, or use a folder made by bench/make_bench_set.py (images/ + gt/).")
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError("input.not-found", f"No images in {images}.")
    stems = [p.stem for p in paths]
    sizes = []
    for p in paths:
        with Image.open(p) as im:
            sizes.append(im.size)
    unknown_peers = [p for p in peers if p not in PEERS]
    if unknown_peers:
        raise InputError("options.invalid", f"Unknown peer(s) {', '.join(unknown_peers)}; use {', '.join(PEERS)}.")
    settings = load_settings({"home": home} if home else {})
    store = ModelStore(settings.home_path, offline=True)
    default_id = str(model or settings.model.value or store.catalog.default)
    # The peers run the published weights: the file alphacut's model is derived from, if it is derived
    # (the default int8 model is quantized from the fp16 file on this machine).
    weights_id = published_weights(store.catalog, default_id)
    model_file = store.ensure(weights_id)
    if peers:
        ensure_peers(peers)
    if (fast or resolution) and FAST_MODEL not in store.catalog.models:
        raise InputError("model.unknown", f"--fast needs the {FAST_MODEL} model, which this catalog lacks.",
                         hint=f"Update alphacut, or `alphacut models add {FAST_MODEL} FILE ...` into --home.")
    configs = [ToolConfig("alphacut", "alphacut", model=model)]
    if weights_id != default_id:
        configs.append(ToolConfig(f"alphacut -m {weights_id}", "alphacut", model=weights_id))
    if cutout:
        configs.append(ToolConfig("alphacut (PNG cutout)", "alphacut", model=model, fmt="png", warm_and_cold=False))
    if fast or resolution:
        configs.append(ToolConfig(f"alphacut --fast ({resolution or FAST_RESOLUTION} px)", "alphacut",
                                  model=FAST_MODEL, resolution=resolution or FAST_RESOLUTION))
    configs += [ToolConfig(p, p) for p in peers]

    load_before = _loadavg()
    tmp_ctx = tempfile.TemporaryDirectory(prefix="alphacut-bench-") if work is None else None
    work_dir = Path(tmp_ctx.name) if tmp_ctx is not None else work
    assert work_dir is not None
    try:
        runner = _Runner(images, stems, work_dir, home=home, threads=threads, model_file=model_file)
        batch_s: dict[str, list[float]] = {c.label: [] for c in configs}
        measured: dict[str, list[Measured]] = {c.label: [] for c in configs}
        outs: dict[str, Path] = {}
        peer_json: dict[str, dict[str, Any]] = {}
        warm_runs: dict[str, list[dict[str, float]]] = {c.label: [] for c in configs}
        for rep in range(repeats):  # alternate the tools, a different one first in each repeat
            order = configs[rep % len(configs):] + configs[: rep % len(configs)]
            for cfg in order:
                log.info("batch %s (repeat %d)", cfg.label, rep + 1)
                secs, m, out, data = runner.batch(cfg, rep)
                batch_s[cfg.label].append(secs)
                measured[cfg.label].append(m)
                outs[cfg.label] = out
                if data:
                    peer_json[cfg.label] = data
                    warm_runs[cfg.label].append({k: float(v) for k, v in data["per_image_file_s"].items()})
                elif cfg.warm_and_cold:
                    # alphacut's warm pass runs right after its batch, inside the alternation, so that
                    # it sees the same machine load as the peers' warm times (taken from their batch).
                    log.info("warm %s (repeat %d)", cfg.label, rep + 1)
                    warm_runs[cfg.label].append(runner.warm(cfg, paths))
        cold: dict[str, float] = {}
        for rep in range(repeats):
            for cfg in configs:
                if cfg.warm_and_cold:
                    log.info("cold start %s", cfg.label)
                    t = runner.cold(cfg, paths[0]).wall_s
                    cold[cfg.label] = min(cold.get(cfg.label, math.inf), t)
        warm: dict[str, dict[str, float]] = {}
        for cfg in configs:
            if cfg.warm_and_cold and warm_runs[cfg.label]:  # per image, the median over the repeats
                warm[cfg.label] = {stem: _median([run[stem] for run in warm_runs[cfg.label]]) for stem in stems}
        results = []
        for cfg in configs:
            maes = mae_per_image(outs[cfg.label], gt_dir, stems)
            w = warm.get(cfg.label)
            b = _median(batch_s[cfg.label])
            notes = ""
            if cfg.kind == "rembg":
                notes = f"rembg {peer_json[cfg.label].get('version')}, onnxruntime {peer_json[cfg.label].get('onnxruntime')}"
            elif cfg.kind == "imgly":
                notes = (f"@imgly/background-removal-node {peer_json[cfg.label].get('version')}, "
                         f"onnxruntime-node {peer_json[cfg.label].get('onnxruntime_node')}")
            results.append(ToolResult(
                label=cfg.label, images=len(paths), batch_s=b, batch_runs_s=tuple(batch_s[cfg.label]),
                images_per_s=len(paths) / b, process_wall_s=_median([m.wall_s for m in measured[cfg.label]]),
                process_cpu_s=_median([m.cpu_s for m in measured[cfg.label]]),
                warm_s_per_image=_median(list(w.values())) if w else None,
                cold_start_s=cold.get(cfg.label), warm_same_image_s=w.get(paths[0].stem) if w else None,
                peak_rss_mb=max(m.peak_rss_mb for m in measured[cfg.label]),
                mae=float(np.mean(list(maes.values()))), mae_per_image=maes, notes=notes))
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
    mp = sum(w * h for w, h in sizes) / 1e6
    big = sum(1 for w, h in sizes if w * h >= 12e6)
    return BenchReport(folder=str(folder), images=len(paths), megapixels=round(mp, 1),
                       sizes=f"{len(paths) - big} under 12 MP, {big} of 12 MP or more "
                             f"(largest {max(w * h for w, h in sizes) / 1e6:.1f} MP)",
                       results=tuple(results), command=command, machine=machine_description(),
                       load_before=load_before, load_after=_loadavg(), model_file=str(model_file),
                       models=_models_note(store.catalog, default_id, weights_id, fast or bool(resolution)))


# ------------------------------------------------------------------------------------------ reports
def machine_description() -> str:
    from ..doctor import cpu_features

    model, feats = cpu_features()
    try:
        import onnxruntime

        ort = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        ort = "?"
    return (f"{model}, {os.cpu_count()} cores ({', '.join(feats) or 'no AVX2/AVX-512/VNNI'}); "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, onnxruntime {ort}")


def _f(x: float | None, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}x"


def _pct(rel: float | None) -> str:
    return "–" if rel is None else f"{rel:+.1f}%"


_HOW_MEASURED = """\
How each column is measured (every number from fresh child processes, spawned and timed by `alphacut bench`):

- images/s (batch): N images / the time from the first file read to the last matte file written, in one \
process, model load excluded (alphacut: its CLI, `alphacut remove FOLDER -o OUT -f mask`, the pipelined batch, \
less the time it reported waiting for its model, which loads in the background while the first image decodes; \
rembg: a plain loop starting cold after session creation, like alphacut; imgly: a plain loop after one warm-up \
call, because its first call loads the model). Median over the repeats.
- s/image warm: file in → matte file out, one image at a time, median over the images of each image's median \
over the repeats (alphacut: in-process after a warm-up image, right after its batch run; peers: their batch loop).
- cold start: a new process cutting out the first image (spawn → exit, matte written), best of the repeats; \
cold/warm divides it by the same tool's warm time for that same image.
- peak RSS: the batch process's own ru_maxrss (os.wait4), max over the repeats.
- MAE: mean over images of each image's mean |matte − GT| at full resolution (grabcut's 128 band not scored); \
'MAE vs alphacut' is relative to the alphacut row.
- process wall / CPU: spawn → exit of the batch process (imports, model load, batch), and the user + system CPU \
seconds it used (steadier than wall time when the machine is shared)."""

_HEADER = ("| tool | images/s (batch) | vs rembg | s/image warm (median) | vs rembg | cold start s "
           "| warm same image s | cold/warm | peak RSS MB | MAE | MAE vs alphacut | process wall s | process CPU s |")


def to_markdown(report: BenchReport) -> str:
    """The comparison table, ratios against rembg (measured in the same run) when it is there."""
    ref = next((r for r in report.results if r.label == "rembg"), None)
    full = next((r for r in report.results if r.label == "alphacut"), None)
    lines = [
        f"Machine: {report.machine}  ",
        f"Images: {report.images} from `{report.folder}`, {report.megapixels} MP in all ({report.sizes})  ",
        f"Weights (every peer): `{report.model_file}`  ",
        *([f"{report.models}  "] if report.models else []),
        f"Load average (1/5/15 min) before: {report.load_before}, after: {report.load_after}  ",
        f"Command: `{report.command}`",
        "",
        _HEADER,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        speed_ratio = r.images_per_s / ref.images_per_s if ref else None
        warm_ratio = (ref.warm_s_per_image / r.warm_s_per_image
                      if ref and ref.warm_s_per_image and r.warm_s_per_image else None)
        mae_rel = (r.mae / full.mae - 1) * 100 if full and full.mae else None
        lines.append(
            f"| {r.label} | {r.images_per_s:.3f} | {_x(speed_ratio)} | {_f(r.warm_s_per_image, '.2f')} "
            f"| {_x(warm_ratio)} | {_f(r.cold_start_s, '.2f')} | {_f(r.warm_same_image_s, '.2f')} "
            f"| {_f(r.cold_ratio, '.2f')} | {r.peak_rss_mb:.0f} | {r.mae:.4f} | {_pct(mae_rel)} "
            f"| {r.process_wall_s:.1f} | {r.process_cpu_s:.1f} |")
    notes = [f"- {r.label}: {r.notes}" for r in report.results if r.notes]
    if notes:
        lines += ["", *notes]
    lines += ["", _HOW_MEASURED]
    lines += ["", "<details><summary>MAE per image</summary>", "",
              "| image | " + " | ".join(r.label for r in report.results) + " |",
              "|---|" + "---|" * len(report.results)]
    for stem in report.results[0].mae_per_image:
        lines.append(f"| {stem} | " + " | ".join(f"{r.mae_per_image[stem]:.4f}" for r in report.results) + " |")
    lines += ["", "</details>", "",
              "Batch runs (s): " + "; ".join(f"{r.label} " + ", ".join(f"{x:.1f}" for x in r.batch_runs_s)
                                             for r in report.results)]
    return "\n".join(lines) + "\n"


BEGIN_MARK = "<!-- alphacut bench: begin (generated, do not edit by hand) -->"
END_MARK = "<!-- alphacut bench: end -->"


def splice_report(existing: str | None, generated: str) -> str:
    """Put generated between the bench markers of an existing document (hand-written parts stay),
    or make a new document when there is none or it has no markers."""
    block = f"{BEGIN_MARK}\n{generated.rstrip()}\n{END_MARK}\n"
    if existing and BEGIN_MARK in existing and END_MARK in existing:
        head, rest = existing.split(BEGIN_MARK, 1)
        tail = rest.split(END_MARK, 1)[1]
        return head + block + tail.lstrip("\n")
    return "# Performance\n\n" + block


def to_json(report: BenchReport) -> dict[str, Any]:
    return asdict(report)
