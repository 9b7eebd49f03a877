"""alphacut on a Ray cluster: Ray Data batch inference with one Remover per actor.

Two entry points:

- :func:`remove_dataset` adds cutout columns to a Ray Data dataset of image bytes (for example
  ``ray.data.read_binary_files(...)``), for teams that put alphacut inside their own pipeline.
- :func:`run_jobs` is ``alphacut remove SRC -o DST --ray``: the local batch's jobs (``io.files``
  collect_jobs, the same names and skip/overwrite rules) read, cut out and written on the cluster.

Ray is an optional extra (``pip install 'alphacut[ray]'``); it is imported only when one of these
is called, and its absence is a BackendError saying how to get it.
"""

from __future__ import annotations

from .cutter import COLUMNS, remove_dataset
from .jobs import ClusterSummary, NodeStats, run_jobs
from .nodes import import_ray

__all__ = ["COLUMNS", "ClusterSummary", "NodeStats", "import_ray", "remove_dataset", "run_jobs"]
