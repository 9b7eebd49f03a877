"""Integration fixtures: the real default model from the user's cache (make test fetches it first)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVALDATA = REPO.parent / "shared" / "evaldata"


@pytest.fixture(scope="session")
def real_store():
    from alphacut.config import load_settings
    from alphacut.models.store import ModelStore

    settings = load_settings()
    store = ModelStore(settings.home_path, offline=True)
    if not store.is_cached(store.catalog.default):
        pytest.skip(f"the default model is not cached in {settings.home_path}: run `make model` "
                    "(make test does) to fetch it once")
    return store


@pytest.fixture(scope="session")
def real_remover(real_store):
    import alphacut

    return alphacut.Remover(store=real_store)


@pytest.fixture(scope="session")
def evaldata() -> Path:
    if not EVALDATA.is_dir():
        pytest.skip(f"{EVALDATA} is not there: the quality checks need ../shared/evaldata beside the repo "
                    "(a user's clone has none; CI has it)")
    return EVALDATA
