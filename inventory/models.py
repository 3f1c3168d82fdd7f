"""Imports every model so that metadata, migrations and relationships see them all."""

from inventory.assets.models import Asset, TagSequence
from inventory.audit.models import ChangeLog
from inventory.auth.models import User, UserSession
from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.credentials.models import CredentialProfile
from inventory.devices.models import (
    ProjectorSample,
    ProjectorState,
    VcCheck,
    VcReachability,
    VcTestCall,
)
from inventory.files.models import StoredFile
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
from inventory.inspections.models import ChecklistItem, Inspection, InspectionAnswer
from inventory.maintenance.models import MaintenancePlan, PlanState
from inventory.netconfig.models import (
    ConfigEvent,
    ConfigVersion,
    SshCheck,
    SshDevice,
    SshHostKey,
)
from inventory.notifications.models import Notification, OutboxEmail
from inventory.procurement.models import (
    ApprovalAction,
    ApprovalLevel,
    BudgetHead,
    LineDestination,
    ProcurementRequest,
    ProcurementSequence,
    RequestAttachment,
    RequestLine,
)
from inventory.procurement.receiving import Receipt, ReceiptUnit
from inventory.sites.models import Site
from inventory.tickets.models import Ticket, TicketAttachment, TicketComment, TicketSla
from inventory.vendors.models import AmcContract, ContractAsset, ContractRule, Vendor
from inventory.verification.models import VerificationVisit, VisitScan

__all__ = [
    "AmcContract",
    "ApprovalAction",
    "ApprovalLevel",
    "Asset",
    "AssetHealth",
    "AssetModel",
    "BudgetHead",
    "Category",
    "ChangeLog",
    "ChecklistItem",
    "ConfigEvent",
    "ConfigVersion",
    "ContractAsset",
    "ContractRule",
    "CredentialProfile",
    "HealthEvent",
    "HealthHourly",
    "HealthSample",
    "Inspection",
    "InspectionAnswer",
    "InterfaceHourly",
    "InterfaceSample",
    "InterfaceState",
    "Lease",
    "LineDestination",
    "MaintenancePlan",
    "Manufacturer",
    "Notification",
    "OutboxEmail",
    "PlanState",
    "ProcurementRequest",
    "ProcurementSequence",
    "ProjectorSample",
    "ProjectorState",
    "Receipt",
    "ReceiptUnit",
    "RequestAttachment",
    "RequestLine",
    "Site",
    "SshCheck",
    "SshDevice",
    "SshHostKey",
    "StoredFile",
    "SweepResult",
    "SweepRun",
    "TagSequence",
    "Ticket",
    "TicketAttachment",
    "TicketComment",
    "TicketSla",
    "User",
    "UserSession",
    "VcCheck",
    "VcReachability",
    "VcTestCall",
    "Vendor",
    "VerificationVisit",
    "VisitScan",
]
