"""run_jobs: `alphacut remove SRC -o DST --ray`, the local batch's jobs executed on a Ray cluster.

The driver collects the jobs as the local batch does (io.files.collect_jobs) and applies the same
--skip-existing / --overwrite checks (batch._check_destination). The rest streams through Ray Data:
read tasks (file bytes) -> the Cutter actor pool (remove_dataset) -> write tasks (atomic writes on
the shared filesystem) -> small result rows back to the driver. Bytes never pass through the driver.
Ray retries the tasks of a killed worker or node; a result file appears only whole (temp + rename),
so a rerun with --skip-existing finishes whatever an aborted job left.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..batch import BatchSummary, ItemResult, Outcome, _check_destination, layer_path
from ..config import Settings
from ..errors import AlphacutError, BackendError, OptionsError, OutputError
from ..io.files import Job, write_atomic
from ..options import Background, BackgroundKind, Options
from . import uris
from .cutter import remove_dataset
from .nodes import import_ray

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ClusterSummary", "NodeStats", "run_jobs"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class NodeStats:
    """What one node did: images cut out (done or failed there) and the actor time they took."""

    node_id: str
    node_ip: str
    images: int = 0
    failed: int = 0
    busy_s: float = 0.0


@dataclass(slots=True)
class ClusterSummary:
    """The local batch's summary (results, seconds) plus where the work ran and Ray's start-up cost."""

    batch: BatchSummary
    nodes: list[NodeStats] = field(default_factory=list)
    #: Seconds from the call to the first result: connecting, the model check on every node,
    #: actor start-up (model load) and the first batch.
    first_result_s: float = 0.0
    #: Seconds connecting to Ray and checking the model on every node (a part of first_result_s).
    setup_s: float = 0.0


def _read(batch: pa.Table) -> pa.Table:
    """Read task: each row's source file as bytes; an unreadable file becomes an error row."""
    import pyarrow as pa

    datas: list[bytes | None] = []
    codes: list[str | None] = []
    messages: list[str | None] = []
    for src in batch.column("src").to_pylist():
        data = code = message = None
        try:
            data = uris.read_bytes(src) if uris.is_uri(src) else Path(src).read_bytes()
        except FileNotFoundError:
            code, message = "input.not-found", f"{src} does not exist (it went away after the job started)."
        except OSError as exc:
            code, message = "input.unreadable", f"{src} can't be read: {exc.strerror or exc}."
        except AlphacutError as exc:
            code, message = exc.code, exc.message
        datas.append(data)
        codes.append(code)
        messages.append(message)
    return (batch.append_column("bytes", pa.array(datas, type=pa.binary()))
            .append_column("error_code", pa.array(codes, type=pa.string()))
            .append_column("error_message", pa.array(messages, type=pa.string())))


def _write(batch: pa.Table, options: Options, layers: bool) -> pa.Table:
    """Write task: each cutout (and its layers) to its destination, atomically; returns result rows."""
    import pyarrow as pa

    cutouts = batch.column("cutout").to_pylist()
    layer_lists = batch.column("layers").to_pylist() if layers else [None] * len(cutouts)
    codes = batch.column("error_code").to_pylist()
    messages = batch.column("error_message").to_pylist()
    for i, dst in enumerate(batch.column("dst").to_pylist()):
        if cutouts[i] is None:
            continue
        try:
            _put(dst, cutouts[i])
            for n, data in enumerate(layer_lists[i] or [], start=1):
                head, _, name = dst.rpartition("/")
                _put(f"{head}/{layer_path(Path(name), n, options).name}" if head else
                     str(layer_path(Path(name), n, options)), data)
        except AlphacutError as exc:
            codes[i], messages[i] = exc.code, exc.message + (f" {exc.hint}" if exc.hint else "")
    keep = [c for c in batch.column_names if c not in ("cutout", "layers", "matte", "error_code", "error_message")]
    return (batch.select(keep).append_column("error_code", pa.array(codes, type=pa.string()))
            .append_column("error_message", pa.array(messages, type=pa.string())))


def _put(dst: str, data: bytes) -> None:
    if uris.is_uri(dst):
        uris.write_bytes(dst, data)
    else:
        write_atomic(Path(dst), data)


def _checked(check: Callable[[Any], ItemResult | None]) -> Callable[[Any], ItemResult | AlphacutError | None]:
    def run(job: Any) -> ItemResult | AlphacutError | None:
        try:
            return check(job)
        except AlphacutError as exc:
            return exc

    return run


def _check_uri_destination(job: uris.UriJob, existing: set[str], *, skip_existing: bool,
                           overwrite: bool) -> ItemResult | None:
    """_check_destination's rules for a URI job; `existing` lists the objects under the output."""
    if job.src == job.dst:
        raise OutputError("output.is-input", f"{job.dst} is the input itself; alphacut never overwrites an input.",
                          hint="Choose another output location with -o.")
    if job.dst in existing:
        if skip_existing:
            return ItemResult(job, Outcome.SKIPPED, "output.exists", "exists")  # type: ignore[arg-type]
        if not overwrite:
            raise OutputError("output.exists", f"{job.dst} exists.",
                              hint="Pass --overwrite to replace it or --skip-existing to keep it.")
    return None


def _connect(ray: Any, address: str | None, settings: Settings | None) -> None:
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
    if address and address.startswith("ray://"):
        kwargs = {}  # Ray Client takes none of these
    if not address and settings is not None:
        # A Ray started for this job runs on this machine only: its workers use this process's
        # --home / --offline. On a cluster each node keeps its own (its ALPHACUT_HOME).
        env = {"ALPHACUT_HOME": str(settings.home_path)}
        if settings.offline.value:
            env["ALPHACUT_OFFLINE"] = "1"
        kwargs["runtime_env"] = {"env_vars": env}
        # Ray runs its workers at nice 15 by default (worker_niceness): on a shared machine the job
        # would yield to every other process. A Ray started for one job runs it at the CLI's priority.
        kwargs["_system_config"] = {"worker_niceness": 0}
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BackendError("backend.ray-unreachable", f"Can't connect to the Ray cluster at {address}: {exc}",
                           hint="Check the address (`auto`, host:port or ray://host:10001) and that "
                                "`ray status` works on this machine.") from exc


def _ship_background(options: Options) -> Options:
    """--bg-image names a file on this machine: send its bytes, not its path, to the nodes."""
    picture = options.background.image
    if options.background.kind is BackgroundKind.IMAGE and isinstance(picture, str):
        try:
            data = Path(picture).read_bytes()
        except OSError as exc:
            raise OptionsError("options.invalid", f"Can't read --bg-image {picture}: "
                                                  f"{exc.strerror or exc}.") from exc
        return dataclasses.replace(options, background=Background.picture(data))
    return options


def run_jobs(jobs: Sequence[Job | uris.UriJob], options: Options, *, address: str | None = None,
             model: str | None = None, skip_existing: bool = False, overwrite: bool = False, layers: bool = False,
             cpus_per_actor: int = 1, actors: int | tuple[int, int] | None = None, batch_size: int = 4,
             progress: bool = False, on_item: Callable[[ItemResult], None] | None = None,
             settings: Settings | None = None) -> ClusterSummary:
    """Process jobs on the Ray cluster at `address` (None: a local Ray started for this call).

    Jobs are io.files Jobs (paths on a filesystem every node mounts at the same place) or
    uris.UriJob (object-store URIs read and written through pyarrow on the nodes).

    Results (on_item, the summary) arrive in completion order, not job order. `settings`
    (default: load_settings()) name the model; each node reads its own model cache.
    """
    ray = import_ray()
    t0 = time.perf_counter()
    summary = ClusterSummary(BatchSummary())
    options = _ship_background(options)

    def emit(result: ItemResult) -> None:
        summary.batch.results.append(result)
        if on_item is not None:
            on_item(result)

    todo: list[Job | uris.UriJob] = []
    existing = uris.existing_objects([j.dst for j in jobs if isinstance(j, uris.UriJob)])

    def check(job: Job | uris.UriJob) -> ItemResult | None:
        if isinstance(job, uris.UriJob):
            return _check_uri_destination(job, existing, skip_existing=skip_existing, overwrite=overwrite)
        return _check_destination(job, skip_existing=skip_existing, overwrite=overwrite)

    # One stat per destination, before the first image: threads, as on a network filesystem each is
    # a round trip (URIs: one listing of the output prefix instead).
    with ThreadPoolExecutor(16, thread_name_prefix="alphacut-check") as pool:
        for job, outcome in zip(jobs, pool.map(_checked(check), jobs)):
            if isinstance(outcome, AlphacutError):
                emit(ItemResult(job, Outcome.FAILED, outcome.code,  # type: ignore[arg-type]
                                outcome.message + (f" {outcome.hint}" if outcome.hint else "")))
            elif outcome is not None:
                emit(outcome)
            else:
                todo.append(job)
    if todo:
        _connect(ray, address, settings)
        try:
            _run(ray, todo, options, summary, emit, t0, model=model, settings=settings, layers=layers,
                 cpus_per_actor=cpus_per_actor, actors=actors, batch_size=batch_size, progress=progress)
        except ray.exceptions.RayError as exc:  # the job as a whole failed (retries exhausted, cluster lost)
            done = sum(1 for r in summary.batch.results if r.outcome is Outcome.DONE)
            raise BackendError("backend.ray-failed", f"The Ray job failed after {done} images were written: "
                                                     f"{str(exc).strip()[-1500:]}",
                               hint="Every result written is whole. Fix the cause and rerun with "
                                    "--skip-existing to do the rest.") from exc
        finally:
            ray.shutdown()
    summary.batch.seconds = time.perf_counter() - t0
    return summary


def _run(ray: Any, todo: list[Job | uris.UriJob], options: Options, summary: ClusterSummary,
         emit: Callable[[ItemResult], None], t0: float, *, model: str | None, settings: Settings | None,
         layers: bool, cpus_per_actor: int, actors: int | tuple[int, int] | None, batch_size: int, progress: bool) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    ctx.verbose_progress_bars = False
    ctx.enable_operator_progress_bars = progress
    ctx.print_on_execution_start = False
    jobs_by_src = {str(job.src): job for job in todo}
    rows = [{"src": str(job.src), "dst": str(job.dst)} for job in todo]
    # Reads and writes are I/O: they take no CPU slot, so the actors can hold every CPU.
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // batch_size, 1000)))
    ds = ds.map_batches(_read, batch_format="pyarrow", batch_size=batch_size, num_cpus=0)
    if actors is None:  # the reads and writes below take no CPU slot: every CPU can hold an actor
        actors = max(1, int(ray.cluster_resources().get("CPU", 1)) // max(1, cpus_per_actor))
    ds = remove_dataset(ds, options, model=model, cpus_per_actor=cpus_per_actor, actors=actors,
                        batch_size=batch_size, layers=layers, settings=settings)
    summary.setup_s = time.perf_counter() - t0
    ds = ds.map_batches(_write, batch_format="pyarrow", batch_size=batch_size, num_cpus=0,
                        fn_kwargs={"options": options, "layers": layers})
    nodes: dict[str, NodeStats] = {}
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        for row in batch.to_pylist():
            if not summary.first_result_s:
                summary.first_result_s = time.perf_counter() - t0
            # a UriJob stands in for a Job: ItemResult and its readers use only .src and .dst
            job = cast(Job, jobs_by_src[row["src"]])
            stats = nodes.setdefault(row["node_id"], NodeStats(row["node_id"], row["node_ip"]))
            stats.images += 1
            stats.busy_s += row["seconds"]
            if row["error_code"] is None:
                emit(ItemResult(job, Outcome.DONE, seconds=row["seconds"]))
            else:
                stats.failed += 1
                emit(ItemResult(job, Outcome.FAILED, row["error_code"], row["error_message"], row["seconds"]))
    summary.nodes = sorted(nodes.values(), key=lambda n: (-n.images, n.node_ip))
