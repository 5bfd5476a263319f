"""Explanations as data: a message code, the rule it rests on, and its parameters.

The English templates below are also the gettext msgids, so the shell layers (CLI, web page)
translate an explanation with Babel catalogues without the engine knowing about languages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

MESSAGES: dict[str, str] = {
    "coverage_ok": "{regime} covers citizens of {nationality} entering {destination} ({rule}).",
    "coverage_no": (
        "{regime} does not cover citizens of {nationality} entering {destination} ({rule}): "
        "no visa-free stay follows from it."
    ),
    "not_in_force": "{regime} is not in force on {date}: an entry that day is not visa-free under it.",
    "convention_entry_day": (
        "Counting: the entry day is day 1 of a stay, entry and exit days both count "
        "(entry_day_counts = true)."
    ),
    "convention_day_after": (
        "Counting: a stay's days are counted from the day after entry "
        "(entry_day_counts = false)."
    ),
    "window": (
        "Window {start} to {end} ({window_days} days, {rule}): {used} days of presence, "
        "{remaining} of {max} left."
    ),
    "no_window": "This regime limits each stay ({max} days, {rule}) and has no rolling window: days of earlier stays do not add up.",
    "no_regime": (
        "No visa-free regime known for citizens of {nationality} entering {destination} on {date}: "
        "a visa or permit is needed."
    ),
    # Which regime answers (RULES.md §4), one message per reason it was chosen.
    "resolution_only": "{regime} is the only regime that applies.",
    "resolution_planned": "Regimes that apply: {applicable}. The answer is given under {regime}: it allows more of the planned trips.",
    "resolution_latest_exit": "Regimes that apply: {applicable}. The answer is given under {regime}: it allows the latest exit.",
    "resolution_earliest_entry": "Regimes that apply: {applicable}. The answer is given under {regime}: it allows the earliest start.",
    "resolution_overstay": "Regimes that apply: {applicable}. The answer is given under {regime}: it counts the fewest days of overstay.",
    "resolution_equal": "Regimes that apply: {applicable}. They give the same answer; it is shown under {regime}.",
    "resolution_none_in_force": (
        "No regime covers this traveller on {date}; the answer is given under {regime}, which covers "
        "them on other dates or with another passport."
    ),
    "current_stay": "In the country since {entry}: {on} is day {day} of this stay.",
    "latest_exit_per_stay": "Leave by {date}: it is day {max} of the stay, the last that {rule} allows.",
    "latest_exit_window": (
        "Leave by {date}: staying one more day would make {over} days of presence in the window "
        "{start} to {end}, more than {max} ({rule})."
    ),
    "latest_exit_passport": (
        "Leave by {date}: the passport must remain valid {months} months after the exit ({rule})."
    ),
    "entry_refused_window": (
        "Entering on {date} is not allowed: the window {start} to {end} would hold {over} days "
        "of presence, more than {max} ({rule})."
    ),
    "violation_per_stay": (
        "Overstay from {date}: day {day} of the stay that began {entry} is beyond the {max} days "
        "{rule} allows ({days} days of overstay)."
    ),
    "violation_window": (
        "Overstay from {date}: {count} days of presence in the window {start} to {end}, more "
        "than {max} ({rule}); {days} days in breach in this run."
    ),
    "passport_not_given": "No passport given: the passport rules ({rules}) were not judged.",
    "passport_ok": (
        "Passport ({type}) valid until {expires}: it must be valid until at least {needed} ({rule})."
    ),
    "passport_short": (
        "Passport valid until {expires}, but it must be valid until at least {needed} ({rule})."
    ),
    "passport_too_old": "Passport issued {issued}: it must have been issued on or after {needed} ({rule}).",
    "passport_type_no": "A {type} passport is not covered: only {allowed} ({rule}).",
    "planned_ok": "Planned trip {entry} to {exit}: allowed; entering {entry}, the latest exit is {latest}.",
    "planned_no": "Planned trip {entry} to {exit}: not allowed ({reasons}).",
    "planned_stay_too_long": (
        "Planned trip {entry} to {exit} lasts {days} days, more than the {max} days {rule} allows."
    ),
    "earliest": "The earliest start of a {trip_days}-day trip is {date}.",
    "earliest_same_day": (
        "The earliest start of a {trip_days}-day trip is {date}, leaving and re-entering that same day: "
        "a new stay begins on it (RULES.md §2), while the rolling window still counts every day."
    ),
    "earliest_none": "No start date allows a {trip_days}-day trip ({reasons}).",
}


@dataclass(frozen=True, slots=True)
class Note:
    """One line of an explanation."""

    code: str
    rule: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(
        self,
        translate: Callable[[str], str] = lambda s: s,
        format_value: Callable[[Any], str] | None = None,
    ) -> str:
        fmt = format_value or _plain
        return translate(MESSAGES[self.code]).format(rule=self.rule, **{k: fmt(v) for k, v in self.params})

    @property
    def text(self) -> str:
        return self.render()


def _plain(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def note(code: str, rule: str = "", **params: Any) -> Note:
    return Note(code, rule, tuple(params.items()))
