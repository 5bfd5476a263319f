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
    return t.gettext(REFUSED).format(code=code)
