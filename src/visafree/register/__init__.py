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


def open_register(env: Mapping[str, str] | None = None, *, migrate: bool = True, **options) -> Register:
    """The register the environment points at, migrated to the newest schema.

    VISAFREE_REGISTER_COUNTRY (default VNM) is the country whose borders this register keeps.
    """
    from .db import make_engine, migrate as run_migrations

    env = os.environ if env is None else env
    config = RegisterConfig.from_env(env)
    key = config.load_key(env)
    engine = make_engine(config.database_url)
    if migrate:
        run_migrations(engine)
    options.setdefault("destination", env.get("VISAFREE_REGISTER_COUNTRY") or "VNM")
    return Register(engine, key, **options)
