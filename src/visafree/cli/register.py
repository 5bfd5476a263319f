"""`visafree register ...`: the border register at the desk and in the back office.

Heavy imports (SQLAlchemy, Alembic, pyarrow) happen inside the commands, so `visafree --help`
stays fast and works without the `register` extra installed.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

REGISTER_HELP = ("The border register: entries and exits with the desk's decision, extensions and shortenings, "
                 "overstayers, bulk ingest, tokens.")
TOKEN_HELP = "API tokens (officer: record and read; auditor: read and the audit log; admin: tokens)."
register_app = typer.Typer(help=REGISTER_HELP, no_args_is_help=True)
token_app = typer.Typer(help=TOKEN_HELP, no_args_is_help=True)
register_app.add_typer(token_app, name="token")

#: The language of every text a person reads (issue 12): --lang, else VISAFREE_LANG, else English.
#: JSON, CSV, codes and keys never change with it.
_LANG = {"lang": "en"}


def _default_lang() -> str:
    from visafree.i18n import LANGUAGES

    value = os.environ.get("VISAFREE_LANG", "").split(".")[0].split("_")[0].split("-")[0].lower()
    return value if value in LANGUAGES else "en"


@register_app.callback()
def _language(lang: Optional[str] = typer.Option(None, "--lang", help="Language of the texts: vi, en, ru or kk (default $VISAFREE_LANG, else en).")) -> None:
    from visafree.i18n import LANGUAGES

    chosen = (lang or _default_lang()).lower()
    if chosen not in LANGUAGES:
        _LANG["lang"] = "en"
        _fail("--lang: unsupported language {lang!r}; expected one of {known}", lang=lang, known=", ".join(LANGUAGES))
    _LANG["lang"] = chosen


def _say(msgid: str, /, **params) -> str:
    """An English template in the chosen language (visafree.register.words)."""
    from visafree.register.words import say

    return say(_LANG["lang"], msgid, **params)


def _fail_on(exc: BaseException):
    """An exception's message in the chosen language; never a value from the document."""
    from visafree.register.words import error_message

    _fail_text(error_message(_LANG["lang"], exc, str(exc)))

# soft_wrap: a decision line must stay one line in a log or a pipe, whatever the width.
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def install(app: typer.Typer, help_lang: str | None = None) -> None:
    """Add `visafree register`, its --help in the language of the command line (issue 12): the
    traveller CLI's mechanism (visafree.cli.check: _help_language, _Words), applied to the help
    texts of the register's commands and options, whose English texts are the msgids."""
    from visafree.cli.check import _Words, _help_language

    h = _Words(help_lang or _help_language())
    _translate_help(h)
    app.add_typer(register_app, name="register", help=h(REGISTER_HELP))


#: The English help texts (msgids), kept by object so that install() may run again in another language.
_HELP_SOURCES: dict[int, str] = {}


def _translated(obj, attr: str, h, fallback: str | None = None) -> None:
    source = _HELP_SOURCES.setdefault(id(obj), getattr(obj, attr, None) or fallback or "")
    if source:
        setattr(obj, attr, h(source))


def _translate_help(h) -> None:
    """Every help text of register_app in h's language: the groups', the commands' (their
    docstrings when no help= is given) and each option's and argument's."""
    import inspect

    token_info = token_app.info
    _HELP_SOURCES.setdefault(id(token_info), TOKEN_HELP)
    token_info.help = h(TOKEN_HELP)
    callbacks = [register_app.registered_callback.callback] if register_app.registered_callback else []
    for typer_app in (register_app, token_app):
        for command in typer_app.registered_commands:
            doc = inspect.cleandoc(command.callback.__doc__) if command.callback.__doc__ else None
            _translated(command, "help", h, doc)
            callbacks.append(command.callback)
    for callback in callbacks:
        for parameter in inspect.signature(callback).parameters.values():
            default = parameter.default
            if isinstance(default, (typer.models.OptionInfo, typer.models.ArgumentInfo)) and default.help:
                _translated(default, "help", h)


def _officer(value: str | None) -> str:
    """Who acts, checked like every other text at the boundary (issue 10: --officer over 128
    characters gave a traceback)."""
    from visafree.register.validate import InvalidInput, text

    who = value or os.environ.get("VISAFREE_OFFICER") or f"cli:{getpass.getuser()}"
    try:
        return text(who, "officer")
    except InvalidInput as exc:
        if _LANG["lang"] != "en":
            _fail_on(exc)
        _fail(f"--officer: {str(exc).split(': ', 1)[1]}")


def _open(**options):
    try:
        from visafree.register import ConfigError, open_register
    except ModuleNotFoundError as exc:
        _fail("the register needs its extra: pip install 'visafree[register]' ({name} is missing)", name=exc.name)
    try:
        return open_register(**options)
    except ConfigError as exc:
        # The fix (a path, a command) is the operator's own setup, never a traveller's data: it
        # is kept as written, after a line in the chosen language.
        if _LANG["lang"] != "en":
            _fail("the register cannot be opened (its configuration, in English): {detail}", detail=str(exc))
        _fail_text(str(exc))


def _fail(message: str, code: int = 2, /, **params):
    """Stop with an error: `message` is an English template (a msgid) filled with params."""
    _fail_text(_say(message, **params) if params or _LANG["lang"] != "en" else message, code)


def _fail_text(text: str, code: int = 2):
    errors.print(f"[red]{_say('error:')}[/red] {text}")
    raise typer.Exit(code)


def _date(value: str | None, name: str, default: dt.date | None = None) -> dt.date:
    if value is None:
        if default is None:
            _fail("{name}: a date is required", name=name)
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail("{name}: {value!r} is not a real date (YYYY-MM-DD)", name=name, value=value)


def _time(value: str | None) -> dt.time | None:
    if value is None:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        _fail("--time: {value!r} is not a time (HH:MM)", value=value)


def _document(mrz, issuing_state, document_number, nationality, passport_type, expires, today):
    from visafree.register import Document, MRZError
    from visafree.register.mrz import IDENTITY_LAYOUTS, read_mrz

    if mrz:
        if len(mrz) not in (2, 3):
            _fail("--mrz: give every line of the document's machine readable zone: 2 (passport, TD2 card) "
                  "or 3 (TD1 card) (got {got})", got=len(mrz))
        try:
            parsed = read_mrz(list(mrz), reference_date=today, layouts=IDENTITY_LAYOUTS)
        except MRZError as exc:
            _fail_on(exc)
        # A TD1 or TD2 card has no passport type: judged as id_card, which no built-in regime lists.
        return Document(parsed.issuing_state, parsed.document_number, parsed.nationality,
                        parsed.passport_type or "id_card", parsed.expires)
    if not (issuing_state and document_number):
        _fail("give the passport: --mrz LINE1 --mrz LINE2, or --issuing-state, --document, --nationality and --expires")
    return Document(issuing_state, document_number, nationality or issuing_state, passport_type,
                    _date(expires, "--expires") if expires else None)


def _traveller_key(register, key, mrz, issuing_state, document_number, nationality, passport_type, expires) -> str:
    from visafree.register import RegisterError

    if key:
        return key
    document = _document(mrz, issuing_state, document_number, nationality, passport_type, expires, register.local_today())
    try:
        return register.key_of(document)
    except (RegisterError, ValueError) as exc:
        _fail_on(exc)


def _json(value) -> None:
    import dataclasses

    def default(o):
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)
        if isinstance(o, (dt.date, dt.time, dt.datetime)):
            return o.isoformat()
        raise TypeError(type(o).__name__)

    print(json.dumps(value, default=default, indent=2, ensure_ascii=False))


# Options shared by the commands that take a passport.
MRZ = typer.Option(None, "--mrz", help="A line of the passport's or ID card's MRZ (give each line, quoted: 2 for a passport or TD2 card, 3 for a TD1 card).")
ISSUING = typer.Option(None, "--issuing-state", help="Issuing state (ICAO code, e.g. KAZ).")
NUMBER = typer.Option(None, "--document", help="Document number (hashed at once, never stored).")
NATIONALITY = typer.Option(None, "--nationality", help="Nationality (ICAO code); default the issuing state.")
TYPE = typer.Option("ordinary", "--passport-type", help="ordinary, diplomatic, service or official.")
EXPIRES = typer.Option(None, "--expires", help="Passport expiry date (YYYY-MM-DD).")
KEY = typer.Option(None, "--key", help="The traveller's pseudonymous key instead of the passport.")
OFFICER = typer.Option(None, "--officer", help="Who acts (default $VISAFREE_OFFICER or cli:<user>).")
JSON = typer.Option(False, "--json", help="Print JSON instead of text.")


@register_app.command()
def init(officer: Optional[str] = OFFICER) -> None:
    """Create or migrate the register's database; on an empty register create its
    pseudonymisation key and record the key's fingerprint (never the key)."""
    from visafree.register import RegisterConfig
    from visafree.register.db import current_revision

    register = _open(init=True, actor=_officer(officer))
    config = RegisterConfig.from_env()
    url = register.engine.url.render_as_string(hide_password=True)
    console.print(f"register: {url} (schema revision {current_revision(register.engine)})")
    console.print(f"key: {'$VISAFREE_REGISTER_KEY' if config.key_from_env else config.key_file}")
    console.print(f"country: {register.destination}")


@register_app.command()
def entry(
    mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING, document_number: Optional[str] = NUMBER,
    nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE, expires: Optional[str] = EXPIRES,
    on: Optional[str] = typer.Option(None, "--date", help="Local date of entry (default today)."),
    at: Optional[str] = typer.Option(None, "--time", help="Local time of entry (HH:MM)."),
    post: str = typer.Option(..., "--post", help="Border post."),
    event_id: Optional[str] = typer.Option(None, "--event-id", help="Idempotency key: the same id twice records once."),
    refuse: Optional[str] = typer.Option(None, "--refuse", help="Refuse entry under R6 whatever the rules allow; give the legal basis."),
    visa_mrz: Optional[List[str]] = typer.Option(None, "--visa-mrz", help="A line of the visa's MRZ (MRV-A or MRV-B; give both, quoted): its valid-until date."),
    visa_from: Optional[str] = typer.Option(None, "--visa-from", help="The visa's first valid day (YYYY-MM-DD; not in its MRZ)."),
    visa_until: Optional[str] = typer.Option(None, "--visa-until", help="The visa's last valid day, typed (without --visa-mrz)."),
    visa_entries: str = typer.Option("multiple", "--visa-entries", help="single, double or multiple."),
    visa_days: Optional[int] = typer.Option(None, "--visa-days", help="The visa's duration of stay in days, if it has one."),
    visa_kind: str = typer.Option("short_stay", "--visa-kind", help="short_stay, e_visa, transit, on_arrival or other."),
    permit_until: Optional[str] = typer.Option(None, "--permit-until", help="Entry on a residence permit valid until this date."),
    long_stay: bool = typer.Option(False, "--long-stay", help="Entry on a long-stay visa."),
    officer: Optional[str] = OFFICER, as_json: bool = JSON,
) -> None:
    """Record an entry at the desk: the engine decides admit or refuse from the register's history.

    Without a visa or permit the entry is visa-free. With --visa-from and --visa-until (or
    --visa-mrz twice and --visa-from), --permit-until or --long-stay the stay is judged by that
    basis (docs/basis.md): permitted until the visa's limits or the window's, whichever first.

    Exit code 0 when admitted, 1 when refused, 2 on bad input, 3 when no visa-free regime covers
    the traveller (no_regime: record the entry again with the traveller's visa or permit).
    """
    from visafree.register import RegisterError

    register = _open()
    today = register.local_today()
    document = _document(mrz, issuing_state, document_number, nationality, passport_type, expires, today)
    try:
        basis = _basis(document, today, visa_mrz, visa_from, visa_until, visa_entries, visa_days, visa_kind,
                       permit_until, long_stay)
        decision = register.record_entry(document, _date(on, "--date", today), officer=_officer(officer),
                                         border_post=post, at=_time(at), event_id=event_id, refuse_basis=refuse,
                                         basis=basis)
    except (RegisterError, ValueError) as exc:
        _fail_on(exc)
    on_basis = "" if decision.basis == "visa_free" else f"; on a {decision.basis.replace('_', ' ')}"
    if as_json:
        import dataclasses

        from visafree.register.notes import plain

        # The notes in the chosen language, and as codes and params for programs (issue 12).
        _json(dict(dataclasses.asdict(decision), notes=decision.texts(_LANG["lang"]), note_codes=plain(decision.notes)))
    elif _LANG["lang"] != "en":
        _print_decision(decision)
    elif decision.outcome == "no_regime":
        console.print(f"[yellow]NO REGIME[/yellow] {decision.entry} — no visa-free regime known: check a visa or permit")
        console.print("  next: record the entry on it, e.g. --visa-from D --visa-until D (or --visa-mrz L1 --visa-mrz L2"
                      " --visa-from D) [--visa-entries single --visa-days N], or --permit-until D, or --long-stay")
    elif decision.admitted:
        until = decision.permitted_until or "no end this register knows"
        console.print(f"[green]ADMIT[/green] {decision.entry} — permitted until [bold]{until}[/bold] "
                      f"(limited by {decision.limited_by}; regime {decision.regime or 'none: judged by the basis'}{on_basis})")
    else:
        console.print(f"[red]REFUSE[/red] {decision.entry} — reasons: {', '.join(decision.reasons)} "
                      f"(regime {decision.regime or 'none: judged by the basis'}{on_basis})")
    if not as_json:
        for note in decision.texts(_LANG["lang"]):
            console.print(f"  {note}")
        console.print(_say("  traveller {key}…  event {event}", key=decision.traveller_key[:16], event=decision.event_id)
                      + (_say("  (already recorded: this is the stored decision)") if decision.repeated else ""))
    raise typer.Exit(0 if decision.admitted else 3 if decision.outcome == "no_regime" else 1)


def _regime_name(t, regime_id: str | None) -> str:
    """A built-in regime by its title in the language (issue 12: never an id in a sentence)."""
    from visafree.regimes import builtin_regimes

    regime = builtin_regimes().get(regime_id or "")
    return t.title(regime) if regime is not None else str(regime_id)


def _print_decision(decision) -> None:
    """The desk's decision in a language other than English: the same facts, in its words."""
    from visafree.i18n import translator

    t = translator(_LANG["lang"])
    regime = _regime_name(t, decision.regime) if decision.regime else _say("none: judged by the basis")
    on_basis = "" if decision.basis == "visa_free" else _say("; on a {basis}", basis=t.format_value(decision.basis))
    if decision.outcome == "no_regime":
        console.print(f"[yellow]{_say('NO REGIME')}[/yellow] "
                      + _say("{entry}: no visa-free regime known: check a visa or permit", entry=decision.entry))
        console.print(_say("  next: record the entry on it, e.g. --visa-from D --visa-until D (or --visa-mrz L1 --visa-mrz L2"
                           " --visa-from D) [--visa-entries single --visa-days N], or --permit-until D, or --long-stay"))
    elif decision.admitted:
        line = (_say("{entry}: permitted until {until} (limited by {limited_by}; regime {regime}{on_basis})",
                     entry=decision.entry, until=decision.permitted_until, limited_by=t.reason(decision.limited_by or ""),
                     regime=regime, on_basis=on_basis)
                if decision.permitted_until else
                _say("{entry}: no end this register knows (limited by {limited_by}; regime {regime}{on_basis})",
                     entry=decision.entry, limited_by=t.reason(decision.limited_by or ""), regime=regime, on_basis=on_basis))
        console.print(f"[green]{_say('ADMIT')}[/green] {line}")
    else:
        console.print(f"[red]{_say('REFUSE')}[/red] "
                      + _say("{entry}: reasons: {reasons} (regime {regime}{on_basis})", entry=decision.entry,
                             reasons=", ".join(t.reason(r) for r in decision.reasons), regime=regime, on_basis=on_basis))


def _basis(document, today, visa_mrz, visa_from, visa_until, visa_entries, visa_days, visa_kind, permit_until, long_stay):
    """The entry's basis from the desk's flags (issue 13); None: visa-free."""
    from visafree.engine import LongStayVisa, ResidencePermit, Visa
    from visafree.register import validate as v

    visa = bool(visa_mrz or visa_from or visa_until)
    if sum((visa, permit_until is not None, long_stay)) > 1:
        _fail("give one basis: a visa (--visa-...), --permit-until or --long-stay")
    if long_stay:
        return LongStayVisa()
    if permit_until is not None:
        return v.stay_basis(ResidencePermit(_date(permit_until, "--permit-until")))
    if not visa:
        return None
    valid_from = _date(visa_from, "--visa-from") if visa_from else None
    if visa_mrz:
        if visa_until:
            _fail("--visa-until: the visa's MRZ gives its valid-until date; do not type it too")
        return v.visa_from_mrz(visa_mrz, nationality=document.validated().nationality, reference_date=today,
                               valid_from=valid_from, entries=visa_entries, kind=visa_kind, duration_days=visa_days)
    if valid_from is None or not visa_until:
        _fail("a visa needs --visa-from and --visa-until (or --visa-mrz twice and --visa-from)")
    return v.stay_basis(Visa(valid_from, _date(visa_until, "--visa-until"), visa_entries, visa_kind, visa_days))


@register_app.command(name="exit")
def exit_(
    mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING, document_number: Optional[str] = NUMBER,
    nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE, expires: Optional[str] = EXPIRES,
    on: Optional[str] = typer.Option(None, "--date", help="Local date of exit (default today)."),
    at: Optional[str] = typer.Option(None, "--time", help="Local time of exit (HH:MM)."),
    post: str = typer.Option(..., "--post", help="Border post."),
    event_id: Optional[str] = typer.Option(None, "--event-id"), officer: Optional[str] = OFFICER, as_json: bool = JSON,
) -> None:
    """Record an exit; says how many days past the permitted end it is, if any."""
    from visafree.register import RegisterError

    register = _open()
    today = register.local_today()
    document = _document(mrz, issuing_state, document_number, nationality, passport_type, expires, today)
    try:
        record = register.record_exit(document, _date(on, "--date", today), officer=_officer(officer),
                                      border_post=post, at=_time(at), event_id=event_id)
    except (RegisterError, ValueError) as exc:
        _fail_on(exc)
    if as_json:
        _json(record)
        return
    if _LANG["lang"] != "en":
        if record.unpaired:
            console.print(_say("EXIT {exit} recorded without a recorded entry (kept and reported as unpaired)", exit=record.exit))
        elif record.overstay_days:
            console.print(_say("EXIT {exit}: stay from {entry}, permitted until {end}", exit=record.exit, entry=record.entry,
                               end=record.permitted_end)
                          + ", [red]" + _n("{n} day past the permitted end", "{n} days past the permitted end",
                                           record.overstay_days) + "[/red]")
        else:
            console.print(_say("EXIT {exit}: stay from {entry}, permitted until {end}", exit=record.exit, entry=record.entry,
                               end=record.permitted_end))
        return
    if record.unpaired:
        console.print(f"EXIT {record.exit} recorded [yellow]without a recorded entry[/yellow] (kept and reported as unpaired)")
    else:
        late = f", [red]{record.overstay_days} day(s) past the permitted end[/red]" if record.overstay_days else ""
        console.print(f"EXIT {record.exit} — stay from {record.entry}, permitted until {record.permitted_end}{late}")


def _n(singular: str, plural: str, n: int) -> str:
    """A phrase with a number in the form the language gives that number (ngettext, issue 12)."""
    from visafree.i18n import translator

    return translator(_LANG["lang"]).npgettext("register", singular, plural, n).format(n=n)


def _print_status_translated(status) -> None:
    from visafree.i18n import translator

    t = translator(_LANG["lang"])
    if status.in_country:
        if status.basis and status.basis != "visa_free":
            line = _say("in the host country on a {basis} since {entry}; permitted until {end}",
                        basis=t.format_value(status.basis), entry=status.entry, end=status.permitted_end)
        else:
            line = _say("in the host country since {entry}; permitted until {end}", entry=status.entry, end=status.permitted_end)
        if status.changed_by:
            line += _say(" ({changed_by}; computed {computed})", changed_by=_say(status.changed_by),
                         computed=status.computed_end)
        console.print(line)
        if status.days_past_end:
            console.print("[red]" + _n("{n} day past the permitted end", "{n} days past the permitted end",
                                       status.days_past_end) + "[/red]")
    else:
        console.print(_say("not in the host country"))
    if status.days_used is not None:
        console.print(_say("days of presence in the 180-day period ending {on}: {days} (regime {regime})",
                           on=status.on, days=status.days_used, regime=_regime_name(t, status.regime)))
    if status.unpaired:
        console.print(f"[yellow]{_say('unpaired events: {events}', events=', '.join(status.unpaired))}[/yellow]")
    if status.engine_note:
        from visafree.register.words import engine_note

        said = engine_note(_LANG["lang"], status.engine_error, status.engine_note) if status.engine_error else None
        console.print(f"[yellow]{_say('engine: {note}', note=said or _say(status.engine_note))}[/yellow]")


def _print_status(status) -> None:
    if _LANG["lang"] != "en":
        _print_status_translated(status)
        return
    if status.in_country:
        on_basis = f" on a {status.basis.replace('_', ' ')}" if status.basis and status.basis != "visa_free" else ""
        console.print(f"in the country{on_basis} since {status.entry}; permitted until {status.permitted_end}"
                      + (f" ({status.changed_by}; computed {status.computed_end})" if status.changed_by else ""))
        if status.days_past_end:
            console.print(f"[red]{status.days_past_end} day(s) past the permitted end[/red]")
    else:
        console.print("not in the country")
    if status.days_used is not None:
        console.print(f"days of presence in the 180-day window ending {status.on}: {status.days_used} (regime {status.regime})")
    if status.unpaired:
        console.print(f"[yellow]unpaired events: {', '.join(status.unpaired)}[/yellow]")
    if status.engine_note:
        console.print(f"[yellow]engine: {status.engine_note}[/yellow]")


@register_app.command()
def status(
    key: Optional[str] = KEY, mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING,
    document_number: Optional[str] = NUMBER, nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE,
    expires: Optional[str] = EXPIRES, on: Optional[str] = typer.Option(None, "--on", help="Reference date (default today)."),
    officer: Optional[str] = OFFICER, as_json: bool = JSON,
) -> None:
    """A traveller's current status (this read is written to the audit log)."""
    register = _open()
    traveller = _traveller_key(register, key, mrz, issuing_state, document_number, nationality, passport_type, expires)
    result = register.status(traveller, _date(on, "--on", register.local_today()), actor=_officer(officer))
    _json(result) if as_json else _print_status(result)


@register_app.command()
def history(
    key: Optional[str] = KEY, mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING,
    document_number: Optional[str] = NUMBER, nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE,
    expires: Optional[str] = EXPIRES, on: Optional[str] = typer.Option(None, "--on"),
    officer: Optional[str] = OFFICER, as_json: bool = JSON,
) -> None:
    """Every crossing, decision, stay change and link of a traveller (audited)."""
    register = _open()
    traveller = _traveller_key(register, key, mrz, issuing_state, document_number, nationality, passport_type, expires)
    result = register.history(traveller, actor=_officer(officer), on=_date(on, "--on", register.local_today()))
    if as_json:
        _json(result)
        return
    if _LANG["lang"] != "en":
        _print_history_translated(result)
        return
    table = Table("id", "date", "time", "dir", "post", "source", "decision", "until", "reasons", "corrects", "event")
    for c in result.crossings:
        table.add_row(str(c["id"]), str(c["date"]), str(c["time"] or ""), c["direction"], c["border_post"], c["source"],
                      c["decision"] or "", str(c["permitted_until"] or ""), c["reasons"],
                      ("withdraws " if c["withdraws"] else "") + str(c["corrects"] or ""), c["event_id"])
    console.print(table)
    _print_notes(result.crossings)
    for stay in result.stays:
        changes = "; ".join(f"{ch['kind']} ({ch['rule']}) to {ch['new_end']}: {ch['legal_basis']}" for ch in stay["changes"])
        on_basis = "" if stay["basis"] == "visa_free" else f" on a {stay['basis'].replace('_', ' ')}"
        console.print(f"stay {stay['entry'] or '?'} → {stay['exit'] or ('?' if stay['unpaired'] else 'still there')}{on_basis}: "
                      f"permitted until {stay['permitted_end']}" + (f" [{stay['unpaired']}]" if stay["unpaired"] else "")
                      + (f" — {changes}" if changes else ""))
    if len(result.keys) > 1:
        console.print(f"linked documents: {len(result.keys)} keys")
    for item in result.links:
        state = f"withdraws link {item['corrects']}" if item["corrects"] else "link"
        console.print(f"{state} {item['id']} by {item['officer']}: {item['reason']}")
    _print_status(result.status)


def _cell(value: str | None) -> str:
    """A code in a table cell (entry, desk, visa, admit, officer...) as the language names it."""
    from visafree.i18n import translator

    if not value:
        return ""
    if _LANG["lang"] == "en":
        return value
    t = translator(_LANG["lang"])
    for prefix in ("cell.", "value."):  # the register's own cells, then the bases (visa, residence_permit)
        named = t.gettext(prefix + value)
        if named != prefix + value:
            return named
    return t.reason(value)


def _audit_detail(detail: str | None) -> str:
    """An audit row's detail ("crossing=12", "role=auditor label=A1") with its keys and codes in
    the chosen language; the values (ids, dates, labels) as stored."""
    import re

    if not detail or _LANG["lang"] == "en":
        return detail or ""
    from visafree.i18n import translator

    t = translator(_LANG["lang"])
    batch = re.fullmatch(r"(\d+) crossings for batch analysis", detail)
    if batch:
        return t.npgettext("register", "{n} crossing for batch analysis", "{n} crossings for batch analysis",
                           int(batch[1])).format(n=batch[1])

    rotated = re.fullmatch(r"fingerprint (\w+) -> (\w+); (\d+) pseudonyms re-keyed", detail)
    if rotated:
        return t.npgettext("register", "key {old} → {new}; {n} pseudonym re-keyed", "key {old} → {new}; {n} pseudonyms re-keyed",
                           int(rotated[3])).format(old=rotated[1], new=rotated[2], n=rotated[3])

    def pair(match):
        key, value = match[1], match[2]
        named = t.gettext("cell.key." + key)
        return f"{key if named == 'cell.key.' + key else named}={_cell(value) if key == 'role' else value}"

    return re.sub(r"\b([a-z_]+)=(\S*)", pair, detail)


def _print_notes(crossings) -> None:
    """The notes under each desk decision (stored as codes, issue 12), in the chosen language."""
    from visafree.register.notes import texts

    for c in crossings:
        for line in texts(_LANG["lang"], c.get("notes") or (), c.get("regime")):
            console.print(_say("crossing {id}: {note}", id=c["id"], note=line))


def _print_history_translated(result) -> None:
    from visafree.i18n import translator

    t = translator(_LANG["lang"])
    table = Table(*(_say(h) for h in ("id", "date", "time", "direction", "post", "source", "decision", "until", "reasons",
                                      "corrects", "event")))
    for c in result.crossings:
        table.add_row(str(c["id"]), t.format_date(c["date"]), str(c["time"] or ""), _cell(c["direction"]),
                      c["border_post"], _cell(c["source"]), _cell(c["decision"]),
                      t.format_date(c["permitted_until"]) if c["permitted_until"] else "",
                      ", ".join(t.reason(r) for r in c["reasons"].split(",") if r),
                      (_say("withdraws") + " " if c["withdraws"] else "") + str(c["corrects"] or ""), c["event_id"])
    console.print(table)
    _print_notes(result.crossings)
    for stay in result.stays:
        end = stay["exit"] or (None if stay["unpaired"] else _say("still there"))
        line = _say("stay {entry} to {exit}: permitted until {end}",
                    entry=stay["entry"] or "?", exit=end or "?", end=stay["permitted_end"] or "?")
        if stay["basis"] != "visa_free":
            line += _say("; on a {basis}", basis=t.format_value(stay["basis"]))
        if stay["unpaired"]:
            line += f" [{stay['unpaired']}]"
        for ch in stay["changes"]:
            line += " — " + _say("{kind} ({rule}) to {end}: {basis}", kind=_say(ch["kind"]), rule=ch["rule"],
                                  end=ch["new_end"], basis=ch["legal_basis"])
        console.print(line)
    if len(result.keys) > 1:
        console.print(t.npgettext("register", "linked documents: {n} key", "linked documents: {n} keys",
                                  len(result.keys)).format(n=len(result.keys)))
    for item in result.links:
        if item["corrects"]:
            console.print(_say("withdraws link {link}: {id} by {officer}: {reason}", link=item["corrects"], id=item["id"],
                               officer=item["officer"], reason=item["reason"]))
        else:
            console.print(_say("link {id} by {officer}: {reason}", id=item["id"], officer=item["officer"],
                               reason=item["reason"]))
    _print_status(result.status)


def _change(kind: str, key, mrz, issuing_state, document_number, nationality, passport_type, expires, until, basis, officer):
    from visafree.register import RegisterError

    register = _open()
    traveller = _traveller_key(register, key, mrz, issuing_state, document_number, nationality, passport_type, expires)
    try:
        change = register.change_stay(traveller, kind, _date(until, "--until"), legal_basis=basis, officer=_officer(officer))
    except RegisterError as exc:
        _fail_on(exc)
    console.print(_say("{kind} ({rule}) recorded: the stay is now permitted until {end}", kind=_say(kind), rule=change.rule,
                       end=change.new_end))


@register_app.command()
def extend(
    until: str = typer.Option(..., "--until", help="New permitted end (YYYY-MM-DD)."),
    basis: str = typer.Option(..., "--basis", help="Legal basis of the extension (R7, force majeure)."),
    key: Optional[str] = KEY, mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING,
    document_number: Optional[str] = NUMBER, nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE,
    expires: Optional[str] = EXPIRES, officer: Optional[str] = OFFICER,
) -> None:
    """Record an extension of the current stay (R7): it moves the permitted end later."""
    _change("extension", key, mrz, issuing_state, document_number, nationality, passport_type, expires, until, basis, officer)


@register_app.command()
def shorten(
    until: str = typer.Option(..., "--until", help="New permitted end (YYYY-MM-DD)."),
    basis: str = typer.Option(..., "--basis", help="Legal basis of the shortening (R6)."),
    key: Optional[str] = KEY, mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING,
    document_number: Optional[str] = NUMBER, nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE,
    expires: Optional[str] = EXPIRES, officer: Optional[str] = OFFICER,
) -> None:
    """Record a shortening of the current stay (R6): it moves the permitted end earlier."""
    _change("shortening", key, mrz, issuing_state, document_number, nationality, passport_type, expires, until, basis, officer)


@register_app.command()
def link(
    key: str = typer.Option(..., "--key", help="Key of the document already in the register."),
    to_key: str = typer.Option(..., "--to-key", help="Key of the new document of the same person."),
    reason: str = typer.Option(..., "--reason", help="Why the officer holds them to be one person."),
    officer: Optional[str] = OFFICER,
) -> None:
    """Link two documents of one person (a renewed passport); the link is a recorded act."""
    from visafree.register import RegisterError

    register = _open()
    try:
        link_id = register.link_documents(key, to_key, reason=reason, officer=_officer(officer))
    except RegisterError as exc:
        _fail_on(exc)
    console.print(_say("link {id} recorded: the two documents' histories are now one", id=link_id))


@register_app.command()
def unlink(
    link_id: int = typer.Argument(..., help="Id of the link (see `history`)."),
    reason: str = typer.Option(..., "--reason"), officer: Optional[str] = OFFICER,
) -> None:
    """Withdraw a link between documents (recorded; the link stays on file)."""
    from visafree.register import RegisterError

    register = _open()
    try:
        register.withdraw_link(link_id, reason=reason, officer=_officer(officer))
    except RegisterError as exc:
        _fail_on(exc)
    console.print(_say("link {id} withdrawn: the documents' histories are separate again", id=link_id))


@register_app.command()
def keyof(
    mrz: Optional[List[str]] = MRZ, issuing_state: Optional[str] = ISSUING, document_number: Optional[str] = NUMBER,
    nationality: Optional[str] = NATIONALITY, passport_type: str = TYPE, expires: Optional[str] = EXPIRES,
) -> None:
    """Print a document's pseudonymous key (nothing is read or written)."""
    register = _open()
    print(_traveller_key(register, None, mrz, issuing_state, document_number, nationality, passport_type, expires))


@register_app.command()
def correct(
    crossing_id: int = typer.Argument(..., help="Id of the crossing to correct (see `history`)."),
    reason: str = typer.Option(..., "--reason"),
    on: Optional[str] = typer.Option(None, "--date", help="The corrected date; without it the crossing is withdrawn."),
    at: Optional[str] = typer.Option(None, "--time"), officer: Optional[str] = OFFICER,
) -> None:
    """Correct a crossing by a new record pointing at it (nothing is edited or deleted)."""
    from visafree.register import RegisterError

    register = _open()
    try:
        new_id = register.correct_crossing(crossing_id, reason=reason, officer=_officer(officer),
                                           new_date=_date(on, "--date") if on else None, new_time=_time(at))
    except RegisterError as exc:
        _fail_on(exc)
    console.print(_say("correction {id} recorded for crossing {crossing}", id=new_id, crossing=crossing_id))


@register_app.command()
def overstayers(
    on: Optional[str] = typer.Option(None, "--on", help="Date (default today)."),
    csv_out: Optional[str] = typer.Option(None, "--csv", help="Write CSV to this file ('-' for standard output)."),
    officer: Optional[str] = OFFICER,
) -> None:
    """Travellers in the country past their permitted end (after extensions and shortenings)."""
    register = _open()
    day = _date(on, "--on", register.local_today())
    found = register.overstayers(day, actor=_officer(officer))
    if csv_out:
        from visafree.register.export import overstayers_csv

        text = overstayers_csv(found)
        if csv_out == "-":
            sys.stdout.write(text)
        else:
            with open(csv_out, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            console.print(_say("{count} overstayer(s) on {day} written to {path}", count=len(found), day=day, path=csv_out))
        return
    table = Table(*(_say(h) for h in ("traveller", "nationality", "entry", "post", "stay on", "permitted until", "days past",
                                      "set by")),
                  title=_say("Overstayers on {day}: {count}", day=day, count=len(found)))
    for o in found:
        if _LANG["lang"] == "en":
            table.add_row(o.traveller_key[:16] + "…", o.nationality, str(o.entry), o.border_post,
                          o.stay_basis.replace("_", " "), str(o.permitted_end), str(o.days_past_end), o.basis)
        else:
            table.add_row(o.traveller_key[:16] + "…", o.nationality, _say("{day}", day=o.entry), o.border_post,
                          _cell(o.stay_basis), _say("{day}", day=o.permitted_end), str(o.days_past_end), _cell(o.basis))
    console.print(table)


@register_app.command("rotate-key")
def rotate_key(
    yes: bool = typer.Option(False, "--yes", help="Confirm: every stored pseudonym is re-keyed."),
    officer: Optional[str] = OFFICER,
) -> None:
    """Replace the key: every pseudonym is re-keyed in one transaction (audited), then the key
    file is replaced by the new key alone. Back up the new key file at once."""
    from visafree.register import ConfigError, RegisterConfig
    from visafree.register.keys import rotate_key as rotate

    if not yes:
        _fail("rotate-key re-keys every traveller in the register: run it again with --yes to confirm")
    register = _open()
    try:
        fingerprint, count = rotate(register.engine, RegisterConfig.from_env(), os.environ, actor=_officer(officer))
    except ConfigError as exc:
        _fail_on(exc)
    console.print(f"key rotated: {count} pseudonym(s) re-keyed; new key fingerprint {fingerprint[:12]}…; "
                  f"back up {RegisterConfig.from_env().key_file} now")


@register_app.command()
def review(officer: Optional[str] = OFFICER, as_json: bool = JSON) -> None:
    """Desk decisions whose basis changed later (older crossings ingested late, a correction,
    a link), with the end the desk gave and the end the engine gives on the history now."""
    register = _open()
    items = register.review(actor=_officer(officer))
    if as_json:
        _json([dict(item.__dict__, end_changed=item.end_changed) for item in items])
        return
    if _LANG["lang"] != "en":
        _print_review_translated(items)
        return
    table = Table("decision", "traveller", "entry", "desk", "desk end", "now", "end now", "crossings seen → now",
                  title=_say("Decisions to review: {count}", count=len(items)))
    for x in items:
        table.add_row(str(x.decision_id), x.traveller_key[:16] + "…", str(x.entry), f"{x.desk_outcome} ({x.desk_regime})",
                      str(x.desk_end or ""), f"{x.now_outcome} ({x.now_regime})", str(x.now_end or ""),
                      f"{x.crossings_seen} → {x.crossings_now}" + ("" if x.end_changed else " (same end)"))
    console.print(table)
    _print_review_notes(items)


def _print_review_notes(items) -> None:
    from visafree.register.notes import texts

    for x in items:
        for line in texts(_LANG["lang"], x.desk_notes, x.desk_regime):
            console.print(_say("decision {id}: {note}", id=x.decision_id, note=line))


def _print_review_translated(items) -> None:
    from visafree.i18n import translator

    t = translator(_LANG["lang"])

    def said(outcome, regime):
        return _cell(outcome) + (f" ({_regime_name(t, regime)})" if regime else "")

    table = Table(*(_say(h) for h in ("decision", "traveller", "entry", "desk", "desk end", "now", "end now",
                                      "crossings seen → now")),
                  title=_say("Decisions to review: {count}", count=len(items)))
    for x in items:
        table.add_row(str(x.decision_id), x.traveller_key[:16] + "…", t.format_date(x.entry), said(x.desk_outcome, x.desk_regime),
                      t.format_date(x.desk_end) if x.desk_end else "", said(x.now_outcome, x.now_regime),
                      t.format_date(x.now_end) if x.now_end else "",
                      f"{x.crossings_seen} → {x.crossings_now}" + ("" if x.end_changed else " " + _say("(same end)")))
    console.print(table)
    _print_review_notes(items)


@register_app.command()
def ingest(
    path: str = typer.Argument(..., help="Crossing log: .csv, .jsonl or .parquet"),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv, jsonl or parquet (default: from the extension)."),
    rejects: Optional[str] = typer.Option(None, "--rejects", help="Rejects file (default FILE.rejects.csv)."),
    chunk_size: int = typer.Option(10_000, "--chunk-size", min=1, help="Rows per transaction."),
    progress: bool = typer.Option(True, "--progress/--no-progress"), as_json: bool = JSON,
) -> None:
    """Bulk ingest of crossings, idempotent by event id; every row stored, duplicate or rejected."""
    from visafree.register.ingest import IngestError, ingest as run

    register = _open()
    try:
        summary = run(register, path, fmt=fmt, rejects=rejects, chunk_size=chunk_size, progress=progress,
                      recorded_by=f"ingest:{os.path.basename(path)}")
    except IngestError as exc:
        _fail_on(exc)
    if as_json:
        _json(summary)
    else:
        console.print(_say("read {read} = stored {stored} + duplicates {duplicates} + rejected {rejected}",
                           read=summary.read, stored=summary.stored, duplicates=summary.duplicates, rejected=summary.rejected))
        if summary.rejected:
            console.print(_say("rejects: {path}", path=summary.rejects_file))
        if summary.unpaired:
            console.print("unpaired events (kept): " + ", ".join(f"{k} {v}" for k, v in sorted(summary.unpaired.items())))
    if not summary.balanced:
        _fail("the counts do not add up; please report this", 3)


@register_app.command()
def audit(
    key: Optional[str] = KEY, limit: int = typer.Option(50, "--limit"), as_json: bool = JSON,
) -> None:
    """The audit log, newest first (optionally for one traveller)."""
    register = _open()
    rows = register.audit_entries(traveller_key=key, limit=limit)
    if as_json:
        _json(rows)
        return
    table = Table(*(_say(h) for h in ("id", "at", "actor", "action", "traveller", "detail")))
    for r in rows:
        table.add_row(str(r["id"]), str(r["at"])[:19], r["actor"], _cell(r["action"]), (r["traveller_key"] or "")[:16],
                      _audit_detail(r["detail"]))
    console.print(table)


@token_app.command("create")
def token_create(
    role: str = typer.Option(..., "--role", help="officer, auditor or admin."),
    label: str = typer.Option(..., "--label", help="Whose token (shown in the audit log)."),
    officer: Optional[str] = OFFICER,
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    from visafree.register import RegisterError

    register = _open()
    try:
        token = register.create_token(role, label, created_by=_officer(officer))
    except RegisterError as exc:
        _fail_on(exc)
    errors.print(f"{role} token for {label} (shown once; keep it secret):")
    print(token)


@token_app.command("list")
def token_list() -> None:
    """The tokens (never their values)."""
    register = _open()
    table = Table(*(_say(h) for h in ("id", "role", "label", "created by", "created at", "revoked")))
    for t in register.list_tokens():
        table.add_row(str(t["id"]), _cell(t["role"]), t["label"], t["created_by"], str(t["created_at"])[:19],
                      _say("yes") if t["revoked"] else "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(...), officer: Optional[str] = OFFICER) -> None:
    """Revoke a token (recorded; the token stops working at once)."""
    from visafree.register import RegisterError

    register = _open()
    try:
        register.revoke_token(token_id, revoked_by=_officer(officer))
    except RegisterError as exc:
        _fail_on(exc)
    console.print(_say("token {id} revoked", id=token_id))
