"""Ray itself (an optional extra), the node a worker runs on, and the model on every node.

Each node keeps its own model cache: its ``ALPHACUT_HOME`` (or the default cache folder) and its
own ``ALPHACUT_OFFLINE``, read where the worker runs. The driver sends its catalog, so every node
checks the very file the driver would use (same id, same sha256) and fetches it into its own cache
once when missing, under the store's file lock. :func:`ensure_model_on_nodes` does this on every
node before any image is sent, so an offline node without the model fails the job at once, named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..config import load_settings
from ..errors import AlphacutError, BackendError, ModelError
from ..models.catalog import Catalog, ModelSpec

__all__ = ["NodeModel", "ensure_model_on_nodes", "here", "import_ray", "node_store"]

log = logging.getLogger(__name__)

RAY_HINT = "pip install 'alphacut[ray]' (on the driver and on every node of the cluster)"


def import_ray() -> Any:
    """The ray module with Ray Data, or BackendError backend.missing-extra saying how to get it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise BackendError("backend.missing-extra",
                           f"Running on Ray needs the 'ray' extra: {exc.name or 'ray'} is not installed.",
                           hint=RAY_HINT) from exc
    return ray


@dataclass(frozen=True, slots=True)
class NodeModel:
    """Where one node keeps the model, or why it can't."""

    node_id: str
    node_ip: str
    home: str
    path: str | None = None
    error: str | None = None


def here() -> tuple[str, str]:
    """(node id, node IP) of the Ray worker this runs in."""
    import ray

    return ray.get_runtime_context().get_node_id(), ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]


def node_store(catalog: Catalog, spec: ModelSpec) -> tuple[Any, ModelSpec, Any]:
    """(settings, spec, ModelStore) for this node: its own cache and offline setting, the driver's model.

    A node whose own user catalog gives the id another checksum is refused: the cluster must run
    the same model everywhere.
    """
    from ..models.store import ModelStore

    settings = load_settings()
    store = ModelStore(settings.home_path, offline=bool(settings.offline.value))
    # The node's own catalog (built-in + its user models) first, then what only the driver knows.
    merged = {**catalog.models, **store.catalog.models}
    store.catalog = Catalog(default=store.catalog.default, models=merged)
    local = store.catalog.get(spec.id)
    if local.checksum != spec.checksum:
        raise ModelError("model.hash-mismatch",
                         f"This node's catalog ({store.user_catalog_path}) gives '{spec.id}' the checksum "
                         f"{local.checksum}, the driver's is {spec.checksum}.",
                         hint="Give one of them another id, so every node runs the same model.")
    return settings, spec, store


def _ensure_here(catalog: Catalog, spec: ModelSpec) -> NodeModel:
    node_id, node_ip = here()
    try:
        home = str(load_settings().home_path)
        _, spec, store = node_store(catalog, spec)
        return NodeModel(node_id, node_ip, home, path=str(store.ensure(spec.id)))
    except AlphacutError as exc:
        return NodeModel(node_id, node_ip, home, error=str(exc))


def ensure_model_on_nodes(ray: Any, catalog: Catalog, spec: ModelSpec) -> list[NodeModel]:
    """Fetch + verify the model on every alive node with CPUs, each into its own cache, at once.

    Raises ModelError model.unavailable-on-node naming each node that can't have it.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    task = ray.remote(num_cpus=0, max_retries=0)(_ensure_here)
    refs = [task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
            .remote(catalog, spec) for n in nodes]
    got: list[NodeModel] = ray.get(refs)
    bad = [m for m in got if m.error is not None]
    for m in got:
        if m.error is None:
            log.info("node %s (%s): %s ready at %s", m.node_ip, m.node_id[:8], spec.id, m.path)
    if bad:
        names = "; ".join(f"node {m.node_ip} ({m.node_id[:12]}, ALPHACUT_HOME={m.home}): {m.error}" for m in bad)
        raise ModelError("model.unavailable-on-node",
                         f"{len(bad)} of {len(got)} nodes can't have '{spec.id}': {names}",
                         hint=f"Run `alphacut models fetch {spec.id}` on those nodes while online (or give "
                              "them network access), then run the job again.")
    return got
