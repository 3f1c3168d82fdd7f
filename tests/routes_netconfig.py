"""Route table for network devices over SSH (inventory.netconfig); see tests/routing.py."""

from __future__ import annotations

from routing import Route

ROUTES: dict[str, Route] = {
    # Everyone signed in sees the devices, their results and configuration history.
    "/netconfig/": Route("netconfig.index", "viewer", "/netconfig/"),
    "/netconfig/assets/<int:asset_id>/configs": Route(
        "netconfig.configs", "viewer", "/netconfig/assets/{asset_id}/configs"
    ),
    "/netconfig/assets/<int:asset_id>/configs/<int:number>": Route(
        "netconfig.version", "viewer", "/netconfig/assets/{asset_id}/configs/2"
    ),
    "/netconfig/assets/<int:asset_id>/diff": Route(
        "netconfig.diff", "viewer", "/netconfig/assets/{asset_id}/diff"
    ),
    # Engineers fetch facts and configuration at once (from a closed loopback port here).
    "/netconfig/assets/<int:asset_id>/fetch": Route(
        "netconfig.fetch", "engineer", "/netconfig/assets/{asset_id}/fetch", ("POST",)
    ),
    # Managers decide which assets are managed over SSH and update the register from facts.
    "/netconfig/assets/<int:asset_id>/manage": Route(
        "netconfig.manage",
        "manager",
        "/netconfig/assets/{asset_id}/manage",
        ("GET", "POST"),
        post_data={"device_type": "linux", "port": "22", "enabled": "y"},
    ),
    "/netconfig/assets/<int:asset_id>/unmanage": Route(
        "netconfig.unmanage", "manager", "/netconfig/assets/{asset_id}/unmanage", ("GET", "POST")
    ),
    "/netconfig/assets/<int:asset_id>/apply-facts": Route(
        "netconfig.apply_facts",
        "manager",
        "/netconfig/assets/{asset_id}/apply-facts",
        ("GET", "POST"),
    ),
    # Only administrators trust a changed host key.
    "/netconfig/assets/<int:asset_id>/accept-key": Route(
        "netconfig.accept_key", "admin", "/netconfig/assets/{asset_id}/accept-key", ("GET", "POST")
    ),
}


def make_objects(base: dict, n: int) -> dict:
    """The base asset managed over SSH at a closed loopback port, with a pending host key,
    facts that disagree with the register and two configuration versions."""
    import socket

    from inventory.assets.models import Asset
    from inventory.credentials.models import CredentialProfile
    from inventory.credentials.services import save_profile
    from inventory.extensions import db
    from inventory.models_base import utcnow
    from inventory.netconfig import services
    from inventory.netconfig.models import SshCheck, SshHostKey

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the socket is: "fetch now" is refused
    asset = db.session.get(Asset, base["asset_id"])
    profile = db.session.get(CredentialProfile, base["profile_id"])
    save_profile(profile, plain={"ssh_username": f"matrix{n}"}, new_secrets={"ssh_password": "x"})
    asset.management_address = "127.0.0.1"
    asset.credential_profile_id = profile.id
    db.session.flush()
    services.manage_device(asset, "linux", port)
    now = utcnow()
    db.session.add(
        SshHostKey(
            asset_id=asset.id,
            key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
            fingerprint="SHA256:old",
            pending_key="ssh-ed25519 "
            "AAAAC3NzaC1lZDI1NTE5AAAAIFJhbmRvbWtleWZvcm1hdHJpeHRlc3RpbmcwMDA",
            pending_fingerprint="SHA256:new",
            pending_seen=now,
        )
    )
    db.session.add(
        SshCheck(
            asset_id=asset.id,
            outcome="ok",
            serial=f"MATRIX-SERIAL-{n}",
            model=f"EB-X{n}",
            facts_at=now,
        )
    )
    services.store_config(asset.id, "hostname one\n", now)
    services.store_config(asset.id, "hostname two\n", now)
    db.session.commit()
    return {}
