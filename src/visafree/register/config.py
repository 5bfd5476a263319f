"""Where the register lives and the key that pseudonymises travellers, read from the environment.

    VISAFREE_DATABASE_URL   SQLAlchemy URL; default sqlite:///./var/register.sqlite
    VISAFREE_REGISTER_KEY   the HMAC key itself (at least 32 characters), or else
    VISAFREE_KEY_FILE       a key file, created on first use with mode 0600; default next to
                            the SQLite file (or ./var/register.key for a server database)
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sqlalchemy.engine import make_url

DEFAULT_SQLITE = Path("var") / "register.sqlite"
MIN_KEY_CHARS = 32


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class RegisterConfig:
    database_url: str
    key_file: Path | None  # None when the key comes from VISAFREE_REGISTER_KEY
    key_from_env: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "RegisterConfig":
        env = os.environ if env is None else env
        url = env.get("VISAFREE_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}"
        url = normalise_url(url)
        if env.get("VISAFREE_REGISTER_KEY"):
            return cls(url, None, True)
        key_file = env.get("VISAFREE_KEY_FILE")
        return cls(url, Path(key_file) if key_file else default_key_file(url), False)

    def load_key(self, env: Mapping[str, str] | None = None) -> bytes:
        env = os.environ if env is None else env
        if self.key_from_env:
            key = env["VISAFREE_REGISTER_KEY"]
            if len(key) < MIN_KEY_CHARS:
                raise ConfigError(f"VISAFREE_REGISTER_KEY: {len(key)} characters; use at least {MIN_KEY_CHARS} random characters")
            return key.encode()
        return load_or_create_key_file(self.key_file)


def normalise_url(url: str) -> str:
    """Plain postgresql:// URLs mean psycopg 3 here (SQLAlchemy's default would be psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def default_key_file(url: str) -> Path:
    path = sqlite_path(url)
    return (path.parent if path else Path("var")) / "register.key"


def load_or_create_key_file(path: Path) -> bytes:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting at once must not each write their own key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: key file is readable by others (mode {mode:04o}); run chmod 600 {path}")
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        # A racing creator may not have written yet; a short key is never used.
        raise ConfigError(f"{path}: key file holds {len(key)} characters, expected at least {MIN_KEY_CHARS}")
    return key.encode()
