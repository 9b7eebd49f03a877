"""remove_dataset: Ray Data batch inference with an actor pool of Removers.

Each actor builds one Remover in ``__init__`` (one model session, inference threads = the actor's
CPUs, the model from its own node's cache) and then cuts out batch after batch: decode, model,
refinement, composition and encoding all happen in the actor, so only encoded bytes travel.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import AlphacutError
from ..models.catalog import Catalog, ModelSpec
from ..options import Options, OutputFormat
from .nodes import ensure_model_on_nodes, here, import_ray, node_store

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["COLUMNS", "remove_dataset"]

log = logging.getLogger(__name__)

#: Columns remove_dataset adds (matte and layers only when asked for). A failed row has
#: error_code/error_message set and null images; every row has node_id/node_ip/seconds.
COLUMNS = ("cutout", "matte", "layers", "error_code", "error_message", "node_id", "node_ip", "seconds")


class Cutter:
    """The actor: one Remover for its lifetime, applied to batches (pyarrow tables) of image bytes."""

    def __init__(self, catalog: Catalog, spec: ModelSpec, options: Options, threads: int, layers: bool,
                 with_matte: bool, runtime: str | None = None) -> None:
        from ..api import Remover

        settings, spec, store = node_store(catalog, spec)
        # runtime: the driver's when its flag or environment set one, else the node's own settings
        self.remover = Remover(spec, options, settings=settings, store=store, threads=threads,
                               runtime=runtime).wait_ready()
        self.options = options
        self.layers = layers
        self.with_matte = with_matte
        self.node_id, self.node_ip = here()
        log.info("Cutter on node %s: %s, %d threads", self.node_ip, spec.id, threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pyarrow as pa

        from ..batch import encode_layers
        from ..pipeline import encode_cutout

        datas = batch.column("bytes").to_pylist()
        errors = batch.column("error_code").to_pylist() if "error_code" in batch.column_names else None
        cols: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        for i, data in enumerate(datas):
            start = time.perf_counter()
            cut = matte = layers = code = message = None
            if errors is not None and errors[i] is not None:  # failed before (reading): passed through
                code = errors[i]
                message = batch.column("error_message")[i].as_py()
            else:
                try:
                    cutout = self.remover.cutout(data, self.options)
                    cut = encode_cutout(cutout, self.options)
                    if self.with_matte:
                        matte = encode_cutout(cutout, _MASK)
                    if self.layers:
                        layers = encode_layers(cutout, self.options)
                except AlphacutError as exc:
                    code, message = exc.code, exc.message + (f" {exc.hint}" if exc.hint else "")
                except MemoryError:
                    code, message = "input.out-of-memory", "Not enough memory for this image. Lower --max-pixels."
            for name, value in (("cutout", cut), ("matte", matte), ("layers", layers), ("error_code", code),
                                ("error_message", message), ("node_id", self.node_id),
                                ("node_ip", self.node_ip), ("seconds", time.perf_counter() - start)):
                cols[name].append(value)
        types = _types()
        out = batch.drop_columns([c for c in ("bytes", *COLUMNS) if c in batch.column_names])
        for name in COLUMNS:
            if (name == "matte" and not self.with_matte) or (name == "layers" and not self.layers):
                continue
            out = out.append_column(name, pa.array(cols[name], type=types[name]))
        return out


def _types() -> dict[str, Any]:
    import pyarrow as pa

    return {"cutout": pa.binary(), "matte": pa.binary(), "layers": pa.list_(pa.binary()),
            "error_code": pa.string(), "error_message": pa.string(), "node_id": pa.string(),
            "node_ip": pa.string(), "seconds": pa.float64()}


_MASK = Options(format=OutputFormat.MASK)


def _driver_runtime(settings: Settings | None) -> str | None:
    """The runtime the driver's flag or environment asked for (sent to the actors), else None: each
    node then follows its own settings (default auto)."""
    from ..config import ValueSource

    if settings is None or settings.runtime.source in (ValueSource.DEFAULT, ValueSource.CONFIG):
        return None
    return str(settings.runtime.value)


def driver_model(model: str | None, settings: Settings | None = None) -> tuple[Catalog, ModelSpec]:
    """The model to run, from the driver's catalog (with the user's own models), and the part of
    that catalog it needs (itself and the models it is derived from): sent to every node."""
    from ..models.catalog import SourceKind
    from ..models.store import ModelStore

    settings = settings or load_settings()
    store = ModelStore(settings.home_path, offline=bool(settings.offline.value))
    spec = store.catalog.get(model or settings.model.value or store.catalog.default)
    needed: dict[str, ModelSpec] = {}
    todo = [spec]
    while todo:
        item = todo.pop()
        if item.id in needed:
            continue
        needed[item.id] = item
        todo += [store.catalog.get(s.base) for s in item.sources if s.kind is SourceKind.DERIVE and s.base]
    return Catalog(default=spec.id, models=needed), spec


def remove_dataset(ds: Any, options: Options | None = None, *, model: str | None = None,
                   cpus_per_actor: int = 1, actors: int | tuple[int, int] | None = None, batch_size: int = 4,
                   layers: bool = False, with_matte: bool = False, check_nodes: bool = True,
                   settings: Settings | None = None) -> Any:
    """Cut out every image of a Ray Data dataset with a `bytes` column; returns the lazy dataset.

    Adds the COLUMNS (cutout bytes in options.format; matte as 8-bit PNG with with_matte; one PNG
    per subject in layers with layers=True) and drops `bytes`; other columns (e.g. `path`) stay.
    One bad image gives a row with error_code set, never a failed job. With check_nodes (default)
    the model is fetched + verified on every node first (ModelError naming a node that can't).

    Args:
        cpus_per_actor: CPUs each actor reserves; its inference runtime runs that many threads.
        actors: pool size, or (min, max) to autoscale; default (cluster CPUs - 1) // cpus_per_actor: one
            CPU stays free for the tasks that read the input (they take one CPU each).
        settings: the driver's settings, whose catalog names the model (default: load_settings()).

    Example:
        >>> ds = ray.data.read_binary_files("s3://shop/photos/", include_paths=True)
        >>> out = remove_dataset(ds, Options.from_user(preset="ecommerce"))
        >>> out.select_columns(["path", "cutout", "error_code"]).write_parquet("s3://shop/cutouts/")
    """
    ray = import_ray()
    options = options or Options()
    if not ray.is_initialized():
        ray.init()
    catalog, spec = driver_model(model, settings)
    if check_nodes:
        ensure_model_on_nodes(ray, catalog, spec)
    if actors is None:
        # The cluster's CPUs as they are now, less one for the tasks that feed the actors: Ray Data's
        # read tasks take a CPU each, and with every CPU held by an actor they could never run.
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = max(1, (cpus - 1) // max(1, cpus_per_actor))
    low, high = actors if isinstance(actors, tuple) else (actors, actors)
    return ds.map_batches(Cutter, batch_format="pyarrow", batch_size=batch_size, num_cpus=cpus_per_actor,
                          compute=ray.data.ActorPoolStrategy(min_size=low, max_size=high), zero_copy_batch=True,
                          fn_constructor_kwargs={"catalog": catalog, "spec": spec, "options": options,
                                                 "threads": max(1, int(cpus_per_actor)), "layers": layers,
                                                 "with_matte": with_matte, "runtime": _driver_runtime(settings)})
