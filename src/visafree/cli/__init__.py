"""The `visafree` command line: a thin shell over the engine (Typer + Rich).

Each layer adds its own commands from its own module (`install(app)`), imported only if its
optional dependencies are installed, so `pip install visafree` alone stays light.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="visafree",
    help="Visa-free short stays, exact to the day: may I enter, until when may I stay, when can I come back?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _layer in ("check", "serve", "register", "batch"):
    try:
        _module = importlib.import_module(f"visafree.cli.{_layer}")
    except ModuleNotFoundError as exc:  # a layer not yet present in this checkout
        if exc.name != f"visafree.cli.{_layer}":
            raise
        continue
    _module.install(app)


def main() -> None:
    app()
