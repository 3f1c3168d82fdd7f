"""Status and kind vocabularies, each value with its label and colour, in one place."""

from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l


class Choice(str, Enum):  # noqa: UP042 - members carry a label and colour too
    """A stored string value with a translated label and a badge colour."""

    def __new__(cls, value: str, label, colour: str = "grey"):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        obj.colour = colour
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def pairs(cls) -> list[tuple[str, object]]:
        return [(member.value, member.label) for member in cls]

    @classmethod
    def choices(cls):
        """Select options for a form."""
        from inventory.forms import options

        return options(cls.pairs())

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]

    @classmethod
    def label_of(cls, value: str | None):
        try:
            return cls(value).label
        except ValueError:
            return value or ""

    @classmethod
    def colour_of(cls, value: str | None) -> str:
        try:
            return cls(value).colour
        except ValueError:
            return "grey"


class Role(Choice):
    VIEWER = "viewer", _l("Viewer"), "grey"
    ENGINEER = "engineer", _l("Engineer"), "blue"
    MANAGER = "manager", _l("Manager"), "purple"
    ADMIN = "admin", _l("Administrator"), "red"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role | str) -> bool:
        return self.rank >= Role(other).rank


class SiteKind(Choice):
    DISTRICT_HQ = "district_hq", _l("District headquarters"), "purple"
    TEHSIL = "tehsil", _l("Tehsil"), "blue"
    BLOCK = "block", _l("Block"), "teal"
    MUNICIPALITY = "municipality", _l("Municipality"), "teal"
    OFFICE = "office", _l("Office"), "grey"
    CSC = "csc", _l("Common Service Centre"), "orange"

    @property
    def level(self) -> int:
        return {
            "district_hq": 0,
            "tehsil": 1,
            "block": 2,
            "municipality": 2,
            "office": 3,
            "csc": 3,
        }[self.value]


class LinkType(Choice):
    SWAN = "swan", _l("SWAN"), "green"
    BROADBAND = "broadband", _l("Broadband"), "blue"
    CELLULAR = "4g", _l("4G"), "orange"
    NONE = "none", _l("None"), "grey"


class CategoryGroup(Choice):
    EDISTRICT = "edistrict", _l("e-District hardware"), "blue"
    NETWORKING = "networking", _l("Networking"), "teal"
    PROJECTOR = "projector", _l("Projector"), "purple"
    VC = "vc", _l("Video conferencing"), "orange"
    OTHER = "other", _l("Other"), "grey"


class AssetStatus(Choice):
    IN_STORE = "in_store", _l("In store"), "grey"
    DEPLOYED = "deployed", _l("Deployed"), "green"
    UNDER_REPAIR = "under_repair", _l("Under repair"), "orange"
    NON_FUNCTIONAL = "non_functional", _l("Non-functional"), "red"
    CONDEMNED = "condemned", _l("Condemned"), "black"


class SnmpVersion(Choice):
    NONE = "none", _l("No SNMP"), "grey"
    V1 = "v1", _l("SNMP v1"), "grey"
    V2C = "v2c", _l("SNMP v2c"), "blue"
    V3 = "v3", _l("SNMP v3"), "green"


class SnmpAuthProtocol(Choice):
    NONE = "none", _l("No authentication"), "grey"
    MD5 = "md5", "MD5", "grey"
    SHA = "sha", "SHA-1", "blue"
    SHA256 = "sha256", "SHA-256", "green"
    SHA512 = "sha512", "SHA-512", "green"


class SnmpPrivProtocol(Choice):
    NONE = "none", _l("No privacy"), "grey"
    DES = "des", "DES", "grey"
    AES = "aes", "AES-128", "blue"
    AES256 = "aes256", "AES-256", "green"


class ChangeAction(Choice):
    CREATE = "create", _l("Created"), "green"
    UPDATE = "update", _l("Updated"), "blue"
    DELETE = "delete", _l("Deleted"), "red"


class TicketStatus(Choice):
    OPEN = "open", _l("Open"), "red"
    ASSIGNED = "assigned", _l("Assigned"), "orange"
    IN_PROGRESS = "in_progress", _l("In progress"), "blue"
    WAITING = "waiting", _l("Waiting (vendor/parts)"), "purple"
    RESOLVED = "resolved", _l("Resolved"), "green"
    CLOSED = "closed", _l("Closed"), "grey"
    CANCELLED = "cancelled", _l("Cancelled"), "black"

    @property
    def is_open(self) -> bool:
        """Work still to do: the ticket counts as pending and for ageing."""
        return self in (
            TicketStatus.OPEN,
            TicketStatus.ASSIGNED,
            TicketStatus.IN_PROGRESS,
            TicketStatus.WAITING,
        )


class TicketPriority(Choice):
    LOW = "low", _l("Low"), "grey"
    NORMAL = "normal", _l("Normal"), "blue"
    HIGH = "high", _l("High"), "orange"
    CRITICAL = "critical", _l("Critical"), "red"


class TicketCategory(Choice):
    HARDWARE = "hardware", _l("Hardware fault"), "orange"
    NETWORK = "network", _l("Network/link down"), "red"
    PROJECTOR = "projector", _l("Projector"), "purple"
    VC = "vc", _l("Video conferencing"), "teal"
    SOFTWARE = "software", _l("Software"), "blue"
    OTHER = "other", _l("Other"), "grey"


class ReporterKind(Choice):
    USER = "user", _l("Staff"), "blue"
    SCAN = "scan", _l("QR scan at the site"), "teal"
    SYSTEM = "system", _l("System"), "grey"


class VendorKind(Choice):
    SUPPLIER = "supplier", _l("Supplier"), "blue"
    AMC = "amc", _l("AMC vendor"), "purple"
    SERVICE = "service", _l("Service provider"), "teal"


class NotificationKind(Choice):
    TICKET_ASSIGNED = "ticket_assigned", _l("Ticket assigned"), "blue"
    TICKET_AUTO_OPENED = "ticket_auto_opened", _l("Ticket opened by the system"), "purple"
    TICKET_DUE_SOON = "ticket_due_soon", _l("Ticket due soon"), "orange"
    TICKET_OVERDUE = "ticket_overdue", _l("Ticket overdue"), "red"
    DIGEST = "digest", _l("Daily digest"), "grey"
    PROCUREMENT_APPROVAL = "procurement_approval", _l("Procurement request to approve"), "blue"
    PROCUREMENT_DECIDED = "procurement_decided", _l("Procurement request decided"), "teal"


class OutboxStatus(Choice):
    PENDING = "pending", _l("Waiting to send"), "orange"
    SENDING = "sending", _l("Sending"), "blue"
    SENT = "sent", _l("Sent"), "green"
    FAILED = "failed", _l("Failed"), "red"


class VisitStatus(Choice):
    IN_PROGRESS = "in_progress", _l("In progress"), "blue"
    FINISHED = "finished", _l("Finished"), "green"
    ABANDONED = "abandoned", _l("Abandoned"), "grey"


class ScanOutcome(Choice):
    FOUND = "found", _l("Found"), "green"
    UNEXPECTED = "unexpected", _l("Registered elsewhere"), "orange"
    UNKNOWN = "unknown", _l("Unknown tag"), "red"
    DUPLICATE = "duplicate", _l("Already scanned"), "grey"


class ContractState(Choice):
    """Where an AMC contract stands on a given day (derived from its dates, never stored)."""

    UPCOMING = "upcoming", _l("Not started"), "blue"
    ACTIVE = "active", _l("In force"), "green"
    EXPIRING = "expiring", _l("Ending soon"), "orange"
    EXPIRED = "expired", _l("Ended"), "grey"


class PmTrigger(Choice):
    INTERVAL = "interval", _l("Every N days"), "blue"
    COUNTER = "counter", _l("On a counter"), "purple"


class PmCounter(Choice):
    """Counters a maintenance plan can follow, read from the asset's latest health data."""

    LAMP_HOURS = "lamp_hours", _l("Projector lamp hours"), "purple"
    PAGE_COUNT = "page_count", _l("Printer page count"), "blue"


class InspectionAnswerValue(Choice):
    YES = "yes", _l("Yes"), "green"
    NO = "no", _l("No"), "red"
    NOT_APPLICABLE = "na", _l("Not applicable"), "grey"


class ProcurementStatus(Choice):
    DRAFT = "draft", _l("Draft"), "grey"
    SUBMITTED = "submitted", _l("Submitted"), "blue"
    APPROVED = "approved", _l("Approved"), "teal"
    REJECTED = "rejected", _l("Rejected"), "red"
    ORDERED = "ordered", _l("Ordered"), "purple"
    PARTLY_RECEIVED = "partly_received", _l("Partly received"), "orange"
    RECEIVED = "received", _l("Received"), "green"
    CLOSED = "closed", _l("Closed"), "black"
    CANCELLED = "cancelled", _l("Cancelled"), "black"


class ProcurementAction(Choice):
    """One step of a procurement request's workflow, as recorded in its timeline."""

    CREATED = "created", _l("Drafted"), "grey"
    SUBMITTED = "submitted", _l("Submitted for approval"), "blue"
    APPROVED = "approved", _l("Approved"), "green"
    REJECTED = "rejected", _l("Rejected"), "red"
    ORDERED = "ordered", _l("Order placed"), "purple"
    PARTLY_RECEIVED = "partly_received", _l("Partly received"), "orange"
    RECEIVED = "received", _l("Received in full"), "green"
    CLOSED = "closed", _l("Closed"), "black"
    CANCELLED = "cancelled", _l("Cancelled"), "black"
    COPIED = "copied", _l("Copied into a new draft"), "grey"


class ProcurementAttachmentKind(Choice):
    QUOTATION = "quotation", _l("Quotation"), "blue"
    SANCTION = "sanction", _l("Sanction letter"), "green"
    OTHER = "other", _l("Other"), "grey"


class SshDeviceType(Choice):
    """netmiko device types the SSH probe speaks (inventory.probes.ssh.DEVICE_TYPES)."""

    CISCO_IOS = "cisco_ios", _l("Cisco IOS"), "teal"
    LINUX = "linux", _l("Linux"), "blue"


class SshOutcome(Choice):
    """The outcome of an SSH collection (inventory.probes.base.Outcome values)."""

    OK = "ok", _l("OK"), "green"
    TIMEOUT = "timeout", _l("Timed out"), "orange"
    AUTH_FAILED = "auth_failed", _l("Login refused"), "red"
    UNREACHABLE = "unreachable", _l("Unreachable"), "red"
    ERROR = "error", _l("Error"), "red"
    HOST_KEY_CHANGED = "host_key_changed", _l("Host key changed"), "purple"


class NetconfigEventKind(Choice):
    FIRST_BACKUP = "first_backup", _l("First configuration backup"), "blue"
    CONFIG_CHANGED = "config_changed", _l("Configuration changed"), "orange"
    HOST_KEY_TRUSTED = "host_key_trusted", _l("Host key trusted on first use"), "grey"
    HOST_KEY_CHANGED = "host_key_changed", _l("Host key changed"), "purple"
    HOST_KEY_ACCEPTED = "host_key_accepted", _l("New host key accepted"), "green"


class ProjectorPower(Choice):
    """A projector's power state as PJLink reports it."""

    ON = "on", _l("On"), "green"
    OFF = "off", _l("Off"), "grey"
    WARMING = "warming", _l("Warming up"), "orange"
    COOLING = "cooling", _l("Cooling down"), "blue"


class DeviceErrorLevel(Choice):
    """A PJLink error category's level (fan, lamp, temperature, cover, filter, other)."""

    OK = "ok", _l("OK"), "green"
    WARNING = "warning", _l("Warning"), "orange"
    ERROR = "error", _l("Error"), "red"


class ProbeOutcome(Choice):
    """The outcome of a PJLink poll or a reachability check (probes.base.Outcome values)."""

    OK = "ok", _l("OK"), "green"
    TIMEOUT = "timeout", _l("Timed out"), "orange"
    AUTH_FAILED = "auth_failed", _l("Password refused"), "red"
    UNREACHABLE = "unreachable", _l("Unreachable"), "red"
    ERROR = "error", _l("Error"), "red"


class TestCallResult(Choice):
    """The result of a VC test call logged by staff."""

    __test__ = False  # not a pytest class

    OK = "ok", _l("Worked"), "green"
    PARTIAL = "partial", _l("Partly worked"), "orange"
    FAILED = "failed", _l("Failed"), "red"


class Readiness(Choice):
    """Whether an office can join the DM's video conference (the VC-readiness board)."""

    READY = "ready", _l("Ready"), "green"
    NOT_READY = "not_ready", _l("Not ready"), "red"
    UNKNOWN = "unknown", _l("Cannot tell"), "grey"
