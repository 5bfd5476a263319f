"""The engine, asked traveller by traveller: what the batch outputs must equal.

Used by the differential tests (every stay and traveller compared) and by the benchmark (the
time the Python engine takes per traveller, measured on a sample).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable

from visafree.engine import LongStayVisa, Question, ResidencePermit, Stay, Visa, check
from visafree.regimes import builtin_regimes

STAY_FIELDS = ("entry", "exit", "last_day", "days", "first_violation", "violation_rule", "overstay_days")
TRAVELLER_FIELDS = ("stays", "overstay_days", "in_country", "latest_exit", "limited_by", "days_used",
                    "days_remaining", "current_day", "current_entry")


def group_stays(rows: Iterable[dict]) -> dict[tuple, list[dict]]:
    """Stays (rows of the `stays` output) by traveller key (regime, traveller_id, territory)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["regime"], row["traveller_id"], row["territory"])].append(row)
    return groups


def basis_of(row: dict):
    """The engine's basis of a stay row of a run with bases (docs/basis.md); None: visa-free."""
    kind = row.get("basis")
    if kind == "visa":
        return Visa(row["valid_from"], row["valid_until"], row["visa_entries"] or "multiple", row["visa_kind"] or "short_stay",
                    row["visa_duration_days"])
    if kind == "residence_permit":
        return ResidencePermit(row["valid_until"])
    if kind == "long_stay_visa":
        return LongStayVisa()
    return None


def ask_engine(key: tuple, stays: list[dict], on: dt.date, regimes=None):
    """engine.check for one traveller; returns (expected stay rows, expected traveller row)."""
    regimes = regimes or builtin_regimes()
    stays = sorted(stays, key=lambda r: (r["entry"], r["last_day"], r.get("entry_event_id") or 0))
    open_stays = [r for r in stays if r["exit"] is None]
    destination = (open_stays[0] if open_stays else stays[0])["destination"]
    question = Question(
        regime=regimes[key[0]], nationality=min(r["nationality"] for r in stays),
        destination=destination, on=on,
        stays=tuple(Stay(r["entry"], r["exit"], basis_of(r)) for r in stays),
    )
    answer = check(question)
    expected_stays = [
        {f: getattr(rep, f) for f in STAY_FIELDS} for rep in answer.stays
    ]
    cur = answer.current_stay
    traveller = {
        "stays": len(stays), "overstay_days": answer.overstay_days, "in_country": answer.in_country,
        "latest_exit": cur.latest_exit if cur else None, "limited_by": cur.limited_by if cur else None,
        "days_used": answer.days_used, "days_remaining": answer.days_remaining,
        "current_day": cur.day if cur else None, "current_entry": cur.entry if cur else None,
    }
    return expected_stays, traveller


def differences(stay_rows: list[dict], traveller_rows: list[dict], on: dt.date, limit: int = 20,
                regimes=None) -> list[str]:
    """Every disagreement between batch outputs and the engine (empty when they agree)."""
    problems: list[str] = []
    travellers = {(r["regime"], r["traveller_id"], r["territory"]): r for r in traveller_rows}
    groups = group_stays(stay_rows)
    if set(groups) != set(travellers):
        problems.append(f"traveller keys differ: {len(set(groups) ^ set(travellers))} unmatched")
    for key, stays in groups.items():
        expected_stays, expected_traveller = ask_engine(key, stays, on, regimes)
        got_stays = sorted(({f: r[f] for f in STAY_FIELDS} for r in stays),
                           key=lambda r: (r["entry"], r["last_day"], r["first_violation"] or dt.date.min))
        want_stays = sorted(expected_stays, key=lambda r: (r["entry"], r["last_day"],
                                                         r["first_violation"] or dt.date.min))
        for got, want in zip(got_stays, want_stays):
            if got != want:
                problems.append(f"{key} stay: batch {got} engine {want}")
        got_t = travellers.get(key)
        if got_t is not None:
            got = {f: got_t[f] for f in TRAVELLER_FIELDS}
            if got != expected_traveller:
                problems.append(f"{key} traveller: batch {got} engine {expected_traveller}")
        if len(problems) >= limit:
            break
    return problems
