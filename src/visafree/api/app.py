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

from visafree.contract import Limits, render_error, run_check
from visafree.engine import ERRORS, InputError, input_error
from visafree.engine.regime import Regime
from visafree.regimes import regime_detail, regime_summary
from visafree.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalogue, negotiate, translator

from . import models

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


def _ics(body: dict, t, request_key: str) -> bytes:
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//visafree//visa-free stay calculator//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", t.gettext("Visa-free stay calculator"))
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    notes = {n["code"]: n["text"] for n in body["explanation"]}

    def event(kind: str, day: str, summary: str, description: str, alarm_days: int | None) -> None:
        ev = Event()
        # Same question -> same UID, so importing twice updates the event instead of duplicating it.
        ev.add("uid", f"{kind}-{request_key}@visafree")
        ev.add("dtstamp", stamp)
        start = dt.date.fromisoformat(day)
        ev.add("dtstart", start)
        ev.add("dtend", start + dt.timedelta(days=1))
        ev.add("summary", summary)
        ev.add("description", description)
        ev.add("transp", "TRANSPARENT")
        if alarm_days:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary)
            alarm.add("trigger", dt.timedelta(days=-alarm_days))
            ev.add_component(alarm)
        cal.add_component(ev)

    current = body.get("current_stay")
    if current and current.get("latest_exit"):
        text = next((notes[c] for c in ("latest_exit_window", "latest_exit_per_stay", "latest_exit_passport") if c in notes), "")
        event("leave-by", current["latest_exit"], f"{t.gettext('Leave by')}: {body['regime']}", text, 3)
    earliest = body.get("earliest_entry")
    if earliest and earliest.get("date"):
        # A one-day trip is how the page asks "when may I come back at all".
        summary = (t.gettext("Earliest return") if earliest["trip_days"] == 1
                   else t.gettext("Earliest start of a {trip_days}-day trip").format(trip_days=earliest["trip_days"]))
        event("earliest", earliest["date"], f"{summary}: {body['regime']}", notes.get("earliest", ""), None)
    return cal.to_ical()


def _example_check(regimes: Mapping[str, Regime]) -> dict:
    try:
        return _check(models.EXAMPLE_REQUEST, regimes, API_LIMITS, "en")
    except Exception:  # a custom catalogue without vn-kz: the schema still describes the shape
        return {}


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
        return Response(_ics(body, translator(chosen), key), media_type="text/calendar; charset=utf-8",
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
    )
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
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
