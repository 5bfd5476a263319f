"""`visafree serve`: the web page and the HTTP API (uvicorn), from the `server` extra."""

from __future__ import annotations

import typer


def install(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 to be reachable from other machines)"),
        port: int = typer.Option(8000, min=0, max=65535, help="TCP port"),
        workers: int = typer.Option(1, min=1, help="Worker processes"),
    ) -> None:
        """Serve the traveller's page at / and the API at /api/v1 (OpenAPI docs at /docs)."""
        try:
            import uvicorn  # noqa: PLC0415  (heavy: only when serving)
        except ModuleNotFoundError:
            typer.echo("visafree serve needs the server extra: pip install 'visafree[server]'", err=True)
            raise typer.Exit(2)
        try:  # issue 10: refuse to start on a missing, changed or unreadable register key
            from visafree.register.api import preflight  # noqa: PLC0415
        except ModuleNotFoundError:
            preflight = None  # no register extra: nothing to guard
        problem = preflight() if preflight is not None else None
        if problem:
            typer.echo(f"visafree serve: register: {problem}", err=True)
            raise typer.Exit(2)
        typer.echo(f"visafree: serving on http://{host}:{port}/  (API docs: /docs)", err=True)
        uvicorn.run("visafree.api:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level="info", access_log=False, server_header=False)
