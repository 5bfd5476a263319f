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

from . import periods as _periods
from .periods import FixedPeriod


class RegimeError(ValueError):
    """A regime file that cannot be trusted: the message names the offending key."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    citation: str
    text: str = ""
    titles: Mapping[str, str] = field(default_factory=dict)  # the title in other languages


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
    """Who one entry of a regime's coverage lets in, and when: each nationality and each
    destination carries its own periods (a country added to a list later, a state that joined
    an area later), already cut to the entry's own period."""

    nationalities: frozenset[str]  # every code the entry ever lists
    destinations: frozenset[str]
    rule: str
    source: str = ""
    period: Period = Period(dt.date.min)  # the entry's own dates; its members' lie within
    nationality_periods: Mapping[str, tuple[Period, ...]] = field(default_factory=dict)
    destination_periods: Mapping[str, tuple[Period, ...]] = field(default_factory=dict)

    def applies(self, nationality: str, destination: str, day: dt.date | None = None) -> bool:
        """Whether the entry covers the pair on `day` (on some day, when `day` is None)."""
        if nationality not in self.nationalities or destination not in self.destinations:
            return False
        if day is None:
            return True
        return (any(p.contains(day) for p in self.nationality_periods.get(nationality, ()))
                and any(p.contains(day) for p in self.destination_periods.get(destination, ())))

    def destination_since(self, destination: str) -> dt.date | None:
        """The first day the destination belongs to this entry (None if it never does)."""
        periods = self.destination_periods.get(destination, ())
        return min(p.since for p in periods) if periods else None


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
    titles: Mapping[str, str] = field(default_factory=dict)  # the title in other languages
    kind: str = ""  # unilateral | bilateral | multilateral

    def covers(self, nationality: str, destination: str, day: dt.date | None = None) -> Coverage | None:
        """The coverage entry that lets `nationality` into `destination` on `day` (on some
        day, when `day` is None: whether the regime is about this traveller at all)."""
        for cov in self.coverage:
            if cov.applies(nationality, destination, day):
                return cov
        return None

    def open_periods(self, nationality: str, destination: str) -> list[Period]:
        """The periods in which an entry can be visa-free: the regime in force and the pair
        covered (its dated coverage), in date order. The loader forbids overlaps within each."""
        found = []
        for cov in self.coverage:
            for n in cov.nationality_periods.get(nationality, ()):
                for d in cov.destination_periods.get(destination, ()):
                    covered = _intersect(n, d)
                    for force in self.in_force:
                        both = _intersect(covered, force.period) if covered is not None else None
                        if both is not None:
                            found.append(both)
        return sorted(found, key=lambda p: p.since)

    def title_in(self, lang: str) -> str:
        return self.titles.get(lang, self.title)

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
            counted_bases=frozenset(values["counted_bases"]),
            window_bases=frozenset(values["window_bases"]),
            rule_of=rule_of,
            period=None if values["period_anchor"] is None else FixedPeriod(
                values["period_anchor"], values["period_length"] or 0, values["period_unit"],
                values["period_max_days"], rule_of.get("period_max_days", "")),
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
    window_days: int | None  # None: no rolling window, only the per-stay limit (R3 kind)
    window_max_days: int | None
    # RULES.md §2: the bases whose days are days of presence in the window, and the bases whose
    # days the window limits (a visa-free day always is both; see docs/basis.md).
    counted_bases: frozenset[str] = frozenset(("visa_free", "visa"))
    window_bases: frozenset[str] = frozenset(("visa_free",))
    rule_of: Mapping[str, str] = field(default_factory=dict)
    period: FixedPeriod | None = None  # a fixed (not rolling) period's limit, engine/periods.py

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
#: What a regime's passport_types may list: an ID card (TD1, TD2) only where its data says so.
DOCUMENT_TYPES = PASSPORT_TYPES + ("id_card",)
#: The bases a stay may have (docs/basis.md); a stay without one is visa-free.
BASES = ("visa_free", "visa", "residence_permit", "long_stay_visa")


def _bases(v: Any) -> bool:
    # A visa-free day is always counted and always limited: the regime is about those days.
    return isinstance(v, list) and "visa_free" in v and all(b in BASES for b in v) and len(set(v)) == len(v)

# Every parameter a regime may set. Adding a regime needs no code; adding a *kind* of rule does.
PARAMETERS: dict[str, _ParamSpec] = {
    "passport_types": _ParamSpec(
        list, list(PASSPORT_TYPES), False,
        lambda v: bool(v) and all(t in DOCUMENT_TYPES for t in v),
    ),
    "passport_validity_months": _ParamSpec(int, None, False, _positive),
    "passport_validity_from": _ParamSpec(str, "entry", False, lambda v: v in ("entry", "exit")),
    "passport_max_age_years": _ParamSpec(int, None, False, _positive),
    "per_stay_max_days": _ParamSpec(int, None, False, _positive),
    "entry_day_counts": _ParamSpec(bool, True, False),
    # R4 kind: optional, but together; a regime without them limits each stay only.
    "window_days": _ParamSpec(int, None, False, _positive),
    "window_max_days": _ParamSpec(int, None, False, _positive),
    # RULES.md §2: days under a residence permit or a long-stay visa never count; other days in
    # the territory do. A regime may say otherwise with its source.
    "counted_bases": _ParamSpec(list, ["visa_free", "visa"], False, _bases),
    # Whose days the window limits: visa-free days (R4), and visa days where the regime's rule
    # binds visa holders too (Schengen: Regulation (EU) 2016/399, Art. 6(1)).
    "window_bases": _ParamSpec(list, ["visa_free"], False, _bases),
    # Fixed-period kind (engine/periods.py): at most period_max_days of presence in a calendar
    # year, or in a period of period_length days/months from the first entry. Together.
    "period_anchor": _ParamSpec(str, None, False, lambda v: v in _periods.ANCHORS),
    "period_length": _ParamSpec(int, None, False, _positive),
    "period_unit": _ParamSpec(str, _periods.DAYS, False, lambda v: v in _periods.UNITS),
    "period_max_days": _ParamSpec(int, None, False, _positive),
}

KINDS = ("unilateral", "bilateral", "multilateral")

_TOP_KEYS = {"id", "title", "titles", "kind", "source", "notes", "in_force", "coverage", "rules", "parameters"}
_RULE_KEYS = {"title", "titles", "citation", "text"}
_PARAM_KEYS = {"rule", "description", "values"}
_VALUE_KEYS = {"since", "until", "value", "source"}
_COVERAGE_KEYS = {"nationality", "destination", "rule", "since", "until", "source"}
_MEMBER_KEYS = {"code", "since", "until", "source"}
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


def _is_country_code(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


def _intersect(a: Period, b: Period) -> Period | None:
    since = max(a.since, b.since)
    untils = [u for u in (a.until, b.until) if u is not None]
    until = min(untils) if untils else None
    return None if until is not None and until < since else Period(since, until)


def _overlaps(a: Period, b: Period) -> bool:
    return _intersect(a, b) is not None


def _country_list(value: Any, where: str, within: Period) -> dict[str, tuple[Period, ...]]:
    """A list of codes, each a plain code (dated as its entry) or {code, since, until, source}.

    Returns the periods of each code, cut to `within`; a code listed twice for overlapping
    periods is an error (two sources would say the same thing, or contradict each other).
    """
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise RegimeError(f"{where}: expected a list of ISO 3166-1 alpha-3 codes")
    periods: dict[str, list[Period]] = {}
    for i, item in enumerate(value):
        iw = f"{where}[{i}]"
        raw: Any = item
        own = within
        if isinstance(item, dict):
            _no_unknown(item, _MEMBER_KEYS, iw)
            raw = item.get("code")
            _require(item, "source", iw)
            own = _period(item, iw) if "since" in item else _until_only(item, iw, within)
        if not _is_country_code(raw):
            raise RegimeError(f"{iw}: {raw!r} is not an ISO 3166-1 alpha-3 code")
        code: str = raw
        cut = _intersect(own, within)
        if cut is None:
            raise RegimeError(f"{iw}: {code} is dated outside its coverage entry's period")
        for earlier in periods.get(code, []):
            if _overlaps(earlier, cut):
                raise RegimeError(f"{iw}: {code} is listed twice for overlapping periods")
        periods.setdefault(code, []).append(cut)
    return {code: tuple(sorted(ps, key=lambda p: p.since)) for code, ps in periods.items()}


def _until_only(item: Mapping[str, Any], where: str, within: Period) -> Period:
    """A member with an end but no start of its own starts with its entry."""
    until = item.get("until")
    return Period(within.since, None if until is None else _as_date(until, f"{where}.until"))


def _check_coverage_consistent(coverage: list[Coverage], where: str) -> None:
    """The same nationality → destination pair may not be covered twice at once: two entries
    would name two rules (or two sources) for the same day."""
    for i, a in enumerate(coverage):
        for j in range(i + 1, len(coverage)):
            b = coverage[j]
            for nat in a.nationalities & b.nationalities:
                for dest in a.destinations & b.destinations:
                    for pa in a.nationality_periods[nat]:
                        for pb in b.nationality_periods[nat]:
                            for da in a.destination_periods[dest]:
                                for db in b.destination_periods[dest]:
                                    both = _intersect(pa, pb)
                                    dests = _intersect(da, db)
                                    if both and dests and _overlaps(both, dests):
                                        raise RegimeError(
                                            f"{where}: coverage[{i}] and coverage[{j}] both cover {nat} entering "
                                            f"{dest} from {max(both.since, dests.since)}"
                                        )


def _titles(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                              for k, v in value.items()):
        raise RegimeError(f"{where}: expected a table of language code = non-empty title")
    return dict(value)


def _check_fixed_period(parameters: Mapping[str, Parameter], where: str) -> None:
    """The fixed-period parameters go together: an anchor and a maximum; a length (and unit) for
    a period from the first entry and none for a calendar year; a maximum shorter than the
    shortest period, or it limits nothing."""
    names = ("period_anchor", "period_length", "period_unit", "period_max_days")
    given = [n for n in names if n in parameters]
    if not given:
        return
    pw = f"{where}: parameters"
    if "period_anchor" not in parameters or "period_max_days" not in parameters:
        raise RegimeError(f"{pw}.period_anchor and period_max_days go together (fixed-period kind)")
    cuts = sorted({v.period.since for n in given for v in parameters[n].values})
    for day in cuts:
        anchor = parameters["period_anchor"].nearest(day).value
        length = parameters["period_length"].nearest(day).value if "period_length" in parameters else None
        unit = parameters["period_unit"].nearest(day).value if "period_unit" in parameters else _periods.DAYS
        most = parameters["period_max_days"].nearest(day).value
        if anchor == _periods.CALENDAR_YEAR and (length is not None or "period_unit" in parameters):
            raise RegimeError(f"{pw}.period_length and period_unit: a calendar year has its own length; set "
                              f"them only for period_anchor = \"{_periods.FIRST_ENTRY}\"")
        if anchor == _periods.FIRST_ENTRY and length is None:
            raise RegimeError(f"{pw}.period_length is required with period_anchor = \"{_periods.FIRST_ENTRY}\"")
        shortest = _periods.shortest_days(anchor, length or 0, unit)
        if most >= shortest:
            raise RegimeError(f"{pw}.period_max_days ({most}) must be less than the period's {shortest} days,"
                              " or the period limits nothing")


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
            titles=_titles(body.get("titles"), f"{rw}.titles"),
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
        if not isinstance(item, dict):
            raise RegimeError(f"{cw}: expected a table")
        _no_unknown(item, _COVERAGE_KEYS, cw)
        # An entry without dates applies whenever the regime is in force.
        within = _period(item, cw) if "since" in item else Period(dt.date.min, None)
        if "since" not in item and item.get("until") is not None:
            raise RegimeError(f"{cw}: until needs a since")
        nationalities = _country_list(_require(item, "nationality", cw, (str, list)), f"{cw}.nationality", within)
        destinations = _country_list(_require(item, "destination", cw, (str, list)), f"{cw}.destination", within)
        coverage.append(
            Coverage(
                nationalities=frozenset(nationalities), destinations=frozenset(destinations),
                rule=known_rule(item.get("rule"), cw), source=item.get("source", ""), period=within,
                nationality_periods=nationalities, destination_periods=destinations,
            )
        )
    if not coverage:
        raise RegimeError(f"{where}: coverage must list at least one entry")
    _check_coverage_consistent(coverage, where)

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

    if ("window_days" in parameters) != ("window_max_days" in parameters):
        raise RegimeError(f"{where}: parameters.window_days and window_max_days go together (R4 kind)")
    _check_fixed_period(parameters, where)
    if "window_days" not in parameters and "per_stay_max_days" not in parameters and "period_anchor" not in parameters:
        raise RegimeError(f"{where}: a regime limits a stay (per_stay_max_days), the days in a window "
                          "(window_days and window_max_days), the days in a fixed period (period_anchor and "
                          "period_max_days), or several of these")
    for value in parameters["window_max_days"].values if "window_max_days" in parameters else ():
        days = parameters["window_days"].nearest(value.period.since).value
        if value.value >= days:
            raise RegimeError(
                f"{where}: parameters.window_max_days ({value.value}) must be less than window_days ({days}),"
                " or the window limits nothing"
            )
    for value in parameters["window_bases"].values if "window_bases" in parameters else ():
        counted = parameters["counted_bases"].nearest(value.period.since).value if "counted_bases" in parameters \
            else PARAMETERS["counted_bases"].default
        if not set(value.value) <= set(counted):
            raise RegimeError(f"{where}: parameters.window_bases ({', '.join(value.value)}) must be counted_bases too"
                              f" ({', '.join(counted)}): the window cannot limit days it does not count")
    kind = data.get("kind", "")
    if kind and kind not in KINDS:
        raise RegimeError(f"{where}: kind must be one of {', '.join(KINDS)}")

    return Regime(
        id=regime_id,
        title=_require(data, "title", where),
        titles=_titles(data.get("titles"), f"{where}: titles"),
        kind=kind,
        source=_require(data, "source", where),
        in_force=tuple(sorted(in_force, key=lambda p: p.period.since)),
        coverage=tuple(coverage),
        rules=rules,
        parameters=parameters,
        notes=data.get("notes", ""),
    )
