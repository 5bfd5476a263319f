"""Languages of the page, the API and the CLI: gettext catalogues read with Babel.

The engine's English templates (`visafree.engine.MESSAGES`, `visafree.engine.ERRORS`) are the
msgids, so one catalogue per language translates explanations, errors, reason codes, CLI labels
and page labels alike. The .po files are read at runtime with `babel.messages.pofile.read_po`
and compiled in memory (`write_mo`) for gettext's plural forms: a fresh checkout needs no
compile step. The terms follow docs/glossary.md (the agreement's and the laws' own words).

    from visafree.i18n import translator
    t = translator("vi")
    t.gettext("Leave by"), t.format_date(date(2025, 3, 30)), t.format_value(["window_limit"])
    t.npgettext("window.used", "{n} day", "{n} days", 22)
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from babel import Locale
from babel.core import get_global
from babel.dates import format_date as _babel_format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LANGUAGE", "LANGUAGES", "Translator", "UnknownLanguage", "catalogue", "negotiate",
    "plural_catalogue", "translator",
]

LANGUAGES = ("vi", "en", "ru", "kk")
DEFAULT_LANGUAGE = "en"
DOMAIN = "visafree"
#: Reason codes of the check contract are translated through msgids "reason.<code>".
REASON_PREFIX = "reason."
#: Parameter values with a name (passport types) are translated through msgids "value.<value>".
VALUE_PREFIX = "value."
#: Error codes have a one-line title each, msgid "error.<code>".
ERROR_PREFIX = "error."
#: How a date is written in each language, as an LDML pattern that Babel formats. CLDR's "long"
#: forms are not the official ones: Vietnamese documents write "ngày 10 tháng 6 năm 2025" (CLDR:
#: "10 tháng 6, 2025"); CLDR's Kazakh "2025 ж. 10 маусым" ends in a bare month that cannot take
#: the case a postposition asks for, while "2025 жылғы 10 маусым" is the form of Kazakh laws and
#: is followed by "күні / күнінен / күніне" in the catalogue; Russian "2025 г." puts a second
#: period after every sentence that ends with a date, "2025 года" is the form of Russian laws.
DATE_PATTERNS = {
    "en": "MMMM d, y",
    "vi": "'ngày' d 'tháng' M 'năm' y",
    "ru": "d MMMM y 'года'",
    "kk": "y 'жылғы' d MMMM",
}
#: ISO 3166-1 alpha-3 -> alpha-2 for every country, from CLDR's territory aliases as Babel ships
#: them (Babel names territories by alpha-2 in every language). Kosovo has no ISO code: the EU's
#: Annex II and ICAO use XKX, CLDR names it XK.
ISO3_TO_ISO2 = {
    alias: targets[0]
    for alias, targets in get_global("territory_aliases").items()
    if len(alias) == 3 and alias.isalpha() and len(targets) == 1 and len(targets[0]) == 2
} | {"XKX": "XK"}
#: JSON paths of the check contract -> how a reader calls that field (msgids; {n} counts from 1).
_FIELD_NAMES = {
    "regime": "regime", "nationality": "nationality", "destination": "destination",
    "on": "reference date", "trip_days": "length of the trip in days", "passport": "passport",
    "passport.type": "passport type", "passport.expires": "passport expiry date",
    "passport.issued": "passport issue date", "stays": "list of stays", "planned": "list of planned trips",
    "request": "request", "lang": "language", "regime_file": "regime file", "regime_id": "regime",
}
_ITEM_NAMES = {
    ("stays", ""): "stay {n}", ("stays", "entry"): "entry date of stay {n}",
    ("stays", "exit"): "exit date of stay {n}", ("planned", ""): "planned trip {n}",
    ("planned", "entry"): "entry date of planned trip {n}", ("planned", "exit"): "exit date of planned trip {n}",
}
_ITEM_NAMES.update({  # the basis of a stay or a planned trip (docs/basis.md, issue 13)
    (items, part): f"{name} of {item} {{n}}"
    for items, item in (("stays", "stay"), ("planned", "planned trip"))
    for part, name in (("basis", "basis"), ("basis.type", "basis"), ("basis.valid_from", "visa valid-from date"),
                       ("basis.valid_until", "visa or permit valid-until date"), ("basis.entries", "visa entries"),
                       ("basis.duration_days", "visa duration"), ("basis.kind", "visa kind"))
})
_ITEM_PATH = re.compile(r"^(stays|planned)\[(\d+)\](?:\.(entry|exit|basis(?:\.[a-z_]+)?))?$")


class UnknownLanguage(ValueError):
    """A language the catalogues do not have; the message lists those they have."""

    def __init__(self, lang: object):
        self.lang = lang
        super().__init__(f"unsupported language {lang!r}; expected one of {', '.join(LANGUAGES)}")


def _read(lang: str) -> Catalog:
    if lang not in LANGUAGES:
        raise UnknownLanguage(lang)
    path = resources.files(__package__) / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=lang, domain=DOMAIN)


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Mapping[str, str]:
    """msgid -> msgstr of the singular messages of one language; untranslated and fuzzy left out."""
    return {
        m.id: m.string
        for m in _read(lang)
        if m.id and isinstance(m.id, str) and not m.context and isinstance(m.string, str) and m.string
        and not m.fuzzy
    }


@lru_cache(maxsize=None)
def plural_catalogue(lang: str) -> Mapping[tuple[str | None, str], tuple[str, ...]]:
    """(context, singular msgid) -> the plural forms of one language, in its Plural-Forms order."""
    return {
        (m.context, m.id[0]): tuple(m.string)
        for m in _read(lang)
        if isinstance(m.id, tuple) and all(m.string) and not m.fuzzy
    }


@lru_cache(maxsize=None)
def _compiled(lang: str) -> _gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, _read(lang))
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


class Translator:
    """gettext (with plural forms) plus Babel date formatting for one language."""

    def __init__(self, lang: str):
        if lang not in LANGUAGES:
            raise UnknownLanguage(lang)
        self.lang = lang
        self._messages = catalogue(lang)
        self._gnu = _compiled(lang)
        self._locale = Locale.parse(lang)
        # Dates repeat across the lines of one answer and across answers: formatting through
        # CLDR costs tens of microseconds, a dict lookup does not.
        self._dates: dict[dt.date, str] = {}

    def gettext(self, msgid: str) -> str:
        return self._messages.get(msgid) or msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._gnu.ngettext(singular, plural, n)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        """The form of a phrase for the number n, by this language's plural rule (CLDR via Babel)."""
        return self._gnu.npgettext(context, singular, plural, n)

    def format_date(self, day: dt.date) -> str:
        text = self._dates.get(day)
        if text is None:
            text = _babel_format_date(day, format=DATE_PATTERNS[self.lang], locale=self._locale)
            if len(self._dates) < 100_000:
                self._dates[day] = text
        return text

    def reason(self, code: str) -> str:
        """Human name of a reason code (e.g. window_limit), the code itself if unknown."""
        return self._messages.get(REASON_PREFIX + code, code)

    def country(self, code: str) -> str:
        """Name of a country given as ISO alpha-3 (KAZ -> Қазақстан), the code itself if unknown."""
        alpha2 = ISO3_TO_ISO2.get(code)
        return (self._locale.territories.get(alpha2) if alpha2 else None) or code

    def format_value(self, value: Any) -> str:
        if isinstance(value, dt.date):
            return self.format_date(value)
        if isinstance(value, (list, tuple)):
            return ", ".join(self.format_value(v) for v in value)
        if isinstance(value, str):
            # Reason lists ({reasons}) name contract codes, {type} a passport type and
            # {nationality} a country code: a reader wants their names in her language.
            named = self._messages.get(REASON_PREFIX + value) or self._messages.get(VALUE_PREFIX + value)
            if named:
                return named
            if len(value) == 3 and value.isupper():
                return self.country(value)
            return value
        return str(value)

    def title(self, item: Any) -> str:
        """The title of a regime or a rule in this language (regime files carry `titles`)."""
        titles = getattr(item, "titles", None) or {}
        return (titles.get(self.lang) if self.lang != "en" else None) or item.title

    def names(self, regime: Any) -> dict[str, str]:
        """How an answer names its regime and the regime's rules: titles, never ids."""
        named = {regime.id: self.title(regime)}
        named.update((rule_id, self.title(rule)) for rule_id, rule in regime.rules.items())
        return named

    def namer(self, regimes: Mapping[str, Any]):
        """names(regime_id) for the contract's renderers: every regime by its title, and the rules
        of the given regime (None: of none, for the notes that choose between regimes)."""
        titles = {rid: self.title(regime) for rid, regime in regimes.items()}

        def names(regime_id: str | None) -> dict[str, str]:
            if regime_id is None or regime_id not in regimes:
                return titles
            return {**titles, **self.names(regimes[regime_id])}

        return names

    def field(self, path: str | None) -> str:
        """A JSON path of the contract as a reader calls it ("stays[0].entry" -> "entry date of stay 1")."""
        if not path:
            return self.gettext("request")
        if path in _FIELD_NAMES:
            return self.gettext(_FIELD_NAMES[path])
        item = _ITEM_PATH.match(path)
        if item:
            name = _ITEM_NAMES.get((item[1], item[3] or ""))
            return self.gettext(name).format(n=int(item[2]) + 1) if name else path
        return path

    def error_message(self, error: Any) -> str:
        """An InputError's message in this language: its template translated, its fields named."""
        template = getattr(error, "template", None)
        if self.lang == "en" and template is None:
            return error.message
        if template is None:  # a message written whole: say at least what kind of error it is
            return self.gettext(ERROR_PREFIX + error.code)
        values = {
            key: self.field(value) if key == "field" or key.endswith("_field") else self.format_value(value)
            for key, value in error.params.items()
        }
        translated = self.gettext(template)
        text = translated.format(**values)
        # A sentence that opens with a field's name starts with a capital; "lang: …" stays a code.
        return text[:1].upper() + text[1:] if translated.startswith("{") else text

    def __repr__(self) -> str:
        return f"Translator({self.lang!r})"


@lru_cache(maxsize=None)
def translator(lang: str) -> Translator:
    return Translator(lang)


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The first of LANGUAGES the Accept-Language header prefers (RFC 9110 q-values), else default."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:50]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, val = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if q <= 0 or q != q:  # q=0 means "not this one"; NaN is garbage
            continue
        ranked.append((-q, position, tag))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0].split("_")[0]
        if primary in LANGUAGES:
            return primary
        if tag == "*":
            return default
    return default
