"""Imports every model so that metadata, migrations and relationships see them all."""

from inventory.assets.models import Asset, TagSequence
from inventory.audit.models import ChangeLog
from inventory.auth.models import User, UserSession
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.credentials.models import CredentialProfile
from inventory.sites.models import Site

__all__ = [
    "Asset",
    "AssetModel",
    "Category",
    "ChangeLog",
    "CredentialProfile",
    "Manufacturer",
    "Site",
    "TagSequence",
    "User",
    "UserSession",
]
