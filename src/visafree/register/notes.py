"""The notes under a desk decision, stored as codes and parameters (issue 12), said in the
reader's language when shown.

A note is a dict {"code", "rule", "params"}: the engine's explanation codes (visafree.engine's
MESSAGES, e.g. latest_exit_per_stay) with the Note's own params, or one of the register's own
codes below (REGISTER_NOTES). decisions.notes holds them as JSON (migration 0004); a dict
{"text": ...} is a note written whole (a row stored before the codes, or a value that is not JSON),
shown as stored. English is the templates themselves, so English output is unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, Mapping

from visafree.engine.explain import plain_value

#: The register's own notes (msgids), beside the engine's explanation codes.
REGISTER_NOTES: dict[str, str] = {
    "desk_no_regime": (
        "no visa-free regime known: check a visa or permit ({nationality} entering {destination} on {date}): "
        "record the entry again on the visa or permit the traveller holds"
    ),
    "desk_officer_refusal": "Entry refused by the officer under R6: {basis}",
    "desk_replaces": "This entry replaces the no_regime decision of event {event}.",
}
#: Parameters that are a person's own words or an id: never translated, never a country name.
_VERBATIM = {"basis", "event"}


def note(code: str, rule: str = "", **params: Any) -> dict:
    return {"code": code, "rule": rule, "params": params}


def from_engine(engine_note) -> dict:
    """An engine Note (code, rule, params) as a stored note."""
    return {"code": engine_note.code, "rule": engine_note.rule, "params": dict(engine_note.params)}


def _encode(value: Any) -> Any:
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$date"}:
        try:
            return dt.date.fromisoformat(value["$date"])
        except (TypeError, ValueError):
            return value["$date"]
    if isinstance(value, list):
        return tuple(_decode(v) for v in value)
    return value


def dumps(notes: Iterable[Mapping]) -> str | None:
    """The notes as decisions.notes stores them: JSON, dates tagged so they come back as dates."""
    notes = list(notes)
    if not notes:
        return None
    return json.dumps([n if "text" in n else {"code": n["code"], "rule": n.get("rule", ""),
                                               "params": {k: _encode(v) for k, v in n.get("params", {}).items()}}
                       for n in notes], ensure_ascii=False, separators=(",", ":"))


def loads(stored: str | None) -> tuple[dict, ...]:
    """decisions.notes back as notes; a value that is not a list of coded notes (an old row's
    English text) is one note written whole, shown as stored."""
    if not stored:
        return ()
    try:
        data = json.loads(stored)
    except ValueError:
        return ({"text": stored},)
    if not isinstance(data, list):
        return ({"text": stored},)
    out = []
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            out.append({"code": item["code"], "rule": item.get("rule") or "",
                        "params": {k: _decode(v) for k, v in (item.get("params") or {}).items()}})
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            out.append({"text": item["text"]})
        else:
            out.append({"text": str(item)})
    return tuple(out)


def plain(notes: Iterable[Mapping]) -> list[dict]:
    """Notes for JSON answers: codes, rule and params, dates as YYYY-MM-DD."""
    def value(v):
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, (list, tuple)):
            return [value(x) for x in v]
        return v

    return [dict(n) if "text" in n else {"code": n["code"], "rule": n.get("rule", ""),
                                          "params": {k: value(v) for k, v in n.get("params", {}).items()}}
            for n in notes]


def render(lang: str, item: Mapping, regime: str | None = None) -> str:
    """One note in `lang`: an engine code through the engine's templates (plural forms by
    ngettext, regimes and rules named by title), a register code through REGISTER_NOTES."""
    if "text" in item:
        return item["text"]
    from visafree.engine import MESSAGES, Note
    from visafree.i18n import translator
    from visafree.regimes import builtin_regimes

    code, rule, params = item["code"], item.get("rule", ""), dict(item.get("params", {}))
    if lang == "en":
        if code in REGISTER_NOTES:
            return REGISTER_NOTES[code].format(**{k: plain_value(v) for k, v in params.items()})
        if code in MESSAGES:
            return Note(code, rule, tuple(params.items())).render()
        return code
    t = translator(lang)
    if code in REGISTER_NOTES:
        values = {k: (str(v) if k in _VERBATIM else t.format_value(v)) for k, v in params.items()}
        return t.gettext(REGISTER_NOTES[code]).format(**values)
    if code in MESSAGES:
        names = t.namer(builtin_regimes())(regime)
        return Note(code, rule, tuple(params.items())).render(t.gettext, t.format_value, t.npgettext, names)
    return code


def texts(lang: str, notes: Iterable[Mapping], regime: str | None = None) -> list[str]:
    return [render(lang, n, regime) for n in notes]
