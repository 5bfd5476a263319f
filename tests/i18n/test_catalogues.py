"""The gettext catalogues: complete for the engine, faithful to its placeholders, Babel dates."""

import datetime as dt
import re
import string

import pytest
from babel.messages.pofile import read_po

from visafree.engine import MESSAGES
from visafree.i18n import LANGUAGES, catalogue, negotiate, translator

CLI_LABELS = [
    "Status", "In the country", "Not in the country", "Days used", "Days left", "Window", "Leave by", "Set by",
    "Overstay", "Violations", "Planned trips", "Allowed", "Not allowed", "Earliest start of a {trip_days}-day trip",
    "Explanation", "Day {day} of the stay", "Passport not judged",
]
REASONS = ["nationality", "passport_type", "passport_validity", "not_in_force", "per_stay_limit", "window_limit"]
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_public_interface():
    assert LANGUAGES == ("vi", "en", "ru", "kk")
    t = translator("vi")
    assert t.lang == "vi" and translator("vi") is t


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_engine_message_is_translated_with_the_same_placeholders(lang, code):
    english = MESSAGES[code]
    translated = catalogue(lang).get(english)
    assert translated and translated.strip(), f"{lang}: no translation for {code}"
    assert translated != english
    assert fields(translated) == fields(english), f"{lang} {code}: placeholders differ"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_labels_and_reasons_are_translated(lang):
    cat = catalogue(lang)
    for msgid in CLI_LABELS + [f"reason.{r}" for r in REASONS]:
        assert cat.get(msgid), f"{lang}: {msgid} missing"
        assert fields(cat[msgid]) == fields(msgid if not msgid.startswith("reason.") else "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogues_hold_the_same_msgids_and_no_fuzzy_or_broken_entries(lang):
    from importlib import resources

    path = resources.files("visafree.i18n") / "locales" / lang / "LC_MESSAGES" / "visafree.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    entries = [m for m in cat if m.id]
    assert not [m.id for m in entries if m.fuzzy]
    assert set(catalogue(lang)) == set(catalogue("en"))
    for m in entries:
        assert fields(m.string) == fields(m.id) or m.id.startswith(("reason.", "error.")), m.id


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_russian_and_kazakh_are_cyrillic(lang):
    text = catalogue(lang)["Leave by"]
    assert re.search("[а-яА-ЯәғқңөұүһіӘҒҚҢӨҰҮҺІ]", text)
    if lang == "kk":  # Kazakh-specific letters appear somewhere in the catalogue
        assert any(re.search("[әғқңөұүһі]", v) for v in catalogue(lang).values())


def test_vietnamese_has_diacritics():
    assert catalogue("vi")["Leave by"] == "Xuất cảnh muộn nhất"


def test_format_date_follows_the_locale():
    day = dt.date(2025, 3, 30)
    assert translator("en").format_date(day) == "March 30, 2025"
    assert translator("vi").format_date(day) == "30 tháng 3, 2025"
    assert translator("ru").format_date(day).startswith("30 марта 2025")
    assert "наурыз" in translator("kk").format_date(day)


def test_format_value_names_reasons_and_joins_lists():
    t = translator("en")
    assert t.format_value(["per_stay_limit", "window_limit"]) == "the per-stay limit, the rolling-window limit"
    assert t.format_value([dt.date(2025, 1, 2), 5]) == "January 2, 2025, 5"
    assert t.format_value("R1") == "R1"
    assert translator("ru").gettext("no such msgid") == "no such msgid"


@pytest.mark.parametrize("header, expected", [
    ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
    ("de-DE,de;q=0.9,ru;q=0.8,en;q=0.7", "ru"),
    ("en;q=0.2, kk;q=0.9", "kk"),
    ("kk-Cyrl-KZ", "kk"),
    ("ru;q=0, vi", "vi"),
    ("fr, de", "en"),
    ("", "en"),
    (None, "en"),
    ("garbage;;;q=abc,,,", "en"),
])
def test_negotiate(header, expected):
    assert negotiate(header) == expected


def test_engine_explanations_render_in_every_language():
    from visafree.contract import run_check
    from visafree.regimes import builtin_regimes

    body = {"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
            "passport": {"type": "ordinary", "expires": "2025-06-01"},
            "stays": [{"entry": "2025-03-01", "exit": "2025-04-05"}],
            "planned": [{"entry": "2025-05-01", "exit": "2025-06-15"}], "trip_days": 200}
    for lang in LANGUAGES:
        t = translator(lang)
        answer = run_check(body, builtin_regimes(), translate=t.gettext, format_value=t.format_value)
        for n in answer["explanation"]:
            assert "{" not in n["text"] and n["text"]
            if lang != "en":
                assert n["text"] != MESSAGES[n["code"]]
