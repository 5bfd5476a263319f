"""Every text the page shows is in every catalogue (no English left over in vi/ru/kk)."""

import re
from importlib import resources

import pytest

from visafree.i18n import LANGUAGES, catalogue

STATIC = resources.files("visafree.api") / "static"


def page_msgids() -> set[str]:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    js = (STATIC / "app.js").read_text(encoding="utf-8")
    ids = set(re.findall(r'data-i18n="([^"]+)"', html))
    ids |= set(re.findall(r'\bt\("([^"]+)"\s*[,)]', js))  # literals only, not t("error." + code)
    ids |= set(re.findall(r'\bdestructive\("([^"]+)"', js))  # the undo notice's message
    ids |= {f"weekday.{k}" for k in range(1, 8)}  # the calendar's column heads, t("weekday." + k)
    # Error codes and reason codes are looked up by prefix + code.
    ids |= {f"error.{c}" for c in ("invalid_date", "exit_before_entry", "overlapping_stays", "multiple_open_stays",
                                   "unknown_regime", "invalid_request")}
    return {i.replace("&#10;", "\n") for i in ids}


def test_the_page_has_texts_to_translate():
    assert len(page_msgids()) > 40


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_text_is_in_the_catalogue(lang):
    missing = sorted(m for m in page_msgids() if not catalogue(lang).get(m))
    assert missing == []
