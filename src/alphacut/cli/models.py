"""`alphacut models`: list, fetch, verify, add, remove and locate models."""

from __future__ import annotations

from pathlib import Path

import click

from .. import cli
from . import main


@main.group()
def models() -> None:
    """List, fetch, verify and add models."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def models_list(ctx: click.Context, as_json: bool) -> None:
    """Every model in the catalog, whether it is cached, and its source."""
    import json

    store = cli._store(ctx)
    rows = []
    for spec, cached in store.entries():
        rows.append({"id": spec.id, "default": spec.id == store.catalog.default, "cached": cached,
                     "verified_here": spec.verified, "input_size": spec.input_size,
                     "size_mb": round(spec.size_bytes / 1e6, 1) if spec.size_bytes else None,
                     "source": spec.sources[0].describe(), "licence": spec.licence,
                     "origin": spec.origin, "description": spec.description})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["id"]) for r in rows), default=0)
    for r in rows:
        flags = ("*" if r["default"] else " ") + ("C" if r["cached"] else " ")
        note = "" if r["verified_here"] or "not verified" in r["description"] else \
            "  [not verified on alphacut's machines]"
        size = f"{r['size_mb']:.0f} MB" if r["size_mb"] else "?"
        click.echo(f"{flags} {r['id']:<{width}} {r['input_size']:>5}px {size:>7}  {r['description']}{note}")
        click.echo(f"   {'':<{width}} licence: {r['licence']}")
        click.echo(f"   {'':<{width}} from:    {r['source']}")
    click.echo("\n* default   C cached   (docs/MODELS.md explains each licence)", err=True)


@models.command("fetch")
@click.argument("model_ids", nargs=-1)
@click.option("--force", is_flag=True, help="Fetch again even if cached.")
@click.pass_context
def models_fetch(ctx: click.Context, model_ids: tuple[str, ...], force: bool) -> None:
    """Download and verify MODEL_IDS (default: the default model)."""
    store = cli._store(ctx)
    for model_id in model_ids or (store.catalog.default,):
        if not force and store.is_cached(model_id):
            path = store.ensure(model_id)
            click.echo(f"{model_id}: cached and verified at {path}")
            continue
        click.echo(f"{model_id}: fetching ...", err=True)
        path = store.fetch(model_id, force=force)
        click.echo(f"{model_id}: verified at {path}")


@models.command("verify")
@click.argument("model_ids", nargs=-1)
@click.pass_context
def models_verify(ctx: click.Context, model_ids: tuple[str, ...]) -> None:
    """Re-hash cached models against the catalog (default: all cached)."""
    store = cli._store(ctx)
    ids = model_ids or tuple(spec.id for spec, cached in store.entries() if cached)
    if not ids:
        click.echo("No model is cached yet. Run `alphacut models fetch`.")
        return
    bad = 0
    for model_id in ids:
        result = store.verify(model_id)
        bad += not result.ok
        click.echo(f"{model_id}: {'ok' if result.ok else 'MISMATCH'} {result.detail}".rstrip())
    if bad:
        from ..errors import ModelError

        raise ModelError("model.hash-mismatch", f"{bad} of {len(ids)} model(s) failed verification.",
                         hint="Fetch them again: `alphacut models fetch MODEL_ID`.")


@models.command("add")
@click.argument("model_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input-size", type=int, required=True, help="Square input side the model was trained on.")
@click.option("--mean", default="0.485,0.456,0.406", show_default=True, help="Per-channel mean of x/255.")
@click.option("--std", default="0.229,0.224,0.225", show_default=True, help="Per-channel std of x/255.")
@click.option("--output-index", type=int, default=0, show_default=True)
@click.option("--activation", type=click.Choice(["none", "sigmoid"]), default="none", show_default=True)
@click.option("--description", default="", help="One line for `models list`.")
@click.pass_context
def models_add(ctx: click.Context, model_id: str, file: Path, input_size: int, mean: str, std: str,
               output_index: int, activation: str, description: str) -> None:
    """Add your own ONNX model FILE as MODEL_ID (copied into the cache, hashed)."""
    from ..errors import OptionsError

    def triple(text: str, name: str) -> tuple[float, float, float]:
        try:
            vals = [float(v) for v in text.split(",")]
        except ValueError:
            vals = []
        if len(vals) != 3:
            raise OptionsError("options.invalid", f"--{name} needs three numbers like 0.5,0.5,0.5.")
        return (vals[0], vals[1], vals[2])

    spec = cli._store(ctx).add(model_id, file, input_size=input_size, mean=triple(mean, "mean"),
                           std=triple(std, "std"), output_index=output_index, activation=activation,
                           description=description)
    click.echo(f"added {spec.id} ({spec.checksum})")


@models.command("remove")
@click.argument("model_id")
@click.pass_context
def models_remove(ctx: click.Context, model_id: str) -> None:
    """Delete a cached model (and the catalog entry of a model you added)."""
    cli._store(ctx).remove(model_id)
    click.echo(f"removed {model_id}")


@models.command("path")
@click.argument("model_id", required=False)
@click.pass_context
def models_path(ctx: click.Context, model_id: str | None) -> None:
    """Print the cache folder, or where MODEL_ID's file is."""
    store = cli._store(ctx)
    click.echo(store.path(model_id) if model_id else store.path(store.catalog.default).parent)
