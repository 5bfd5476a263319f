"""`visafree check` and `visafree regimes`: the traveller's questions on the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from visafree.contract import parse_request, render_error, render_resolution, run_check
from visafree.engine import MESSAGES, NO_REGIME, Answer, InputError, RegimeError, Resolution, applicable, input_error, resolve
from visafree.regimes import regime_catalogue, regime_detail

#: Exit status of `visafree check` when no visa-free regime covers the traveller: the answer
#: is not an error (status 2) and not a yes (0).
EXIT_NO_REGIME = 3

console = Console()
err_console = Console(stderr=True)

LANG_HELP = "Language of the answer: vi, en, ru or kk."
LANGUAGES = ("vi", "en", "ru", "kk")

#: English templates of the CLI's own input errors (gettext msgids, like visafree.engine.ERRORS).
CLI_ERRORS = {
    "span": "{option} #{number}: expected ENTRY:EXIT or ENTRY: (still there), got {value}",
    "read": "cannot read {source}: {reason}",
    "utf8": "{source} is not UTF-8 text",
    "json": "{source}: not valid JSON ({reason} at line {line}, column {column})",
    "batch_json": "line {line}: not valid JSON ({reason})",
    "need_input": "give REQUEST.json (or -), or --from and --to with your stays",
    "regime_file": "regime file: {reason}",
    "from_to": "--from and --to go together",
    "basis": (
        "{option} #{number}: after @ expected visa:VALID_FROM:VALID_UNTIL[:ENTRIES[:DAYS[:KIND]]], "
        "permit:VALID_UNTIL or long-stay, got {value}"
    ),
}

#: The help of the basis suffix of --stay and --plan (docs/basis.md), a msgid of its own.
BASIS_HELP = (
    "On a visa or a permit, add @visa:VALID_FROM:VALID_UNTIL[:ENTRIES[:DAYS[:KIND]]] (ENTRIES single, double "
    "or multiple), @permit:VALID_UNTIL or @long-stay."
)


def _translator(lang: str):
    """The shared Babel catalogues when present; English otherwise."""
    try:
        from visafree.i18n import translator
    except ModuleNotFoundError:
        return None
    return translator(lang)


class _Words:
    """The CLI's texts in one language: labels, dates, plural phrases, regime titles, errors."""

    def __init__(self, lang: str):
        self.lang = lang
        self.t = _translator(lang)

    def __call__(self, msgid: str, **params: Any) -> str:
        text = self.t.gettext(msgid) if self.t else msgid
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, n: int, context: str = "label") -> str:
        text = self.t.npgettext(context, singular, plural, n) if self.t else (singular if n == 1 else plural)
        return text.format(n=n)

    def date(self, day: dt.date | str | None) -> str:
        if day is None:
            return "—"
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        return self.t.format_date(day) if self.t else day.isoformat()

    def title(self, item: Any) -> str:
        return self.t.title(item) if self.t else item.title

    def country(self, code: str) -> str:
        return self.t.country(code) if self.t else code

    def error(self, error: InputError) -> str:
        return self.t.error_message(error) if self.t else error.message

    def render(self, resolution: Resolution, regimes) -> dict:
        """The v1 body with every text in this language (regimes and rules named by title)."""
        if not self.t:
            return render_resolution(resolution)
        return render_resolution(resolution, self.t.gettext, self.t.format_value, self.lang, self.t.npgettext,
                                 self.t.namer(regimes))


def _words(lang: str, as_json: bool) -> _Words:
    """_Words for --lang, or a clear error naming the languages there are (never a traceback)."""
    if lang not in LANGUAGES:
        _fail(InputError("invalid_request", f"--lang: unsupported language {lang!r}; expected one of {', '.join(LANGUAGES)}",
                         "lang"), as_json, _Words("en"))
    return _Words(lang)


def _fail(error: InputError | RegimeError, as_json: bool, w: _Words | None = None) -> None:
    w = w or _Words("en")
    if isinstance(error, RegimeError):
        error = input_error("unknown_regime", CLI_ERRORS["regime_file"], "regime_file", reason=str(error))
    message = w.error(error)
    if as_json:
        out = render_error(error)
        out["error"]["message"] = message
        print(json.dumps(out, ensure_ascii=False))
    if w.lang == "en":
        where = f" ({error.field})" if error.field else ""
        err_console.print(f"[bold red]error[/] {escape(error.code + where)}: {escape(message)}", highlight=False)
    else:  # the message names the field in the reader's words; the code stays for scripts
        err_console.print(f"[bold red]{escape(w('Error'))}[/] {escape(f'[{error.code}]')}: {escape(message)}",
                          highlight=False)
    raise typer.Exit(2)


def _span(value: str, option: str, index: int) -> dict:
    """ENTRY:EXIT, or ENTRY: (still there), with an optional basis after @ (docs/basis.md):
    @visa:VALID_FROM:VALID_UNTIL[:ENTRIES[:DAYS[:KIND]]], @permit:VALID_UNTIL or @long-stay."""
    dates, at, basis = value.partition("@")
    entry, sep, exit_ = dates.partition(":")
    if not sep:
        raise input_error("invalid_request", CLI_ERRORS["span"], f"{option.lstrip('-')}[{index}]", option=option,
                          number=index + 1, value=repr(value))
    span: dict[str, Any] = {"entry": entry.strip(), "exit": exit_.strip() or None}
    if at:
        span["basis"] = _basis_flag(basis.strip(), option, index)
    return span


def _basis_flag(text: str, option: str, index: int) -> Any:
    """The basis suffix as the v1 request writes it; the contract judges the values."""
    kind, *parts = text.split(":")
    parts = [p.strip() for p in parts]
    if kind == "visa" and 2 <= len(parts) <= 5:
        basis: dict[str, Any] = {"type": "visa", "valid_from": parts[0], "valid_until": parts[1]}
        if len(parts) > 2 and parts[2]:
            basis["entries"] = parts[2]
        if len(parts) > 3 and parts[3]:
            # a number stays a string when it is not one, and the contract names the field
            basis["duration_days"] = int(parts[3]) if parts[3].isdigit() else parts[3]
        if len(parts) > 4 and parts[4]:
            basis["kind"] = parts[4]
        return basis
    if kind == "permit" and len(parts) == 1:
        return {"type": "residence_permit", "valid_until": parts[0]}
    if kind in ("long-stay", "long_stay_visa") and not parts:
        return "long_stay_visa"
    if kind in ("visa-free", "visa_free") and not parts:
        return "visa_free"
    raise input_error("invalid_request", CLI_ERRORS["basis"], f"{option.lstrip('-')}[{index}].basis", option=option,
                      number=index + 1, value=repr(text))


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
        raise input_error("invalid_request", CLI_ERRORS["read"], "request", source=source, reason=exc.strerror) from None
    except UnicodeDecodeError:
        raise input_error("invalid_request", CLI_ERRORS["utf8"], "request", source=source) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise input_error("invalid_request", CLI_ERRORS["json"], "request", source=source, reason=exc.msg,
                          line=exc.lineno, column=exc.colno) from None


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
                    raise input_error("invalid_request", CLI_ERRORS["batch_json"], "request", line=number,
                                      reason=exc.msg) from None
                out = run_check(data, regimes)
            except InputError as error:
                out = render_error(error)
                out["error"]["line"] = number
            print(json.dumps(out, ensure_ascii=False), flush=False)
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------
# Rich rendering


def _timeline(answer: Answer, request: dict, w: _Words, counted: frozenset[str] | None = None) -> Text:
    """The window as rows of 60 cells, one per day: present, in breach, absent; and, drawn apart,
    days under a basis the window does not count (`counted`: the regime's counted_bases)."""
    start = answer.window_start
    assert start is not None and answer.window_end is not None
    present: set[dt.date] = set()
    left_out: set[dt.date] = set()
    for stay in answer.stays:
        d = max(stay.entry, start)
        days = present if counted is None or stay.basis in counted else left_out
        while d <= min(stay.last_day, answer.on):
            days.add(d)
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
        elif d in left_out:
            text.append("░", style="cyan")
        else:
            text.append("·", style="dim")
        if (i + 1) % 60 == 0 and i + 1 < days:
            text.append("\n")
    text.append(f"\n{w.date(start)} … {w.date(answer.window_end)}", style="dim")
    if left_out - present:
        text.append("\n░ " + w("under a residence permit or a long-stay visa: not counted"), style="cyan")
    return text


def _print_no_regime(body: dict, w: _Words) -> None:
    # Plain lines, not a panel: the sentence is the whole answer and should copy cleanly.
    console.print(Text(f"visafree · {w('No visa-free regime')}", style="bold yellow"))
    for item in body["explanation"]:
        console.print(Text(item["text"], style="yellow"))


def _print_answer(answer: Answer, body: dict, request: dict, w: _Words, counted: frozenset[str] | None = None) -> None:
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
        if c.basis != "visa_free":
            status.add_row(w("Basis"), w(f"value.{c.basis}"))
        status.add_row(w("Leave by"), Text(w.date(c.latest_exit), style="bold yellow"))
        if c.limited_by:
            status.add_row(w("Set by"), w(f"reason.{c.limited_by}"))
    if answer.overstay_days:
        status.add_row(Text(w("Overstay"), style="bold red"), Text(str(answer.overstay_days), style="bold red"))
    if answer.earliest_entry:
        e = answer.earliest_entry
        status.add_row(w.plural("Earliest start of a {n}-day trip", "Earliest start of a {n}-day trip", e.trip_days),
                       Text(w.date(e.date), style="bold green") if e.date else
                       Text(", ".join(w(f"reason.{r}") for r in e.reasons), style="red"))
    border = "red" if answer.overstay_days else "green"
    # The regime is named by its title in the first row, never by its id (issue 12).
    console.print(Panel(status, title=f"visafree · {w.date(answer.on)}", border_style=border))
    if answer.window_start is not None:
        console.print(Panel(_timeline(answer, request, w, counted), title=w("Window"), border_style="dim"))
    if answer.planned:
        plan = Table(title=w("Planned trips"), show_lines=False)
        # The columns a reader needs: a basis only when some trip has one other than visa-free,
        # "visa needed from" only when some trip needs a visa.
        show_basis = any(p.basis != "visa_free" for p in answer.planned)
        show_needed = any(p.visa_needed_days for p in answer.planned)
        columns = ("Entry", "Exit", *(("Basis",) if show_basis else ()), "Verdict", "Latest exit",
                   *(("Visa needed from",) if show_needed else ()))
        for column in columns:
            plan.add_column(w(column))
        for p in answer.planned:
            verdict = Text(w("Allowed"), style="green") if p.ok else Text(
                w("Not allowed") + ": " + ", ".join(w(f"reason.{r}") for r in p.reasons), style="red")
            needed = (Text(w.date(p.visa_needed_from), style="yellow") if p.visa_needed_days else
                      Text("—", style="dim"))
            row = [w.date(p.entry), w.date(p.exit), *([w(f"value.{p.basis}")] if show_basis else []), verdict,
                   w.date(p.latest_exit), *([needed] if show_needed else [])]
            plan.add_row(*row)
        console.print(plan)
    console.print(Text(w("Explanation"), style="bold"))
    for item in body["explanation"]:
        style = "red" if item["code"].startswith(("violation", "entry_refused", "planned_no", "passport_short")) else ""
        console.print(Text(f"  • {item['text']}", style=style))


def _help_language(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language of --help: --lang on the command line, else VISAFREE_LANG, else the locale.

    Typer reads help texts when the command is defined, before it parses options, so the
    language is looked up here from the raw command line and the environment."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    for i, arg in enumerate(argv):
        value = arg.partition("=")[2] if arg.startswith("--lang=") else argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None
        if value in LANGUAGES:
            return value
    for name in ("VISAFREE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        primary = environ.get(name, "").split(".")[0].split("_")[0].split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def install(app: typer.Typer, help_lang: str | None = None) -> None:
    h = _Words(help_lang or _help_language())
    # Typer's own panel titles are module settings (set back to English for an English help);
    # Click's "Usage:" and "Show this message and exit." stay as Click writes them.
    import typer.rich_utils as panels

    panels.ARGUMENTS_PANEL_TITLE, panels.OPTIONS_PANEL_TITLE, panels.COMMANDS_PANEL_TITLE = (
        h("Arguments"), h("Options"), h("Commands"))
    # An option's default and "required" marks are module settings too (issue 12: the register's
    # --help shows them on most options).
    panels.DEFAULT_STRING, panels.REQUIRED_LONG_STRING = h("[default: {}]"), h("[required]")

    @app.command("check", help=h("May I enter, until when may I stay, when can I come back?") + "\n\n"
                 "visafree check --from KAZ --to VNM --stay 2024-06-01:2024-06-20 --stay 2024-08-01: --on 2024-08-15 "
                 "--plan 2024-10-01:2024-10-20 --trip-days 14\n\n"
                 "visafree check --from KAZ --to VNM --stay 2025-01-10:2025-02-05 "
                 "--stay 2025-03-01:@visa:2025-02-20:2025-05-20:single:90:e_visa --on 2025-04-20\n\n"
                 + h("Exit status: 0 answered, 2 bad input, 3 no visa-free regime covers the traveller."))
    def check_command(
        request_file: Optional[str] = typer.Argument(None, metavar="REQUEST.json", help=h("A v1 request as JSON, or - for stdin.")),
        as_json: bool = typer.Option(False, "--json", help=h("Print the v1 JSON response.")),
        batch: bool = typer.Option(False, "--batch", help=h("JSON Lines in (file or stdin), one JSON line out per request.")),
        regime: Optional[str] = typer.Option(None, "--regime", help=h("Regime id (see `visafree regimes`); default: every regime that applies, the most favourable first.")),
        nationality: Optional[str] = typer.Option(None, "--from", help=h("Nationality, ISO 3166-1 alpha-3 (e.g. KAZ).")),
        destination: Optional[str] = typer.Option(None, "--to", help=h("Destination, ISO 3166-1 alpha-3 (e.g. VNM).")),
        stays: list[str] = typer.Option([], "--stay", help=h("A past stay ENTRY:EXIT, or ENTRY: if still there. Repeatable.") + " " + h(BASIS_HELP)),
        on: Optional[str] = typer.Option(None, "--on", help=h("Reference date (default: today).")),
        plans: list[str] = typer.Option([], "--plan", help=h("A planned trip ENTRY:EXIT. Repeatable.") + " " + h(BASIS_HELP)),
        trip_days: Optional[int] = typer.Option(None, "--trip-days", help=h("Find the earliest start of a trip this long.")),
        passport_expires: Optional[str] = typer.Option(None, "--passport-expires", help=h("Passport expiry date.")),
        passport_type: str = typer.Option("ordinary", "--passport-type", help=h("ordinary, diplomatic or service.")),
        regime_files: list[Path] = typer.Option([], "--regime-file", help=h("Add a regime from your own TOML file.")),
        lang: str = typer.Option("en", "--lang", help=h(LANG_HELP)),
    ) -> None:
        w = _words(lang, as_json)
        try:
            regimes = regime_catalogue(regime_files)
        except RegimeError as error:
            _fail(error, as_json, w)
        if batch:
            _run_batch(request_file or "-", regimes)
            return
        try:
            if request_file is not None:
                request = _read_json(request_file)
            elif nationality and destination:
                request = _request_from_flags(regime, nationality, destination, stays, on, plans, trip_days,
                                              passport_expires, passport_type)
            else:
                raise input_error("invalid_request", CLI_ERRORS["need_input"], "nationality" if not nationality else "destination")
            resolution: Resolution = resolve(list(regimes.values()), parse_request(request, regimes))
        except InputError as error:
            _fail(error, as_json, w)
        if as_json:
            print(json.dumps(render_resolution(resolution), ensure_ascii=False, indent=2))
        else:
            body = w.render(resolution, regimes)
            if resolution.answer is None:
                _print_no_regime(body, w)
            else:
                chosen = resolution.judged[0].regime
                _print_answer(resolution.answer, body, request, w, chosen.rules_in_force(resolution.question.on).counted_bases)
        if resolution.chosen is None:
            raise typer.Exit(EXIT_NO_REGIME)

    @app.command("regimes", help=h("List the regimes with their rules, parameters and legal sources.") + "\n\n"
                 + h("With --from and --to: only those that apply to that traveller on --on, e.g.")
                 + "\nvisafree regimes --from KAZ --to VNM --on 2025-06-01")
    def regimes_command(
        as_json: bool = typer.Option(False, "--json", help=h("Print the regimes as JSON.")),
        regime_files: list[Path] = typer.Option([], "--regime-file", help=h("Add a regime from your own TOML file.")),
        nationality: Optional[str] = typer.Option(None, "--from", help=h("Only regimes covering this nationality (ISO alpha-3).")),
        destination: Optional[str] = typer.Option(None, "--to", help=h("... entering this destination (ISO alpha-3).")),
        on: Optional[str] = typer.Option(None, "--on", help=h("... on this date (default: today).")),
        passport_type: Optional[str] = typer.Option(None, "--passport-type", help=h("... for this passport type.")),
        lang: str = typer.Option("en", "--lang", help=h(LANG_HELP)),
        markdown: bool = typer.Option(False, "--markdown", help=h("Print the index table of docs/regimes.md.")),
    ) -> None:
        w = _words(lang, as_json)
        try:
            regimes = regime_catalogue(regime_files)
            if nationality or destination:
                if not (nationality and destination):
                    raise input_error("invalid_request", CLI_ERRORS["from_to"], "nationality" if not nationality else "destination")
                # Validated as the check contract validates them, so the errors read the same.
                question = parse_request({"nationality": nationality, "destination": destination,
                                          "on": on or dt.date.today().isoformat()}, regimes)
                found = applicable(regimes.values(), question.nationality, question.destination, question.on, passport_type)
                regimes = {r.id: r for r in found}
                if not found:
                    if as_json:
                        print(json.dumps([], ensure_ascii=False))
                    else:
                        message = w(MESSAGES["no_regime"], nationality=w.country(question.nationality),
                                    destination=w.country(question.destination), date=w.date(question.on))
                        console.print(Text(f"{NO_REGIME}: {message}", style="bold yellow"))
                    raise typer.Exit(EXIT_NO_REGIME)
        except (RegimeError, InputError) as error:
            _fail(error, as_json, w)
        if markdown:
            from visafree.regimes import builtin_files
            from visafree.regimes.index import markdown_index

            print(markdown_index(regimes, builtin_files()))
            return
        if as_json:
            print(json.dumps([regime_detail(r) for r in regimes.values()], ensure_ascii=False, indent=2))
            return
        for regime in regimes.values():
            _print_regime(regime, w)


def _print_regime(regime, w: _Words) -> None:
    """One regime as a reader sees it: its title and its rules' titles in her language; the legal
    citations and parameter names stay as the law and the data write them."""
    summary = regime_detail(regime)
    # The id is what --regime takes; the reader is shown the title.
    table = Table(title=w.title(regime), caption=f"--regime {regime.id} · {regime.source}", show_lines=True)
    for column in ("Rule", "Content", "Parameters", "Source"):
        table.add_column(w(column))
    rules = regime.rules
    for rule in summary["rules"]:
        params = "\n".join(f"{p['name']} = {p['values'][-1]['value']}" for p in summary["parameters"]
                           if p["rule"] == rule["id"])
        table.add_row(rule["id"], w.title(rules[rule["id"]]), params, rule["citation"])
    console.print(table)
    covered = "; ".join(f"{', '.join(w.country(c) for c in cov['nationalities'])} → "
                        f"{', '.join(w.country(c) for c in cov['destinations'])}" for cov in summary["coverage"])
    force = "; ".join(
        (w("from {since} to {until}", since=w.date(p["since"]), until=w.date(p["until"])) if p["until"]
         else w("from {since}, without end date", since=w.date(p["since"]))) + f" ({p['source']})"
        for p in summary["in_force"])
    console.print(f"  {w('Covers')}: {covered}\n  {w('In force')}: {force}\n")
