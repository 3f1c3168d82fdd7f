"""Imports every model so that metadata, migrations and relationships see them all."""

from inventory.assets.models import Asset, TagSequence
from inventory.audit.models import ChangeLog
from inventory.auth.models import User, UserSession
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.credentials.models import CredentialProfile
from inventory.health.models import (
    AssetHealth,
    HealthEvent,
    HealthHourly,
    HealthSample,
    InterfaceHourly,
    InterfaceSample,
    InterfaceState,
    Lease,
    SweepResult,
    SweepRun,
)
from inventory.sites.models import Site
from inventory.tickets.models import Ticket
from inventory.vendors.models import Vendor

__all__ = [
    "Asset",
    "AssetHealth",
    "AssetModel",
    "Category",
    "ChangeLog",
    "CredentialProfile",
    "HealthEvent",
    "HealthHourly",
    "HealthSample",
    "InterfaceHourly",
    "InterfaceSample",
    "InterfaceState",
    "Lease",
    "Manufacturer",
    "Site",
    "SweepResult",
    "SweepRun",
    "TagSequence",
    "Ticket",
    "User",
    "UserSession",
    "Vendor",
]
