"""Screenshots of the page in each language, for docs/screenshots/ (run after changing the page).

    .venv/bin/python docs/make_screenshots.py

Serves the app on a free loopback port and drives Debian's chromium with Playwright, with the
same journey in every language: a Kazakh traveller in Vietnam with a planned trip that breaks
the 30-day rule.
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
LANGS = {"vi": "vi-VN", "en": "en-US", "ru": "ru-RU", "kk": "kk-KZ"}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with running_server(create_app(include_optional=False)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        for lang, locale in LANGS.items():
            context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(base + "/")
            expect(page.locator("html")).to_have_attribute("lang", lang)  # opened in the browser's language
            page.fill("#on", "2025-03-10")
            page.fill("#passport-expires", "2030-01-01")
            rows = page.locator("#trips .trip")
            rows.nth(0).locator(".entry").fill("2024-09-20")
            rows.nth(0).locator(".exit").fill("2024-10-15")
            page.click("#add-trip")
            rows.nth(1).locator(".entry").fill("2025-01-01")
            rows.nth(1).locator(".exit").fill("2025-01-25")
            page.click("#add-trip")
            rows.nth(2).locator(".entry").fill("2025-03-01")
            page.fill("#planned-entry", "2025-04-01")
            page.fill("#planned-exit", "2025-05-05")
            page.fill("#trip-days", "20")
            expect(page.locator("#planned-reasons li").first).to_be_visible()
            page.wait_for_timeout(300)
            path = OUT / f"page-{lang}.png"
            page.screenshot(path=str(path), full_page=True)
            print(path)
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
