"""The register's texts a person reads, in her language (issue 12).

Codes, fields and JSON stay as they are; only the human text goes through visafree.i18n's
catalogues (msgids are the English texts, so English output is unchanged). A message written
whole with a value in it (a RegisterError naming what was refused) has no template: in another
language the reader gets the error's kind instead of English, never the value itself, so no
document number or MRZ value is echoed in any language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from visafree.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate, translator

#: What a refused input is said as when its message has no template (non-English only).
REFUSED = "the register refused this input ({code}); see the error's field"
#: Every error code the register refuses with (service.py, validate.py, api.py), each with its
#: own message (msgid "register.error.<code>") for a refusal written whole in English: the reader
#: learns what kind of refusal it is in her language, never the refused value.
REGISTER_ERROR_PREFIX = "register.error."
REGISTER_ERRORS: dict[str, str] = {
    "invalid": "The register did not accept this value; the error's field says which.",
    "invalid_text": "This text holds characters the register does not accept.",
    "invalid_type": "This value has the wrong type.",
    "too_long": "This text is too long.",
    "out_of_range": "This number is outside the accepted range.",
    "missing": "A required value is missing.",
    "invalid_basis": "The visa or permit given is not valid.",
    "visa_nationality": "The visa's MRZ names another nationality than the passport.",
    "future_date": "This date is in the future.",
    "already_in_country": "The traveller is already in the host country: record the exit first.",
    "out_of_order": "The register already has a later crossing: record a correction instead.",
    "event_id_conflict": "This event id is already used by another crossing.",
    "event_id_reused": "This event id belongs to an ingested crossing, not to a desk entry.",
    "already_corrected": "This record was already corrected or withdrawn.",
    "not_found": "No such record in the register.",
    "busy": "Document links changed too often while recording; try again.",
    "unauthorized": "A valid bearer token is required.",
    "forbidden": "This token's role may not do this.",
    "conflict": "The register refused this record; try again.",
    "invalid_file": "The crossing log cannot be read.",
    "invalid_request": "The request is not valid.",
    "register_unavailable": "The register is not available here.",
}


def language(query_lang: str | None, accept_language: str | None) -> str:
    """?lang= when it is one of ours, else Accept-Language (RFC 9110), else English."""
    if query_lang in LANGUAGES:
        return query_lang  # type: ignore[return-value]
    return negotiate(accept_language, DEFAULT_LANGUAGE)


def say(lang: str, msgid: str, /, **params: Any) -> str:
    """An English template in `lang`, its dates written as the language writes them."""
    if lang == "en":
        return msgid.format(**params) if params else msgid
    t = translator(lang)
    if not params:
        return t.gettext(msgid)
    values = {k: t.format_date(v) if isinstance(v, dt.date) else v for k, v in params.items()}
    return t.gettext(msgid).format(**values)


def error_message(lang: str, error: BaseException | None, message: str) -> str:
    """An error's message in `lang`: its template (MRZ errors) translated with its labels, a
    fixed English message by the catalogue, anything else as the kind of error it is."""
    if lang == "en":
        return message
    t = translator(lang)
    template = getattr(error, "template", None)
    params = getattr(error, "params", None)
    if template and isinstance(params, dict):
        values = {k: t.gettext(v) if k == "label" else v for k, v in params.items()}
        return t.gettext(template).format(**values)
    translated = t.gettext(message)
    if translated != message:
        return translated
    code = getattr(error, "code", None) or "invalid"
    if code in REGISTER_ERRORS:
        return t.gettext(REGISTER_ERROR_PREFIX + code)
    return t.gettext(REFUSED).format(code=code)


def engine_note(lang: str, error: dict, message: str | None) -> str | None:
    """The engine's refusal of a stored history (TravellerStatus.engine_error) in `lang`: its
    template translated with its fields named; the English message in English."""
    if lang == "en" or not error:
        return message
    from types import SimpleNamespace

    return translator(lang).error_message(SimpleNamespace(message=message or "", **error))
