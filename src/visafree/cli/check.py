"""`visafree check` and `visafree regimes`: the traveller's questions on the command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from visafree.contract import parse_request, render_error, render_resolution, run_check
from visafree.engine import NO_REGIME, Answer, InputError, RegimeError, Resolution, applicable, resolve
from visafree.regimes import regime_catalogue, regime_detail

#: Exit status of `visafree check` when no visa-free regime covers the traveller: the answer
#: is not an error (status 2) and not a yes (0).
EXIT_NO_REGIME = 3

console = Console()
err_console = Console(stderr=True)

LANG_HELP = "Language of the answer: vi, en, ru or kk."


def _translator(lang: str):
    """The shared Babel catalogues when present; English otherwise."""
    try:
        from visafree.i18n import translator
    except ModuleNotFoundError:
        return None
    return translator(lang)


class _Words:
    def __init__(self, lang: str):
        self.t = _translator(lang)

    def __call__(self, msgid: str, **params: Any) -> str:
        text = self.t.gettext(msgid) if self.t else msgid
        return text.format(**params) if params else text

    def date(self, day: dt.date | str | None) -> str:
        if day is None:
            return "—"
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        return self.t.format_date(day) if self.t else day.isoformat()

    @property
    def translate(self):
        return self.t.gettext if self.t else None

    @property
    def format_value(self):
        return self.t.format_value if self.t else None


def _fail(error: InputError | RegimeError, as_json: bool) -> None:
    if isinstance(error, RegimeError):
        error = InputError("unknown_regime", str(error), "regime_file")
    if as_json:
        print(json.dumps(render_error(error), ensure_ascii=False))
    where = f" ({error.field})" if error.field else ""
    err_console.print(f"[bold red]error[/] {error.code}{where}: {error.message}", highlight=False)
    raise typer.Exit(2)


def _span(value: str, option: str, index: int) -> dict:
    entry, sep, exit_ = value.partition(":")
    if not sep:
        raise InputError("invalid_request", f"{option} #{index + 1}: expected ENTRY:EXIT or ENTRY: (still there), got {value!r}",
                         f"{option.lstrip('-')}[{index}]")
    return {"entry": entry.strip(), "exit": exit_.strip() or None}


def _request_from_flags(regime, nationality, destination, stays, on, plans, trip_days, passport_expires, passport_type) -> dict:
    request: dict[str, Any] = {
        "regime": regime,
        "nationality": nationality,
        "destination": destination,
        "stays": [_span(s, "--stay", i) for i, s in enumerate(stays)],
        # The shell may read the clock; the engine never does (the reference date is a parameter).
        "on": on or dt.date.today().isoformat(),
    }
    if plans:
        request["planned"] = [_span(p, "--plan", i) for i, p in enumerate(plans)]
    if trip_days is not None:
        request["trip_days"] = trip_days
    if passport_expires:
        request["passport"] = {"type": passport_type, "expires": passport_expires}
    return request


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("invalid_request", f"cannot read {source}: {exc.strerror}", "request") from None
    except UnicodeDecodeError:
        raise InputError("invalid_request", f"{source} is not UTF-8 text", "request") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("invalid_request", f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                         "request") from None


def _run_batch(source: str, regimes) -> None:
    stream = sys.stdin if source == "-" else open(source, encoding="utf-8")
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError("invalid_request", f"line {number}: not valid JSON ({exc.msg})", "request") from None
                out = run_check(data, regimes)
            except InputError as error:
                out = render_error(error)
                out["error"]["line"] = number
            print(json.dumps(out, ensure_ascii=False), flush=False)
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------
# Rich rendering


def _timeline(answer: Answer, request: dict, w: _Words) -> Text:
    """The window as rows of 60 cells, one per day: present, in breach, absent."""
    start = answer.window_start
    assert start is not None and answer.window_end is not None
    present: set[dt.date] = set()
    for stay in request.get("stays", []):
        entry = dt.date.fromisoformat(stay["entry"])
        last = dt.date.fromisoformat(stay["exit"]) if stay.get("exit") else answer.on
        d = max(entry, start)
        while d <= min(last, answer.on):
            present.add(d)
            d += dt.timedelta(days=1)
    breach = set()
    for v in answer.violations:
        for i in range(v.days):
            breach.add(v.date + dt.timedelta(days=i))
    text = Text()
    days = (answer.window_end - start).days + 1
    for i in range(days):
        d = start + dt.timedelta(days=i)
        if d in breach:
            text.append("█", style="bold red")
        elif d in present:
            text.append("█", style="green")
        else:
            text.append("·", style="dim")
        if (i + 1) % 60 == 0 and i + 1 < days:
            text.append("\n")
    text.append(f"\n{w.date(start)} … {w.date(answer.window_end)}", style="dim")
    return text


def _print_no_regime(body: dict, w: _Words) -> None:
    # Plain lines, not a panel: the sentence is the whole answer and should copy cleanly.
    console.print(Text(f"visafree · {w('No visa-free regime')}", style="bold yellow"))
    for item in body["explanation"]:
        console.print(Text(item["text"], style="yellow"))


def _print_answer(answer: Answer, body: dict, request: dict, w: _Words) -> None:
    status = Table.grid(padding=(0, 2))
    status.add_column(style="bold")
    status.add_column()
    resolution = body.get("resolution") or {}
    status.add_row(w("Regime"), body.get("regime_title") or answer.regime)
    for other in resolution.get("alternatives", []):
        status.add_row(w("Also applies"), Text(other["title"], style="dim"))
    status.add_row(w("Status"), Text(w("In the country") if answer.in_country else w("Not in the country"),
                                    style="bold cyan" if answer.in_country else ""))
    if answer.days_used is not None:
        status.add_row(w("Days used"), f"{answer.days_used}")
        status.add_row(w("Days left"), f"{answer.days_remaining}")
    if answer.current_stay:
        c = answer.current_stay
        status.add_row(w("Stay"), w("Day {day} of the stay", day=c.day))
        status.add_row(w("Leave by"), Text(w.date(c.latest_exit), style="bold yellow"))
        if c.limited_by:
            status.add_row(w("Set by"), w(f"reason.{c.limited_by}"))
    if answer.overstay_days:
        status.add_row(Text(w("Overstay"), style="bold red"), Text(str(answer.overstay_days), style="bold red"))
    if answer.earliest_entry:
        e = answer.earliest_entry
        status.add_row(w("Earliest start of a {trip_days}-day trip", trip_days=e.trip_days),
                       Text(w.date(e.date), style="bold green") if e.date else
                       Text(", ".join(w(f"reason.{r}") for r in e.reasons), style="red"))
    border = "red" if answer.overstay_days else "green"
    console.print(Panel(status, title=f"visafree · {answer.regime} · {w.date(answer.on)}", border_style=border))
    if answer.window_start is not None:
        console.print(Panel(_timeline(answer, request, w), title=w("Window"), border_style="dim"))
    if answer.planned:
        plan = Table(title=w("Planned trips"), show_lines=False)
        for column in ("entry", "exit", "verdict", "latest exit"):
            plan.add_column(column)
        for p in answer.planned:
            verdict = Text(w("Allowed"), style="green") if p.ok else Text(
                w("Not allowed") + ": " + ", ".join(w(f"reason.{r}") for r in p.reasons), style="red")
            plan.add_row(w.date(p.entry), w.date(p.exit), verdict, w.date(p.latest_exit))
        console.print(plan)
    console.print(Text(w("Explanation"), style="bold"))
    for item in body["explanation"]:
        style = "red" if item["code"].startswith(("violation", "entry_refused", "planned_no", "passport_short")) else ""
        console.print(Text(f"  • {item['text']}", style=style))


def install(app: typer.Typer) -> None:
    @app.command("check")
    def check_command(
        request_file: Optional[str] = typer.Argument(None, metavar="REQUEST.json", help="A v1 request as JSON, or - for stdin."),
        as_json: bool = typer.Option(False, "--json", help="Print the v1 JSON response."),
        batch: bool = typer.Option(False, "--batch", help="JSON Lines in (file or stdin), one JSON line out per request."),
        regime: Optional[str] = typer.Option(None, "--regime", help="Regime id (see `visafree regimes`); default: every regime that applies, the most favourable first."),
        nationality: Optional[str] = typer.Option(None, "--from", help="Nationality, ISO 3166-1 alpha-3 (e.g. KAZ)."),
        destination: Optional[str] = typer.Option(None, "--to", help="Destination, ISO 3166-1 alpha-3 (e.g. VNM)."),
        stays: list[str] = typer.Option([], "--stay", help="A past stay ENTRY:EXIT, or ENTRY: if still there. Repeatable."),
        on: Optional[str] = typer.Option(None, "--on", help="Reference date (default: today)."),
        plans: list[str] = typer.Option([], "--plan", help="A planned trip ENTRY:EXIT. Repeatable."),
        trip_days: Optional[int] = typer.Option(None, "--trip-days", help="Find the earliest start of a trip this long."),
        passport_expires: Optional[str] = typer.Option(None, "--passport-expires", help="Passport expiry date."),
        passport_type: str = typer.Option("ordinary", "--passport-type", help="ordinary, diplomatic or service."),
        regime_files: list[Path] = typer.Option([], "--regime-file", help="Add a regime from your own TOML file."),
        lang: str = typer.Option("en", "--lang", help=LANG_HELP),
    ) -> None:
        """May I enter, until when may I stay, when can I come back?

        Example: visafree check --from KAZ --to VNM --stay 2024-06-01:2024-06-20
        --stay 2024-08-01: --on 2024-08-15 --plan 2024-10-01:2024-10-20 --trip-days 14

        Exit status: 0 answered, 2 bad input, 3 no visa-free regime covers the traveller.
        """
        try:
            regimes = regime_catalogue(regime_files)
        except RegimeError as error:
            _fail(error, as_json)
        if batch:
            _run_batch(request_file or "-", regimes)
            return
        w = _Words(lang)
        try:
            if request_file is not None:
                request = _read_json(request_file)
            elif nationality and destination:
                request = _request_from_flags(regime, nationality, destination, stays, on, plans, trip_days,
                                              passport_expires, passport_type)
            else:
                raise InputError("invalid_request", "give REQUEST.json (or -), or --from and --to with your stays",
                                 "nationality" if not nationality else "destination")
            resolution: Resolution = resolve(list(regimes.values()), parse_request(request, regimes))
        except InputError as error:
            _fail(error, as_json)
        if as_json:
            print(json.dumps(render_resolution(resolution), ensure_ascii=False, indent=2))
        else:
            body = render_resolution(resolution, w.translate, w.format_value, lang)
            if resolution.answer is None:
                _print_no_regime(body, w)
            else:
                _print_answer(resolution.answer, body, request, w)
        if resolution.chosen is None:
            raise typer.Exit(EXIT_NO_REGIME)

    @app.command("regimes")
    def regimes_command(
        as_json: bool = typer.Option(False, "--json", help="Print the regimes as JSON."),
        regime_files: list[Path] = typer.Option([], "--regime-file", help="Add a regime from your own TOML file."),
        nationality: Optional[str] = typer.Option(None, "--from", help="Only regimes covering this nationality (ISO alpha-3)."),
        destination: Optional[str] = typer.Option(None, "--to", help="... entering this destination (ISO alpha-3)."),
        on: Optional[str] = typer.Option(None, "--on", help="... on this date (default: today)."),
        passport_type: Optional[str] = typer.Option(None, "--passport-type", help="... for this passport type."),
        markdown: bool = typer.Option(False, "--markdown", help="Print the index table of docs/regimes.md."),
    ) -> None:
        """List the regimes with their rules, parameters and legal sources.

        With --from and --to: only those that apply to that traveller on --on, e.g.
        visafree regimes --from KAZ --to VNM --on 2025-06-01
        """
        try:
            regimes = regime_catalogue(regime_files)
            if nationality or destination:
                if not (nationality and destination):
                    raise InputError("invalid_request", "--from and --to go together", "nationality" if not nationality else "destination")
                # Validated as the check contract validates them, so the errors read the same.
                question = parse_request({"nationality": nationality, "destination": destination,
                                          "on": on or dt.date.today().isoformat()}, regimes)
                found = applicable(regimes.values(), question.nationality, question.destination, question.on, passport_type)
                regimes = {r.id: r for r in found}
                if not found:
                    message = (f"no visa-free regime known for {question.nationality} entering {question.destination} "
                               f"on {question.on}: a visa or permit is needed")
                    if as_json:
                        print(json.dumps([], ensure_ascii=False))
                    else:
                        console.print(f"[bold yellow]{NO_REGIME}[/]: {message}", highlight=False)
                    raise typer.Exit(EXIT_NO_REGIME)
        except (RegimeError, InputError) as error:
            _fail(error, as_json)
        if markdown:
            from visafree.regimes import builtin_files
            from visafree.regimes.index import markdown_index

            print(markdown_index(regimes, builtin_files()))
            return
        if as_json:
            print(json.dumps([regime_detail(r) for r in regimes.values()], ensure_ascii=False, indent=2))
            return
        for regime in regimes.values():
            summary = regime_detail(regime)
            table = Table(title=f"{regime.id} — {regime.title}", caption=regime.source, show_lines=True)
            table.add_column("rule")
            table.add_column("what")
            table.add_column("parameters")
            table.add_column("source")
            for rule in summary["rules"]:
                params = "\n".join(f"{p['name']} = {p['values'][-1]['value']}" for p in summary["parameters"]
                                   if p["rule"] == rule["id"])
                table.add_row(rule["id"], rule["title"], params, rule["citation"])
            console.print(table)
            covered = "; ".join(f"{', '.join(c['nationalities'])} → {', '.join(c['destinations'])}" for c in summary["coverage"])
            force = "; ".join(f"{p['since']} – {p['until'] or '…'} ({p['source']})" for p in summary["in_force"])
            console.print(f"  covers: {covered}\n  in force: {force}\n")

