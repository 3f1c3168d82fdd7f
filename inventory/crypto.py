"""Encryption of device credentials with keys kept outside the database (MultiFernet)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class CredentialsKeyMissing(RuntimeError):
    """No encryption key is configured; the message says how to create one."""


def key_file_path() -> Path:
    name = current_app.config["CREDENTIALS_KEY_FILE"]
    path = Path(name)
    return path if path.is_absolute() else Path(current_app.instance_path) / path


def load_keys() -> list[str]:
    keys = [k for k in current_app.config.get("CREDENTIALS_KEYS") or [] if k]
    if isinstance(current_app.config.get("CREDENTIALS_KEYS"), str):
        keys = [k.strip() for k in current_app.config["CREDENTIALS_KEYS"].split(",") if k.strip()]
    if keys:
        return keys
    path = key_file_path()
    if path.exists():
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    raise CredentialsKeyMissing(
        f"No credentials encryption key. Run `inventory keys init` to create {path}, "
        "or set INVENTORY_CREDENTIALS_KEYS."
    )


def keyring() -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in load_keys()])


def create_key_file(path: Path) -> bool:
    """Write a new key file readable by its owner only; False if one exists already."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return True


def encrypt_json(data: dict) -> str:
    return keyring().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(keyring().decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialsKeyMissing(
            "Stored credentials cannot be decrypted with the configured keys "
            "(was the key file replaced?)."
        ) from exc


def rotate(token: str) -> str:
    return keyring().rotate(token.encode()).decode() if token else token
