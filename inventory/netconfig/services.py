"""Rules for network devices over SSH: which assets are managed, how a collection result is
recorded (host keys trusted on first use, facts, configuration versions and events), the
configuration normaliser, diffs, and the register update from facts.

Services flush, never commit. The probe (inventory.probes.ssh.collect) does the I/O and
never raises; `run_collections` runs it in a thread pool without touching the database.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from inventory.assets.models import Asset
from inventory.catalog.models import AssetModel
from inventory.choices import NetconfigEventKind, SshDeviceType
from inventory.credentials.models import CredentialProfile
from inventory.credentials.services import read_secrets
from inventory.extensions import db
from inventory.models_base import utcnow
from inventory.netconfig.models import (
    ConfigEvent,
    ConfigVersion,
    SshCheck,
    SshDevice,
    SshHostKey,
)
from inventory.probes.base import Outcome
from inventory.probes.ssh import (
    SshCredentials,
    SshResult,
    SshTarget,
    collect,
    host_key_fingerprint,
    same_host_key,
)

NETWORK_CATEGORIES = ("RTR", "SWT", "FWL")  # cisco_ios by default; anything else linux

# Lines that change without the configuration changing: dropped before hashing and storing.
# Keep this the only list (tests/test_netconfig.py checks each).
VOLATILE_LINES = (
    re.compile(r"^\s*!\s*Last configuration change at\b", re.IGNORECASE),
    re.compile(r"^\s*!\s*NVRAM config last updated at\b", re.IGNORECASE),
    re.compile(r"^\s*!\s*No configuration change since last restart\b", re.IGNORECASE),
    re.compile(r"^\s*Current configuration\s*:\s*\d+\s*bytes\s*$", re.IGNORECASE),
    re.compile(r"^\s*Building configuration\.\.\.\s*$", re.IGNORECASE),
    re.compile(r"^\s*ntp clock-period\s+\d+\s*$", re.IGNORECASE),
    re.compile(r"^\s*!\s*Time:\s", re.IGNORECASE),
)

MAX_CONFIG_BYTES = 4 * 1024 * 1024


class NetconfigError(ValueError):
    """A rule violation; the message is shown to the user as is."""


# --- normalising and diffs ----------------------------------------------------------------


def normalise_config(text: str) -> str:
    """The configuration without volatile lines, with unified line ends and no trailing
    blanks, ending in one newline."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [
        line.rstrip()
        for line in lines
        if not any(pattern.search(line) for pattern in VOLATILE_LINES)
    ]
    while kept and not kept[-1]:
        kept.pop()
    while kept and not kept[0]:
        kept.pop(0)
    return "\n".join(kept) + "\n" if kept else ""


def config_sha256(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "head" or "same"
    text: str


def diff_versions(old: ConfigVersion, new: ConfigVersion) -> list[DiffLine]:
    """A unified diff from `old` to `new`, one classified line each (rendered escaped)."""
    lines = difflib.unified_diff(
        old.text.splitlines(),
        new.text.splitlines(),
        fromfile=_("version %(n)d", n=old.number),
        tofile=_("version %(n)d", n=new.number),
        lineterm="",
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


# --- devices ------------------------------------------------------------------------------


def device_of(asset_id: int) -> SshDevice | None:
    return db.session.scalar(sa.select(SshDevice).where(SshDevice.asset_id == asset_id))


def default_device_type(asset: Asset) -> str:
    if asset.category is not None and asset.category.code in NETWORK_CATEGORIES:
        return SshDeviceType.CISCO_IOS.value
    return SshDeviceType.LINUX.value


def why_not_manageable(asset: Asset) -> str | None:
    """Why the asset cannot be managed over SSH, or None when it can."""
    if not asset.management_address:
        return _("Give the asset a management address first.")
    profile = asset.credential_profile
    if profile is None:
        return _("Give the asset a credentials profile first.")
    if not profile.ssh_username:
        return _("The credentials profile %(name)s has no SSH user.", name=profile.name)
    return None


def manage_device(
    asset: Asset, device_type: str | None = None, port: int = 22, enabled: bool = True
) -> SshDevice:
    """Manage the asset over SSH (or change how); returns its SshDevice."""
    reason = why_not_manageable(asset)
    if reason:
        raise NetconfigError(reason)
    device_type = device_type or default_device_type(asset)
    if device_type not in SshDeviceType.values():
        raise NetconfigError(_("Unknown device type."))
    if not 1 <= int(port) <= 65535:
        raise NetconfigError(_("The port must be between 1 and 65535."))
    device = device_of(asset.id)
    if device is None:
        device = SshDevice(asset_id=asset.id)
        db.session.add(device)
    device.device_type = device_type
    device.port = int(port)
    device.enabled = bool(enabled)
    db.session.flush()
    return device


def stop_managing(asset: Asset) -> None:
    device = device_of(asset.id)
    if device is None:
        raise NetconfigError(_("This asset is not managed over SSH."))
    db.session.delete(device)
    db.session.flush()


# --- targets ------------------------------------------------------------------------------


def _credentials(profile: CredentialProfile, cache: dict) -> SshCredentials:
    if profile.id not in cache:
        secrets = read_secrets(profile)
        # Without an enable secret in the profile the probe tries the password as it.
        cache[profile.id] = SshCredentials(
            profile.ssh_username,
            password=secrets.get("ssh_password", ""),
            enable_secret=secrets.get("ssh_enable_secret", ""),
        )
    return cache[profile.id]


def target_of(device: SshDevice, timeout: float, cache: dict | None = None) -> SshTarget:
    asset = device.asset
    if why_not_manageable(asset):
        raise NetconfigError(why_not_manageable(asset))
    known = db.session.scalar(sa.select(SshHostKey.key).where(SshHostKey.asset_id == asset.id))
    return SshTarget(
        key=asset.id,
        address=asset.management_address,
        port=device.port,
        device_type=device.device_type,
        credentials=_credentials(asset.credential_profile, {} if cache is None else cache),
        known_host_key=known,
        timeout=float(timeout),
    )


def due_devices(now: datetime, backup_hours: float, retry_seconds: float) -> list[SshDevice]:
    """Enabled devices whose last backup is older than `backup_hours` (or never made) and
    that were not tried within `retry_seconds` (a device down is tried again next run)."""
    cutoff = now - timedelta(hours=backup_hours)
    retry = now - timedelta(seconds=retry_seconds)
    return list(
        db.session.scalars(
            sa.select(SshDevice)
            .where(
                SshDevice.enabled.is_(True),
                sa.or_(SshDevice.last_backup_at.is_(None), SshDevice.last_backup_at < cutoff),
                sa.or_(SshDevice.last_attempt_at.is_(None), SshDevice.last_attempt_at < retry),
            )
            .order_by(SshDevice.last_backup_at.is_not(None), SshDevice.last_backup_at)
        )
    )


def claim(device: SshDevice, now: datetime, retry_seconds: float) -> bool:
    """Mark the device as being tried now, unless another run did so within retry_seconds
    (a conditional UPDATE, so two schedulers never both take it)."""
    retry = now - timedelta(seconds=retry_seconds)
    done = db.session.execute(
        sa.update(SshDevice)
        .where(
            SshDevice.id == device.id,
            sa.or_(SshDevice.last_attempt_at.is_(None), SshDevice.last_attempt_at < retry),
        )
        .values(last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def run_collections(targets: list[SshTarget], concurrency: int) -> list[SshResult]:
    """collect(facts and config) for every target in a thread pool; no database access."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets)))) as pool:
        return list(pool.map(lambda t: collect(t, facts=True, config=True), targets))


# --- recording ----------------------------------------------------------------------------


def _event(asset_id: int, kind: NetconfigEventKind, now: datetime, detail: str = "", version=None):
    db.session.add(
        ConfigEvent(asset_id=asset_id, at=now, kind=kind.value, detail=detail, version=version)
    )


def _record_host_key(asset_id: int, result: SshResult, now: datetime) -> None:
    stored = db.session.scalar(sa.select(SshHostKey).where(SshHostKey.asset_id == asset_id))
    presented = result.host_key
    if result.outcome is Outcome.HOST_KEY_CHANGED:
        if stored is None or not presented:
            return
        if not same_host_key(stored.pending_key, presented):
            stored.pending_key = presented
            stored.pending_fingerprint = host_key_fingerprint(presented)
            _event(
                asset_id,
                NetconfigEventKind.HOST_KEY_CHANGED,
                now,
                _(
                    "The device presented %(new)s instead of %(old)s.",
                    new=stored.pending_fingerprint,
                    old=stored.fingerprint,
                ),
            )
        stored.pending_seen = now
        return
    if not presented:
        return
    if stored is None:
        # Trust on first use. The probe only logs in when no key or the same key is known.
        stored = SshHostKey(
            asset_id=asset_id,
            key=presented,
            fingerprint=host_key_fingerprint(presented),
            first_seen=now,
            last_seen=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(stored)
        except IntegrityError:  # another run stored it first
            return
        _event(asset_id, NetconfigEventKind.HOST_KEY_TRUSTED, now, stored.fingerprint)
    elif same_host_key(stored.key, presented):
        stored.last_seen = now


def _record_check(asset_id: int, result: SshResult, now: datetime) -> SshCheck:
    check = db.session.scalar(sa.select(SshCheck).where(SshCheck.asset_id == asset_id))
    if check is None:
        check = SshCheck(asset_id=asset_id)
        db.session.add(check)
    check.checked_at = now
    check.outcome = result.outcome.value
    check.error = (result.error or "")[:2000]
    check.elapsed = result.elapsed
    if result.facts is not None:
        facts = result.facts
        check.model = (facts.model or None) and facts.model[:255]
        check.serial = (facts.serial or None) and facts.serial[:255]
        check.os_version = (facts.os_version or None) and facts.os_version[:255]
        check.uptime_seconds = facts.uptime_seconds
        check.hostname = (facts.hostname or None) and facts.hostname[:255]
        check.facts_at = now
    return check


def latest_version(asset_id: int) -> ConfigVersion | None:
    return db.session.scalar(
        sa.select(ConfigVersion)
        .where(ConfigVersion.asset_id == asset_id)
        .order_by(ConfigVersion.number.desc())
        .limit(1)
    )


def store_config(asset_id: int, text: str, now: datetime) -> ConfigVersion | None:
    """Store the configuration when its normalised text differs from the latest version;
    returns the new version, or None when nothing changed (or it is empty)."""
    normalised = normalise_config(text)
    if not normalised.strip():
        return None
    if len(normalised.encode("utf-8", "surrogateescape")) > MAX_CONFIG_BYTES:
        raise NetconfigError(_("The configuration is larger than 4 MiB; it was not stored."))
    digest = config_sha256(normalised)
    latest = latest_version(asset_id)
    if latest is not None and latest.sha256 == digest:
        return None
    version = ConfigVersion(
        asset_id=asset_id,
        number=(latest.number + 1) if latest else 1,
        fetched_at=now,
        sha256=digest,
        text=normalised,
        size=len(normalised.encode("utf-8", "surrogateescape")),
    )
    try:
        with db.session.begin_nested():
            db.session.add(version)
    except IntegrityError:  # a concurrent run stored that number: it is the same fetch
        return None
    if latest is None:
        _event(asset_id, NetconfigEventKind.FIRST_BACKUP, now, version=version)
    else:
        added = removed = 0
        for line in diff_versions(latest, version):
            added += line.kind == "add"
            removed += line.kind == "del"
        _event(
            asset_id,
            NetconfigEventKind.CONFIG_CHANGED,
            now,
            _("%(added)d lines added, %(removed)d removed", added=added, removed=removed),
            version=version,
        )
    return version


def record_result(result: SshResult, now: datetime | None = None) -> SshCheck:
    """Record one collection: host key (TOFU / pending), facts and outcome, and a new
    configuration version when it changed. A HOST_KEY_CHANGED result stores no backup."""
    now = now or utcnow()
    asset_id = result.key
    _record_host_key(asset_id, result, now)
    check = _record_check(asset_id, result, now)
    device = device_of(asset_id)
    if device is not None:
        device.last_attempt_at = now
    if result.ok and result.config is not None:
        try:
            store_config(asset_id, result.config, now)
        except NetconfigError as exc:
            check.outcome = Outcome.ERROR.value
            check.error = str(exc)
        else:
            if device is not None:
                device.last_backup_at = now
    db.session.flush()
    return check


def fetch_now(asset: Asset, timeout: float) -> SshCheck:
    """Collect from one device at once (the "fetch now" button) and record the result."""
    device = device_of(asset.id)
    if device is None:
        raise NetconfigError(_("This asset is not managed over SSH."))
    target = target_of(device, timeout)
    return record_result(collect(target, facts=True, config=True))


# --- host keys ----------------------------------------------------------------------------


def host_key_of(asset_id: int) -> SshHostKey | None:
    return db.session.scalar(sa.select(SshHostKey).where(SshHostKey.asset_id == asset_id))


def accept_pending_key(asset_id: int, now: datetime | None = None) -> SshHostKey:
    """Trust the key the device presented instead of the stored one (admins)."""
    now = now or utcnow()
    stored = host_key_of(asset_id)
    if stored is None or not stored.pending_key:
        raise NetconfigError(_("There is no new host key waiting to be accepted."))
    old = stored.fingerprint
    stored.key = stored.pending_key
    stored.fingerprint = stored.pending_fingerprint or host_key_fingerprint(stored.pending_key)
    stored.first_seen = now
    stored.last_seen = now
    stored.pending_key = None
    stored.pending_fingerprint = None
    stored.pending_seen = None
    _event(
        asset_id,
        NetconfigEventKind.HOST_KEY_ACCEPTED,
        now,
        _("%(new)s replaces %(old)s.", new=stored.fingerprint, old=old),
    )
    db.session.flush()
    return stored


def pending_host_keys_query():
    return (
        sa.select(SshHostKey, Asset)
        .join(Asset, Asset.id == SshHostKey.asset_id)
        .where(SshHostKey.pending_key.is_not(None))
        .order_by(SshHostKey.pending_seen.desc())
    )


# --- facts against the register -----------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    field: str  # "serial" or "model"
    register: str
    device: str


def facts_mismatches(asset: Asset, check: SshCheck | None) -> list[Mismatch]:
    """Where the device's facts disagree with the register (serial exactly, model by name
    case-insensitively). Facts the device did not report are no disagreement."""
    if check is None or check.facts_at is None:
        return []
    out = []
    if check.serial and check.serial.strip() != (asset.serial or "").strip():
        out.append(Mismatch("serial", asset.serial or "", check.serial.strip()))
    register_model = asset.model.name if asset.model else ""
    if check.model and check.model.strip().casefold() != register_model.strip().casefold():
        out.append(Mismatch("model", register_model, check.model.strip()))
    return out


def apply_facts(asset: Asset) -> list[Mismatch]:
    """Update the asset's serial and/or model from the last facts (history records it)."""
    from inventory.assets.services import AssetError, update_asset
    from inventory.catalog.services import CatalogError, get_or_create_model

    check = db.session.scalar(sa.select(SshCheck).where(SshCheck.asset_id == asset.id))
    mismatches = facts_mismatches(asset, check)
    if not mismatches:
        raise NetconfigError(_("The register already agrees with the device's facts."))
    changes: dict = {}
    for mismatch in mismatches:
        if mismatch.field == "serial":
            changes["serial"] = mismatch.device[:64]
        else:
            if asset.model is None:
                raise NetconfigError(
                    _("The asset has no model, so its manufacturer is unknown; edit it instead.")
                )
            try:
                model = get_or_create_model(
                    asset.model.manufacturer.name, mismatch.device[:120], asset.category
                )
            except CatalogError as exc:
                raise NetconfigError(str(exc)) from exc
            changes["model_id"] = model.id
    try:
        update_asset(asset, **changes)
    except AssetError as exc:
        raise NetconfigError(str(exc)) from exc
    return mismatches


def check_of(asset_id: int) -> SshCheck | None:
    return db.session.scalar(sa.select(SshCheck).where(SshCheck.asset_id == asset_id))


def versions_query(asset_id: int):
    return (
        sa.select(ConfigVersion)
        .where(ConfigVersion.asset_id == asset_id)
        .order_by(ConfigVersion.number.desc())
    )


def events_query(asset_id: int | None = None):
    query = sa.select(ConfigEvent).order_by(ConfigEvent.at.desc(), ConfigEvent.id.desc())
    if asset_id is not None:
        query = query.where(ConfigEvent.asset_id == asset_id)
    return query


def model_of(model_id: int | None) -> AssetModel | None:
    return db.session.get(AssetModel, model_id) if model_id else None
