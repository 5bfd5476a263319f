"""The traveller's page in a real browser (Debian's chromium) against a real server.

Expected dates follow RULES.md: the entry day is day 1, so an entry on 1 March may stay to
30 March (R3); an entry on 1 April to 5 May is 35 days, over the 30 of R3.
"""

import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


def enter_kazakh_traveller(page):
    """A Kazakh traveller in Vietnam: Jan 1-25 there, back since Mar 1, question asked Mar 10."""
    page.select_option("#journey", "vn-kz:KAZ:VNM")
    page.fill("#on", "2025-03-10")
    rows = page.locator("#trips .trip")
    rows.nth(0).locator(".entry").fill("2025-01-01")
    rows.nth(0).locator(".exit").fill("2025-01-25")
    page.click("#add-trip")
    rows.nth(1).locator(".entry").fill("2025-03-01")


def test_verdict_and_leave_by(new_page, shots):
    page = new_page()
    enter_kazakh_traveller(page)
    expect(page.locator("#status")).to_contain_text("In the country")
    expect(page.locator("#status")).to_contain_text("Day 10 of the stay")  # Mar 1 is day 1
    expect(page.locator("#leave-by")).to_have_text("March 30, 2025")
    expect(page.locator("#leave-by-rule")).to_contain_text("the per-stay limit")
    # 25 days in January + Mar 1..10 = 35 inside the window ending Mar 10.
    expect(page.locator("#days-used")).to_have_text("35 of 90 days")
    expect(page.locator("#days-left")).to_have_text("55")
    # The timeline draws one cell per day present in the window: the same 35 days.
    assert page.locator("#timeline svg rect.day").count() == 35
    page.screenshot(path=str(shots / "1-verdict.png"), full_page=True)
    assert page.js_errors == []


def test_planned_trip_breaking_the_30_days(new_page, shots):
    page = new_page()
    enter_kazakh_traveller(page)
    page.fill("#planned-entry", "2025-04-01")
    page.fill("#planned-exit", "2025-05-05")
    expect(page.locator("#planned-verdict")).to_contain_text("Not allowed")
    expect(page.locator("#planned-verdict")).to_have_class("verdict no")
    expect(page.locator('#planned-reasons li[data-reason="per_stay_limit"]')).to_have_text("the per-stay limit")
    expect(page.locator("#planned-reasons")).to_contain_text("lasts 35 days")
    page.screenshot(path=str(shots / "2-planned-refused.png"), full_page=True)
    # Shortened to Apr 1..30 (30 days) the same trip is allowed.
    page.fill("#planned-exit", "2025-04-30")
    expect(page.locator("#planned-verdict")).to_contain_text("Allowed")
    expect(page.locator("#planned-reasons li")).to_have_count(0)


def test_switch_to_vietnamese_and_russian(new_page, shots):
    page = new_page()
    enter_kazakh_traveller(page)
    page.fill("#planned-entry", "2025-04-01")
    page.fill("#planned-exit", "2025-05-05")
    expect(page.locator("#leave-by")).to_have_text("March 30, 2025")

    page.select_option("#lang", "vi")
    expect(page.locator("h1")).to_have_text("Tính thời hạn tạm trú miễn thị thực")
    expect(page.locator("#leave-by")).to_have_text("ngày 30 tháng 3 năm 2025")
    expect(page.locator("#status")).to_contain_text("Đang ở nước sở tại")
    expect(page.locator('#planned-reasons li[data-reason="per_stay_limit"]')).to_have_text("giới hạn thời hạn mỗi lần tạm trú")
    expect(page.locator("#explanation")).to_contain_text("Phải xuất cảnh chậm nhất vào ngày 30 tháng 3 năm 2025")
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.screenshot(path=str(shots / "3-vietnamese.png"), full_page=True)

    page.select_option("#lang", "ru")
    expect(page.locator("h1")).to_have_text("Калькулятор безвизового пребывания")
    expect(page.locator("#leave-by")).to_contain_text("30 марта 2025")
    expect(page.locator("#planned-verdict")).to_contain_text("Не разрешено")
    expect(page.locator("#explanation")).to_contain_text("Выехать не позднее 30 марта 2025")
    page.screenshot(path=str(shots / "4-russian.png"), full_page=True)
    assert page.js_errors == []


def test_trips_survive_a_reload(new_page, shots):
    page = new_page()
    enter_kazakh_traveller(page)
    page.fill("#planned-entry", "2025-04-01")
    page.fill("#planned-exit", "2025-05-05")
    page.select_option("#lang", "ru")
    expect(page.locator("#leave-by")).to_contain_text("30 марта 2025")
    page.reload()
    rows = page.locator("#trips .trip")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".entry")).to_have_value("2025-01-01")
    expect(rows.nth(0).locator(".exit")).to_have_value("2025-01-25")
    expect(rows.nth(1).locator(".entry")).to_have_value("2025-03-01")
    expect(rows.nth(1).locator(".exit")).to_have_value("")
    expect(page.locator("#planned-exit")).to_have_value("2025-05-05")
    expect(page.locator("h1")).to_have_text("Калькулятор безвизового пребывания")  # chosen language kept
    page.screenshot(path=str(shots / "5-after-reload.png"), full_page=True)


def test_opens_in_the_browsers_language(new_page):
    page = new_page(locale="kk-KZ")
    expect(page.locator("h1")).to_have_text("Визасыз болу күндерінің калькуляторы")
    page = new_page(locale="de-DE")  # not one of the four: English
    expect(page.locator("h1")).to_have_text("Visa-free stay calculator")


def test_overstay_in_red_and_remove_a_trip(new_page, shots):
    page = new_page()
    page.fill("#on", "2025-04-10")
    row = page.locator("#trips .trip").nth(0)
    row.locator(".entry").fill("2025-03-01")
    row.locator(".exit").fill("2025-04-05")
    # Day 31 is Mar 31; Mar 31..Apr 5 = 6 days beyond R3.
    expect(page.locator("#overstay")).to_have_text("6 days of overstay")
    expect(page.locator("#overstay")).to_have_class("bad")
    assert page.eval_on_selector("#overstay", "e => getComputedStyle(e).color") == "rgb(179, 20, 28)"
    expect(page.locator("#timeline rect.day.over")).to_have_count(6)
    page.screenshot(path=str(shots / "6-overstay.png"), full_page=True)
    page.click("#trips .trip .remove")
    expect(page.locator("#overstay")).to_have_text("No overstay")


def test_paste_a_list_of_dates(new_page):
    page = new_page()
    page.fill("#on", "2025-03-10")
    page.click(".paste summary")
    page.fill("#paste-text", "01.03.2025\n2025-01-01 - 2025-01-25\nnot a date")
    page.click("#paste-add")
    rows = page.locator("#trips .trip")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".entry")).to_have_value("2025-01-01")  # sorted by entry
    expect(rows.nth(1).locator(".entry")).to_have_value("2025-03-01")
    expect(page.locator("#paste-status")).to_have_text("Lines that could not be read: 1.")
    expect(page.locator("#leave-by")).to_have_text("March 30, 2025")


def test_input_errors_point_at_the_field(new_page):
    page = new_page()
    page.fill("#on", "2025-03-10")
    row = page.locator("#trips .trip").nth(0)
    row.locator(".entry").fill("2025-01-25")
    row.locator(".exit").fill("2025-01-01")
    expect(page.locator("#error")).to_contain_text("An exit date is before its entry date.")
    expect(row.locator(".exit")).to_have_attribute("aria-invalid", "true")


def test_keyboard_only(new_page):
    page = new_page()
    page.fill("#on", "2025-03-10")
    page.focus("#add-trip")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.closest('.trip') !== null")
    expect(page.locator("#trips .trip")).to_have_count(2)
    page.focus("#trips .trip >> nth=1 >> .remove")
    page.keyboard.press("Enter")
    expect(page.locator("#trips .trip")).to_have_count(1)
    # Every control can be named by assistive technology.
    unnamed = page.evaluate("""[...document.querySelectorAll('input, select, button, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map(e => e.id || e.className)""")
    assert unnamed == []


def test_phone_width_and_print(new_page, shots):
    page = new_page(width=390, height=844)
    enter_kazakh_traveller(page)
    expect(page.locator("#leave-by")).to_have_text("March 30, 2025")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shots / "7-phone.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.is_visible("#add-trip")
    assert page.is_visible("#leave-by")


def test_earliest_return_when_the_window_is_full(new_page, shots):
    page = new_page()
    page.fill("#on", "2025-04-10")
    page.click(".paste summary")
    # 30 + 30 + 30 days: the window is full on Apr 2; Jan 1 leaves it on Jan 1 + 180 = Jun 30.
    page.fill("#paste-text", "2025-01-01 2025-01-30\n2025-02-01 2025-03-02\n2025-03-04 2025-04-02")
    page.click("#paste-add")
    expect(page.locator("#status")).to_have_text("Not in the country")
    expect(page.locator("#days-left")).to_have_text("0")
    expect(page.locator("#earliest-label")).to_have_text("Earliest return")
    expect(page.locator("#earliest")).to_have_text("June 30, 2025")
    page.screenshot(path=str(shots / "8-earliest-return.png"), full_page=True)
