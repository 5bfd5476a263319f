"""docs/glossary.md and the catalogues agree: every term is in its language's catalogue, and the
words the glossary rejects are in none."""

import re
from pathlib import Path

import pytest

from visafree.i18n import LANGUAGES, catalogue, plural_catalogue
from visafree.regimes import builtin_regimes

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
TERMS = ("stay", "entry", "exit", "overstay", "180-day period", "visa-free regime", "host country",
         "passport expiry", "border control authority")


def table(header: str) -> list[dict[str, str]]:
    """The rows of the markdown table whose header row starts with `header`."""
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    names = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(names, (c.strip() for c in line.strip("|").split("|")))))
    return rows


def texts(lang: str) -> list[str]:
    singular = list(catalogue(lang).values())
    plural = [form for forms in plural_catalogue(lang).values() for form in forms]
    return [t.lower() for t in singular + plural]


def test_the_glossary_has_every_term_of_rules_md_in_four_languages_with_sources():
    rows = {row["term"]: row for row in table("| term |")}
    assert tuple(rows) == TERMS
    for row in rows.values():
        assert all(row[lang] for lang in LANGUAGES), row
    text = GLOSSARY.read_text(encoding="utf-8")
    for law in ("47/2014", "1146", "adilet.zan.kz", "xuatnhapcanh.gov.vn"):
        assert law in text
    assert len(re.findall(r"<https?://[^>]+>", text)) >= 12


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("term", TERMS)
def test_every_glossary_term_is_in_the_catalogue(lang, term):
    word = next(row for row in table("| term |") if row["term"] == term)[lang].lower()
    assert any(word in text for text in texts(lang)), f"{lang}: the glossary's {word!r} ({term}) is in no message"


@pytest.mark.parametrize("row", table("| language |"), ids=lambda r: f"{r['language']}-{r['rejected']}")
def test_no_catalogue_uses_a_rejected_word(row):
    rejected = row["rejected"].lower()
    used = [text for text in texts(row["language"]) if rejected in text]
    assert used == [], f"{row['language']}: {rejected!r} ({row['because']})"


def regime_titles(lang: str) -> list[str]:
    """Every title a regime file gives in `lang`: the regime's and its rules' (quoted legal
    texts keep the law's own words and are not titles)."""
    found = []
    for regime in builtin_regimes().values():
        for item in (regime, *regime.rules.values()):
            title = (getattr(item, "titles", None) or {}).get(lang)
            if title:
                found.append(title.lower())
    return found


@pytest.mark.parametrize("row", table("| language |"), ids=lambda r: f"{r['language']}-{r['rejected']}")
def test_no_regime_title_uses_a_rejected_word(row):
    rejected = row["rejected"].lower()
    used = [title for title in regime_titles(row["language"]) if rejected in title]
    assert used == [], f"{row['language']}: {rejected!r} ({row['because']})"
