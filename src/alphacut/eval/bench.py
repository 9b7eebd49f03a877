"""`alphacut bench`: alphacut and its peers on the same weights and the same images, in one run.

Every number comes from a fresh child process, timed by the parent (spawn to exit) and measured with
os.wait4 (peak RSS of that child alone), so cold start and memory are honest and every tool is
measured the same way:

- batch images/s: the whole folder in one process, files in → matte files out, model load excluded.
  alphacut runs through its real CLI (`alphacut remove FOLDER -o OUT -f mask --json`), i.e. the
  pipelined batch runner, and its JSON summary gives the batch time; the peers run through their
  scripts in peer_scripts/ (serial loops) and write theirs to a JSON file.
- warm s/image: file in → matte file out for one image at a time, after a warm-up image, median.
- cold start: a fresh process cutting out one image (spawn → exit, the file is written), against the
  same tool's warm time for that same image.
- MAE of every tool's mattes against the ground truth, on the same images.

The pieces: benchset.py (the image set and MAE), measure.py + launcher.py (child processes),
warm.py (alphacut's warm loop), peers.py (+ peer_scripts/), report.py (Markdown and JSON). Nothing
here depends on a checkout: it all ships in the package.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, ModelError, OptionsError
from ..models.catalog import Catalog, SourceKind
from ..options import FAST_GUIDE_MIN_PIXELS, FAST_MODEL
from ..runtime.kernels import fast_resolution
from .benchset import BENCH_SUFFIXES, mae_per_image
from .measure import Measured, alphacut_command, child_env, spawn_measured
from .peers import PEERS, ensure_peers, peer_command
from .report import BenchReport, ToolResult, machine_description

__all__ = ["ToolConfig", "published_weights", "run_compare"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ToolConfig:
    """One row of the comparison: a tool and how it is run."""

    label: str
    kind: str  # "alphacut", "rembg" or "imgly"
    model: str | None = None  # alphacut model id
    resolution: int | None = None
    fmt: str = "mask"  # alphacut output format ("mask" = what the peers write; "png" = the default cutout)
    warm_and_cold: bool = True
    fast: bool = False  # run as `alphacut remove --fast` (its other settings too, not only model and resolution)
    runtime: str | None = None  # alphacut's --runtime (None: the settings')



class _Runner:
    def __init__(self, images: Path, stems: list[str], work: Path, *, home: Path | None, threads: int | None,
                 model_file: Path, peers_dir: Path) -> None:
        self.images, self.stems, self.work = images, stems, work
        self.home, self.threads, self.model_file, self.peers_dir = home, threads, model_file, peers_dir
        self.env = child_env()

    def _alphacut_cli(self, cfg: ToolConfig, *args: str) -> list[str]:
        cmd = alphacut_command()
        if self.home is not None:
            cmd += ["--home", str(self.home)]
        cmd += ["remove", *args, "-f", cfg.fmt, "-q", "--overwrite"]
        if cfg.model:
            cmd += ["-m", cfg.model]
        if cfg.resolution:
            cmd += ["--resolution", str(cfg.resolution)]
        if cfg.fast:
            cmd += ["--fast"]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if cfg.runtime:
            cmd += ["--runtime", cfg.runtime]
        return cmd

    def batch(self, cfg: ToolConfig, rep: int) -> tuple[float, Measured, Path, dict[str, Any]]:
        out = self.work / f"{cfg.label}.batch{rep}".replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        if cfg.kind == "alphacut":
            m = spawn_measured(self._alphacut_cli(cfg, str(self.images), "-o", str(out), "--json"), env=self.env)
            _check(m, cfg.label)
            summary = _last_json(m, cfg.label)
            if summary.get("failed") or summary.get("done") != len(self.stems):
                raise RuntimeError(f"{cfg.label}: {summary.get('done')} of {len(self.stems)} done, "
                                   f"{summary.get('failed')} failed: {m.stderr[-1500:]}")
            # The model loads in the background while the first images decode: its load is not batch
            # time (as for the peers, timed after session creation).
            return float(summary["seconds"]) - float(summary["model_wait_s"]), m, out, {"alphacut": summary}
        js = out.with_suffix(".json")
        # rembg's batch starts cold after session creation, like alphacut's (first inference included);
        # imgly creates its session inside its first call, so it gets one warm-up call to exclude model load.
        m = spawn_measured(peer_command(cfg.kind, self.peers_dir, self.model_file, self.images, out, js,
                                        warmup=cfg.kind == "imgly"), env=self.env)
        _check(m, cfg.label)
        data = json.loads(js.read_text(encoding="utf-8"))
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
            m = spawn_measured(peer_command(cfg.kind, self.peers_dir, self.model_file, single, out,
                                            out / "cold.json", warmup=False), env=self.env)
        _check(m, cfg.label)
        return m

    def warm(self, cfg: ToolConfig, paths: list[Path]) -> dict[str, float]:
        """alphacut only: the peers report their warm per-image times from the batch run itself."""
        out = self.work / f"{cfg.label}.warm".replace(" ", "_")
        out.mkdir(parents=True, exist_ok=True)
        args = {"home": str(self.home) if self.home else None, "model": cfg.model, "threads": self.threads,
                "resolution": cfg.resolution, "images": [str(p) for p in paths], "out": str(out),
                "guide_min_pixels": FAST_GUIDE_MIN_PIXELS if cfg.fast else None, "runtime": cfg.runtime}
        m = spawn_measured([sys.executable, "-m", "alphacut.eval.warm", json.dumps(args)], env=self.env)
        _check(m, cfg.label)
        return dict(_last_json(m, cfg.label)["per_image_file_s"])


def _last_json(m: Measured, label: str) -> dict[str, Any]:
    """The JSON object a child printed as its last stdout line."""
    lines = m.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        return data
    raise RuntimeError(f"{label}: no JSON summary on stdout: {m.stdout[-500:]!r} {m.stderr[-1000:]}")


def _check(m: Measured, label: str) -> None:
    if m.returncode != 0:
        raise RuntimeError(f"{label} exited with {m.returncode}: {m.stderr.strip()[-2000:]}")


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def _median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per stage, the median over the repeats of the stage's total ms in a batch run."""
    keys = [k for k in runs[0]] if runs else []
    return {k: _median([r.get(k, 0.0) for r in runs]) for k in keys}


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
                work: Path | None = None, peers_dir: Path | None = None,
                runtimes: Sequence[str] = ()) -> BenchReport:
    """Measure alphacut (and peers on the same weights) on folder; see the module docstring.

    Args:
        peers_dir: where the peers are (or get) installed; None = <alphacut home>/peers.
        runtimes: alphacut's --runtime for its rows (empty: the settings'); each further runtime adds
            a copy of the default and --fast rows, labelled "[runtime]", run interleaved with the rest.
    """
    from PIL import Image

    from ..config import load_settings
    from ..models.store import ModelStore

    images = folder / "images" if (folder / "images").is_dir() else folder
    gt_dir = gt if gt is not None else (folder / "gt" if (folder / "gt").is_dir() else None)
    if gt_dir is None:
        raise InputError("input.not-found", f"No ground truth for {folder}.",
                         hint="Pass --gt DIR, or a folder made by `alphacut bench --make-set EVALDATA` (images/ + gt/).")
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in BENCH_SUFFIXES)
    if not paths:
        raise InputError("input.not-found", f"No images in {images}.")
    stems = [p.stem for p in paths]
    sizes = []
    for p in paths:
        with Image.open(p) as im:
            sizes.append(im.size)
    unknown_peers = [p for p in peers if p not in PEERS]
    if unknown_peers:
        raise OptionsError("options.invalid", f"Unknown peer(s) {', '.join(unknown_peers)}; use {', '.join(PEERS)}.")
    settings = load_settings({"home": home} if home else {})
    peers_dir = peers_dir if peers_dir is not None else settings.home_path / "peers"
    store = ModelStore(settings.home_path, offline=True)
    default_id = str(model or settings.model.value or store.catalog.default)
    # The peers run the published weights: the file alphacut's model is derived from, if it is derived
    # (the default int8 model is quantized from the fp16 file on this machine).
    weights_id = published_weights(store.catalog, default_id)
    model_file = store.ensure(weights_id)
    if peers:
        ensure_peers(peers, peers_dir)
    if (fast or resolution) and FAST_MODEL not in store.catalog.models:
        raise ModelError("model.unknown", f"--fast needs the {FAST_MODEL} model, which this catalog lacks.",
                         hint=f"Update alphacut, or `alphacut models add {FAST_MODEL} FILE ...` into --home.")
    configs = [ToolConfig("alphacut", "alphacut", model=model)]
    if weights_id != default_id:
        configs.append(ToolConfig(f"alphacut -m {weights_id}", "alphacut", model=weights_id))
    if cutout:
        configs.append(ToolConfig("alphacut (PNG cutout)", "alphacut", model=model, fmt="png", warm_and_cold=False))
    if fast or resolution:
        fast_side = resolution or fast_resolution()
        configs.append(ToolConfig(f"alphacut --fast ({fast_side} px)", "alphacut", model=FAST_MODEL, resolution=fast_side,
                                  fast=True))
    if runtimes:
        first = runtimes[0]
        ours = [replace(c, runtime=first) for c in configs]
        for extra in runtimes[1:]:
            ours += [replace(c, label=f"{c.label} [{extra}]", runtime=extra) for c in configs
                     if c.label == "alphacut" or c.fast]
        configs = ours
    configs += [ToolConfig(p, p) for p in peers]

    load_before = _loadavg()
    tmp_ctx = tempfile.TemporaryDirectory(prefix="alphacut-bench-") if work is None else None
    work_dir = Path(tmp_ctx.name) if tmp_ctx is not None else work
    assert work_dir is not None
    try:
        runner = _Runner(images, stems, work_dir, home=home, threads=threads, model_file=model_file,
                         peers_dir=peers_dir)
        batch_s: dict[str, list[float]] = {c.label: [] for c in configs}
        measured: dict[str, list[Measured]] = {c.label: [] for c in configs}
        outs: dict[str, Path] = {}
        peer_json: dict[str, dict[str, Any]] = {}
        stage_runs: dict[str, list[dict[str, float]]] = {c.label: [] for c in configs}
        warm_runs: dict[str, list[dict[str, float]]] = {c.label: [] for c in configs}
        for rep in range(repeats):  # alternate the tools, a different one first in each repeat
            order = configs[rep % len(configs):] + configs[: rep % len(configs)]
            for cfg in order:
                log.info("batch %s (repeat %d)", cfg.label, rep + 1)
                secs, m, out, data = runner.batch(cfg, rep)
                batch_s[cfg.label].append(secs)
                measured[cfg.label].append(m)
                outs[cfg.label] = out
                if "alphacut" in data:
                    stage_runs[cfg.label].append({k: float(v) for k, v in data["alphacut"]["stage_ms"].items()})
                if cfg.kind != "alphacut":
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
                mae=float(np.mean(list(maes.values()))), mae_per_image=maes, notes=notes,
                stage_ms=_median_stages(stage_runs[cfg.label])))
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


