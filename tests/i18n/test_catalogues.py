"""The gettext catalogues: complete for the engine, faithful to its placeholders, plural forms by
Babel's rules, official date forms, and Babel's own checks."""

import datetime as dt
import io
import re
import string
from importlib import resources

import pytest
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from visafree.engine import COUNTS, ERRORS, MESSAGES
from visafree.i18n import LANGUAGES, UnknownLanguage, catalogue, negotiate, plural_catalogue, translator

CLI_LABELS = [
    "Status", "In the country", "Not in the country", "Days used", "Days left", "Window", "Leave by", "Set by",
    "Overstay", "Violations", "Planned trips", "Allowed", "Not allowed", "Explanation", "Day {day} of the stay",
    "Passport not judged", "Stay", "Entry", "Exit", "Verdict", "Latest exit", "Error", "Rule", "Content",
    "Parameters", "Source", "Covers", "In force",
]
REASONS = ["nationality", "passport_type", "passport_validity", "not_in_force", "per_stay_limit", "window_limit",
           "period_limit"]
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
#: Every date parameter of the engine's messages and of the error templates.
DATE_FIELDS = {"date", "start", "end", "entry", "exit", "on", "expires", "needed", "issued", "latest", "min", "max",
               "other_entry", "other_exit", "since", "until"}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def read(lang: str):
    path = resources.files("visafree.i18n") / "locales" / lang / "LC_MESSAGES" / "visafree.po"
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def test_public_interface():
    assert LANGUAGES == ("vi", "en", "ru", "kk")
    t = translator("vi")
    assert t.lang == "vi" and translator("vi") is t


@pytest.mark.parametrize("lang", ["de", "", "VI", "vi-VN", None])
def test_an_unknown_language_is_a_clear_error(lang):
    with pytest.raises(UnknownLanguage) as info:
        translator(lang)
    assert "vi, en, ru, kk" in str(info.value) and repr(lang) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_engine_message_is_translated_with_the_same_placeholders(lang, code):
    english = MESSAGES[code]
    translated = catalogue(lang).get(english)
    assert translated and translated.strip(), f"{lang}: no translation for {code}"
    assert translated != english
    assert fields(translated) == fields(english), f"{lang} {code}: placeholders differ"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_number_of_an_engine_message_has_its_own_plural_forms(lang):
    plurals = plural_catalogue(lang)
    expected = get_plural(lang).num_plurals
    for code, counts in COUNTS.items():
        for param, (singular, _plural) in counts.items():
            assert param in fields(MESSAGES[code]), f"{code}.{param} is not in its message"
            forms = plurals.get((f"{code}.{param}", singular))
            assert forms, f"{lang}: no plural forms for {code}.{param}"
            assert len(forms) == expected and all(fields(f) == {"n"} for f in forms), (code, param, forms)


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("key", sorted(ERRORS))
def test_every_error_template_is_translated(lang, key):
    english = ERRORS[key]
    translated = catalogue(lang).get(english)
    assert translated and translated != english, f"{lang}: no translation for error {key}"
    # A translation may leave out a detail only English carries (a parser's English reason), never add one.
    assert fields(translated) <= fields(english), f"{lang} {key}: unknown placeholders"
    assert fields(translated) >= fields(english) - {"reason"}, f"{lang} {key}: a value is lost"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_labels_and_reasons_are_translated(lang):
    cat = catalogue(lang)
    for msgid in CLI_LABELS + [f"reason.{r}" for r in REASONS]:
        assert cat.get(msgid), f"{lang}: {msgid} missing"
        assert fields(cat[msgid]) == fields(msgid if not msgid.startswith("reason.") else "")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogues_hold_the_same_msgids_and_no_fuzzy_or_broken_entries(lang):
    cat = read(lang)
    entries = [m for m in cat if m.id]
    assert not [m.id for m in entries if m.fuzzy]
    assert set(catalogue(lang)) == set(catalogue("en"))
    assert set(plural_catalogue(lang)) == set(plural_catalogue("en"))
    for m in entries:
        if m.pluralizable:
            continue
        if any(c.startswith("input error") for c in m.auto_comments):
            assert fields(m.string) <= fields(m.id), m.id
        else:
            assert fields(m.string) == fields(m.id) or m.id.startswith(("reason.", "error.")), m.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogues_pass_babels_checks_and_compile(lang):
    cat = read(lang)
    # The Plural-Forms header is Babel's (CLDR) rule for the language, so ngettext picks CLDR's forms.
    assert cat.num_plurals == get_plural(lang).num_plurals
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check()]
    assert problems == []
    buffer = io.BytesIO()
    write_mo(buffer, cat)
    assert len(buffer.getvalue()) > 1000


@pytest.mark.parametrize("n, nominative, genitive", [
    (1, "1 день", "1 дня"), (2, "2 дня", "2 дней"), (5, "5 дней", "5 дней"), (11, "11 дней", "11 дней"),
    (21, "21 день", "21 дня"), (22, "22 дня", "22 дней"), (25, "25 дней", "25 дней"),
    (111, "111 дней", "111 дней"), (112, "112 дней", "112 дней"), (101, "101 день", "101 дня"),
])
def test_russian_plural_forms(n, nominative, genitive):
    t = translator("ru")
    assert t.npgettext("window.used", "{n} day", "{n} days", n).format(n=n) == nominative
    assert t.npgettext("window.max", "{n} day", "{n} days", n).format(n=n) == genitive
    months = t.npgettext("latest_exit_passport.months", "{n} month", "{n} months", n).format(n=n)
    assert months == {"день": f"{n} месяц", "дня": f"{n} месяца", "дней": f"{n} месяцев"}[nominative.split()[1]]


def test_english_plural_forms_and_the_one_vietnamese_form():
    en, vi = translator("en"), translator("vi")
    assert en.npgettext("violation_per_stay.days", "{n} day", "{n} days", 1).format(n=1) == "1 day"
    assert en.npgettext("violation_per_stay.days", "{n} day", "{n} days", 6).format(n=6) == "6 days"
    assert vi.npgettext("violation_per_stay.days", "{n} day", "{n} days", 1) == vi.npgettext(
        "violation_per_stay.days", "{n} day", "{n} days", 6) == "{n} ngày"


def test_a_message_with_several_numbers_gives_each_its_own_form():
    from visafree.engine.explain import note

    t = translator("ru")
    text = note("violation_per_stay", "R3", date=dt.date(2025, 3, 31), day=31, entry=dt.date(2025, 3, 1), max=30,
                days=1).render(t.gettext, t.format_value, t.npgettext)
    assert "срока в 30 дней" in text and "превышение — 1 день." in text
    english = note("violation_per_stay", "R3", date=dt.date(2025, 3, 31), day=31, entry=dt.date(2025, 3, 1), max=30,
                   days=1).text
    assert english.endswith("; 1 day of overstay.") and "(1 days" not in english


def test_dates_take_each_languages_official_form():
    day = dt.date(2025, 3, 30)
    assert translator("en").format_date(day) == "March 30, 2025"
    assert translator("vi").format_date(day) == "ngày 30 tháng 3 năm 2025"
    assert translator("ru").format_date(day) == "30 марта 2025 года"
    assert translator("kk").format_date(day) == "2025 жылғы 30 наурыз"


def _date_slots(lang: str):
    """(msgid, translation, the text right after each date placeholder) for the catalogue of lang."""
    for msgid, text in catalogue(lang).items():
        for match in re.finditer(r"\{(\w+)\}", text):
            if match[1] in DATE_FIELDS and match[1] in fields(msgid) and not msgid.startswith("{field}: {value}"):
                yield msgid, text, text[:match.start()], text[match.end():]


def test_kazakh_dates_before_a_postposition_carry_the_case_on_kun():
    # "2025 жылғы 1 маусым" cannot take a case ending itself: "… күнінен бастап", "… күніне дейін".
    bad = [text for _, text, _, after in _date_slots("kk")
           if re.match(r"\s*(бастап|дейін|кешіктірмей|кейін|бұрын|басталған)", after)]
    assert bad == []


def test_vietnamese_dates_are_not_preceded_by_a_second_ngay():
    # The date itself starts with "ngày": "vào ngày 10 tháng 6 năm 2025", never "ngày ngày".
    bad = [text for _, text, before, _ in _date_slots("vi") if before.rstrip().endswith("ngày")]
    assert bad == []


def test_russian_sentences_never_end_in_two_periods():
    assert not translator("ru").format_date(dt.date(2025, 6, 20)).endswith(".")
    assert [t for t in catalogue("ru").values() if re.search(r"(?<!\.)\.\.(?!\.)", t)] == []


def test_format_value_names_reasons_and_joins_lists():
    t = translator("en")
    assert t.format_value(["per_stay_limit", "window_limit"]) == "the per-stay limit, the rolling-window limit"
    assert t.format_value([dt.date(2025, 1, 2), 5]) == "January 2, 2025, 5"
    assert t.format_value("R1") == "R1"
    assert translator("ru").gettext("no such msgid") == "no such msgid"


@pytest.mark.parametrize("path, lang, expected", [
    ("stays[0].entry", "vi", "ngày nhập cảnh của lần tạm trú 1"),
    ("stays[11].exit", "ru", "дата выезда (пребывание 12)"),
    ("planned[1]", "kk", "2-жоспарланған сапар"),
    ("passport.expires", "kk", "паспорттың жарамдылық мерзімі аяқталатын күн"),
    ("on", "ru", "дата расчёта"),
    (None, "vi", "yêu cầu"),
    ("some.other[3]", "ru", "some.other[3]"),
])
def test_fields_are_named_in_the_readers_language(path, lang, expected):
    assert translator(lang).field(path) == expected


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

    regimes = builtin_regimes()
    body = {"regime": "vn-kz", "nationality": "KAZ", "destination": "VNM", "on": "2025-04-10",
            "passport": {"type": "ordinary", "expires": "2025-06-01"},
            "stays": [{"entry": "2025-03-01", "exit": "2025-04-05"}],
            "planned": [{"entry": "2025-05-01", "exit": "2025-06-15"}], "trip_days": 200}
    for lang in LANGUAGES:
        t = translator(lang)
        answer = run_check(body, regimes, translate=t.gettext, format_value=t.format_value, lang=lang,
                           plural=t.npgettext, names=t.namer(regimes))
        for n in answer["explanation"]:
            assert "{" not in n["text"] and n["text"]
            if lang != "en":
                assert n["text"] != MESSAGES[n["code"]]
