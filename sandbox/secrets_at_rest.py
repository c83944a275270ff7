"""The contents of build files and secret mounts, and the build arguments, encrypted at rest.

Northflank treats build arguments as secrets (reading them needs "Project >
Secrets > Services > Read"), so the whole ``buildArguments`` object, names and
values, is sealed; the stored record keeps the key, emptied, in its place.

AES-256-GCM (from ``cryptography``) with a unique 96-bit nonce per record and
the record's ``project/service`` as associated data, so a sealed blob cannot
be moved to another row. The key is 32 bytes, base64url-encoded, taken from
``NF_SANDBOX_SECRET_KEY`` or else from a key file next to the database that is
created (mode 0600) on first start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic_core import to_json

from sandbox.store import NewService, StoredService, StoreError

__all__ = [
    "KEY_ENV_VAR",
    "SEALED_OBJECTS",
    "SECRET_SECTIONS",
    "SecretBox",
    "join_secrets",
    "reseal",
    "split_secrets",
]

KEY_ENV_VAR = "NF_SANDBOX_SECRET_KEY"
SECRET_SECTIONS = ("buildFiles", "dockerSecretMounts")
"""The request fields whose entries' ``data`` the seed calls encrypted at rest."""
SEALED_OBJECTS = ("buildArguments",)
"""The request fields sealed whole: every name and value."""

_FORMAT_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SecretBox:
    """Seals and opens secret blobs with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("an AES-256 key is 32 bytes")
        self._aead = AESGCM(key)
        self._nonces = _NonceSequence()
        self._key = key
        self.fingerprint = hashlib.sha256(b"nf-sandbox-key:" + key).hexdigest()[:16]

    def subkey(self, purpose: str) -> bytes:
        """A 32-byte key for another use (signing cursors, say), derived from this one."""
        return hmac.new(self._key, b"nf-sandbox-subkey:" + purpose.encode(), "sha256").digest()

    @classmethod
    def load(cls, key_file: Path, *, create: bool = True) -> SecretBox:
        """The key from the environment, or from ``key_file`` (created if missing and
        ``create``); a key file others can read, or that is not a key, is refused."""
        encoded = os.environ.get(KEY_ENV_VAR)
        if encoded is not None:
            return cls(_decode_key(encoded, f"${KEY_ENV_VAR}"))
        if key_file.is_dir():
            raise StoreError(f"{key_file}: the secret key file is a directory")
        if not key_file.exists():
            if not create:
                raise StoreError(
                    f"{key_file}: the secret key file is missing; the database's secrets were"
                    f" sealed with it (restore it, or set ${KEY_ENV_VAR})"
                )
            _create_key_file(key_file)
        mode = stat.S_IMODE(key_file.stat().st_mode)
        if mode & 0o077:
            raise StoreError(
                f"{key_file}: the secret key file is readable by others (mode {mode:04o});"
                f" run `chmod 600 {key_file}`"
            )
        try:
            text = key_file.read_text(encoding="ascii")
        except UnicodeDecodeError:
            text = ""  # not a key: refused below, naming the file
        return cls(_decode_key(text.strip(), str(key_file)))

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = self._nonces.next()
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return _FORMAT_VERSION + nonce + sealed

    def open(self, blob: bytes, context: str) -> bytes:
        if blob[:1] != _FORMAT_VERSION:
            raise StoreError(f"{context}: sealed secrets have an unknown format")
        if len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise StoreError(f"{context}: sealed secrets are truncated")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, context.encode())
        except InvalidTag:
            raise StoreError(f"{context}: sealed secrets do not open with this key") from None


class _NonceSequence:
    """Unique 96-bit GCM nonces: a random 64-bit prefix per sequence and a 32-bit counter.

    This is the deterministic construction of NIST SP 800-38D, 8.2.1: a nonce
    must never repeat under one key, and need not be unpredictable. One
    random prefix per process (and per 2**32 seals) makes a repeat across
    processes and restarts as unlikely as a random 64-bit collision, and
    spares each seal a call to the kernel's random source.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prefix = b""
        self._counter = 2**32

    def next(self) -> bytes:
        with self._lock:
            if self._counter >= 2**32:
                self._prefix = secrets.token_bytes(8)
                self._counter = 0
            nonce = self._prefix + self._counter.to_bytes(4, "big")
            self._counter += 1
        return nonce


def _decode_key(encoded: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != 32:
        raise StoreError(f"{source}: the secret key must be 32 bytes in base64url (44 characters)")
    return key


def _create_key_file(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(encoded + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def split_secrets(data: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
    """``data`` without the secret contents, and those contents as JSON (``None`` if none)."""
    public = dict(data)
    hidden: dict[str, dict[str, str]] = {}
    for section in SECRET_SECTIONS:
        entries = data.get(section)
        if not entries:
            continue
        hidden[section] = {name: entry["data"] for name, entry in entries.items()}
        public[section] = {
            name: {key: value for key, value in entry.items() if key != "data"}
            for name, entry in entries.items()
        }
    for section in SEALED_OBJECTS:
        if data.get(section):
            hidden[section] = data[section]
            public[section] = {}
    if not hidden:
        return public, None
    return public, to_json(hidden)


def join_secrets(public: dict[str, Any], hidden_json: bytes | None) -> dict[str, Any]:
    """The inverse of `split_secrets`."""
    if hidden_json is None:
        return public
    data = dict(public)
    hidden: dict[str, dict[str, str]] = json.loads(hidden_json)
    for section, contents in hidden.items():
        if section in SEALED_OBJECTS:
            data[section] = contents
            continue
        data[section] = {
            name: {"data": contents[name], **entry} for name, entry in public[section].items()
        }
    return data


def reseal(row: StoredService, box: SecretBox) -> StoredService:
    """``row`` stored as `split_secrets` splits today: for rows written before a field
    was sealed (``buildArguments`` before schema version 3), whose record holds it plain."""
    context = f"{row.project_id}/{row.service_id}"
    hidden = box.open(row.sealed_secrets, context) if row.sealed_secrets is not None else None
    record, sealed = split_secrets(join_secrets(json.loads(row.record_json), hidden))
    return NewService(
        row.project_id,
        row.service_id,
        to_json(record).decode(),
        None if sealed is None else box.seal(sealed, context),
        row.created_at,
    )
