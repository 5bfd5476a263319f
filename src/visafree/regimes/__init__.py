"""The regimes shipped with visafree, and regimes a user brings as TOML files.

This is the I/O around `visafree.engine.regime.parse_regime`, which does the validating.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from visafree.engine.regime import Regime, RegimeError, parse_regime

__all__ = ["Regime", "RegimeError", "builtin_files", "builtin_regimes", "load_regime_file", "regime_catalogue", "regime_detail", "regime_summary"]


def _parse_toml(text: str, origin: str) -> Regime:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegimeError(f"{origin}: not valid TOML: {exc}") from None
    return parse_regime(data, origin)


def _toml_files(folder, prefix: str = ""):
    """Every .toml below the package, as (relative path, traversable): one file per regime,
    grouped in folders by the country (or union) that grants it, e.g. vnm/vn-kz.toml."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            yield from _toml_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".toml"):
            yield f"{prefix}{entry.name}", entry


@lru_cache(maxsize=1)
def builtin_files() -> dict[str, str]:
    """Regime id -> its file, relative to the package (for docs and `visafree regimes`)."""
    return {regime_id: path for regime_id, (path, _) in _builtin().items()}


@lru_cache(maxsize=1)
def _builtin() -> dict[str, tuple[str, Regime]]:
    found: dict[str, tuple[str, Regime]] = {}
    for path, entry in _toml_files(resources.files(__package__)):
        regime = _parse_toml(entry.read_text(encoding="utf-8"), path)
        if regime.id in found:
            raise RegimeError(f"{path}: regime id '{regime.id}' is already defined in {found[regime.id][0]}")
        found[regime.id] = (path, regime)
    return found


def builtin_regimes() -> dict[str, Regime]:
    return {regime_id: regime for regime_id, (_, regime) in _builtin().items()}


def load_regime_file(path: str | Path) -> Regime:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegimeError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RegimeError(f"{path}: not UTF-8 text") from None
    return _parse_toml(text, str(path))


def regime_catalogue(extra_files: list[str | Path] | tuple = ()) -> dict[str, Regime]:
    """Built-in regimes plus the user's own; a user file may not silently replace a built-in."""
    catalogue = dict(builtin_regimes())
    for path in extra_files:
        regime = load_regime_file(path)
        if regime.id in catalogue:
            raise RegimeError(f"{path}: regime id '{regime.id}' is already defined")
        catalogue[regime.id] = regime
    return catalogue


def _iso(day):
    return day.isoformat() if day and day != dt.date.min else None


def regime_summary(regime: Regime) -> dict:
    """Who a regime covers and when, as JSON-ready data (the API's list of regimes)."""
    return {
        "id": regime.id, "title": regime.title, "titles": {"en": regime.title, **regime.titles},
        "kind": regime.kind or None, "source": regime.source, "notes": regime.notes,
        "in_force": [{"since": _iso(p.period.since), "until": _iso(p.period.until), "source": p.source}
                     for p in regime.in_force],
        "coverage": [{"nationalities": sorted(c.nationalities), "destinations": sorted(c.destinations), "rule": c.rule,
                      "source": c.source or None,
                      # Only the countries dated on their own (added later, or no longer covered).
                      "dated": [{"code": code, "role": role, "since": _iso(p.since), "until": _iso(p.until)}
                                for role, periods in (("nationality", c.nationality_periods),
                                                      ("destination", c.destination_periods))
                                for code, spans in sorted(periods.items()) if spans != (c.period,) for p in spans]}
                     for c in regime.coverage],
    }


def regime_detail(regime: Regime) -> dict:
    """The summary plus every rule and every dated parameter with its source
    (`visafree regimes --json` and `GET /api/v1/regimes/{id}`)."""
    body = regime_summary(regime)
    body["rules"] = [{"id": r.id, "title": r.title, "titles": {"en": r.title, **r.titles}, "citation": r.citation,
                      "text": r.text} for r in regime.rules.values()]
    body["parameters"] = [
        {"name": p.name, "rule": p.rule, "description": p.description,
         "values": [{"since": _iso(v.period.since), "until": _iso(v.period.until), "value": v.value, "source": v.source}
                    for v in p.values]}
        for p in regime.parameters.values()
    ]
    return body
