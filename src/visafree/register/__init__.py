"""The border register (extra `register`): every entry and exit of a covered traveller, the
desk's decision computed by the engine from the traveller's whole history, extensions (R7) and
shortenings (R6), overstayers, bulk ingest, tokens and an audit log of every read.

    from visafree.register import open_register
    register = open_register()          # VISAFREE_DATABASE_URL, else ./var/register.sqlite
"""

from __future__ import annotations

import os
from typing import Mapping

from .config import ConfigError, RegisterConfig
from .mrz import MRZError, parse_td3
from .service import Document, Register, RegisterError

__all__ = ["ConfigError", "Document", "MRZError", "Register", "RegisterConfig", "RegisterError", "open_register", "parse_td3"]


def open_register(env: Mapping[str, str] | None = None, *, migrate: bool = True, init: bool = False,
                  actor: str = "init", **options) -> Register:
    """The register the environment points at, migrated to the newest schema, with its key
    checked against the fingerprint stored at init (ConfigError naming the fix otherwise).

    `init`: the `register init` command: on an empty register it creates the key (file) and
    records its fingerprint. VISAFREE_REGISTER_COUNTRY (default VNM) is the country whose
    borders this register keeps.
    """
    from .db import make_engine, migrate as run_migrations
    from .keys import check_key, init_key

    env = os.environ if env is None else env
    config = RegisterConfig.from_env(env)
    # Without init the key is read before anything else: a missing or damaged key is refused
    # before a file or a row is written.
    key = None if init else config.load_key(env)
    engine = make_engine(config.database_url)
    try:
        if migrate or init:
            run_migrations(engine)
        if init:
            key, _created = init_key(engine, config, env, actor=actor)
        else:
            check_key(engine, key, config)
    except BaseException:
        engine.dispose()
        raise
    options.setdefault("destination", env.get("VISAFREE_REGISTER_COUNTRY") or "VNM")
    return Register(engine, key, **options)
