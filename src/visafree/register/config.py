"""Where the register lives and the key that pseudonymises travellers, read from the environment.

    VISAFREE_DATABASE_URL   SQLAlchemy URL; default sqlite:///./var/register.sqlite
    VISAFREE_REGISTER_KEY   the HMAC key itself (at least 32 characters), or else
    VISAFREE_KEY_FILE       a key file, created on first use with mode 0600; default next to
                            the SQLite file (or ./var/register.key for a server database)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
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
class KeyMaterial:
    """The pseudonymisation secret: `inner` keys HMAC-SHA256 over the document; `outer`, after
    a rotation, keys a permutation of that digest (a 4-round Feistel network of HMAC-SHA256, a
    pseudo-random permutation). The permutation can be undone with its key, so a rotation can
    re-key every stored pseudonym without the document numbers (which are stored nowhere) and
    the key file then holds only the new secret: the old outer key is gone from it."""

    inner: bytes
    outer: bytes | None = None
    source: str = ""

    def __repr__(self) -> str:  # a key never reaches a log
        return f"KeyMaterial(<hidden>, source={self.source!r})"

    @property
    def fingerprint(self) -> str:
        """What the register stores to recognise its key; the key cannot be derived from it."""
        return hmac.new(self.inner + b"\x00" + (self.outer or b""), b"visafree-register-key-fingerprint",
                        hashlib.sha256).hexdigest()

    def text(self) -> str:
        return self.inner.decode() + (":" + self.outer.hex() if self.outer else "")

    def pseudonym(self, message: bytes) -> str:
        return self.pseudonyms((message,))[0]

    def pseudonyms(self, messages) -> list[str]:
        """The pseudonym of each message: HMAC-SHA256 under `inner`, then the permutation under
        `outer` if there is one. Each HMAC starts from a copy of the keyed state, whose key pads
        were hashed once (three quarters of the time of a one-shot HMAC each; after a rotation,
        a tenth of the time the permutation's four one-shot HMACs took per document)."""
        inner, outer = self._inner_state, self._outer_state
        digests = []
        for message in messages:
            state = inner.copy()
            state.update(message)
            digests.append(state.digest())
        if outer is not None:
            digests = [permute(outer, digest) for digest in digests]
        return [digest.hex() for digest in digests]

    def rekey(self, new: "KeyMaterial", pseudonym: str) -> str:
        """The pseudonym under `new` of the document whose pseudonym under this key is given."""
        if self.inner != new.inner:
            raise ValueError("a rotation keeps the inner secret")
        digest = bytes.fromhex(pseudonym)
        if self._outer_state is not None:
            digest = unpermute(self._outer_state, digest)
        return (permute(new._outer_state, digest) if new._outer_state is not None else digest).hex()

    # The keyed HMAC states, made once per key (copied, never updated, so threads may share them).
    @functools.cached_property
    def _inner_state(self):
        return hmac.new(self.inner, digestmod=hashlib.sha256)

    @functools.cached_property
    def _outer_state(self):
        return hmac.new(self.outer, digestmod=hashlib.sha256) if self.outer else None

    @classmethod
    def parse(cls, text: str, source: str) -> "KeyMaterial":
        inner, _, outer = text.strip().partition(":")
        if len(inner) < MIN_KEY_CHARS:
            raise ConfigError(f"{source}: the key holds {len(inner)} characters, expected at least {MIN_KEY_CHARS}; "
                              "restore the key file from your backup")
        if outer:
            try:
                outer_bytes = bytes.fromhex(outer)
            except ValueError:
                outer_bytes = b""
            if len(outer_bytes) != 32:
                raise ConfigError(f"{source}: the key's rotation part is damaged; restore the key file from your backup")
            return cls(inner.encode(), outer_bytes, source)
        return cls(inner.encode(), None, source)


# The permutation: a 4-round Feistel network on the digest's two 16-byte halves, each round's
# function HMAC-SHA256 (under the outer key, given as its keyed state) of the round's number and
# one half, cut to 16 bytes.
def _round(keyed, number: int, half: bytes) -> bytes:
    state = keyed.copy()
    state.update(bytes((number,)) + half)
    return state.digest()[:16]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def permute(keyed, block: bytes) -> bytes:
    left, right = block[:16], block[16:]
    for number in range(4):
        left, right = right, _xor(left, _round(keyed, number, right))
    return left + right


def unpermute(keyed, block: bytes) -> bytes:
    left, right = block[:16], block[16:]
    for number in reversed(range(4)):
        left, right = _xor(right, _round(keyed, number, left)), left
    return left + right


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

    def load_key(self, env: Mapping[str, str] | None = None, *, create: bool = False) -> KeyMaterial:
        """The key, or ConfigError naming the fix. Only `create` (init on an empty register)
        makes a new key file; every other command refuses a missing one (issue 10: a deleted
        file silently became a new key, and every traveller a new person)."""
        env = os.environ if env is None else env
        if self.key_from_env:
            return KeyMaterial.parse(env["VISAFREE_REGISTER_KEY"], "VISAFREE_REGISTER_KEY")
        return read_key_file(self.key_file, create=create)


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


def write_new_key_file(path: Path, material: KeyMaterial) -> None:
    """Write a key file that must not exist yet, owner-only from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(material.text() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_key_file(path: Path, *, create: bool = False) -> KeyMaterial:
    path = Path(path)
    if create:
        try:
            # O_EXCL: two processes starting at once must not each write their own key.
            write_new_key_file(path, KeyMaterial(secrets.token_hex(32).encode()))
        except FileExistsError:
            pass
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no key file. If this register is new, run `visafree register init`; "
                          "if it holds data, restore the key file from your backup (a new key would make "
                          "every traveller a stranger)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot reach the key file ({exc.strerror}); check the path and its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is a directory, not a key file: point VISAFREE_KEY_FILE at the key file itself, "
                          "or put the key file from your backup in its place")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file: point VISAFREE_KEY_FILE at the key file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise ConfigError(f"{path}: key file is readable by others (mode {mode:04o}); run chmod 600 {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key file ({exc.strerror}); run the register as the key file's "
                          "owner, or fix its permissions (chmod 600)") from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: this is not a register key file (it is not plain text); restore the key file "
                          "from your backup") from None
    return KeyMaterial.parse(text, str(path))


def load_or_create_key_file(path: Path) -> bytes:
    """Kept for callers that want the raw inner secret of a (possibly new) key file."""
    return read_key_file(path, create=True).inner
