"""The HTTP API and the page: a thin shell over `visafree.contract` (FastAPI).

Nothing about a traveller is stored or logged by this layer: every answer is computed from the
request alone. Every refusal is a 4xx with the contract's `{"error": {code, message, field}}`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from functools import lru_cache
from importlib import metadata, resources
from typing import Any, Iterable, Literal, Mapping

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from visafree.contract import Limits, parse_request, render_error, run_check
from visafree.engine import ERRORS, InputError, Question, forecast, input_error, resolve
from visafree.engine.regime import Regime
from visafree.regimes import regime_detail, regime_summary
from visafree.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, negotiate, translator

from . import documents, models

#: Limits of the public API, tighter than the contract's own absurdity bounds: a traveller has a
#: few dozen trips, an agency batch belongs in `visafree batch`.
API_LIMITS = Limits(max_stays=2_000, max_planned=50, min_date=dt.date(1950, 1, 1), max_date=dt.date(2100, 12, 31))
MAX_BODY_BYTES = 256 * 1024
MAX_QUERY_STAYS = 200
REASON_CODES = ("nationality", "passport_type", "passport_validity", "not_in_force", "per_stay_limit", "window_limit",
                "period_limit")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "model": models.ErrorResponse,
        "description": "The request was refused; `error.code` says why and `error.field` where",
        "content": {"application/json": {"example": {"error": {
            "code": "exit_before_entry", "message": "stays[0]: exit 2025-01-01 is before entry 2025-01-25",
            "field": "stays[0].exit"}}}},
    },
    413: {"model": models.ErrorResponse, "description": "Request body larger than the server accepts"},
}


def _error(status: int, code: str, message: str, field: str | None = None, lang: str | None = None,
           template: str | None = None, /, **params: Any) -> JSONResponse:
    """A refusal; `message` is English, said in `lang` from its `template` and `params` (gettext msgids)."""
    return _refusal(status, InputError(code, message, field, template, params), lang)


def _refusal(status: int, err: InputError, lang: str | None, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The contract's error body with `message` in the reader's language, answered with Content-Language."""
    chosen = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    body = render_error(err)
    if chosen != DEFAULT_LANGUAGE:
        body["error"]["message"] = translator(chosen).error_message(err)
    return JSONResponse(body, status_code=status, headers={**(headers or {}), "Content-Language": chosen})


def _error_language(scope) -> str:
    """The language of an error: ?lang= when it is one of ours, else Accept-Language, else English."""
    query = dict(part.partition("=")[::2] for part in scope.get("query_string", b"").decode("latin-1").split("&"))
    if query.get("lang") in LANGUAGES:
        return query["lang"]
    header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"), None)
    return negotiate(header)


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413 before the app parses anything.

    The body is read here (counting, including chunked uploads without Content-Length) and
    replayed to the app, so no handler ever sees an oversized request.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        def too_large():
            return _error(413, "request_too_large", f"the request body is larger than {self.max_bytes} bytes", None,
                          _error_language(scope), "the request body is larger than {max} bytes", max=self.max_bytes)

        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await _error(400, "invalid_request", "invalid Content-Length", None, _error_language(scope),
                                        "invalid Content-Length")(scope, receive, send)
                if declared > self.max_bytes:
                    return await too_large()(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await too_large()(scope, receive, send)
            chunks.append(body)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


def _lang(request: Request, lang: str | None) -> str | None:
    """The language asked for: ?lang= wins, then Accept-Language; None means plain English."""
    if lang:
        return lang
    header = request.headers.get("accept-language")
    return negotiate(header) if header else None


def _display(body: dict, t) -> dict:
    dates: set[str] = {d for d in (body.get("on"), *(body.get("window") or {}).values()) if d}
    if body.get("current_stay"):
        dates.update(v for k, v in body["current_stay"].items() if k in ("entry", "latest_exit") and v)
    for item in body.get("planned") or ():
        dates.update(v for v in (item["entry"], item["exit"], item["latest_exit"]) if v)
    if body.get("earliest_entry") and body["earliest_entry"]["date"]:
        dates.add(body["earliest_entry"]["date"])
    for v in body.get("violations") or ():
        dates.add(v["date"])
    return {
        "lang": t.lang,
        "dates": {d: t.format_date(dt.date.fromisoformat(d)) for d in sorted(dates)},
        "reasons": {code: t.reason(code) for code in REASON_CODES},
    }


def _check(data: Any, regimes: Mapping[str, Regime], limits: Limits, lang: str | None) -> dict:
    if lang is None:
        return run_check(data, regimes, limits)
    t = translator(lang)
    body = run_check(data, regimes, limits, t.gettext, t.format_value, t.lang, t.npgettext, t.namer(regimes))
    body["display"] = _display(body, t)
    return body


def _parse_query_stay(text: str, index: int) -> dict:
    entry, sep, exit_ = text.partition("/")
    if not sep:
        raise input_error("invalid_request", "{field}: expected ENTRY/EXIT or ENTRY/ (still there), got {value}",
                          f"stays[{index}]", field=f"stays[{index}]", value=repr(text))
    return {"entry": entry, "exit": exit_ or None}


def _example_check(regimes: Mapping[str, Regime]) -> dict:
    try:
        return _check(models.EXAMPLE_REQUEST, regimes, API_LIMITS, "en")
    except Exception:  # a custom catalogue without vn-kz: the schema still describes the shape
        return {}


def _resolved(data: Any, regimes: Mapping[str, Regime], limits: Limits) -> tuple[Question, Regime | None]:
    """The question with the regime that answers it: the one asked for, else the one the
    resolution picks (RULES.md §4); None when no regime covers the traveller."""
    question = parse_request(data, regimes, limits)
    if question.regime is not None:
        return question, question.regime
    chosen = resolve(list(regimes.values()), question).chosen
    if chosen is None:
        return question, None
    regime = regimes[chosen]
    return Question(regime, question.nationality, question.destination, question.on, question.stays,
                    question.passport, question.planned, question.trip_days), regime


def _forecast(data: Any, regimes: Mapping[str, Regime], limits: Limits, lang: str | None) -> dict:
    question, regime = _resolved(data, regimes, limits)
    if regime is None:
        return {"status": "no_regime", "regime": None, "on": question.on.isoformat(), "window": None,
                "days_used": None, "starts": None}
    f = forecast(question)
    if lang is None:
        return documents.render_forecast(f)
    t = translator(lang)
    body = documents.render_forecast(f, t.title(regime), lang, _month_names(lang))
    # Every day the page may show, written in the language (Babel): the calendar's range and the
    # last day of the longest stay from its last start date.
    first = f.used_from or f.on
    last = f.on + dt.timedelta(days=len(f.longest_stay) - 1 + max(f.longest_stay, default=0))
    body["display"]["dates"] = {(first + dt.timedelta(days=i)).isoformat(): t.format_date(first + dt.timedelta(days=i))
                                for i in range((last - first).days + 1)}
    return body


def _country_name(t, code: str) -> str:
    from babel.core import get_global

    alias = {"XKX": "XK"}.get(code) or (get_global("territory_aliases").get(code) or [None])[0]
    return (t._locale.territories.get(alias) if alias else None) or t.country(code)


@lru_cache(maxsize=None)
def _countries(regimes_key: tuple[str, ...], lang: str, regimes: Any) -> dict:
    t = translator(lang)
    nationalities: set[str] = set()
    destinations: set[str] = set()
    for regime in regimes.values():
        for cov in regime.coverage:
            nationalities |= cov.nationalities
            destinations |= cov.destinations
    # A traveller of a destination country goes elsewhere too: nationalities include them.
    nationalities |= destinations

    def named(codes: set[str]) -> list[dict]:
        items = [{"code": c, "name": _country_name(t, c)} for c in codes]
        return sorted(items, key=lambda i: i["name"].casefold())

    return {"lang": lang, "nationalities": named(nationalities), "destinations": named(destinations)}


@lru_cache(maxsize=None)
def _month_names(lang: str) -> list[str]:
    from babel import Locale

    months = Locale.parse(lang).months["stand-alone"]["wide"]
    return [months[m] for m in range(1, 13)]


def _cited_rules(body: dict, regime: Regime | None, t) -> list[dict]:
    """The rules the answer's explanation cites, with their titles in the reader's language and
    their legal sources."""
    if regime is None:
        return []
    cited = {part.strip() for n in body.get("explanation", []) for part in (n.get("rule") or "").split(",")}
    return [{"id": rule_id, "title": t.title(rule), "citation": rule.citation}
            for rule_id, rule in regime.rules.items() if rule_id in cited]


async def _json_body(request: Request, lang: str | None) -> tuple[Any, Response | None]:
    raw = await request.body()
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):
        return None, _refusal(422, input_error("invalid_request", ERRORS["request_object"], None), lang)


def _bad_lang(request: Request) -> Response | None:
    lang = request.query_params.get("lang")
    if lang is not None and lang not in LANGUAGES:
        return _error(422, "invalid_request", f"lang: expected one of {', '.join(LANGUAGES)}", "lang",
                      _error_language(request.scope), "lang: expected one of {known}", known=", ".join(LANGUAGES))
    return None


async def _language_and_body(request: Request, default: str | None = None
                             ) -> tuple[str | None, Any, Response | None]:
    """The POST endpoints' common start: the language asked for (a refusal for an unknown one),
    then the JSON body read in that language; the Response is a refusal to send as it is."""
    refused = _bad_lang(request)
    if refused is not None:
        return None, None, refused
    chosen = _lang(request, request.query_params.get("lang")) or default
    data, refused = await _json_body(request, chosen)
    return chosen, data, refused


CHECK_BODY = {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/CheckRequest"},
    "examples": {
        "kazakh-in-vietnam": {"summary": "A Kazakh traveller in Vietnam with a planned trip", "value": models.EXAMPLE_REQUEST},
        "schengen": {"summary": "A US citizen in the Schengen area, regime picked by the resolution", "value": {
            "nationality": "USA", "destination": "FRA", "on": "2025-06-01",
            "stays": [{"entry": "2025-01-10", "exit": "2025-03-01"}, {"entry": "2025-05-20"}]}},
    }}}}


LANG_PARAMETER = {
    "name": "lang", "in": "query", "required": False,
    "description": "Language of texts and dates: " + ", ".join(LANGUAGES)
                   + "; default from Accept-Language, else plain English without `display`",
    "schema": {"type": "string", "enum": list(LANGUAGES)},
}


def build_router(regimes: Mapping[str, Regime], limits: Limits) -> APIRouter:
    router = APIRouter()
    example = _example_check(regimes)
    lang_query = Query(None, description=LANG_PARAMETER["description"])

    @router.post(
        "/api/v1/check", tags=["check"], summary="Check a traveller's stays (v1 contract)",
        response_model=models.CheckResponse, response_model_exclude_none=False,
        responses={200: {"content": {"application/json": {"example": example}}}, **ERROR_RESPONSES},
        openapi_extra={"parameters": [LANG_PARAMETER], "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/CheckRequest"},
            "examples": {
                "kazakh-in-vietnam": {"summary": "A Kazakh traveller in Vietnam with a planned trip",
                                      "value": models.EXAMPLE_REQUEST},
                "schengen": {"summary": "A US citizen in France", "value": {
                    "regime": "schengen", "nationality": "USA", "destination": "FRA", "on": "2025-06-01",
                    "stays": [{"entry": "2025-01-10", "exit": "2025-03-01"}, {"entry": "2025-05-20"}]}},
            }}}}},
    )
    async def check(request: Request) -> Response:
        # `lang` is read by hand rather than declared: FastAPI's parameter machinery costs more
        # per request than the engine on a short history. It is documented via openapi_extra.
        lang = request.query_params.get("lang")
        if lang is not None and lang not in LANGUAGES:
            return _error(422, "invalid_request", f"lang: expected one of {', '.join(LANGUAGES)}", "lang",
                          _error_language(request.scope), "lang: expected one of {known}", known=", ".join(LANGUAGES))
        raw = await request.body()
        chosen = _lang(request, lang)
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return _refusal(422, input_error("invalid_request", ERRORS["request_object"], None), chosen)
        try:
            body = _check(data, regimes, limits, chosen)
        except InputError as err:
            return _refusal(422, err, chosen)
        # Bypass response_model validation: the contract renders the body, the model documents it.
        return JSONResponse(body, headers={"Content-Language": chosen or DEFAULT_LANGUAGE})

    try:
        forecast_example = _forecast(models.EXAMPLE_REQUEST, regimes, limits, "en")
        forecast_example["days_used"]["values"] = forecast_example["days_used"]["values"][:5] + ["..."]
        for name in ("longest_stay", "limited_by"):
            forecast_example["starts"][name] = forecast_example["starts"][name][:5] + ["..."]
    except Exception:  # a custom catalogue without vn-kz
        forecast_example = {}

    @router.post(
        "/api/v1/forecast", tags=["check"],
        summary="Days used on every day of the window and the next 12 months; the longest stay from every start date",
        description="The same request as POST /api/v1/check. `days_used.values[i]` is the number of days used in the "
                    "180-day period ending on `days_used.from` + i days (recorded stays and planned trips); "
                    "`starts.longest_stay[i]` is the longest stay allowed entering on `starts.from` + i days "
                    "(0: entry refused), `starts.limited_by[i]` the reason code that sets it. Computed by the "
                    "engine in one pass (visafree.engine.forecast), equal to separate checks day by day.",
        response_model=models.ForecastResponse,
        responses={200: {"content": {"application/json": {"example": forecast_example}}}, **ERROR_RESPONSES},
        openapi_extra={"parameters": [LANG_PARAMETER], "requestBody": CHECK_BODY},
    )
    async def forecast_days(request: Request) -> Response:
        chosen, data, refused = await _language_and_body(request)
        if refused is not None:
            return refused
        try:
            body = _forecast(data, regimes, limits, chosen)
        except InputError as err:
            return _refusal(422, err, chosen)
        return JSONResponse(body, headers={"Content-Language": chosen or DEFAULT_LANGUAGE})

    @router.post(
        "/api/v1/calendar.ics", tags=["check"],
        summary="Every planned trip, its leave-by date and the earliest return as calendar events (with reminders)",
        description="The same request as POST /api/v1/check, so any number of trips fits (no long URL). Leave-by "
                    f"events remind {documents.REMINDER_DAYS} days before. Without `trip_days`, the earliest return "
                    "(a one-day trip) is added when the traveller is not in the country.",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}, "example": (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//visafree//visa-free stay calculator//EN\r\n"
            "BEGIN:VEVENT\r\nSUMMARY:Trip 1: Viet Nam – Kazakhstan — Allowed\r\nDTSTART;VALUE=DATE:20250401\r\n"
            "DTEND;VALUE=DATE:20250501\r\n...\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")}},
            "description": "An iCalendar file (RFC 5545)"}, **ERROR_RESPONSES},
        openapi_extra={"parameters": [LANG_PARAMETER], "requestBody": CHECK_BODY},
    )
    async def calendar_post(request: Request) -> Response:
        chosen, data, refused = await _language_and_body(request, DEFAULT_LANGUAGE)
        if refused is not None:
            return refused
        try:
            if isinstance(data, dict) and data.get("trip_days") is None and not any(
                    isinstance(s, dict) and s.get("exit") is None for s in data.get("stays") or []):
                data = {**data, "trip_days": 1}  # the earliest return
            body = _check(data, regimes, limits, chosen)
        except InputError as err:
            return _refusal(422, err, chosen)
        key = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        ics = documents.calendar_file(body, data, translator(chosen), key, now)
        return Response(ics, media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="visafree.ics"', "Content-Language": chosen})

    @router.post(
        "/api/v1/report.pdf", tags=["check"],
        summary="A report to show at the border: history, days, leave-by date and the rules cited (PDF)",
        description="The same request as POST /api/v1/check; the report is in the language asked for (`lang` or "
                    "Accept-Language), with fonts that cover Vietnamese and Cyrillic.",
        response_class=Response,
        responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"},
                                                          "example": "%PDF-1.3 ..."}},
                         "description": "A PDF document"},
                   503: {"model": models.ErrorResponse, "description": "The fonts for the report are not installed"},
                   **ERROR_RESPONSES},
        openapi_extra={"parameters": [LANG_PARAMETER], "requestBody": CHECK_BODY},
    )
    async def report_pdf(request: Request) -> Response:
        chosen, data, refused = await _language_and_body(request, DEFAULT_LANGUAGE)
        if refused is not None:
            return refused
        try:
            body = _check(data, regimes, limits, chosen)
        except InputError as err:
            return _refusal(422, err, chosen)
        t = translator(chosen)
        regime = regimes.get(body.get("regime") or "")
        try:
            pdf = documents.pdf_report(body, data, t, _cited_rules(body, regime, t),
                                       (t.country(body.get("nationality") or ""), t.country(body.get("destination") or "")))
        except documents.FontMissing as err:
            return _error(503, "invalid_request", str(err), None, chosen)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="visafree-report.pdf"',
                                 "Content-Language": chosen})

    class _Regimes(dict):  # hashable by identity, for the cache of _countries
        __hash__ = object.__hash__

    regime_map = _Regimes(regimes)

    @router.get("/api/v1/countries", tags=["page"], summary="Nationalities and destinations the regimes cover, named in a language",
                response_model=models.Countries,
                responses={200: {"content": {"application/json": {"example": {
                    "lang": "ru", "nationalities": [{"code": "KAZ", "name": "Казахстан"}],
                    "destinations": [{"code": "VNM", "name": "Вьетнам"}]}}}},
                           **ERROR_RESPONSES})
    async def countries(request: Request, lang: Literal["vi", "en", "ru", "kk"] | None = lang_query) -> Response:
        chosen = _lang(request, lang) or DEFAULT_LANGUAGE
        return JSONResponse(_countries(tuple(sorted(regimes)), chosen, regime_map),
                            headers={"Content-Language": chosen, "Cache-Control": "public, max-age=300"})

    summaries = {rid: regime_summary(r) for rid, r in regimes.items()}
    details = {rid: regime_detail(r) for rid, r in regimes.items()}

    @router.get("/api/v1/regimes", tags=["regimes"], summary="The regimes this server knows",
                response_model=models.RegimeList,
                responses={200: {"content": {"application/json": {"example": {"regimes": list(summaries.values())[:1]}}}}})
    async def list_regimes() -> Response:
        return JSONResponse({"regimes": list(summaries.values())})

    @router.get("/api/v1/regimes/{regime_id}", tags=["regimes"], summary="One regime: rules, coverage, sources, dates",
                response_model=models.RegimeDetail,
                responses={200: {"content": {"application/json": {"example": next(iter(details.values()), {})}}},
                           404: {"model": models.ErrorResponse, "description": "No such regime"}})
    async def get_regime(request: Request, regime_id: str) -> Response:
        if regime_id not in details:
            err = input_error("unknown_regime", ERRORS["unknown_regime"], "regime_id", value=repr(regime_id),
                              known=", ".join(sorted(details)))
            return _refusal(404, err, _error_language(request.scope))
        return JSONResponse(details[regime_id])

    @router.get(
        "/api/v1/calendar.ics", tags=["check"], summary="Leave-by date and earliest return as calendar events",
        response_class=Response,
        responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}, "example": (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//visafree//visa-free stay calculator//EN\r\n"
            "BEGIN:VEVENT\r\nSUMMARY:Leave by: vn-kz\r\nDTSTART;VALUE=DATE:20250330\r\n...\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")}}, "description": "An iCalendar file (RFC 5545)"}, **ERROR_RESPONSES},
    )
    async def calendar(
        request: Request,
        regime: str = Query(..., examples=["vn-kz"]),
        nationality: str = Query(..., examples=["KAZ"]),
        destination: str = Query(..., examples=["VNM"]),
        on: str = Query(..., description="Reference date YYYY-MM-DD", examples=["2025-03-10"]),
        stay: list[str] = Query([], description="A stay as ENTRY/EXIT, or ENTRY/ while still there; repeat for each",
                                examples=[["2025-01-01/2025-01-25", "2025-03-01/"]]),
        passport_expires: str | None = Query(None, examples=["2030-01-01"]),
        trip_days: int | None = Query(None, ge=1, le=100_000, examples=[20]),
        lang: Literal["vi", "en", "ru", "kk"] | None = lang_query,
    ) -> Response:
        if len(stay) > MAX_QUERY_STAYS:
            return _error(422, "invalid_request", f"stay: {len(stay)} given, at most {MAX_QUERY_STAYS} in a URL; "
                          "use POST /api/v1/check for longer histories", "stays", _lang(request, lang),
                          "stay: {count} given, at most {max} in a URL; use POST /api/v1/check for longer histories",
                          count=len(stay), max=MAX_QUERY_STAYS)
        chosen = _lang(request, lang) or DEFAULT_LANGUAGE
        try:
            data: dict[str, Any] = {
                "regime": regime, "nationality": nationality, "destination": destination, "on": on,
                "stays": [_parse_query_stay(s, i) for i, s in enumerate(stay)],
            }
            if passport_expires:
                data["passport"] = {"type": "ordinary", "expires": passport_expires}
            if trip_days is not None:
                data["trip_days"] = trip_days
            body = _check(data, regimes, limits, chosen)
        except InputError as err:
            return _refusal(422, err, chosen)
        key = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]
        # The same file as the POST builds (documents.calendar_file): the regime named by its
        # title in the chosen language, never by its id (issue 12).
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        ics = documents.calendar_file(body, data, translator(chosen), key, now)
        return Response(ics, media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="visafree.ics"',
                                 "Content-Language": chosen})

    @router.get("/api/v1/i18n/{lang}", tags=["page"], summary="The catalogue of one language (labels, reasons, messages)",
                response_model=models.Messages,
                responses={200: {"content": {"application/json": {"example": {
                    "lang": "vi", "languages": list(LANGUAGES),
                    "messages": {"Leave by": "Xuất cảnh muộn nhất", "reason.window_limit": "giới hạn số ngày trong khoảng thời gian xét"}}}}},
                           404: {"model": models.ErrorResponse, "description": "Unsupported language"}})
    async def messages(request: Request, lang: str) -> Response:
        if lang not in LANGUAGES:
            return _error(404, "not_found", f"unsupported language {lang!r}; expected one of {', '.join(LANGUAGES)}", "lang",
                          _error_language(request.scope), "unsupported language {value}; expected one of {known}",
                          value=repr(lang), known=", ".join(LANGUAGES))
        return JSONResponse({"lang": lang, "languages": list(LANGUAGES), "messages": dict(catalogue(lang))},
                            headers={"Cache-Control": "public, max-age=300"})

    @router.get("/healthz", tags=["ops"], summary="Liveness", response_model=models.Health,
                responses={200: {"content": {"application/json": {"example": {
                    "status": "ok", "version": "0.1.0", "regimes": ["schengen", "vn-kz"], "languages": list(LANGUAGES)}}}}})
    async def healthz() -> Response:
        return JSONResponse({"status": "ok", "version": _version(), "regimes": sorted(regimes),
                             "languages": list(LANGUAGES)})

    return router


@lru_cache(maxsize=1)
def _version() -> str:
    try:
        return metadata.version("visafree")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _page_router(static_dir) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def index() -> Response:
        return FileResponse(static_dir / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    @router.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return FileResponse(static_dir / "favicon.svg", media_type="image/svg+xml")

    return router


def _optional_routers() -> list[APIRouter]:
    """Routers of layers that may be absent from this install (the border register)."""
    found = []
    try:
        from visafree.register.api import router as register_router  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing in ("visafree.register.api", "visafree.register"):
            pass  # a checkout without the register layer
        elif missing.startswith("visafree."):
            raise  # our own module is broken: say so rather than serve half an app
        else:
            # `./run serve` installs only the `server` extra; the register needs `register` too.
            logging.getLogger("visafree.api").warning(
                "register API not mounted: %s is not installed (pip install 'visafree[register]')", missing)
    else:
        found.append(register_router)
    return found


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
PAGE_CSP = b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        is_page = scope["path"] == "/" or scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if is_page:
                    headers.append((b"content-security-policy", PAGE_CSP))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc from the assets the fastapi-offline package ships
    (no CDN: the docs work on a machine without internet). Without the package, no docs pages."""
    try:
        import fastapi_offline  # noqa: PLC0415
    except ImportError:
        logging.getLogger("visafree.api").warning("/docs and /redoc not served: pip install fastapi-offline")
        return
    from pathlib import Path  # noqa: PLC0415

    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html  # noqa: PLC0415

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/static-docs", StaticFiles(directory=str(assets)), name="static-docs")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="visafree — Swagger UI",
                                   swagger_js_url="/static-docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static-docs/swagger-ui.css",
                                   swagger_favicon_url="/favicon.ico")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> Response:
        return get_redoc_html(openapi_url="/openapi.json", title="visafree — ReDoc",
                              redoc_js_url="/static-docs/redoc.standalone.js", redoc_favicon_url="/favicon.ico",
                              with_google_fonts=False)


REGISTER_PREFIX = "/api/v1/register"
AUTH_ERRORS = {
    "401": {"description": "No bearer token, or one that is unknown, expired or revoked",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}, "example": {
                "error": {"code": "invalid_request", "message": "a valid bearer token is required", "field": None}}}}},
    "403": {"description": "The token's role may not do this",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}, "example": {
                "error": {"code": "invalid_request", "message": "role auditor may not do this (needs officer)",
                          "field": None}}}}},
}


def _declare_register_security(schema: dict) -> None:
    """The border register's endpoints take a bearer token (visafree.register.api.require): say
    so in the document, with the 401 and 403 they answer, whatever the register's router says."""
    paths = {p: ops for p, ops in schema.get("paths", {}).items() if p.startswith(REGISTER_PREFIX)}
    if not paths:
        return
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http", "scheme": "bearer",
        "description": "A register token (`visafree register token create`); its role (officer, auditor, admin) "
                       "decides what it may do",
    }
    if "ErrorResponse" not in components.get("schemas", {}):
        components.setdefault("schemas", {})["ErrorResponse"] = models.ErrorResponse.model_json_schema(
            ref_template="#/components/schemas/{model}")
    for operations in paths.values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            operation.setdefault("security", [{"bearerAuth": []}])
            for status, response in AUTH_ERRORS.items():
                operation.setdefault("responses", {}).setdefault(status, response)


def _example_of(node: Any, schemas: dict, depth: int = 0) -> Any:
    """A plain example value for a JSON schema (for operations that lack a written one)."""
    if not isinstance(node, dict) or depth > 8:
        return None
    if "example" in node:
        return node["example"]
    if node.get("examples"):
        return node["examples"][0] if isinstance(node["examples"], list) else None
    if "$ref" in node:
        return _example_of(schemas.get(node["$ref"].rsplit("/", 1)[-1], {}), schemas, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        if node.get(key):
            options = [o for o in node[key] if o.get("type") != "null"] or node[key]
            return _example_of(options[0], schemas, depth + 1)
    if "default" in node:
        return node["default"]
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        return {name: _example_of(sub, schemas, depth + 1) for name, sub in node.get("properties", {}).items()}
    if kind == "array":
        item = _example_of(node.get("items", {}), schemas, depth + 1)
        return [] if item is None else [item]
    fmt = node.get("format")
    return {"string": "2025-03-10" if fmt == "date" else "2025-03-10T08:30:00Z" if fmt == "date-time" else "KAZ"
            if node.get("pattern") == "^[A-Za-z]{3}$" else "text",
            "integer": 1, "number": 1.0, "boolean": True}.get(kind)


def _examples_everywhere(schema: dict) -> None:
    """Every operation shows an example request body and response: the written ones where there
    are, else one made from the schema."""
    schemas = schema.get("components", {}).get("schemas", {})
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                if "example" not in media and "examples" not in media:
                    media["example"] = _example_of(media.get("schema", {}), schemas)
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "example" not in media and "examples" not in media and "schema" in media:
                        media["example"] = _example_of(media["schema"], schemas)


def create_app(
    regimes: Mapping[str, Regime] | None = None,
    limits: Limits = API_LIMITS,
    extra_routers: Iterable[APIRouter] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    include_optional: bool = True,
) -> FastAPI:
    """The ASGI app: the v1 API, the page at `/`, and any extra routers (e.g. the register's)."""
    if regimes is None:
        from visafree.regimes import builtin_regimes

        regimes = builtin_regimes()
    app = FastAPI(
        title="visafree",
        version=_version(),
        summary="Visa-free short stays, exact to the day",
        description=(
            "May I enter, until when may I stay, when can I come back? The rules and how days are "
            "counted are those of RULES.md (Vietnam–Kazakhstan agreement, Schengen). The API stores "
            "nothing: each answer is computed from the request alone."
        ),
        license_info={"name": "Apache-2.0"},
        docs_url=None, redoc_url=None,  # served below from local assets, never a CDN
    )
    _offline_docs(app)
    app.include_router(build_router(regimes, limits))
    routers = list(extra_routers) + (_optional_routers() if include_optional else [])
    for router in routers:
        app.include_router(router)

    static_dir = resources.files("visafree.api") / "static"
    app.include_router(_page_router(static_dir))
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body", "header")]
        field = ".".join(loc) or None
        return _error(422, "invalid_request", f"{field or 'request'}: {first.get('msg', 'invalid')}", field,
                      _error_language(request.scope), "{field}: {reason}", field=field, reason=first.get("msg", "invalid"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(exc.status_code, "invalid_request")
        # No template: a translated answer says the code's own title ("error.not_found").
        return _refusal(exc.status_code, InputError(code, str(exc.detail), None), _error_language(request.scope),
                        getattr(exc, "headers", None))

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes, license_info=app.license_info)
            # The check body is parsed by the contract (for its error codes), not by FastAPI, so
            # its model is added to the components by hand.
            _, defs = models_json_schema([(models.CheckRequest, "validation")],
                                         ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            _declare_register_security(schema)
            _examples_everywhere(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
