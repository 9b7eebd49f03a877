"""The peers `alphacut bench --compare` runs (rembg, imgly): where they live and how they are called.

Their runner scripts ship inside alphacut (alphacut/eval/peer_scripts/: peer_rembg.py, peer_imgly.mjs,
setup_peers.sh; bench/ in a checkout links to them), so `alphacut bench` works from an installed
wheel. The peers themselves are installed on demand by setup_peers.sh into a folder of their own
(--peers-dir, default <alphacut home>/peers); none of their code is part of alphacut.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError, OptionsError

__all__ = ["PEERS", "SCRIPTS", "ensure_peers", "missing_peers", "peer_command"]

log = logging.getLogger(__name__)

PEERS = ("rembg", "imgly")
SCRIPTS = Path(__file__).resolve().parent / "peer_scripts"


def _rembg_python(peers_dir: Path) -> Path:
    return peers_dir / "rembg" / "bin" / "python"


def missing_peers(peers: Sequence[str], peers_dir: Path) -> list[str]:
    """The peers among `peers` that are not installed in peers_dir."""
    missing = []
    for p in peers:
        if p == "rembg" and not _rembg_python(peers_dir).exists():
            missing.append(p)
        if p == "imgly" and not (peers_dir / "imgly" / "node_modules" / "@imgly").is_dir():
            missing.append(p)
    return missing


def ensure_peers(peers: Sequence[str], peers_dir: Path) -> None:
    """Install missing peers into peers_dir with setup_peers.sh; InputError with the reason if that fails."""
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise OptionsError("options.invalid", f"Unknown peer(s) {', '.join(unknown)}; use {', '.join(PEERS)}.")
    missing = missing_peers(peers, peers_dir)
    if not missing:
        return
    script = SCRIPTS / "setup_peers.sh"
    if not script.is_file():  # pragma: no cover - shipped with the package
        raise InputError("bench.peers-missing", f"{', '.join(missing)} not installed and {script} is not there.",
                         hint="Reinstall alphacut: its peer scripts are missing.")
    log.warning("installing peers %s into %s with %s", ", ".join(missing), peers_dir, script)
    proc = subprocess.run(["bash", str(script), *missing], capture_output=True, text=True, check=False,
                          env={**os.environ, "PEERS_DIR": str(peers_dir)})
    if proc.returncode != 0:
        raise InputError("bench.peers-missing", f"Could not install {', '.join(missing)}: "
                         f"{(proc.stderr or proc.stdout).strip()[-800:]}",
                         hint=f"Run PEERS_DIR={peers_dir} bash {script} {' '.join(missing)} yourself and read its message.")


def peer_command(kind: str, peers_dir: Path, model_file: Path, images: Path, out: Path, json_path: Path, *,
                 limit: int | None = None, warmup: bool = True) -> list[str]:
    """The command that runs peer `kind` over images/ into out/<stem>.png, timings into json_path."""
    extra = ([] if limit is None else ["--limit", str(limit)]) + ([] if warmup else ["--no-warmup"])
    common = ["--model", str(model_file), "--images", str(images), "--out", str(out), "--json", str(json_path)]
    if kind == "rembg":
        return [str(_rembg_python(peers_dir)), str(SCRIPTS / "peer_rembg.py"), *common, *extra]
    if kind == "imgly":
        node = shutil.which("node") or "node"
        return [node, str(SCRIPTS / "peer_imgly.mjs"), *common, "--env", str(peers_dir / "imgly"), *extra]
    raise OptionsError("options.invalid", f"Unknown peer {kind!r}; use {', '.join(PEERS)}.")
