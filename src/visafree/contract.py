"""The check contract (v1): JSON request -> engine Question, engine Answer -> JSON response.

One translation shared by the CLI (`visafree check`), the HTTP API (`POST /api/v1/check`) and
anything else that speaks v1, so the field names and error codes live in one place.
Standard library only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from visafree.engine import (
    BASES, ERRORS, LONG_STAY_VISA, NO_REGIME, RESIDENCE_PERMIT, VISA, VISA_ENTRIES, VISA_FREE, VISA_KINDS, Answer,
    Basis, InputError, LongStayVisa, Note, Passport, Question, Regime, ResidencePermit, Resolution, Stay, Visa,
    input_error, resolve,
)
from visafree.engine.regime import PASSPORT_TYPES

ERROR_CODES = (
    "invalid_date", "exit_before_entry", "overlapping_stays", "multiple_open_stays",
    "unknown_regime", "invalid_request",
)
REQUEST_FIELDS = {"regime", "nationality", "destination", "passport", "stays", "on", "planned", "trip_days"}


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which a request is absurd and refused (`invalid_request`)."""

    max_stays: int = 10_000
    max_planned: int = 100
    min_date: dt.date = dt.date(1900, 1, 1)
    max_date: dt.date = dt.date(2200, 12, 31)


DEFAULT_LIMITS = Limits()


def _date(value: Any, field: str, limits: Limits, required: bool = True) -> dt.date | None:
    if value is None and not required:
        return None
    if value is None:
        raise input_error("invalid_request", ERRORS["required"], field, field=field)
    if not isinstance(value, str):
        raise input_error("invalid_date", ERRORS["date_type"], field, field=field, value=repr(value))
    try:
        if len(value) != 10:
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise input_error("invalid_date", ERRORS["not_a_date"], field, field=field, value=repr(value)) from None
    if not limits.min_date <= day <= limits.max_date:
        raise input_error("invalid_request", ERRORS["date_range"], field, field=field, value=value,
                          min=limits.min_date, max=limits.max_date)
    return day


def _country(value: Any, field: str) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise input_error("invalid_request", ERRORS["country"], field, field=field, value=repr(value))
    return value.upper()


def _stays(value: Any, field: str, limits: Limits, maximum: int) -> tuple[Stay, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise input_error("invalid_request", ERRORS["list_expected"], field, field=field)
    if len(value) > maximum:
        raise input_error("invalid_request", ERRORS["too_many"], field, field=field, count=len(value), max=maximum)
    stays = []
    for i, item in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):  # JSON objects; cheaper than an ABC check per stay
            raise input_error("invalid_request", ERRORS["object_expected"], where, field=where)
        unknown = set(item) - {"entry", "exit", "basis"}
        if unknown:
            raise input_error("invalid_request", ERRORS["unknown_fields_in"], where, field=where,
                              names=", ".join(sorted(unknown)))
        raw_basis = item.get("basis")
        stays.append(
            Stay(_date(item.get("entry"), f"{where}.entry", limits), _date(item.get("exit"), f"{where}.exit", limits, required=False),
                 None if raw_basis is None else _basis(raw_basis, f"{where}.basis", limits))
        )
    return tuple(stays)


#: The fields of each basis object (docs/basis.md); `type` names the basis.
BASIS_FIELDS = {
    VISA_FREE: set(), LONG_STAY_VISA: set(), RESIDENCE_PERMIT: {"valid_until"},
    VISA: {"kind", "valid_from", "valid_until", "entries", "duration_days"},
}


def _basis(value: Any, field: str, limits: Limits) -> Basis | None:
    """A stay's basis: "visa_free" (the default), "long_stay_visa", or an object with `type`
    (visa: kind, valid_from, valid_until, entries, duration_days; residence_permit: valid_until)."""
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise input_error("invalid_request", ERRORS["basis_object"], field, field=field)
    kind = value.get("type")
    if kind not in BASES:
        raise input_error("invalid_request", ERRORS["choice"], f"{field}.type", field=f"{field}.type",
                          allowed=list(BASES), value=repr(kind))
    unknown = set(value) - BASIS_FIELDS[kind] - {"type"}
    if unknown:
        raise input_error("invalid_request", ERRORS["unknown_fields_in"], field, field=field,
                          names=", ".join(sorted(unknown)))
    if kind == VISA_FREE:
        return None
    if kind == LONG_STAY_VISA:
        return LongStayVisa()
    valid_until = _date(value.get("valid_until"), f"{field}.valid_until", limits)
    assert valid_until is not None
    if kind == RESIDENCE_PERMIT:
        return ResidencePermit(valid_until)
    valid_from = _date(value.get("valid_from"), f"{field}.valid_from", limits)
    assert valid_from is not None
    entries = value.get("entries", "multiple")
    if entries not in VISA_ENTRIES:
        raise input_error("invalid_request", ERRORS["choice"], f"{field}.entries", field=f"{field}.entries",
                          allowed=list(VISA_ENTRIES), value=repr(entries))
    visa_kind = value.get("kind", "short_stay")
    if visa_kind not in VISA_KINDS:
        raise input_error("invalid_request", ERRORS["choice"], f"{field}.kind", field=f"{field}.kind",
                          allowed=list(VISA_KINDS), value=repr(visa_kind))
    duration = value.get("duration_days")
    if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 100_000):
        raise input_error("invalid_request", ERRORS["duration_days"], f"{field}.duration_days", field=f"{field}.duration_days")
    if valid_until < valid_from:
        raise input_error("invalid_request", ERRORS["visa_dates"], f"{field}.valid_until", field=f"{field}.valid_until",
                          until=valid_until, since=valid_from)
    return Visa(valid_from, valid_until, entries, visa_kind, duration)


def render_basis(basis: Basis | None) -> dict:
    """A basis as the contract writes it (the same shape a request gives)."""
    if isinstance(basis, Visa):
        return {"type": VISA, "kind": basis.kind, "valid_from": _iso(basis.valid_from),
                "valid_until": _iso(basis.valid_until), "entries": basis.entries, "duration_days": basis.duration_days}
    if isinstance(basis, ResidencePermit):
        return {"type": RESIDENCE_PERMIT, "valid_until": _iso(basis.valid_until)}
    return {"type": LONG_STAY_VISA if isinstance(basis, LongStayVisa) else VISA_FREE}


def parse_request(
    data: Any, regimes: Mapping[str, Regime], limits: Limits = DEFAULT_LIMITS
) -> Question:
    """Turn a v1 request into a Question, or raise InputError naming the field."""
    if not isinstance(data, Mapping):
        raise input_error("invalid_request", ERRORS["request_object"], None)
    unknown = set(data) - REQUEST_FIELDS
    if unknown:
        raise input_error("invalid_request", ERRORS["unknown_fields"], sorted(unknown)[0], names=", ".join(sorted(unknown)))
    # `regime` is optional: without it, every regime that applies is judged (RULES.md §4).
    regime_id = data.get("regime")
    if regime_id is not None and not isinstance(regime_id, str):
        raise input_error("invalid_request", ERRORS["regime_type"], "regime")
    if regime_id is not None and regime_id not in regimes:
        raise input_error("unknown_regime", ERRORS["unknown_regime"], "regime", value=repr(regime_id),
                          known=", ".join(sorted(regimes)))
    passport = None
    raw_passport = data.get("passport")
    if raw_passport is not None:
        if not isinstance(raw_passport, Mapping):
            raise input_error("invalid_request", ERRORS["passport_object"], "passport")
        unknown = set(raw_passport) - {"type", "expires", "issued"}
        if unknown:
            raise input_error("invalid_request", ERRORS["unknown_fields_in"], "passport", field="passport",
                              names=", ".join(sorted(unknown)))
        kind = raw_passport.get("type", "ordinary")
        if kind not in PASSPORT_TYPES:
            raise input_error("invalid_request", ERRORS["passport_type"], "passport.type", allowed=list(PASSPORT_TYPES))
        passport = Passport(
            kind,
            _date(raw_passport.get("expires"), "passport.expires", limits),
            _date(raw_passport.get("issued"), "passport.issued", limits, required=False),
        )
    trip_days = data.get("trip_days")
    if trip_days is not None and (not isinstance(trip_days, int) or isinstance(trip_days, bool) or not 1 <= trip_days <= 100_000):
        raise input_error("invalid_request", ERRORS["trip_days"], "trip_days")
    return Question(
        regime=regimes[regime_id] if regime_id is not None else None,
        nationality=_country(data.get("nationality"), "nationality"),
        destination=_country(data.get("destination"), "destination"),
        on=_date(data.get("on"), "on", limits),
        stays=_stays(data.get("stays", []), "stays", limits, limits.max_stays),
        passport=passport,
        planned=_stays(data.get("planned"), "planned", limits, limits.max_planned),
        trip_days=trip_days,
    )


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def render_note(note: Note, translate: Callable[[str], str] | None = None, format_value=None, plural=None,
                names=None) -> dict:
    return {
        "rule": note.rule,
        "code": note.code,
        "text": note.render(translate or (lambda s: s), format_value, plural, names),
        "params": {k: (_iso(v) if isinstance(v, dt.date) else v) for k, v in note.params},
    }


def render_answer(answer: Answer, translate: Callable[[str], str] | None = None, format_value=None, plural=None,
                  names=None) -> dict:
    """The v1 response. Field names are fixed by the contract; extra fields are additive.

    `plural` is npgettext, `names(regime_id)` the display names of the regimes and of that regime's rules."""
    named = names(answer.regime) if names else None
    body: dict[str, Any] = {
        "status": "ok",
        "regime": answer.regime,
        "on": _iso(answer.on),
        # None for a regime without a rolling window (per-stay limit only); days_used too.
        "window": {"start": _iso(answer.window_start), "end": _iso(answer.window_end)} if answer.window_start else None,
        "days_used": answer.days_used,
        "days_remaining": answer.days_remaining,
        "in_country": answer.in_country,
        "current_stay": None,
        "overstay_days": answer.overstay_days,
        "violations": [
            {"date": _iso(v.date), "rule": v.rule, "code": v.code, "days": v.days, "stay": v.stay, "basis": v.basis}
            for v in answer.violations
        ],
        "stays": [
            {"entry": _iso(s.entry), "exit": _iso(s.exit), "days": s.days,
             "first_violation": _iso(s.first_violation), "violation": s.violation_rule,
             "overstay_days": s.overstay_days, "basis": s.basis}
            for s in answer.stays
        ],
        "passport_judged": answer.passport_judged,
        "convention": {"entry_day_counts": answer.entry_day_counts},
        "explanation": [render_note(n, translate, format_value, plural, named) for n in answer.explanation],
    }
    if answer.current_stay is not None:
        c = answer.current_stay
        body["current_stay"] = {"entry": _iso(c.entry), "day": c.day, "latest_exit": _iso(c.latest_exit),
                                "limited_by": c.limited_by, "basis": c.basis, "entry_problems": list(c.entry_problems)}
    if answer.planned is not None:
        body["planned"] = [
            {"entry": _iso(p.entry), "exit": _iso(p.exit), "ok": p.ok, "reasons": list(p.reasons),
             "latest_exit": _iso(p.latest_exit), "limited_by": p.limited_by, "basis": p.basis,
             "visa_needed_days": p.visa_needed_days, "visa_needed_from": _iso(p.visa_needed_from)}
            for p in answer.planned
        ]
    if answer.earliest_entry is not None:
        e = answer.earliest_entry
        body["earliest_entry"] = {"trip_days": e.trip_days, "date": _iso(e.date), "reasons": list(e.reasons)}
    return body


def _title(regime: Regime, lang: str | None) -> str:
    return regime.title_in(lang) if lang else regime.title


def _verdict_summary(answer: Answer) -> dict:
    """What the resolution shows of a regime that was judged but not chosen."""
    current = answer.current_stay
    earliest = answer.earliest_entry
    return {
        "days_used": answer.days_used, "days_remaining": answer.days_remaining,
        "overstay_days": answer.overstay_days,
        "latest_exit": _iso(current.latest_exit) if current else None,
        "earliest_entry": _iso(earliest.date) if earliest else None,
        "planned_ok": [p.ok for p in answer.planned] if answer.planned is not None else None,
    }


def render_resolution(resolution: Resolution, translate=None, format_value=None, lang: str | None = None, plural=None,
                      names=None) -> dict:
    """The v1 response of a resolved question: the chosen regime's answer, plus `resolution`
    {requested, applicable, chosen, why, alternatives}; `status: no_regime` when none covers."""
    judged = resolution.judged
    named = names(None) if names else None
    notes = [render_note(n, translate, format_value, plural, named) for n in resolution.notes]
    block = {
        "requested": resolution.requested,
        "applicable": list(resolution.applicable),
        "chosen": resolution.chosen,
        "chosen_title": _title(judged[0].regime, lang) if judged else None,
        "why": resolution.why,
        "alternatives": [
            {"regime": j.regime.id, "title": _title(j.regime, lang), **_verdict_summary(j.answer)}
            for j in judged[1:]
        ],
    }
    if not judged:
        question = resolution.question
        return {"status": NO_REGIME, "regime": None, "resolution": block, "on": _iso(question.on),
                "nationality": question.nationality, "destination": question.destination, "explanation": notes}
    body = render_answer(judged[0].answer, translate, format_value, plural, names)
    body["regime_title"] = block["chosen_title"]
    body["nationality"], body["destination"] = resolution.question.nationality, resolution.question.destination
    body["resolution"] = block
    if not resolution.requested:
        body["explanation"] = notes + body["explanation"]
    return body


def render_error(error: InputError) -> dict:
    return {"error": {"code": error.code, "message": error.message, "field": error.field}}


def run_check(data: Any, regimes: Mapping[str, Regime], limits: Limits = DEFAULT_LIMITS, translate=None,
              format_value=None, lang: str | None = None, plural=None, names=None) -> dict:
    """Request JSON in, response JSON out; raises InputError for a bad request."""
    question = parse_request(data, regimes, limits)
    return render_resolution(resolve(list(regimes.values()), question), translate, format_value, lang, plural, names)
