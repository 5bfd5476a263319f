"""Languages of the page, the API and the CLI: gettext catalogues read with Babel.

The engine's English templates (`visafree.engine.MESSAGES`) are the msgids, so one catalogue per
language translates explanations, reason codes, CLI labels and page labels alike. The .po files
are read at runtime with `babel.messages.pofile.read_po`: a fresh checkout needs no compile step.

    from visafree.i18n import translator
    t = translator("vi")
    t.gettext("Leave by"), t.format_date(date(2025, 3, 30)), t.format_value(["window_limit"])
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.messages.pofile import read_po

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Translator", "catalogue", "negotiate", "translator"]

LANGUAGES = ("vi", "en", "ru", "kk")
DEFAULT_LANGUAGE = "en"
DOMAIN = "visafree"
#: Reason codes of the check contract are translated through msgids "reason.<code>".
REASON_PREFIX = "reason."
#: Parameter values with a name (passport types) are translated through msgids "value.<value>".
VALUE_PREFIX = "value."
#: ISO 3166-1 alpha-3 -> alpha-2 for the countries of the built-in regimes and their neighbours;
#: Babel (CLDR) names territories by alpha-2 in every language.
ISO3_TO_ISO2 = dict(pair.split(":") for pair in (
    "KAZ:KZ VNM:VN USA:US CAN:CA GBR:GB AUS:AU NZL:NZ JPN:JP KOR:KR SGP:SG MYS:MY BRA:BR ARG:AR MEX:MX "
    "CHL:CL ISR:IL ARE:AE UKR:UA GEO:GE MDA:MD SRB:RS ALB:AL TWN:TW HKG:HK AUT:AT BEL:BE BGR:BG HRV:HR "
    "CZE:CZ DNK:DK EST:EE FIN:FI FRA:FR DEU:DE GRC:GR HUN:HU ISL:IS ITA:IT LVA:LV LIE:LI LTU:LT LUX:LU "
    "MLT:MT NLD:NL NOR:NO POL:PL PRT:PT ROU:RO SVK:SK SVN:SI ESP:ES SWE:SE CHE:CH CHN:CN RUS:RU IND:IN "
    "THA:TH KGZ:KG UZB:UZ TJK:TJ TKM:TM TUR:TR MNG:MN LAO:LA KHM:KH IDN:ID PHL:PH"
).split())


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Mapping[str, str]:
    """msgid -> msgstr for one language; untranslated and fuzzy entries are left out."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    path = resources.files(__package__) / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang, domain=DOMAIN)
    return {
        m.id: m.string
        for m in cat
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


class Translator:
    """gettext plus Babel date formatting for one language."""

    def __init__(self, lang: str):
        self.lang = lang
        self._messages = catalogue(lang)
        self._locale = Locale.parse(lang)
        # Dates repeat across the lines of one answer and across answers: formatting through
        # CLDR costs tens of microseconds, a dict lookup does not.
        self._dates: dict[dt.date, str] = {}

    def gettext(self, msgid: str) -> str:
        return self._messages.get(msgid) or msgid

    def format_date(self, day: dt.date) -> str:
        text = self._dates.get(day)
        if text is None:
            text = _babel_format_date(day, format="long", locale=self._locale)
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
