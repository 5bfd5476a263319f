"""What the API makes from one check besides its JSON answer: the forecast's JSON, the calendar
file (.ics) and the PDF report for a border officer. All from the engine's answers; nothing here
judges a rule.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from visafree.engine import Forecast

#: Fonts that cover Vietnamese, Cyrillic (Russian, Kazakh) and Latin: Debian's fonts-dejavu-core
#: (installed by ./run), else the same files if a pip package or the system put them elsewhere.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/local/share/fonts/dejavu")
REMINDER_DAYS = 3  # leave-by events remind this many days before


def render_forecast(f: Forecast, title: str | None = None, lang: str | None = None, months: list[str] | None = None) -> dict:
    """The v1 forecast: compact arrays indexed by days from their first date."""
    body: dict[str, Any] = {
        "status": "ok",
        "regime": f.regime,
        "on": f.on.isoformat(),
        "window": None if f.window_days is None else {"days": f.window_days, "max_days": f.window_max_days},
        "days_used": None if f.days_used is None else {"from": f.used_from.isoformat() if f.used_from else None,
                                                       "values": list(f.days_used)},
        "starts": {"from": f.on.isoformat(), "longest_stay": list(f.longest_stay), "limited_by": list(f.limited_by)},
    }
    if title is not None:
        body["regime_title"] = title
    if lang is not None:
        body["display"] = {"lang": lang, "months": months or []}
    return body


# ------------------------------------------------------------------------------------- calendar


def leave_by_note(notes: dict[str, str]) -> str:
    """The explanation's sentence on the current stay's leave-by date, whichever rule sets it
    (window, per-stay limit, passport, fixed period, visa or permit: every latest_exit_* note)."""
    return next((text for code, text in notes.items() if code.startswith("latest_exit")), "")


def calendar_file(body: dict, request: dict, t, key: str, now: dt.datetime) -> bytes:
    """Every planned trip, its leave-by date, the current stay's leave-by date and the earliest
    return, as all-day events; leave-by events carry a reminder. `key` makes stable UIDs: the
    same question imported twice updates the events rather than duplicating them."""
    from icalendar import Alarm, Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//visafree//visa-free stay calculator//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", t.gettext("Visa-free stay calculator"))
    title = body.get("regime_title") or body.get("regime") or ""
    notes = {n["code"]: n["text"] for n in body.get("explanation", [])}

    def event(uid: str, first: str, last: str, summary: str, description: str, remind: bool) -> None:
        ev = Event()
        ev.add("uid", f"{uid}-{key}@visafree")
        ev.add("dtstamp", now)
        start = dt.date.fromisoformat(first)
        ev.add("dtstart", start)
        ev.add("dtend", dt.date.fromisoformat(last) + dt.timedelta(days=1))  # DTEND is exclusive (RFC 5545)
        ev.add("summary", summary)
        ev.add("description", description)
        ev.add("transp", "TRANSPARENT")
        if remind:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", summary)
            alarm.add("trigger", dt.timedelta(days=-REMINDER_DAYS))
            ev.add_component(alarm)
        cal.add_component(ev)

    current = body.get("current_stay")
    if current and current.get("latest_exit"):
        text = leave_by_note(notes)
        event("leave-by", current["latest_exit"], current["latest_exit"], t.gettext("Leave by"), f"{title}\n{text}", True)
    planned_in = request.get("planned") or []
    for n, (trip, verdict) in enumerate(zip(planned_in, body.get("planned") or []), start=1):
        verdict_text = t.gettext("Allowed") if verdict["ok"] else (
            t.gettext("Not allowed") + ": " + ", ".join(t.reason(r) for r in verdict["reasons"]))
        trip_name = t.gettext("Planned trip {n}").format(n=n)
        event(f"trip-{n}", verdict["entry"], verdict["exit"], f"{trip_name}: {verdict_text}", f"{title}\n{verdict_text}", False)
        if verdict.get("latest_exit"):
            event(f"trip-{n}-leave-by", verdict["latest_exit"], verdict["latest_exit"],
                  f"{t.gettext('Leave by')} ({trip_name})",
                  f"{title}\n{t.gettext('Set by')}: {t.reason(verdict['limited_by'] or '')}", True)
    earliest = body.get("earliest_entry")
    if earliest and earliest.get("date"):
        summary = (t.gettext("Earliest return") if earliest["trip_days"] == 1
                   else t.gettext("Earliest start of a {trip_days}-day trip").format(trip_days=earliest["trip_days"]))
        event("earliest", earliest["date"], earliest["date"], summary, f"{title}\n{notes.get('earliest', '')}", False)
    return cal.to_ical()


# ------------------------------------------------------------------------------------- PDF


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = Path(folder) / "DejaVuSans.ttf", Path(folder) / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class FontMissing(RuntimeError):
    pass


def pdf_report(body: dict, request: dict, t, rules: list[dict], countries: tuple[str, str]) -> bytes:
    """A one-to-few-page report for the border: figures, leave-by date, history, planned trips,
    the explanation and the rules cited with their legal sources, in the reader's language."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    fonts = font_files()
    if fonts is None:
        raise FontMissing("DejaVu fonts not found (Debian: apt-get install fonts-dejavu-core)")
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("DejaVu", "", str(fonts[0]))
    pdf.add_font("DejaVu", "B", str(fonts[1]))
    pdf.set_title(t.gettext("Visa-free stay calculator"))
    pdf.set_lang(t.lang)
    pdf.add_page()
    d = (body.get("display") or {}).get("dates") or {}

    def date(iso: str | None) -> str:
        return "—" if not iso else d.get(iso) or t.format_date(dt.date.fromisoformat(iso))

    def line(text: str, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(cells: list[str], widths: list[float], bold: bool = False) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", 9)
        for text, width in zip(cells, widths):
            pdf.cell(width, 6, text, border=1)
        pdf.ln(6)

    line(t.gettext("Visa-free stay calculator"), 16, True, 8)
    line(body.get("regime_title") or body.get("regime") or "", 11, True)
    line(f"{countries[0]} → {countries[1]} · {t.gettext('Reference date')}: {date(body.get('on'))}")
    pdf.ln(2)
    if body.get("status") == "no_regime":
        line(t.gettext("No visa-free regime covers this journey: a visa or a permit is needed."), 11, True)
    else:
        current = body.get("current_stay")
        status = (t.gettext("In the country") + " — " + t.gettext("Day {day} of the stay").format(day=current["day"])
                  if current else t.gettext("Not in the country"))
        line(status, 12, True)
        if body.get("days_used") is not None:
            limit = body["days_used"] + body["days_remaining"]
            line(f"{t.gettext('Days used')}: {body['days_used']} / {limit} · {t.gettext('Days left')}: {body['days_remaining']}")
        if current:
            reason = t.reason(current["limited_by"]) if current.get("limited_by") else "—"
            line(f"{t.gettext('Leave by')}: {date(current.get('latest_exit'))} ({t.gettext('Set by')}: {reason})", 11, True)
        over = body.get("overstay_days") or 0
        line(f"{t.gettext('Overstay')}: {over}" if over else t.gettext("No overstay"), 10, bool(over))
        pdf.ln(2)
        line(t.gettext("Your trips"), 12, True)
        widths = [12, 55, 55, 22, 30]
        row(["#", t.gettext("Entry"), t.gettext("Exit"), t.gettext("Days"), t.gettext("Overstay")], widths, True)
        for n, stay in enumerate(body.get("stays") or [], start=1):
            row([str(n), date(stay["entry"]), date(stay["exit"]) if stay["exit"] else "…", str(stay["days"]),
                 str(stay["overstay_days"] or "")], widths)
        if body.get("planned"):
            pdf.ln(2)
            line(t.gettext("Planned trips"), 12, True)
            widths = [12, 45, 45, 45, 33]
            row(["#", t.gettext("Entry"), t.gettext("Exit"), t.gettext("Latest exit"), ""], widths, True)
            for n, trip in enumerate(body["planned"], start=1):
                row([str(n), date(trip["entry"]), date(trip["exit"]), date(trip["latest_exit"]),
                     t.gettext("Allowed") if trip["ok"] else t.gettext("Not allowed")], widths)
    pdf.ln(2)
    line(t.gettext("Explanation"), 12, True)
    for note in body.get("explanation") or []:
        line("• " + note["text"], 9, height=4.8)
    if rules:
        pdf.ln(2)
        line(t.gettext("Rules cited"), 12, True)
        for rule in rules:
            line(f"{rule['id']}: {rule['title']}", 9, True, 4.8)
            line(rule["citation"], 8, height=4.2)
    pdf.ln(3)
    line(t.gettext("This is the product's reading of the rules, not legal advice; the border officer decides (R6)."), 8)
    return bytes(pdf.output())
