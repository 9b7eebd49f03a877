"""tests/unit mirrors the package: every test module sits in the folder of the part it tests.

A test module added directly in tests/unit (a merge of an older branch, say) fails here with the
folders to choose from; so does a folder without ``__init__.py`` (its relative imports of
``..conftest`` would break) or a folder that is not one of the areas below.
"""

from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parent / "unit"

#: What may sit directly in tests/unit: the package marker, the shared fixtures (every subfolder
#: gets them) and the drawn portraits several folders use.
TOP_LEVEL_FILES = {"__init__.py", "conftest.py", "portraits.py"}

#: One folder per area of src/alphacut (and bench/ for the scripts' own checks).
AREAS = {
    "api": "api.py and batch.py: Remover, remove(), run_batch",
    "bench": "the bench/ scripts (smoke, lint, the AVX2-only shim)",
    "cli": "cli/: the commands (except `serve`, under server/)",
    "distributed": "distributed/: the Ray extra",
    "eval": "eval/: sets, metrics, `alphacut bench`, the synthetic video clips",
    "io": "io/: decode, encode, files",
    "models": "models/: catalog, store, sources, transforms, tflite",
    "ops": "ops/: the pure numpy operations",
    "options": "options.py, option_table.py, presets, config.py, options_doc.py",
    "package": "properties of the whole package: error codes, doctests, no telemetry",
    "pipeline": "pipeline.py, composition.py, portrait.py: what the options do to pixels",
    "runtime": "runtime/: backends, kernels, the optimized-graph cache",
    "server": "server/ and `alphacut serve`",
    "video": "video/",
}


def test_no_test_module_sits_directly_in_tests_unit() -> None:
    stray = sorted(p.name for p in UNIT.iterdir() if p.is_file() and p.suffix == ".py"
                   and p.name not in TOP_LEVEL_FILES)
    folders = "\n".join(f"  tests/unit/{name}/  {what}" for name, what in sorted(AREAS.items()))
    assert not stray, (f"{', '.join(stray)} sit directly in tests/unit; git mv each into the folder of what it "
                       f"tests (and import the shared fixtures as `from ..conftest import ...`):\n{folders}")


def test_each_folder_is_a_known_area_and_a_package() -> None:
    folders = {p.name: p for p in UNIT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert set(folders) <= set(AREAS), f"unknown test folders {sorted(set(folders) - set(AREAS))}: add them to AREAS"
    missing = sorted(name for name, p in folders.items() if not (p / "__init__.py").is_file())
    assert not missing, f"tests/unit/{missing[0]} has no __init__.py (its `from ..conftest import` would fail)"
