#!/usr/bin/env python3
"""Benchmark the asset register at district scale, through the app and against the bare SQL.

    .venv/bin/python scripts/bench_register.py                 # 100,000 assets on SQLite
    .venv/bin/python scripts/bench_register.py --assets 20000 --requests 20
    .venv/bin/python scripts/bench_register.py --keep /tmp/bench   # keep (and reuse) the database
    .venv/bin/python scripts/bench_register.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres

What it does:

1. Builds a fresh database (SQLite in a temporary folder; with --database-url pointing at a
   PostgreSQL server it creates a database of its own there and drops it afterwards) and
   brings it to the head migration, as a deployment would.
2. Seeds it quickly with bulk Core inserts (not one service call per asset): about 600 sites
   in Gonda's hierarchy (HQ > tehsils > blocks/municipalities > offices/CSCs), the default
   categories, ~60 models, and N assets with statuses, purchase dates, warranty and AMC ends,
   management addresses, and one "created" history entry each.
3. Signs in as a viewer with the Flask test client (in process) and times each scenario
   (list, deep page, searches, filters, expiring warranties, sorts, detail page): p50, p95
   and max over --requests requests.
4. Side by side, replays the very statements that touch assets (and change_log for the
   detail page) that the app ran for that page - count plus page query - straight through
   the DB driver, and prints the app/bare-SQL ratio. The rest of the app's time is Python:
   session lookup, forms, template rendering.

The target from issue 2 is p95 under 150 ms per row on SQLite. Timings on a shared machine
are noisy: run it twice before believing a single figure. --check exits 1 when a row is
over the target.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import string
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory import create_app
from inventory.extensions import MIGRATIONS_DIR, db

TARGET_MS = 150.0
PASSWORD = "bench-viewer-password"  # noqa: S105 - a throwaway user in a throwaway database
SQLITE_NAME = "bench.sqlite3"

# --- the district -----------------------------------------------------------------------

# tehsil code, English, Hindi, blocks (English, Hindi), municipality or None
TEHSILS = (
    (
        "SDR",
        "Gonda Sadar",
        "गोण्डा सदर",
        [
            ("Itiyathok", "इटियाथोक"),
            ("Jhanjhari", "झंझरी"),
            ("Mujehana", "मुजेहना"),
            ("Pandri Kripal", "पण्डरी कृपाल"),
            ("Rupaideeh", "रुपईडीह"),
        ],
        ("Gonda", "गोण्डा"),
    ),
    (
        "CLG",
        "Colonelganj",
        "करनैलगंज",
        [
            ("Colonelganj", "करनैलगंज"),
            ("Katra Bazar", "कटरा बाजार"),
            ("Paraspur", "परसपुर"),
            ("Belsar", "बेलसर"),
        ],
        ("Colonelganj", "करनैलगंज"),
    ),
    (
        "TBG",
        "Tarabganj",
        "तरबगंज",
        [
            ("Tarabganj", "तरबगंज"),
            ("Nawabganj", "नवाबगंज"),
            ("Wazirganj", "वजीरगंज"),
            ("Haldharmau", "हलधरमऊ"),
        ],
        ("Nawabganj", "नवाबगंज"),
    ),
    (
        "MNK",
        "Mankapur",
        "मनकापुर",
        [("Mankapur", "मनकापुर"), ("Babhanjot", "बभनजोत"), ("Chhapia", "छपिया")],
        None,
    ),
)
HQ_OFFICES = (
    ("Collectorate", "कलेक्ट्रेट"),
    ("Collectorate meeting hall", "कलेक्ट्रेट सभागार"),
    ("e-Governance cell (NIC)", "ई-गवर्नेंस सेल"),
    ("CDO office", "मुख्य विकास अधिकारी कार्यालय"),
    ("DeGS store", "डीईजीएस भण्डार"),
    ("Treasury", "कोषागार"),
    ("District Supply Office", "जिला पूर्ति कार्यालय"),
    ("District Panchayat Raj Office", "जिला पंचायत राज कार्यालय"),
    ("Development Bhawan", "विकास भवन"),
    ("District Hospital e-Hospital cell", "जिला चिकित्सालय"),
)
# fmt: off
VILLAGES = [
    "Bargaon", "Rampur", "Pure", "Nayak", "Dhanepur", "Sonauli", "Kodar", "Parsa", "Bahraich",
    "Road", "Maiya", "Bazar", "Khorasa", "Dumariyadih", "Bhitaura", "Ahirauli", "Tikri",
    "Sarbangpur", "Mahuli", "Jigna", "Lalpur", "Raipur", "Nandnagar", "Sahapur", "Bankatwa",
    "Chaura", "Kauriya", "Haripur", "Shivpur", "Ramnagar", "Kothi", "Bishunpur",
]
# fmt: on
LINKS = ("swan", "broadband", "4g", "none")

# category code: weight, warranty years, cost range (INR), [(maker, model), ...]
CATALOGUE = {
    "DSK": (
        30,
        3,
        (38000, 72000),
        [
            ("HP", "ProDesk 400 G7"),
            ("HP", "EliteDesk 800 G6"),
            ("Dell", "OptiPlex 3080"),
            ("Dell", "OptiPlex 7090"),
            ("Lenovo", "ThinkCentre M70t"),
            ("Acer", "Veriton M200"),
            ("HCL", "Infiniti Pro BL1250"),
        ],
    ),
    "LAP": (4, 3, (45000, 85000), [("Dell", "Latitude 3420"), ("HP", "ProBook 440 G8")]),
    "PRN": (
        12,
        1,
        (9000, 28000),
        [
            ("HP", "LaserJet Pro M126nw"),
            ("HP", "LaserJet M1136"),
            ("Canon", "imageCLASS MF244dw"),
            ("Epson", "EcoTank L3150"),
            ("Brother", "HL-L2321D"),
        ],
    ),
    "SCN": (
        6,
        1,
        (6000, 30000),
        [("Canon", "CanoScan LiDE 300"), ("Epson", "Perfection V39"), ("HP", "ScanJet Pro 2500")],
    ),
    "UPS": (
        14,
        2,
        (4500, 22000),
        [
            ("APC", "Back-UPS BX600C-IN"),
            ("APC", "Smart-UPS SRC1KI"),
            ("Microtek", "Legend 1KVA"),
            ("Luminous", "Cruze 1KVA"),
        ],
    ),
    "BIO": (
        10,
        1,
        (2500, 6000),
        [
            ("Mantra", "MFS100"),
            ("Morpho", "MSO 1300 E3"),
            ("Startek", "FM220U"),
            ("SecuGen", "Hamster Pro 20"),
        ],
    ),
    "RTR": (
        3,
        3,
        (25000, 95000),
        [("Cisco", "ISR 1111-4P"), ("Cisco", "2901"), ("Juniper", "SRX300"), ("MikroTik", "hEX")],
    ),
    "SWT": (
        4,
        3,
        (3000, 45000),
        [
            ("Cisco", "Catalyst 2960-L"),
            ("D-Link", "DES-1210-28"),
            ("Netgear", "GS308"),
            ("TP-Link", "TL-SG1024D"),
        ],
    ),
    "FWL": (0.5, 3, (60000, 150000), [("Fortinet", "FortiGate 60F"), ("Sophos", "XGS 107")]),
    "MDM": (
        2,
        1,
        (1500, 5000),
        [("TP-Link", "TD-W8961N"), ("Huawei", "E3372"), ("Syrotech", "GPON ONT SY-GPON")],
    ),
    "WAP": (
        2,
        2,
        (4000, 25000),
        [("TP-Link", "EAP225"), ("Cisco", "Aironet 1832i"), ("Ubiquiti", "UniFi AP AC Lite")],
    ),
    "PRJ": (
        3,
        2,
        (35000, 90000),
        [
            ("Epson", "EB-X51"),
            ("BenQ", "MX560"),
            ("Sony", "VPL-DX221"),
            ("ViewSonic", "PA503X"),
        ],
    ),
    "VCC": (
        1.5,
        3,
        (150000, 450000),
        [("Poly", "Studio X30"), ("Cisco", "Webex Room Kit Mini"), ("Yealink", "MeetingBar A20")],
    ),
    "CAM": (
        1.5,
        2,
        (40000, 160000),
        [("Logitech", "PTZ Pro 2"), ("Poly", "EagleEye IV"), ("Yealink", "UVC30")],
    ),
    "MIC": (
        1.5,
        2,
        (8000, 40000),
        [("Logitech", "Rally Mic Pod"), ("Yealink", "VCM34"), ("Poly", "Sync 20")],
    ),
    "DSP": (
        1.5,
        3,
        (45000, 120000),
        [("Samsung", "QM55R"), ("LG", "55UR640S"), ("Sony", "KD-55X80")],
    ),
    "OTH": (3, 1, (500, 15000), []),
}
NETWORKED = {"RTR", "SWT", "FWL", "MDM", "WAP", "VCC"}
STATUSES = (
    ("deployed", 70),
    ("in_store", 10),
    ("under_repair", 8),
    ("non_functional", 7),
    ("condemned", 5),
)
SUPPLIERS = ("UPDESCO", "GeM seller: Sai Computers", "GeM seller: Om Infotech", "Shree Systems")
AMC_VENDORS = ("Sai Computers", "Om Infotech", "UPDESCO", "Devipatan Systems")
BUDGET_HEADS = ("e-District", "SWAN", "State plan", "14th FC", "District mineral fund")
CUSTODIANS = (
    "Ram Prakash",
    "Sunita Devi",
    "Anil Kumar Verma",
    "Shabnam Bano",
    "Rajesh Tiwari",
    "Pooja Mishra",
    "Mohd. Arif",
    "Vinod Yadav",
)
ROOMS = ("Counter 1", "Counter 2", "Counter 3", "Server room", "Meeting hall", "Store", "")


# --- the database -----------------------------------------------------------------------


@dataclass
class Target:
    url: str
    folder: Path | None = None
    cleanup: Callable[[], None] = lambda: None


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def prepare_database(args) -> Target:
    if args.database_url and not args.database_url.startswith("sqlite"):
        admin_url = sqlalchemy_url(args.database_url)
        name = f"sampada_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(False)

        def drop() -> None:
            if args.keep:
                print(f"Kept the database {name}.")
            else:
                with admin.connect() as conn:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return Target(url=url, cleanup=drop)
    if args.database_url:
        return Target(url=args.database_url)
    if args.keep:
        folder = Path(args.keep).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return Target(url=f"sqlite:///{folder / SQLITE_NAME}", folder=folder)
    folder = Path(tempfile.mkdtemp(prefix="sampada-bench-"))
    return Target(
        url=f"sqlite:///{folder / SQLITE_NAME}",
        folder=folder,
        cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
    )


def make_app(url: str, instance: Path):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret-key",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 1024,
            "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
            "CREDENTIALS_KEY_FILE": str(instance / "credentials.key"),
        }
    )


def upgrade_schema() -> None:
    from flask_migrate import upgrade

    upgrade(directory=MIGRATIONS_DIR)


# --- seeding ----------------------------------------------------------------------------


def _chunks(rows: list[dict], size: int = 5000) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(n_assets: int, rng: random.Random) -> None:
    """Sites, catalogue and n_assets assets, with bulk Core inserts."""
    from flask import current_app

    from inventory.assets.models import Asset, TagSequence
    from inventory.assets.services import _render_tag
    from inventory.audit.models import ChangeLog
    from inventory.catalog.models import AssetModel, Category, Manufacturer
    from inventory.catalog.services import ensure_default_categories
    from inventory.sites.models import Site

    now = datetime.now(UTC)
    ensure_default_categories()
    db.session.commit()
    categories = {c.code: c.id for c in db.session.scalars(sa.select(Category))}

    # Manufacturers and models (~60), through Core too: few rows, but no history wanted.
    makers = sorted({maker for *_, pairs in CATALOGUE.values() for maker, _name in pairs})
    db.session.execute(
        sa.insert(Manufacturer.__table__),
        [{"name": m, "created_at": now, "updated_at": now} for m in makers],
    )
    maker_ids = dict(db.session.execute(sa.select(Manufacturer.name, Manufacturer.id)).all())
    model_rows = [
        {
            "manufacturer_id": maker_ids[maker],
            "category_id": categories[code],
            "name": name,
            "created_at": now,
            "updated_at": now,
        }
        for code, (*_, pairs) in CATALOGUE.items()
        for maker, name in pairs
    ]
    db.session.execute(sa.insert(AssetModel.__table__), model_rows)
    models_by_cat: dict[int, list[int]] = {}
    for model_id, category_id in db.session.execute(
        sa.select(AssetModel.id, AssetModel.category_id)
    ):
        models_by_cat.setdefault(category_id, []).append(model_id)

    # Sites: HQ > tehsils > blocks / municipalities > offices / CSCs (about 600).
    sites: list[dict] = []
    weights: list[float] = []

    def add_site(code, name_en, name_hi, kind, parent, weight):
        site_id = len(sites) + 1
        sites.append(
            {
                "id": site_id,
                "code": code,
                "name_en": name_en,
                "name_hi": name_hi,
                "kind": kind,
                "parent_id": parent,
                "address": f"{name_en}, Gonda, Uttar Pradesh",
                "contact_name": rng.choice(CUSTODIANS),
                "contact_phone": f"9{rng.randrange(10**8, 10**9)}",
                "link_type": rng.choice(LINKS) if kind == "csc" else "swan",
                "notes": "",
                "created_at": now,
                "updated_at": now,
            }
        )
        weights.append(weight)
        return site_id

    hq = add_site("GON-HQ", "Gonda HQ", "गोण्डा मुख्यालय", "district_hq", None, 5)
    for i, (en, hi) in enumerate(HQ_OFFICES, 1):
        add_site(f"GON-HQ-{i:02d}", en, hi, "office", hq, 60)
    csc_no = 0
    for tcode, ten, thi, blocks, municipality in TEHSILS:
        tehsil = add_site(f"TEH-{tcode}", f"{ten} tehsil", f"{thi} तहसील", "tehsil", hq, 10)
        add_site(f"TEH-{tcode}-SDM", f"SDM office {ten}", f"उपजिलाधिकारी कार्यालय {thi}",
                 "office", tehsil, 40)  # fmt: skip
        parents = [(en, hi, "block") for en, hi in blocks]
        if municipality:
            parents.append((*municipality, "municipality"))
        for en, hi, kind in parents:
            prefix = "BLK" if kind == "block" else "NPP"
            code = f"{prefix}-{en.upper().replace(' ', '')[:6]}"
            label = "block" if kind == "block" else "nagar palika"
            parent = add_site(code, f"{en} {label}", hi, kind, tehsil, 25)
            for _ in range(30):
                csc_no += 1
                village = rng.choice(VILLAGES)
                add_site(f"CSC-{csc_no:04d}", f"CSC {village} ({en})",
                         f"जनसेवा केन्द्र {village}", "csc", parent, 1)  # fmt: skip
    for chunk in _chunks(sites, 1000):
        db.session.execute(sa.insert(Site.__table__), chunk)

    # Assets.
    pattern = current_app.config["TAG_PATTERN"]
    district = current_app.config["DISTRICT_CODE"]
    codes = list(CATALOGUE)
    cat_weights = [CATALOGUE[c][0] for c in codes]
    status_values = [s for s, _w in STATUSES]
    status_weights = [w for _s, w in STATUSES]
    site_ids = [s["id"] for s in sites]
    sequences: dict[str, int] = {}
    serials: set[tuple[int | None, str]] = set()
    today = date.today()
    first_purchase = date(2014, 4, 1)
    span = (today - first_purchase).days - 10
    assets: list[dict] = []
    history: list[dict] = []
    for asset_id in range(1, n_assets + 1):
        code = rng.choices(codes, cat_weights)[0]
        _w, warranty_years, (low, high), _pairs = CATALOGUE[code]
        category_id = categories[code]
        sequences[code] = sequences.get(code, 0) + 1
        tag = _render_tag(
            pattern, sequences[code], {"district": district, "category": code}
        ).upper()
        candidates = models_by_cat.get(category_id)
        model_id = rng.choice(candidates) if candidates else None
        while True:
            serial = "".join(rng.choices(string.ascii_uppercase + string.digits, k=10))
            if (model_id, serial) not in serials:
                serials.add((model_id, serial))
                break
        purchase = first_purchase + timedelta(days=rng.randrange(span))
        warranty_end = purchase + timedelta(days=365 * warranty_years)
        has_amc = rng.random() < 0.4
        site_id = rng.choices(site_ids, weights)[0]
        status = rng.choices(status_values, status_weights)[0]
        address = ""
        if code in NETWORKED:
            address = f"10.{site_id // 250}.{site_id % 250}.{(asset_id % 250) + 1}"
        assets.append(
            {
                "id": asset_id,
                "tag": tag,
                "category_id": category_id,
                "model_id": model_id,
                "serial": serial,
                "status": status,
                "site_id": site_id,
                "location": rng.choice(ROOMS),
                "custodian": rng.choice(CUSTODIANS),
                "purchase_date": purchase,
                "purchase_cost": Decimal(rng.randrange(low, high)),
                "supplier": rng.choice(SUPPLIERS),
                "order_reference": f"GEMC-{rng.randrange(10**11, 10**12)}",
                "budget_head": rng.choice(BUDGET_HEADS),
                "warranty_end": warranty_end,
                "amc_vendor": rng.choice(AMC_VENDORS) if has_amc else "",
                "amc_end": warranty_end + timedelta(days=365 * rng.randint(1, 3))
                if has_amc
                else None,
                "management_address": address,
                "credential_profile_id": None,
                "notes": "",
                "last_verified_at": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        history.append(
            {
                "created_at": now,
                "actor_id": None,
                "actor_name": "system",
                "object_type": "assets",
                "object_id": asset_id,
                "object_label": tag,
                "action": "create",
                "changes": {
                    "tag": [None, tag],
                    "site_id": [None, site_id],
                    "status": [None, status],
                },
            }
        )
    for chunk in _chunks(assets):
        db.session.execute(sa.insert(Asset.__table__), chunk)
    for chunk in _chunks(history):
        db.session.execute(sa.insert(ChangeLog.__table__), chunk)
    db.session.execute(
        sa.insert(TagSequence.__table__),
        [
            {
                "prefix": _render_tag(pattern, None, {"district": district, "category": c}),
                "last_value": v,
            }
            for c, v in sequences.items()
        ],
    )
    if db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences on
        for table in ("sites", "assets"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def make_viewer(app):
    from inventory.auth.services import create_user, get_user_by_username

    if get_user_by_username("bench-viewer") is None:
        create_user("bench-viewer", PASSWORD, "viewer", full_name="Benchmark viewer")
        db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": "bench-viewer", "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"Could not sign in as the viewer: {response.status_code}")
    return client


# --- measuring --------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    urls: list[str]
    app_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: int = 0
    matches: int | None = None
    statements: dict[str, list[tuple[str, object]]] = field(default_factory=dict)


class Recorder:
    """Collects the statements the app sends to the driver while it is switched on."""

    def __init__(self, engine):
        self.active = False
        self.statements: list[tuple[str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, object]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


def _touches_register(statement: str) -> bool:
    lowered = statement.lower()
    return ("from assets" in lowered or "from change_log" in lowered) and not lowered.startswith(
        ("insert", "update", "delete")
    )


def build_scenarios(n_requests: int, rng: random.Random) -> list[Scenario]:
    from inventory.assets.models import Asset
    from inventory.catalog.models import Category
    from inventory.sites.models import Site

    total = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
    pages = max(1, -(-total // 50))
    tags = db.session.scalars(sa.select(Asset.tag).order_by(sa.func.random()).limit(5)).all()
    serials = db.session.scalars(
        sa.select(Asset.serial).where(Asset.serial.is_not(None)).order_by(sa.func.random()).limit(5)
    ).all()
    tehsils = db.session.scalars(sa.select(Site.id).where(Site.kind == "tehsil")).all()
    desktop = db.session.scalar(sa.select(Category.id).where(Category.code == "DSK"))
    max_id = db.session.scalar(sa.select(sa.func.max(Asset.id)))
    ids = [rng.randint(1, max_id) for _ in range(min(n_requests, 25))]
    return [
        Scenario("list, page 1", ["/assets/"]),
        Scenario(
            "list, deep page",
            [f"/assets/?page={max(1, pages * 3 // 4)}", f"/assets/?page={max(1, pages // 2)}"],
        ),
        Scenario("search: tag fragment", [f"/assets/?q={t[-7:]}" for t in tags]),
        Scenario("search: serial fragment", [f"/assets/?q={s[2:7]}" for s in serials]),
        Scenario("search: model name", ["/assets/?q=OptiPlex", "/assets/?q=laserjet"]),
        Scenario("search: site name", ["/assets/?q=Babhanjot", "/assets/?q=mankapur"]),
        Scenario(
            "filter: tehsil+status+cat",
            [f"/assets/?site={t}&status=deployed&category={desktop}" for t in tehsils],
        ),
        Scenario(
            "warranty expiring 90 days",
            ["/assets/?expiring=warranty&within=90", "/assets/?expiring=warranty&within=90&page=3"],
        ),
        Scenario("sorted by site", ["/assets/?sort=site", "/assets/?sort=site&dir=desc"]),
        Scenario("sorted by warranty desc", ["/assets/?sort=warranty_end&dir=desc"]),
        Scenario("asset detail", [f"/assets/{i}" for i in ids]),
    ]


def run_sql(raw, statements: list[tuple[str, object]]) -> int | None:
    """Execute statements straight through the DB-API cursor and return how many assets match:
    the count query's answer, or the rows of the first page when the app needed no count."""
    count = first_page = None
    cursor = raw.cursor()
    try:
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            rows = cursor.fetchall()
            lowered = statement.lower()
            if count is None and "select count(" in lowered:
                count = rows[0][0]
            elif first_page is None and "limit" in lowered:
                first_page = len(rows)
    finally:
        cursor.close()
    raw.rollback()
    return count if count is not None else first_page


def measure(client, recorder: Recorder, scenario: Scenario, n_requests: int) -> None:
    raw = db.engine.raw_connection()
    try:
        for url in scenario.urls:  # warm-up request: also records the statements it sends
            with recorder.recording() as statements:
                response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            scenario.queries = max(scenario.queries, len(statements))
            scenario.statements[url] = [s for s in statements if _touches_register(s[0])]
        for i in range(n_requests):
            url = scenario.urls[i % len(scenario.urls)]
            start = time.perf_counter()
            response = client.get(url)
            scenario.app_ms.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        for i in range(n_requests):
            statements = scenario.statements[scenario.urls[i % len(scenario.urls)]]
            start = time.perf_counter()
            count = run_sql(raw, statements)
            scenario.sql_ms.append((time.perf_counter() - start) * 1000)
            if i == 0:
                scenario.matches = count
    finally:
        raw.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def print_table(scenarios: list[Scenario], dialect: str) -> bool:
    header = (
        f"{'scenario':<27} {'matches':>7} {'qry':>3} | {'app p50':>7} {'p95':>7} {'max':>7} |"
        f" {'sql p50':>7} {'p95':>7} | {'app/sql':>7} | p95 < {TARGET_MS:.0f} ms"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for s in scenarios:
        app50, app95, appmax = pct(s.app_ms, 0.5), pct(s.app_ms, 0.95), max(s.app_ms)
        sql50, sql95 = pct(s.sql_ms, 0.5), pct(s.sql_ms, 0.95)
        ok = app95 < TARGET_MS
        all_ok &= ok
        matches = "" if s.matches is None else str(s.matches)
        ratio = app50 / sql50 if sql50 > 0 else float("inf")
        print(
            f"{s.name:<27} {matches:>7} {s.queries:>3} | {app50:7.1f} {app95:7.1f} {appmax:7.1f} |"
            f" {sql50:7.1f} {sql95:7.1f} | {ratio:7.1f} | {'ok' if ok else 'OVER'}"
        )
    print(
        "\nms per request. app: Flask test client in process, signed in as a viewer (session"
        " check, forms, query, template).\nsql: the page's own statements that read assets or"
        " change_log (count + page, or asset + history),\nreplayed through the bare DB driver."
        f" qry: statements per request. Target from issue 2: p95 < {TARGET_MS:.0f} ms"
        f" (on SQLite; this run: {dialect})."
    )
    return all_ok


def describe(dialect: str, n_requests: int) -> None:
    from inventory.assets.models import Asset
    from inventory.sites.models import Site

    assets = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
    sites = db.session.scalar(sa.select(sa.func.count()).select_from(Site))
    engine = db.engine.dialect.server_version_info or ()
    print(
        f"{assets:,} assets at {sites} sites; {n_requests} requests per scenario after one"
        f" warm-up per URL. {dialect} {'.'.join(map(str, engine))}, Python"
        f" {platform.python_version()}, load average"
        f" {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=100_000, help="assets to seed")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per scenario")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="keep the SQLite database in DIR (reused, not re-seeded, when it exists); with "
        "PostgreSQL, keep the created database",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server's admin URL (a database is created there and dropped), or "
        "an SQLite URL to use as it is",
    )
    parser.add_argument("--seed", type=int, default=20261129, help="random seed")
    parser.add_argument("--only", help="run only scenarios whose name contains this text")
    parser.add_argument("--check", action="store_true", help="exit 1 when a p95 is over target")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    target = prepare_database(args)
    instance = Path(tempfile.mkdtemp(prefix="sampada-bench-instance-"))
    try:
        app = make_app(target.url, instance)
        with app.app_context():
            dialect = db.engine.dialect.name
            upgrade_schema()
            from inventory.assets.models import Asset

            existing = db.session.scalar(sa.select(sa.func.count()).select_from(Asset))
            if existing:
                print(f"Using the existing database with {existing:,} assets ({target.url}).")
            else:
                start = time.perf_counter()
                seed(args.assets, rng)
                print(
                    f"Seeded {args.assets:,} assets on {dialect} in"
                    f" {time.perf_counter() - start:.1f} s ({target.url})."
                )
            client = make_viewer(app)
            scenarios = build_scenarios(args.requests, rng)
            recorder = Recorder(db.engine)
            describe(dialect, args.requests)
            db.session.remove()
        if args.only:
            scenarios = [s for s in scenarios if args.only.lower() in s.name.lower()]
        for scenario in scenarios:
            with app.app_context():
                measure(client, recorder, scenario, args.requests)
        print()
        ok = print_table(scenarios, dialect)
        print(
            f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on"
            f" {os.cpu_count()} CPUs. On a shared machine the figures are noisy: run it twice."
        )
        with app.app_context():
            db.engine.dispose()
    finally:
        target.cleanup()
        shutil.rmtree(instance, ignore_errors=True)
    if args.keep and target.folder:
        print(f"Database kept in {target.folder / SQLITE_NAME}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
