"""Screenshots of the page for docs/screenshots/ (run after changing the page).

    .venv/bin/python docs/make_screenshots.py

Serves the app on a free loopback port and drives Debian's chromium with Playwright through the
three journeys of docs/web-and-api.md, each at desktop and phone width, and checks the figures
each screenshot is meant to show before taking it:

- page-ru.png, journey-kazakh-ru[-phone].png: a Kazakh tourist in Viet Nam, in Russian;
- page-vi.png, journey-engineer-vi[-phone].png: a Vietnamese engineer in Astana, in Vietnamese;
- page-en.png, journey-schengen-en[-phone].png: a US traveller in Germany, in English;
- page-kk.png: the Kazakh tourist in Kazakh; calendar-ru.png: the calendar alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from visafree.api import create_app
from visafree.api.devserver import running_server

OUT = Path(__file__).resolve().parent / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
LOCALES = {"vi": "vi-VN", "en": "en-US", "ru": "ru-RU", "kk": "kk-KZ"}

KAZAKH = dict(nationality="KAZ", destination="VNM", on="2025-06-10", passport="2026-06-15", trips=[
    ("2025-01-10", "2025-01-24"), ("2025-03-01", "2025-03-28"), ("2025-05-02", "2025-05-30"),
    ("2025-07-01", "2025-07-31"), ("2025-09-01", "")])
ENGINEER = dict(nationality="VNM", destination="KAZ", on="2025-07-05", passport="2027-05-01", trips=[
    ("2025-02-03", "2025-02-28"), ("2025-03-05", "2025-03-20"), ("2025-04-01", "2025-04-30"), ("2025-06-20", "")])
SCHENGEN = dict(nationality="USA", destination="DEU", on="2025-06-01", trips=[
    ("2025-01-10", "2025-03-01"), ("2025-05-20", ""), ("2025-08-01", "2025-08-30")])

SHOTS = [  # (file stem, journey, language, the figure that must show, in which element)
    ("journey-kazakh-ru", KAZAKH, "ru", "#days-used", "72 из 90 дней"),
    ("journey-engineer-vi", ENGINEER, "vi", "#leave-by", "ngày 7 tháng 7 năm 2025"),
    ("journey-schengen-en", SCHENGEN, "en", "#leave-by", "June 27, 2025"),
    ("page-kk", KAZAKH, "kk", "#days-left", "18"),
]


def typed(iso: str, lang: str) -> str:
    if not iso or lang == "en":
        return iso
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}" if lang == "vi" else f"{d}.{m}.{y}"


def fill(page, lang, journey) -> None:
    expect(page.locator("#nationality option")).not_to_have_count(0)
    page.select_option("#nationality", journey["nationality"])
    page.select_option("#destination", journey["destination"])
    page.fill("#on", typed(journey["on"], lang))
    if journey.get("passport"):
        page.fill("#passport-expires", typed(journey["passport"], lang))
    rows = page.locator("#trips .trip")
    for k, (entry, exit_) in enumerate(journey["trips"]):
        if k:
            page.click("#add-trip")
        rows.nth(k).locator(".entry").fill(typed(entry, lang))
        rows.nth(k).locator(".exit").fill(typed(exit_, lang))


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with running_server(create_app(include_optional=False)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        for stem, journey, lang, where, figure in SHOTS:
            for suffix, size in (("", {"width": 1280, "height": 900}), ("-phone", {"width": 390, "height": 844})):
                if stem.startswith("page-") and suffix:
                    continue
                context = browser.new_context(locale=LOCALES[lang], viewport=size)
                page = context.new_page()
                page.goto(base + "/")
                expect(page.locator("html")).to_have_attribute("lang", lang)
                fill(page, lang, journey)
                expect(page.locator(where)).to_have_text(figure, timeout=20_000)
                page.wait_for_timeout(300)
                if suffix:  # a phone's first screen: the answer at the top
                    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
                    page.wait_for_timeout(200)
                    path = OUT / f"{stem}{suffix}.png"
                    page.screenshot(path=str(path))
                else:
                    path = OUT / f"{stem}.png"
                    page.screenshot(path=str(path), full_page=True)
                    if stem == "journey-kazakh-ru":
                        page.locator(".calendar-panel").screenshot(path=str(OUT / "calendar-ru.png"))
                print(path)
                context.close()
        browser.close()
    # The README and the older docs link page-<lang>.png: the journeys in their languages.
    for stem, lang in (("journey-kazakh-ru", "ru"), ("journey-engineer-vi", "vi"), ("journey-schengen-en", "en")):
        (OUT / f"page-{lang}.png").write_bytes((OUT / f"{stem}.png").read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
