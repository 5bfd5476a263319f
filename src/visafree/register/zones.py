"""The local calendar of every destination (RULES.md "Days and time zones"), from the IANA time
zone database through zoneinfo: a table per country, and border posts that carry their own
zone (data/border_posts.toml), so a timestamp with an offset becomes the right local date at
the desk as at ingest.

The country table is read from the database's own zone.tab (shipped by the `tzdata` package,
else the system's), ISO 3166 alpha-2 codes mapped to alpha-3 with the CLDR data Babel ships.
A country with one zone, or whose first zone is its "most of ..." zone, has a default; a
country of several zones without one (Russia, the United States, ...) has none, and an offset
there needs the post's zone: it is refused by name rather than guessed.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo


@functools.lru_cache(maxsize=1)
def _zone_tab() -> str:
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return Path("/usr/share/zoneinfo/zone.tab").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def country_zones() -> dict[str, tuple[tuple[str, str], ...]]:
    """alpha-3 -> ((zone, region comment), ...) in zone.tab's order."""
    from babel.core import get_global

    from .countries import ISO_3166_ALPHA3

    alpha3 = {}
    for code, targets in get_global("territory_aliases").items():
        # Only current ISO codes (CLDR also lists retired ones, DDR for DE among them).
        if code in ISO_3166_ALPHA3 and len(targets) == 1 and len(targets[0]) == 2:
            alpha3.setdefault(targets[0], code)
    found: dict[str, list[tuple[str, str]]] = {}
    for line in _zone_tab().splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        code = alpha3.get(fields[0])
        if code:
            found.setdefault(code, []).append((fields[2], fields[3] if len(fields) > 3 else ""))
    # ICAO codes the register accepts for places zone.tab files under another code.
    found.setdefault("RKS", found.get("XKX", [("Europe/Belgrade", "Kosovo")]))
    return {k: tuple(v) for k, v in found.items()}


@functools.lru_cache(maxsize=1)
def post_zones() -> dict[str, dict[str, str]]:
    data = tomllib.loads(resources.files("visafree.register").joinpath("data/border_posts.toml").read_text(encoding="utf-8"))
    return {country: {name.casefold(): zone for name, zone in posts.items()} for country, posts in data.items()}


def default_zone(country: str) -> str | None:
    zones = country_zones().get(country, ())
    if len(zones) == 1 or (zones and (zones[0][1].lower().startswith("most") or "mainland" in zones[0][1].lower())):
        return zones[0][0]
    return None


def local_moment(day, at, country: str, border_post: str | None, field: str = "time"):
    """(local date, local time without offset) of a desk's date and time: a time with an
    offset is converted to the post's zone first (issue 10: 23:30-05:00 on 20 November is
    21 November in Viet Nam). ValueError naming the field when no zone is known for an offset."""
    import datetime as dt

    if at is None or at.tzinfo is None:
        return day, at
    zone = zone_for(country, border_post)
    if zone is None:
        raise ValueError(f"{field}: has an offset but {country} has several time zones and the post's is not known; "
                         "give the local time")
    moment = dt.datetime.combine(day, at.replace(tzinfo=None), tzinfo=at.tzinfo).astimezone(zone)
    return moment.date(), moment.time().replace(tzinfo=None)


def zone_for(country: str, border_post: str | None = None) -> ZoneInfo | None:
    """The zone a crossing at `border_post` in `country` is dated in; None when unknown."""
    if border_post:
        name = post_zones().get(country, {}).get(border_post.strip().casefold())
        if name:
            return ZoneInfo(name)
    name = default_zone(country)
    return ZoneInfo(name) if name else None
