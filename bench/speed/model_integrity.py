"""What hashing the model on every load costs: a cold load with and without the store's check.

Runs in a temporary ALPHACUT_HOME (the shared cache is only read): copies the default model there,
writes its optimized graph once, then times, interleaved, a load with the model's sha256 check and
one without (both check the optimized graph's recorded hash, which is not optional).

    .venv/bin/python bench/speed/model_integrity.py [ROUNDS]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alphacut import api
from alphacut.config import load_settings
from alphacut.io.files import sha256_file
from alphacut.models.store import ModelStore


def main(rounds: int) -> None:
    shared = ModelStore(load_settings().home_path, offline=True)
    model_id = shared.catalog.default
    with tempfile.TemporaryDirectory() as tmp:
        store = ModelStore(Path(tmp), offline=True)
        store.models_dir.mkdir(parents=True)
        shutil.copy2(shared.path(model_id), store.path(model_id))
        spec = store.catalog.get(model_id)
        path = store.ensure(model_id)
        api.Remover(model_id, store=store, threads=2).wait_ready()  # writes the optimized graph once
        (graph,) = [p for p in store.optimized_dir.iterdir() if p.suffix == ".onnx"]
        times: dict[str, list[float]] = {"sha256 of the model": [], "sha256 of the optimized graph": [],
                                         "load without the model check": [], "load as shipped (model check)": []}

        def timed(name: str, fn: object) -> None:
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            times[name].append(time.perf_counter() - t)

        def load(check: object) -> None:
            api._load_in_background(path, spec, threads=2, providers=None, optimized_dir=store.optimized_dir,
                                    check=check).wait()  # type: ignore[arg-type]

        for _ in range(rounds):
            timed("sha256 of the model", lambda: sha256_file(path))
            timed("sha256 of the optimized graph", lambda: sha256_file(graph))
            timed("load without the model check", lambda: load(None))
            timed("load as shipped (model check)", lambda: load(lambda: store.check(model_id)))
        print(f"{model_id}: model {path.stat().st_size / 1e6:.1f} MB, optimized graph "
              f"{graph.stat().st_size / 1e6:.1f} MB, {rounds} interleaved rounds")
        for name, values in times.items():
            print(f"  {name:32s} median {statistics.median(values) * 1e3:6.0f} ms "
                  f"(min {min(values) * 1e3:.0f}, max {max(values) * 1e3:.0f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
