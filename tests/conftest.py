"""Fixtures shared by every layer's tests."""

import pytest


@pytest.fixture
def wide_console(monkeypatch):
    """The register CLI's consoles wide enough that no table header is cut ("пун…").

    Rich reads COLUMNS once, when the console is made at import, so setting the variable in a
    test changes nothing once another test has imported the CLI (always so under xdist)."""
    from visafree.cli import register as register_cli

    for console in (register_cli.console, register_cli.errors):
        monkeypatch.setattr(console, "_width", 400)
