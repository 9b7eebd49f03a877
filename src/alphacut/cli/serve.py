"""`alphacut serve`: the local HTTP server (alphacut.server) and its page."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from . import _runtime_option, _settings, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback exposes the server to your network.")
@click.option("--port", type=int, default=7000, show_default=True)
@click.option("--api-key", envvar="ALPHACUT_API_KEY", default=None,
              help="Require this X-Api-Key on API requests. The page itself stays public. Prefer ALPHACUT_API_KEY "
                   "or --api-key-file: a flag shows in `ps`.")
@click.option("--api-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the API key from this file (its first line).")
@click.option("--workers", type=int, default=2, show_default=True, help="Images cut out at once (threads).")
@click.option("--queue", type=int, default=8, show_default=True, help="Requests that may wait; more get 503.")
@click.option("--max-bytes", default=None, metavar="SIZE",
              help="Largest image (file part, body, base64 decoded); default 400M (ALPHACUT_MAX_BYTES).")
@click.option("--max-upload-mb", type=float, default=None, hidden=True, help="Older name of --max-bytes, in MiB.")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory the requests in flight may need together (estimated per request; over it: 413 or 503). "
                   "Default: 2.5G per worker, at most half the RAM (ALPHACUT_MAX_MEMORY).")
@click.option("--max-resolution", type=int, default=2048, show_default=True,
              help="Largest `resolution` a request may ask for.")
@click.option("--timeout", type=float, default=120, show_default=True, help="Seconds per request before 504.")
@click.option("--read-timeout", type=float, default=60, show_default=True,
              help="Seconds a client has to send its whole request body (408 after).")
@click.option("-m", "--model", default=None, help="Model id (default: the catalog default).")
@click.option("--threads", type=int, default=None, help="Inference threads per image (default: cores / workers).")
@_runtime_option
@click.option("--max-pixels", type=int, default=None, help="Refuse larger inputs (default 100 MP).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Also answer to this Host name (repeatable). Accepted without it: localhost, 127.0.0.1, "
                   "[::1] and the --host address; with --host 0.0.0.0 or ::, any IP address too. A port, if "
                   "sent, must be --port.")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="Also let the web page at this origin (http://host:port) call the API, with CORS "
                   "(repeatable). Without it, browsers may call only from the server's own page.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, api_key: str | None, api_key_file: Path | None, workers: int,
          queue: int, max_bytes: str | None, max_upload_mb: float | None, max_memory: str | None, max_resolution: int,
          timeout: float, read_timeout: float, model: str | None, threads: int | None, runtime: str | None,
          max_pixels: int | None, allow_hosts: tuple[str, ...], allow_origins: tuple[str, ...]) -> None:
    """Run the local server: the web page at /, /v1/remove, a remove.bg-compatible /v1.0/removebg, /docs.

    Other websites can't use it: a request whose Host is not this server's (DNS rebinding) or whose
    Origin is another page's is refused (403) before any work.
    """
    try:
        import uvicorn

        from ..server.app import build_remover, create_app, default_model_file
        from ..server.schemas import ServerSettings
    except ImportError as exc:
        from ..errors import BackendError

        raise BackendError("backend.missing-extra", f"The server needs its extra: {exc.name} is missing.",
                           hint="pip install 'alphacut[server]'") from exc
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    if max_upload_mb is not None and max_bytes is None:
        max_bytes = str(int(max_upload_mb * 1024 * 1024))
    settings = _settings(ctx, model=model, threads=threads, max_pixels=max_pixels, max_bytes=max_bytes,
                         max_memory=max_memory, runtime=runtime)
    if api_key_file is not None:
        from ..errors import OptionsError

        lines = api_key_file.read_text(encoding="utf-8", errors="replace").splitlines()
        api_key = lines[0].strip() if lines else ""
        if not api_key:
            raise OptionsError("options.invalid", f"--api-key-file {api_key_file}: the first line is empty.",
                               hint="Put the key on the file's first line.")
    server_settings = ServerSettings(host=host, port=port, api_key=api_key or None, workers=workers, queue=queue,
                                     max_bytes=int(settings.max_bytes.value), timeout_s=timeout,
                                     max_memory=settings.max_memory.value, max_resolution=max_resolution,
                                     read_timeout_s=read_timeout,
                                     max_pixels=settings.max_pixels.value, allow_hosts=allow_hosts,
                                     allow_origins=allow_origins)
    if not server_settings.is_loopback:
        click.secho(f"WARNING: binding {host}: every machine that can reach this one can use the server"
                    f"{'' if api_key else ' (and no --api-key is set)'}. Use --host 127.0.0.1 to keep it local. "
                    "Other machines must address it by IP, or by a name given with --allow-host.",
                    fg="red", bold=True, err=True)
    logging.getLogger("alphacut.server").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # the page's private-mode model comes from the same cache (--home) as the server's own
    app = create_app(lambda: build_remover(settings, workers=workers), server_settings,
                     model_file=lambda model_id: default_model_file(model_id, settings))
    click.echo(f"alphacut serving on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               f"({workers} workers, {threads} threads each)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, server_header=False, log_level="warning")
