"""A regime as plain data: who it covers, when it is in force, and its dated parameters.

Parsing and validating a regime from a mapping (as `tomllib` returns it) lives here so that
the rules about what a valid regime is are pure and testable; reading files is the job of
`visafree.regimes`.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Mapping


class RegimeError(ValueError):
    """A regime file that cannot be trusted: the message names the offending key."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    citation: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Period:
    """Dates of effect, `until` inclusive; None means open-ended."""

    since: dt.date
    until: dt.date | None = None

    def contains(self, day: dt.date) -> bool:
        return self.since <= day and (self.until is None or day <= self.until)


@dataclass(frozen=True, slots=True)
class InForce:
    period: Period
    source: str


@dataclass(frozen=True, slots=True)
class ParameterValue:
    period: Period
    value: Any
    source: str


@dataclass(frozen=True, slots=True)
class Parameter:
    """One legal parameter with its history of values, in the manner of OpenFisca."""

    name: str
    rule: str
    description: str
    values: tuple[ParameterValue, ...]

    def at(self, day: dt.date) -> ParameterValue | None:
        for value in self.values:
            if value.period.contains(day):
                return value
        return None

    def nearest(self, day: dt.date) -> ParameterValue:
        """The value in effect on `day`, else the closest one in time, so that a question about
        a day outside every period (an entry before entry into force) is still counted by the
        regime's own numbers while the answer says `not_in_force`."""
        found = self.at(day)
        if found is not None:
            return found
        earlier = [v for v in self.values if v.period.since <= day]
        return earlier[-1] if earlier else self.values[0]


@dataclass(frozen=True, slots=True)
class Coverage:
    nationalities: frozenset[str]
    destinations: frozenset[str]
    rule: str


@dataclass(frozen=True, slots=True)
class Regime:
    id: str
    title: str
    source: str
    in_force: tuple[InForce, ...]
    coverage: tuple[Coverage, ...]
    rules: Mapping[str, Rule]
    parameters: Mapping[str, Parameter]
    notes: str = ""

    def covers(self, nationality: str, destination: str) -> Coverage | None:
        for cov in self.coverage:
            if nationality in cov.nationalities and destination in cov.destinations:
                return cov
        return None

    def in_force_on(self, day: dt.date) -> InForce | None:
        for period in self.in_force:
            if period.period.contains(day):
                return period
        return None

    # The parameters change only on the dates where one of their periods starts or ends, so the
    # rule sets are resolved once, when the regime is made, and looked up by date per question.
    _cuts: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    _rule_sets: tuple["RuleSet", ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cuts = sorted({v.period.since for p in self.parameters.values() for v in p.values}
                      | {v.period.until + dt.timedelta(days=1) for p in self.parameters.values()
                         for v in p.values if v.period.until is not None and v.period.until < dt.date.max})
        cuts = cuts or [dt.date.min]
        object.__setattr__(self, "_cuts", tuple(cuts))
        object.__setattr__(self, "_rule_sets", tuple(self._resolve(day) for day in cuts))

    def rules_in_force(self, day: dt.date) -> "RuleSet":
        """The parameters that apply on `day` (before the first date any is set, the earliest)."""
        return self._rule_sets[max(0, bisect_right(self._cuts, day) - 1)]

    def _resolve(self, day: dt.date) -> "RuleSet":
        values = {}
        for name in PARAMETERS:
            param = self.parameters.get(name)
            values[name] = param.nearest(day).value if param else PARAMETERS[name].default
        rule_of = {name: p.rule for name, p in self.parameters.items()}
        return RuleSet(
            passport_types=frozenset(values["passport_types"]),
            passport_validity_months=values["passport_validity_months"],
            passport_validity_from=values["passport_validity_from"],
            passport_max_age_years=values["passport_max_age_years"],
            per_stay_max_days=values["per_stay_max_days"],
            entry_day_counts=values["entry_day_counts"],
            window_days=values["window_days"],
            window_max_days=values["window_max_days"],
            rule_of=rule_of,
        )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The values of a regime's parameters on one day: what the engine computes with."""

    passport_types: frozenset[str]
    passport_validity_months: int | None
    passport_validity_from: str
    passport_max_age_years: int | None
    per_stay_max_days: int | None
    entry_day_counts: bool
    window_days: int
    window_max_days: int
    rule_of: Mapping[str, str] = field(default_factory=dict)

    def rule(self, parameter: str, fallback: str = "") -> str:
        return self.rule_of.get(parameter, fallback)


@dataclass(frozen=True, slots=True)
class _ParamSpec:
    kind: type | tuple[type, ...]
    default: Any
    required: bool
    check: Any = None


def _positive(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


PASSPORT_TYPES = ("ordinary", "diplomatic", "service")

# Every parameter a regime may set. Adding a regime needs no code; adding a *kind* of rule does.
PARAMETERS: dict[str, _ParamSpec] = {
    "passport_types": _ParamSpec(
        list, list(PASSPORT_TYPES), False,
        lambda v: bool(v) and all(t in PASSPORT_TYPES for t in v),
    ),
    "passport_validity_months": _ParamSpec(int, None, False, _positive),
    "passport_validity_from": _ParamSpec(str, "entry", False, lambda v: v in ("entry", "exit")),
    "passport_max_age_years": _ParamSpec(int, None, False, _positive),
    "per_stay_max_days": _ParamSpec(int, None, False, _positive),
    "entry_day_counts": _ParamSpec(bool, True, False),
    "window_days": _ParamSpec(int, None, True, _positive),
    "window_max_days": _ParamSpec(int, None, True, _positive),
}

_TOP_KEYS = {"id", "title", "source", "notes", "in_force", "coverage", "rules", "parameters"}
_RULE_KEYS = {"title", "citation", "text"}
_PARAM_KEYS = {"rule", "description", "values"}
_VALUE_KEYS = {"since", "until", "value", "source"}
_COVERAGE_KEYS = {"nationality", "destination", "rule"}
_IN_FORCE_KEYS = {"since", "until", "source"}


def _require(mapping: Mapping[str, Any], key: str, where: str, kind: type | tuple = str) -> Any:
    if key not in mapping:
        raise RegimeError(f"{where}: missing required key '{key}'")
    value = mapping[key]
    if not isinstance(value, kind) or (isinstance(value, str) and kind is str and not value.strip()):
        raise RegimeError(f"{where}.{key}: expected a non-empty {getattr(kind, '__name__', kind)}")
    return value


def _no_unknown(mapping: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise RegimeError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _as_date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise RegimeError(f"{where}: expected a date (YYYY-MM-DD), got {value!r}")


def _period(mapping: Mapping[str, Any], where: str) -> Period:
    since = _as_date(_require(mapping, "since", where, (dt.date, str)), f"{where}.since")
    until = mapping.get("until")
    until = _as_date(until, f"{where}.until") if until is not None else None
    if until is not None and until < since:
        raise RegimeError(f"{where}: until {until} is before since {since}")
    return Period(since, until)


def _check_no_overlap(periods: list[Period], where: str) -> None:
    ordered = sorted(periods, key=lambda p: p.since)
    for before, after in zip(ordered, ordered[1:]):
        if before.until is None or after.since <= before.until:
            raise RegimeError(
                f"{where}: periods of validity overlap ({before.since}..{before.until or 'open'}"
                f" and {after.since}..{after.until or 'open'})"
            )


def _country_list(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise RegimeError(f"{where}: expected a list of ISO 3166-1 alpha-3 codes")
    for code in value:
        if not (isinstance(code, str) and len(code) == 3 and code.isalpha() and code.isupper()):
            raise RegimeError(f"{where}: {code!r} is not an ISO 3166-1 alpha-3 code")
    return frozenset(value)


def parse_regime(data: Mapping[str, Any], origin: str = "regime") -> Regime:
    """Validate strictly: unknown keys, missing citations and overlapping periods are errors."""
    _no_unknown(data, _TOP_KEYS, origin)
    regime_id = _require(data, "id", origin)
    where = f"{origin} ({regime_id})"
    rules_raw = _require(data, "rules", where, dict)
    rules: dict[str, Rule] = {}
    for rule_id, body in rules_raw.items():
        rw = f"{where}: rules.{rule_id}"
        if not isinstance(body, dict):
            raise RegimeError(f"{rw}: expected a table")
        _no_unknown(body, _RULE_KEYS, rw)
        rules[rule_id] = Rule(
            id=rule_id,
            title=_require(body, "title", rw),
            citation=_require(body, "citation", rw),
            text=body.get("text", ""),
        )

    def known_rule(rule_id: Any, at: str) -> str:
        if not isinstance(rule_id, str) or rule_id not in rules:
            raise RegimeError(f"{at}: rule {rule_id!r} is not defined under [rules]")
        return rule_id

    in_force_raw = _require(data, "in_force", where, list)
    if not in_force_raw:
        raise RegimeError(f"{where}: in_force must list at least one period")
    in_force = []
    for i, item in enumerate(in_force_raw):
        iw = f"{where}: in_force[{i}]"
        _no_unknown(item, _IN_FORCE_KEYS, iw)
        in_force.append(InForce(_period(item, iw), _require(item, "source", iw)))
    _check_no_overlap([p.period for p in in_force], f"{where}: in_force")

    coverage = []
    for i, item in enumerate(_require(data, "coverage", where, list)):
        cw = f"{where}: coverage[{i}]"
        _no_unknown(item, _COVERAGE_KEYS, cw)
        coverage.append(
            Coverage(
                nationalities=_country_list(_require(item, "nationality", cw, (str, list)), f"{cw}.nationality"),
                destinations=_country_list(_require(item, "destination", cw, (str, list)), f"{cw}.destination"),
                rule=known_rule(item.get("rule"), cw),
            )
        )
    if not coverage:
        raise RegimeError(f"{where}: coverage must list at least one entry")

    params_raw = _require(data, "parameters", where, dict)
    _no_unknown(params_raw, set(PARAMETERS), f"{where}: parameters")
    parameters: dict[str, Parameter] = {}
    for name, spec in PARAMETERS.items():
        if name not in params_raw:
            if spec.required:
                raise RegimeError(f"{where}: parameters.{name} is required")
            continue
        body = params_raw[name]
        pw = f"{where}: parameters.{name}"
        if not isinstance(body, dict):
            raise RegimeError(f"{pw}: expected a table")
        _no_unknown(body, _PARAM_KEYS, pw)
        values = []
        for i, item in enumerate(_require(body, "values", pw, list)):
            vw = f"{pw}.values[{i}]"
            _no_unknown(item, _VALUE_KEYS, vw)
            if "value" not in item:
                raise RegimeError(f"{vw}: missing required key 'value'")
            value = item["value"]
            bad_type = not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool))
            if bad_type or (spec.check is not None and not spec.check(value)):
                raise RegimeError(f"{vw}.value: {value!r} is not a valid value for {name}")
            values.append(ParameterValue(_period(item, vw), value, _require(item, "source", vw)))
        if not values:
            raise RegimeError(f"{pw}: values must not be empty")
        _check_no_overlap([v.period for v in values], pw)
        parameters[name] = Parameter(
            name=name,
            rule=known_rule(body.get("rule"), pw),
            description=body.get("description", ""),
            values=tuple(sorted(values, key=lambda v: v.period.since)),
        )

    for value in parameters["window_max_days"].values:
        days = parameters["window_days"].nearest(value.period.since).value
        if value.value >= days:
            raise RegimeError(
                f"{where}: parameters.window_max_days ({value.value}) must be less than window_days ({days}),"
                " or the window limits nothing"
            )

    return Regime(
        id=regime_id,
        title=_require(data, "title", where),
        source=_require(data, "source", where),
        in_force=tuple(sorted(in_force, key=lambda p: p.period.since)),
        coverage=tuple(coverage),
        rules=rules,
        parameters=parameters,
        notes=data.get("notes", ""),
    )
