"""Explanations as data: a message code, the rule it rests on, and its parameters.

The English templates below are also the gettext msgids, so the shell layers (CLI, web page)
translate an explanation with Babel catalogues without the engine knowing about languages.
A number in a sentence is a parameter of its own phrase (COUNTS): Russian says "31 день,
22 дня, 180 дней", so each number picks its plural form through the shell's ngettext, and a
sentence with several numbers gives each its own form.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping

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
        "Period of {window_days} from {start} to {end} ({rule}): {used} of presence, "
        "{remaining} of {max} left."
    ),
    "no_window": "This regime limits each stay ({max}, {rule}) and has no rolling window: days of earlier stays do not add up.",
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
    "current_stay": "In the host country since {entry}: {on} is day {day} of this stay.",
    "latest_exit_per_stay": "Leave by {date}: it is day {max} of the stay, the last one allowed ({rule}).",
    "latest_exit_window": (
        "Leave by {date}: staying one more day would make {over} of presence in the period "
        "{start} to {end}, more than {max} ({rule})."
    ),
    "latest_exit_passport": (
        "Leave by {date}: the passport must remain valid {months} after the exit ({rule})."
    ),
    "entry_refused_window": (
        "Entering on {date} is not allowed: the period {start} to {end} would hold {over} "
        "of presence, more than {max} ({rule})."
    ),
    "violation_per_stay": (
        "Overstay from {date}: day {day} of the stay that began {entry} is beyond the {max} "
        "allowed ({rule}); {days} of overstay."
    ),
    "violation_window": (
        "Overstay from {date}: {count} of presence in the period {start} to {end}, more "
        "than {max} ({rule}); {days} of overstay in this run."
    ),
    # A fixed period's limit (engine/periods.py, issue 9).
    "period_calendar_year": (
        "Calendar year {start} to {end} ({rule}): {used} of presence up to {on}, {remaining} of {max} left."
    ),
    "period_first_entry": (
        "Period {start} to {end}, counted from the first entry on {start} ({rule}): {used} of presence "
        "up to {on}, {remaining} of {max} left."
    ),
    "period_none": (
        "No period counted from a first entry runs on {date} ({rule}): the next entry starts a new one, "
        "with {max} allowed in it."
    ),
    "latest_exit_period": (
        "Leave by {date}: one more day would make {over} of presence in the fixed period from {start} "
        "to {end}, more than {max} ({rule})."
    ),
    "entry_refused_period": (
        "Entering on {date} is not allowed: the fixed period from {start} to {end} would hold {over} "
        "of presence, more than {max} ({rule})."
    ),
    "violation_period": (
        "Overstay from {date}: {count} of presence in the fixed period from {start} to {end}, more "
        "than {max} ({rule}); {days} of overstay in this run."
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
        "Planned trip {entry} to {exit} lasts {days}, more than the {max} allowed ({rule})."
    ),
    "earliest": "The earliest start of a trip of {trip_days} is {date}.",
    "earliest_same_day": (
        "The earliest start of a trip of {trip_days} is {date}, leaving and re-entering that same day: "
        "a new stay begins on it (RULES.md §2), while the 180-day period still counts every day."
    ),
    "earliest_none": "No start date allows a trip of {trip_days} ({reasons}).",
    # Bases of stay (docs/basis.md, issue 13).
    "days_not_counted": (
        "{days} under a residence permit or a long-stay visa are not counted in this period (RULES.md §2)."
    ),
    "stay_on_visa": (
        "This stay is on a visa valid from {valid_from} to {valid_until}: it is judged by the visa, "
        "and its days count in the period."
    ),
    "stays_on_basis": "{count} on a visa or a permit judged by the visa or the permit, not by the visa-free limits.",
    "stay_on_permit": "This stay is under a residence permit or a long-stay visa: its days are not counted in the period.",
    "stay_on_permit_counted": (
        "This stay is under a residence permit or a long-stay visa; this regime counts its days in the period."
    ),
    "entry_refused_visa_validity": (
        "Entering on {date} is not allowed on this visa: it is valid from {valid_from} to {valid_until}."
    ),
    "entry_refused_visa_entries": "Entering on {date} is not allowed on this visa: its {used} are used up.",
    "latest_exit_visa_duration": "Leave by {date}: it is day {max} of the stay, the last one the visa allows.",
    "latest_exit_basis": "Leave by {date}: the visa or the permit is valid until that day.",
    "violation_visa_validity": (
        "Overstay from {date}: the visa is valid from {valid_from} to {valid_until}; {days} outside it."
    ),
    "violation_visa_duration": (
        "Overstay from {date}: the stay that began {entry} is longer than the {max} the visa allows; "
        "{days} of overstay."
    ),
    "violation_visa_entries": (
        "Overstay from {date}: the stay that began {entry} is an entry the visa no longer allows; "
        "{days} of overstay."
    ),
    "violation_permit": "Overstay from {date}: the residence permit was valid until {valid_until}; {days} of overstay.",
    "entry_passport_problem": (
        "The entry on {entry} did not meet the passport rules ({reasons}); the latest exit follows the rules of stay."
    ),
    "planned_visa_needed": "A visa is needed for {days} of this trip, from {date}.",
}

_DAYS = ("{n} day", "{n} days")
#: message code -> parameter -> (singular, plural) English phrase of that number. The gettext
#: context of a phrase is "<code>.<parameter>": the same "{n} days" is nominative in one Russian
#: sentence and genitive in the next ("длится 21 день", "больше 21 дня").
COUNTS: dict[str, dict[str, tuple[str, str]]] = {
    "window": {"window_days": _DAYS, "used": _DAYS, "max": _DAYS},
    "no_window": {"max": _DAYS},
    "latest_exit_window": {"over": _DAYS},
    "latest_exit_passport": {"months": ("{n} month", "{n} months")},
    "entry_refused_window": {"over": _DAYS},
    "violation_per_stay": {"max": _DAYS, "days": _DAYS},
    "violation_window": {"count": _DAYS, "days": _DAYS},
    "planned_stay_too_long": {"days": _DAYS, "max": _DAYS},
    "period_calendar_year": {"used": _DAYS, "max": _DAYS},
    "period_first_entry": {"used": _DAYS, "max": _DAYS},
    "period_none": {"max": _DAYS},
    "latest_exit_period": {"over": _DAYS},
    "entry_refused_period": {"over": _DAYS},
    "violation_period": {"count": _DAYS, "days": _DAYS},
    "earliest": {"trip_days": _DAYS},
    "earliest_same_day": {"trip_days": _DAYS},
    "earliest_none": {"trip_days": _DAYS},
    "days_not_counted": {"days": _DAYS},
    "stays_on_basis": {"count": ("{n} stay", "{n} stays")},
    "entry_refused_visa_entries": {"used": ("{n} entry", "{n} entries")},
    "violation_visa_validity": {"days": _DAYS},
    "violation_visa_duration": {"max": _DAYS, "days": _DAYS},
    "violation_visa_entries": {"days": _DAYS},
    "violation_permit": {"days": _DAYS},
    "planned_visa_needed": {"days": _DAYS},
}

#: English templates of input errors (InputError.template), msgids like MESSAGES. Parameters
#: named `field` or ending in `_field` hold JSON paths ("stays[0].entry"), which a shell may name
#: in the reader's language; `value` is the input as given (its repr).
ERRORS: dict[str, str] = {
    "required": "{field} is required",
    "date_type": "{field}: expected a date as YYYY-MM-DD, got {value}",
    "not_a_date": "{field}: {value} is not a date (YYYY-MM-DD)",
    "date_range": "{field}: {value} is outside the supported range {min}..{max}",
    "country": "{field}: expected an ISO 3166-1 alpha-3 code such as KAZ, got {value}",
    "list_expected": "{field}: expected a list of {{entry, exit}}",
    "too_many": "{field}: {count} items, at most {max} are accepted",
    "object_expected": "{field}: expected an object with entry and exit",
    "unknown_fields_in": "{field}: unknown field(s) {names}",
    "unknown_fields": "unknown field(s): {names}",
    "request_object": "the request must be a JSON object",
    "regime_type": "regime: expected a regime id such as \"vn-kz\", or no regime",
    "unknown_regime": "unknown regime {value}; known: {known}",
    "passport_object": "passport: expected {{type, expires}}",
    "passport_type": "passport.type: expected one of {allowed}",
    "trip_days": "trip_days: expected a whole number of days from 1 to 100000",
    "multiple_open_stays": (
        "{field} and {other_field} both have no exit; only the latest stay may still be going on"
    ),
    "exit_before_entry": "{field}: exit {exit} is before entry {entry}",
    "entry_after_on": (
        "{field}: entry {entry} is after the reference date {on}; future trips belong in 'planned'"
    ),
    "exit_after_on": (
        "{field}: exit {exit} is after the reference date {on}; leave exit empty for a stay that is still going on"
    ),
    "overlap": "{field} (entry {entry}) overlaps {other_field} ({other_entry} to {other_exit})",
    "overlap_open": "{field} (entry {entry}) overlaps {other_field} ({other_entry} to still there)",
    "planned_no_exit": "{field}: a planned trip needs an exit date",
    "planned_before_on": (
        "{field}: entry {entry} is before the reference date {on}; past trips belong in 'stays'"
    ),
    "planned_overlaps_stays": "{field} (entry {entry}) overlaps the recorded stays, which run to {end}",
    # Bases of stay (docs/basis.md, issue 13).
    "basis_object": (
        "{field}: expected a basis: \"visa_free\", \"long_stay_visa\", {{type: \"visa\", valid_from, valid_until}} "
        "or {{type: \"residence_permit\", valid_until}}"
    ),
    "choice": "{field}: expected one of {allowed}, got {value}",
    "visa_dates": "{field}: valid until {until} is before valid from {since}",
    "duration_days": "{field}: expected a whole number of days from 1 to 100000",
}


def _same(text: str) -> str:
    return text


def _english_plural(context: str, singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


@dataclass(frozen=True, slots=True)
class Note:
    """One line of an explanation."""

    code: str
    rule: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(
        self,
        translate: Callable[[str], str] = _same,
        format_value: Callable[[Any], str] | None = None,
        plural: Callable[[str, str, str, int], str] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> str:
        """The sentence. `plural(context, singular, plural, n)` is npgettext; `names` maps regime
        ids and the answer's rule ids to the titles a reader is shown (without it, the ids)."""
        fmt = format_value or plain_value
        pick = plural or _english_plural
        counts = COUNTS.get(self.code, {})
        values: dict[str, str] = {}
        for key, value in self.params:
            if key in counts:
                singular, many = counts[key]
                values[key] = pick(f"{self.code}.{key}", singular, many, value).format(n=fmt(value))
            elif names is not None and key in ("regime", "rules", "applicable"):
                values[key] = fmt([names.get(v, v) for v in value] if isinstance(value, (list, tuple))
                                  else names.get(value, value))
            else:
                values[key] = fmt(value)
        rule = names.get(self.rule, self.rule) if names is not None else self.rule
        return translate(MESSAGES[self.code]).format(rule=rule, **values)

    @property
    def text(self) -> str:
        return self.render()


def plain_value(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(plain_value(v) for v in value)
    return str(value)


def note(code: str, rule: str = "", **params: Any) -> Note:
    return Note(code, rule, tuple(params.items()))


def error_text(template: str, params: Mapping[str, Any]) -> str:
    """The English message of an input error: its template filled with plain values."""
    return template.format(**{k: plain_value(v) for k, v in params.items()})
