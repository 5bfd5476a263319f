"""The register's HTTP API under /api/v1/register (included by visafree.api.create_app).

Every endpoint needs a bearer token of a role allowed for it: officer records and reads,
auditor reads and sees the audit log, admin manages tokens. A document number only ever
travels in a POST body, never in a URL, so it cannot end up in an access log.

The register comes from the `get_register` dependency (environment: VISAFREE_DATABASE_URL,
VISAFREE_REGISTER_KEY / VISAFREE_KEY_FILE); tests replace it with app.dependency_overrides.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from . import validate as v
from .export import overstayers_csv
from . import notes as desk_notes
from . import words
from .mrz import IDENTITY_LAYOUTS, MRZError, read_mrz
from .service import NO_REGIME_ADVICE, Document, Register, RegisterError, TokenInfo


def error_response(status: int, code: str, message: str, field: str | None = None, headers=None,
                   lang: str = "en", error: BaseException | None = None) -> JSONResponse:
    """The v1 error shape, {"error": {"code", "message", "field"}}, whatever app includes us; the
    message in the reader's language (issue 12), answered with Content-Language."""
    said = words.error_message(lang, error, message)
    return JSONResponse({"error": {"code": code, "message": said, "field": field}}, status_code=status,
                        headers={**(headers or {}), "Content-Language": lang})


class RegisterRoute(APIRoute):
    """Every register endpoint: the token is checked before the body is read (401 before 422),
    and every refusal leaves in the v1 error shape, never as a 500 and never echoing input."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request: Request):
            lang = words.language(request.query_params.get("lang"), request.headers.get("accept-language"))
            try:
                register = request.app.dependency_overrides.get(get_register, get_register)()
                info = register.authenticate(_bearer(request))
            except HTTPException as exc:
                return _from_http(exc, lang)
            if info is None:
                return error_response(401, "unauthorized", "a valid bearer token is required", None,
                                      {"WWW-Authenticate": "Bearer"}, lang)
            request.state.register_token = info
            if request.method in ("POST", "PUT", "PATCH") and not request.url.path.endswith("/ingest"):
                body = await request.body()
                if not v.json_depth_ok(body):
                    return error_response(422, "invalid_request", f"body: nested deeper than {v.MAX_JSON_DEPTH} levels", "body",
                                          lang=lang, error=_Templated("body: nested deeper than {max} levels", max=v.MAX_JSON_DEPTH))
            try:
                response = await handler(request)
                # The answer's texts (notes, next_step, engine notes) are in this language (issue 12).
                response.headers.setdefault("Content-Language", lang)
                return response
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body", "header")]
                field = ".".join(loc) or None
                return error_response(422, "invalid_request", f"{field or 'request'}: {first.get('msg', 'invalid')}", field,
                                      lang=lang, error=_Templated("{field}: this value is not accepted", field=field or "request"))
            except HTTPException as exc:
                return _from_http(exc, lang)
            except (RegisterError, MRZError, v.InvalidInput) as exc:
                return error_response(422, getattr(exc, "code", "invalid") or "invalid", str(exc), getattr(exc, "field", None),
                                      lang=lang, error=exc)
            except Exception as exc:  # noqa: BLE001 - the last guard: a database refusal is not a 500
                from sqlalchemy.exc import DBAPIError

                if isinstance(exc, DBAPIError):
                    return error_response(409, "conflict", "the register refused this record; try again", None, lang=lang)
                raise

        return guarded


class _Templated(Exception):
    """A message with a template and params, said in the reader's language by words.error_message."""

    def __init__(self, template: str, **params):
        super().__init__(template.format(**params))
        self.template, self.params = template, params


def _from_http(exc: HTTPException, lang: str = "en") -> JSONResponse:
    detail = exc.detail
    if isinstance(detail, dict):
        code = detail.get("code", "invalid")
        cause = detail.get("exception") or _Coded(code)
        return error_response(exc.status_code, code, detail.get("message") or detail.get("error", ""),
                              detail.get("field"), getattr(exc, "headers", None), lang, cause)
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 503: "register_unavailable"}
    code = codes.get(exc.status_code, "invalid_request")
    return error_response(exc.status_code, code, str(detail), None, getattr(exc, "headers", None), lang, _Coded(code))


class _Coded(Exception):
    """A refusal known by its code only (its message names values, so it is not translated whole)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


router = APIRouter(prefix="/api/v1/register", tags=["register"], route_class=RegisterRoute)

_registers: dict[tuple, Register] = {}
_registers_lock = threading.Lock()


def get_register() -> Register:
    """One Register per configuration, opened (and migrated) on first use."""
    import os

    from . import open_register
    from .config import RegisterConfig

    from .config import ConfigError

    config = RegisterConfig.from_env()
    cache_key = (config.database_url, str(config.key_file), os.environ.get("VISAFREE_REGISTER_COUNTRY"))
    with _registers_lock:
        if cache_key not in _registers:
            try:
                _registers[cache_key] = open_register()
            except ConfigError as exc:
                raise HTTPException(503, {"code": "register_unavailable", "message": str(exc), "field": None}) from None
        return _registers[cache_key]


def configured() -> bool:
    """Is a register set up here (a database URL given, or the default SQLite file present)?"""
    import os

    from .config import DEFAULT_SQLITE

    return bool(os.environ.get("VISAFREE_DATABASE_URL")) or DEFAULT_SQLITE.exists()


def preflight() -> str | None:
    """For `visafree serve` before it listens: the message that stops it, or None."""
    if not configured():
        return None
    try:
        get_register()
    except HTTPException as exc:
        return exc.detail["message"] if isinstance(exc.detail, dict) else str(exc.detail)
    return None


@router.on_event("startup")
def refuse_to_start_on_a_wrong_key() -> None:
    """The server refuses to start on a missing, changed or unreadable key (issue 10), with the
    message naming the fix, instead of answering every register request with an error."""
    if not configured():
        return  # no register here: its endpoints answer 503 until `visafree register init`
    import logging

    try:
        get_register()
    except HTTPException as exc:
        message = exc.detail["message"] if isinstance(exc.detail, dict) else str(exc.detail)
        logging.getLogger("visafree.register").error("register: %s", message)
        raise SystemExit(f"visafree register: {message}") from None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require(*roles: str):
    def dependency(request: Request, register: Register = Depends(get_register)) -> TokenInfo:
        info = getattr(request.state, "register_token", None) or register.authenticate(_bearer(request))
        if info is None:
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        if info.role not in roles:
            raise HTTPException(403, f"role {info.role} may not do this (needs {' or '.join(roles)})")
        return info

    return dependency


def _actor(info: TokenInfo) -> str:
    return f"token:{info.id}:{info.label}"


def _bad(exc: Exception) -> HTTPException:
    field = getattr(exc, "field", None)
    return HTTPException(422, {"message": str(exc), "field": field, "code": getattr(exc, "code", "invalid"), "exception": exc})


class PassportIn(BaseModel):
    mrz: list[Annotated[str, Field(max_length=60)]] | None = Field(
        None, description="The MRZ lines of the travel document: a TD3 passport or a TD2 card (2 lines), "
                          "a TD1 card (3 lines)", min_length=2, max_length=3)
    issuing_state: str | None = Field(None, max_length=3)
    document_number: str | None = Field(None, max_length=20)
    nationality: str | None = Field(None, max_length=3)
    passport_type: str = Field("ordinary", max_length=16)
    expires: dt.date | None = None

    def document(self, today: dt.date) -> Document:
        if self.mrz:
            return document_from_mrz(self.mrz, today)
        if not (self.issuing_state and self.document_number):
            raise HTTPException(422, {"message": "passport: give mrz, or issuing_state and document_number", "field": "passport",
                                      "code": "missing"})
        return Document(self.issuing_state, self.document_number, self.nationality or self.issuing_state,
                        self.passport_type, self.expires)

    def __repr__(self) -> str:
        return "PassportIn(<hidden>)"


def document_from_mrz(lines, today: dt.date) -> Document:
    """The traveller's document from its MRZ: TD3, TD2 or TD1 (issue 13). A card has no passport
    type; it is judged as `id_card`, which no built-in regime lists."""
    try:
        p = read_mrz(list(lines), reference_date=today, layouts=IDENTITY_LAYOUTS)
    except MRZError as exc:
        raise _bad(exc) from None
    return Document(p.issuing_state, p.document_number, p.nationality, p.passport_type or "id_card", p.expires)


class BasisIn(BaseModel):
    """The basis of the stay an entry opens (issue 13, docs/basis.md); absent: visa-free.
    A visa is typed (valid_from, valid_until) or read from its MRZ (mrz: the two lines of an
    MRV-A or MRV-B visa, check digits verified; valid_until comes from it, valid_from is typed)."""

    type: Literal["visa", "residence_permit", "long_stay_visa"]
    kind: Literal["short_stay", "e_visa", "transit", "on_arrival", "other"] = "short_stay"
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    entries: Literal["single", "double", "multiple"] = "multiple"
    duration_days: int | None = Field(None, ge=1, le=100_000)
    mrz: list[Annotated[str, Field(max_length=60)]] | None = Field(None, min_length=2, max_length=2)

    def value(self, nationality: str, today: dt.date):
        from visafree.engine import LongStayVisa, ResidencePermit, Visa

        if self.type == "long_stay_visa":
            return LongStayVisa()
        # Missing dates are refused before an engine value is made (a compiled engine's
        # dataclasses refuse None for a date with a TypeError, not a message).
        if self.type == "residence_permit":
            if self.valid_until is None:
                raise v.InvalidInput("basis.valid_until", "a date is required (YYYY-MM-DD)", "missing")
            return v.stay_basis(ResidencePermit(self.valid_until))
        if self.mrz:
            if self.valid_until is not None:
                raise v.InvalidInput("basis.valid_until", "comes from the visa's MRZ; do not type it too", "invalid_basis")
            return v.visa_from_mrz(self.mrz, nationality=nationality, reference_date=today, valid_from=self.valid_from,
                                   entries=self.entries, kind=self.kind, duration_days=self.duration_days)
        for name in ("valid_from", "valid_until"):
            if getattr(self, name) is None:
                raise v.InvalidInput(f"basis.{name}", "a date is required (YYYY-MM-DD), or give the visa's mrz", "missing")
        return v.stay_basis(Visa(self.valid_from, self.valid_until, self.entries, self.kind, self.duration_days))

    def __repr__(self) -> str:
        return "BasisIn(<hidden>)"


class CrossingIn(BaseModel):
    passport: PassportIn
    date: dt.date | None = None
    time: dt.time | None = None
    border_post: str = Field(..., max_length=64)
    event_id: str | None = Field(None, max_length=128)
    refuse_basis: str | None = Field(None, max_length=1000, description="Entry only: the officer refuses under R6, citing this basis")
    basis: BasisIn | None = Field(None, description="Entry only: the stay is on a visa or a permit (issue 13)")


class TravellerIn(BaseModel):
    passport: PassportIn | None = None
    traveller_key: str | None = Field(None, pattern="^[0-9a-f]{64}$")
    on: dt.date | None = None


class StayChangeIn(TravellerIn):
    kind: Literal["extension", "shortening"]
    new_end: dt.date
    legal_basis: str = Field(..., min_length=1, max_length=1000)


class LinkIn(BaseModel):
    traveller_key: str = Field(..., pattern="^[0-9a-f]{64}$")
    linked_key: str = Field(..., pattern="^[0-9a-f]{64}$")
    reason: str = Field(..., min_length=1, max_length=1000)


class TokenIn(BaseModel):
    role: Literal["officer", "auditor", "admin"]
    label: str = Field(..., min_length=1, max_length=64)


def _key(register: Register, body: TravellerIn) -> str:
    if body.traveller_key:
        return body.traveller_key
    if body.passport is None:
        raise HTTPException(422, {"message": "give passport or traveller_key", "field": "passport", "code": "missing"})
    try:
        return register.key_of(body.passport.document(register.local_today()))
    except (RegisterError, ValueError) as exc:
        raise _bad(exc) from None


@router.post("/entries")
def record_entry(body: CrossingIn, request: Request, register: Register = Depends(get_register),
                 who: TokenInfo = Depends(require("officer"))):
    today = register.local_today()
    document = body.passport.document(today)
    try:
        basis = body.basis.value(document.validated().nationality, today) if body.basis is not None else None
        decision = register.record_entry(document, body.date or today, officer=_actor(who),
                                         border_post=body.border_post, at=body.time, event_id=body.event_id,
                                         refuse_basis=body.refuse_basis, basis=basis)
    except (RegisterError, ValueError) as exc:
        raise _bad(exc) from None
    lang = _lang(request)
    answer = {
        "event_id": decision.event_id, "traveller_key": decision.traveller_key, "entry": decision.entry,
        "decision": decision.outcome, "reasons": list(decision.reasons),
        "permitted_until": decision.permitted_until, "limited_by": decision.limited_by, "regime": decision.regime,
        # The notes in the reader's language (issue 12), and as codes and params for programs.
        "basis": decision.basis, "notes": decision.texts(lang), "note_codes": desk_notes.plain(decision.notes),
        "repeated": decision.repeated,
    }
    if decision.outcome == "no_regime":
        # What to do next (issue 13): not a refusal; record the entry on the visa or permit.
        # Said in the language of ?lang= or Accept-Language, as the errors are (issue 12).
        answer["next_step"] = {"message": words.say(lang, NO_REGIME_ADVICE), "resend_with": "basis"}
    return answer


def _lang(request: Request) -> str:
    return words.language(request.query_params.get("lang"), request.headers.get("accept-language"))


def _status_body(status, lang: str) -> dict:
    """A status with the engine's note (if any) in the reader's language (issue 12)."""
    body = dict(status.__dict__)
    if status.engine_error is not None:
        body["engine_note"] = words.engine_note(lang, status.engine_error, status.engine_note)
    return body


@router.post("/exits")
def record_exit(body: CrossingIn, register: Register = Depends(get_register), who: TokenInfo = Depends(require("officer"))):
    document = body.passport.document(register.local_today())
    try:
        record = register.record_exit(document, body.date or register.local_today(), officer=_actor(who),
                                      border_post=body.border_post, at=body.time, event_id=body.event_id)
    except (RegisterError, ValueError) as exc:
        raise _bad(exc) from None
    return record.__dict__


@router.post("/status")
def traveller_status(body: TravellerIn, request: Request, register: Register = Depends(get_register),
                     who: TokenInfo = Depends(require("officer", "auditor"))):
    key = _key(register, body)
    return _status_body(register.status(key, body.on or register.local_today(), actor=_actor(who)), _lang(request))


@router.post("/history")
def traveller_history(body: TravellerIn, request: Request, register: Register = Depends(get_register),
                      who: TokenInfo = Depends(require("officer", "auditor"))):
    key = _key(register, body)
    result = register.history(key, actor=_actor(who), on=body.on)
    lang = _lang(request)
    crossings = [dict(c, notes=desk_notes.texts(lang, c["notes"], c["regime"]), note_codes=desk_notes.plain(c["notes"]))
                 for c in result.crossings]
    return {"traveller_key": result.traveller_key, "keys": list(result.keys), "crossings": crossings,
            "stays": result.stays, "links": result.links, "status": _status_body(result.status, lang)}


@router.post("/stay-changes")
def change_stay(body: StayChangeIn, register: Register = Depends(get_register), who: TokenInfo = Depends(require("officer"))):
    key = _key(register, body)
    try:
        change = register.change_stay(key, body.kind, body.new_end, legal_basis=body.legal_basis, officer=_actor(who))
    except RegisterError as exc:
        raise _bad(exc) from None
    return {"id": change.id, "kind": change.kind, "rule": change.rule, "new_end": change.new_end}


@router.post("/links")
def link_documents(body: LinkIn, register: Register = Depends(get_register), who: TokenInfo = Depends(require("officer"))):
    try:
        link_id = register.link_documents(body.traveller_key, body.linked_key, reason=body.reason, officer=_actor(who))
    except RegisterError as exc:
        raise _bad(exc) from None
    return {"id": link_id}


@router.get("/overstayers")
def list_overstayers(on: dt.date | None = None, format: Literal["json", "csv"] = "json",
                     register: Register = Depends(get_register), who: TokenInfo = Depends(require("officer", "auditor"))):
    found = register.overstayers(on or register.local_today(), actor=_actor(who))
    if format == "csv":
        return PlainTextResponse(overstayers_csv(found), media_type="text/csv")
    return [o.__dict__ for o in found]


@router.post("/ingest")
async def ingest_log(request: Request, format: Literal["csv", "jsonl", "parquet"] = Query(...),
                     register: Register = Depends(get_register), who: TokenInfo = Depends(require("officer"))):
    """Bulk ingest of a crossing log sent as the request body; the rejects come back in the answer."""
    import csv
    import tempfile
    from pathlib import Path

    from starlette.concurrency import run_in_threadpool

    from .ingest import IngestError, ingest

    with tempfile.TemporaryDirectory(prefix="visafree-ingest-") as tmp:
        path = Path(tmp) / f"upload.{format}"
        with open(path, "wb") as handle:
            async for part in request.stream():
                handle.write(part)
        try:
            summary = await run_in_threadpool(ingest, register, path, fmt=format, recorded_by=f"ingest:{_actor(who)}")
        except IngestError as exc:
            raise HTTPException(422, {"message": str(exc).replace(str(path), "body"), "field": "body", "code": "invalid_file"}) from None
        with open(summary.rejects_file, encoding="utf-8") as handle:
            rejects = list(csv.DictReader(handle))
    return {"read": summary.read, "stored": summary.stored, "duplicates": summary.duplicates,
            "rejected": summary.rejected, "unpaired": summary.unpaired, "rejects": rejects}


@router.get("/audit")
def audit_log(traveller_key: str | None = Query(None, pattern="^[0-9a-f]{64}$"), limit: int = Query(100, ge=1, le=10_000),
              register: Register = Depends(get_register), who: TokenInfo = Depends(require("auditor"))):
    return register.audit_entries(traveller_key=traveller_key, limit=limit)


@router.post("/tokens")
def create_token(body: TokenIn, register: Register = Depends(get_register), who: TokenInfo = Depends(require("admin"))):
    return {"token": register.create_token(body.role, body.label, created_by=_actor(who)), "role": body.role}


@router.get("/tokens")
def list_tokens(register: Register = Depends(get_register), who: TokenInfo = Depends(require("admin"))):
    return register.list_tokens()


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: int = Path(..., ge=1, le=2**63 - 1), register: Register = Depends(get_register), who: TokenInfo = Depends(require("admin"))):
    try:
        register.revoke_token(token_id, revoked_by=_actor(who))
    except RegisterError as exc:
        if exc.code == "not_found":
            raise HTTPException(404, {"message": str(exc), "field": "token_id", "code": "not_found"}) from None
        raise _bad(exc) from None
    return {"revoked": token_id}
