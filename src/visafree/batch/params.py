"""The regime data the SQL needs, as small tables built from `regime.rules_in_force(on)`.

Nothing here hard-codes a rule's number: 30, 90, 180 and the entry-day convention all come
from the regime files, resolved for the reference date exactly as `engine.check` resolves them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from visafree.engine import preference
from visafree.engine.regime import Regime
from visafree.regimes import builtin_regimes

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01: the integer day both SQL dialects compute with."""
    return (day - EPOCH).days


@dataclass(frozen=True)
class RegimeRules:
    regime: str
    window_days: int | None  # R4: length of the rolling window (None: the regime has none)
    window_max_days: int | None  # R4: most days of presence in it
    per_stay_last_offset: int | None  # R3: last permitted day = entry + this (None: no R3)
    day_offset: int  # R3 convention: day number of the entry day (1, or 0 under the other reading)
    # Bases of stay (docs/basis.md): 1 when the window counts the days of a stay on a visa, a
    # residence permit, a long-stay visa (counted_bases), and limits a visa stay (window_bases).
    counts_visa: int = 1
    counts_permit: int = 0
    counts_long: int = 0
    limits_visa: int = 0

    @property
    def window_gap(self) -> int | None:
        # R4 in absence terms (see pipeline.py): a run breaches once the absences before it
        # trail the run's own by this many days; <= 0 means the window can never be exceeded.
        if self.window_days is None or self.window_max_days is None:
            return None  # SQL NULL: no day is ever in breach of a window
        return self.window_days - self.window_max_days


@dataclass(frozen=True)
class RegimeTables:
    on: dt.date
    rules: tuple[RegimeRules, ...]
    coverage: tuple[tuple[str, str, str], ...]  # (regime, nationality, destination)
    # (nationality, destination, regime): the regime a crossing without one is counted under,
    # chosen by the engine's resolution (visafree.engine.preference) for the reference date.
    resolved: tuple[tuple[str, str, str], ...]
    in_force: tuple[tuple[str, int, int | None], ...]  # (regime, since, until) as day numbers
    territory: tuple[tuple[str, str, str], ...]  # (regime, destination, territory)

    @property
    def on_day(self) -> int:
        return day_number(self.on)


def rules_for(regime: Regime, on: dt.date) -> RegimeRules:
    rules = regime.rules_in_force(on)
    offset = None
    if rules.per_stay_max_days is not None:
        # R3 (RULES.md §2): with the entry day as day 1 the last day is entry + max - 1.
        offset = rules.per_stay_max_days - (1 if rules.entry_day_counts else 0)
    return RegimeRules(
        regime=regime.id,
        window_days=rules.window_days,
        window_max_days=rules.window_max_days,
        per_stay_last_offset=offset,
        day_offset=1 if rules.entry_day_counts else 0,
        counts_visa=int("visa" in rules.counted_bases),
        counts_permit=int("residence_permit" in rules.counted_bases),
        counts_long=int("long_stay_visa" in rules.counted_bases),
        limits_visa=int("visa" in rules.window_bases),
    )


def regime_tables(on: dt.date, regimes: dict[str, Regime] | None = None) -> RegimeTables:
    regimes = regimes if regimes is not None else builtin_regimes()
    rules, coverage, in_force, territory = [], [], [], []
    for rid in sorted(regimes):
        regime = regimes[rid]
        rules.append(rules_for(regime, on))
        for index, cov in enumerate(regime.coverage):
            for nat in sorted(cov.nationalities):
                for dest in sorted(cov.destinations):
                    coverage.append((rid, nat, dest))
            # One coverage entry is one territory: the Schengen area counts as one country
            # (the regime's notes), while VN-KZ's two directions are two separate territories.
            for dest in sorted(cov.destinations):
                territory.append((rid, dest, f"{rid}:{index}"))
        for period in regime.in_force:
            until = period.period.until
            in_force.append((rid, day_number(period.period.since), None if until is None else day_number(until)))
    # A destination listed under two coverage entries keeps the first territory.
    seen, unique = set(), []
    for row in territory:
        if row[:2] not in seen:
            seen.add(row[:2])
            unique.append(row)
    # A pair listed twice must not be joined twice (the SQL joins on coverage).
    coverage = sorted(set(coverage))
    resolved = []
    for nat, dest in sorted({(n, d) for _, n, d in coverage}):
        # The same resolution as every other caller; a pair covered only on other dates keeps
        # the first regime that ever covers it, which then reports the entry as not in force.
        chosen = preference(regimes.values(), nat, dest, on)
        resolved.append((nat, dest, chosen.id if chosen else min(r for r, n, d in coverage if (n, d) == (nat, dest))))
    return RegimeTables(on=on, rules=tuple(rules), coverage=tuple(coverage), resolved=tuple(resolved),
                        in_force=tuple(in_force), territory=tuple(unique))
