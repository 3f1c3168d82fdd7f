"""The Gonda district demo data set: `inventory demo` (safe to run again; it changes nothing then).

The register below is plain data: the district's sites, what each kind of office holds,
the models a UP government office buys on GeM, and the few things that are broken or
expiring so that the dashboards have something to say. The loader at the bottom turns it
into rows through the services, so the first load is recorded in the change history.

Contact names, phone numbers, suppliers, AMC vendors, serials and order numbers are
fictional. Management addresses are loopback only: 127.20.<site number>.<device number>,
where the site number is the row of SITES (1-based) and the device number counts the
managed devices of that site in kit order (an asset in store keeps its number); simulated
SNMP, PJLink, VC and SSH peers (`inventory agents`) bind to them.

The VC-readiness board has six offices that are not ready, one reason each (see TROUBLE,
the tickets in inventory/tickets/demo.py and the history in inventory/devices/demo.py):
Paraspur's codec is silent, Katra Bazar's router is down, Tarabganj tehsil's UPS battery is
dead, Itiyathok has no working display or projector, Nawabganj municipality has an open
critical ticket on its camera and Mujehana's codec is still in store. The e-Governance
cell's SWAN router is managed over SSH (port DEMO_SSH_PORT) for the nightly config backup.
The first load also writes 30 days of recorded history (VC checks, projector samples, UPS
hourly figures, a router's down/up events), so the board's 30-day readiness has something
to show; the live jobs carry on from there.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import click
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask.cli import with_appcontext

# --- who signs in -----------------------------------------------------------------------

# username, password, role, full name
DEMO_USERS = (
    ("admin", "demo-admin-pass", "admin", "District Informatics Officer (demo)"),
    ("manager", "demo-manager-pass", "manager", "e-District Manager (demo)"),
    ("engineer", "demo-engineer-pass", "engineer", "AMC field engineer (demo)"),
    ("viewer", "demo-viewer-pass", "viewer", "DM office (demo)"),
)

# --- how the monitoring talks to devices ------------------------------------------------

SWAN_PROFILE = "SWAN routers v3"
OFFICE_PROFILE = "Office devices v2c"
# name, description, plain settings, secrets (demo values; simulated agents use the same).
# Port 16161, not 161: the simulated agents (`inventory agents`) need no root to listen there.
DEMO_SNMP_PORT = 16161
# The e-Governance cell's SWAN router is managed over SSH (cisco_ios) on this port: a
# simulated router (fake-switches) listens there, no root needed.
DEMO_SSH_PORT = 2222
SSH_SITE = "GON-EGC"
CREDENTIAL_PROFILES = (
    (
        SWAN_PROFILE,
        "SNMPv3 read-only user on SWAN routers, switches and firewalls; SSH for backups.",
        {
            "snmp_version": "v3",
            "snmp_port": DEMO_SNMP_PORT,
            "snmp_username": "degs-monitor",
            "snmp_auth_protocol": "sha",
            "snmp_priv_protocol": "aes",
            "ssh_username": "degs-backup",
        },
        {
            "snmp_auth_key": "gonda-swan-auth-key",
            "snmp_priv_key": "gonda-swan-priv-key",
            "ssh_password": "gonda-swan-ssh-pass",
        },
    ),
    (
        OFFICE_PROFILE,
        "SNMP v2c read-only community for printers, UPS units, projectors and VC codecs.",
        {"snmp_version": "v2c", "snmp_port": DEMO_SNMP_PORT},
        {"snmp_community": "gonda-office-ro"},
    ),
)

# --- the sites --------------------------------------------------------------------------

SWAN, BROADBAND, CELLULAR = "swan", "broadband", "4g"

# code, parent, kind, English name, Hindi name, link, contact person (fictional)
SITES = (
    ("GON-HQ", None, "district_hq", "Gonda", "गोण्डा", SWAN, "Alok Srivastava"),
    ("GON-COL", "GON-HQ", "office", "Collectorate", "कलेक्ट्रेट", SWAN, "Ramesh Chandra Tiwari"),
    ("GON-EGC", "GON-HQ", "office", "e-Governance cell (NIC)", "ई-गवर्नेंस सेल", SWAN,
     "Neha Agarwal"),
    ("GON-CDO", "GON-HQ", "office", "CDO office", "मुख्य विकास अधिकारी कार्यालय", SWAN,
     "Vinod Kumar Pandey"),
    ("TEH-SDR", "GON-HQ", "tehsil", "Gonda Sadar", "सदर", SWAN, "Sanjay Mishra"),
    ("TEH-CLG", "GON-HQ", "tehsil", "Colonelganj", "करनैलगंज", SWAN, "Pradeep Singh"),
    ("TEH-TRB", "GON-HQ", "tehsil", "Tarabganj", "तरबगंज", SWAN, "Manoj Kumar Shukla"),
    ("TEH-MNK", "GON-HQ", "tehsil", "Mankapur", "मनकापुर", SWAN, "Rajesh Yadav"),
    ("BLK-JHJ", "TEH-SDR", "block", "Jhanjhari", "झंझरी", SWAN, "Arvind Kumar"),
    ("BLK-PDK", "TEH-SDR", "block", "Pandri Kripal", "पण्डरी कृपाल", SWAN, "Sunita Devi"),
    ("BLK-RPD", "TEH-SDR", "block", "Rupaideeh", "रुपईडीह", BROADBAND, "Dinesh Chandra"),
    ("BLK-ITY", "TEH-SDR", "block", "Itiyathok", "इटियाथोक", SWAN, "Mohd. Irfan"),
    ("BLK-HDM", "TEH-SDR", "block", "Haldharmau", "हलधरमऊ", SWAN, "Kamlesh Verma"),
    ("BLK-CLG", "TEH-CLG", "block", "Colonelganj", "करनैलगंज", SWAN, "Ashok Kumar Gupta"),
    ("BLK-KTB", "TEH-CLG", "block", "Katra Bazar", "कटरा बाजार", SWAN, "Rekha Singh"),
    ("BLK-PSP", "TEH-CLG", "block", "Paraspur", "परसपुर", SWAN, "Shiv Prasad"),
    ("BLK-TRB", "TEH-TRB", "block", "Tarabganj", "तरबगंज", SWAN, "Umesh Chandra Ojha"),
    ("BLK-NWB", "TEH-TRB", "block", "Nawabganj", "नवाबगंज", SWAN, "Santosh Kumar"),
    ("BLK-BLS", "TEH-TRB", "block", "Belsar", "बेलसर", SWAN, "Anita Maurya"),
    ("BLK-WZG", "TEH-TRB", "block", "Wazirganj", "वजीरगंज", SWAN, "Ram Sagar"),
    ("BLK-MNK", "TEH-MNK", "block", "Mankapur", "मनकापुर", SWAN, "Naveen Tripathi"),
    ("BLK-BBJ", "TEH-MNK", "block", "Babhanjot", "बभनजोत", SWAN, "Girish Chandra"),
    ("BLK-CHP", "TEH-MNK", "block", "Chhapia", "छपिया", SWAN, "Pooja Srivastava"),
    ("BLK-MJH", "TEH-MNK", "block", "Mujehana", "मुजेहना", CELLULAR, "Hari Om Dubey"),
    ("MUN-GON", "TEH-SDR", "municipality", "Gonda Municipal Council", "नगर पालिका परिषद गोण्डा",
     BROADBAND, "Vikas Saxena"),
    ("MUN-NWB", "TEH-TRB", "municipality", "Nawabganj Municipal Council",
     "नगर पालिका परिषद नवाबगंज", BROADBAND, "Deepak Jaiswal"),
    ("MUN-CLG", "TEH-CLG", "municipality", "Colonelganj Municipal Council",
     "नगर पालिका परिषद करनैलगंज", BROADBAND, "Rohit Agrahari"),
    ("CSC-JHJ-01", "BLK-JHJ", "csc", "Jan Seva Kendra Paharapur", "जनसेवा केन्द्र पहाड़पुर",
     CELLULAR, "Amit Kumar Maurya"),
    ("CSC-ITY-01", "BLK-ITY", "csc", "Jan Seva Kendra Bishunpur", "जनसेवा केन्द्र बिशुनपुर",
     BROADBAND, "Saurabh Pandey"),
    ("CSC-CLG-01", "BLK-CLG", "csc", "Jan Seva Kendra Sarai", "जनसेवा केन्द्र सराय", CELLULAR,
     "Ravi Shankar"),
    ("CSC-NWB-01", "BLK-NWB", "csc", "Jan Seva Kendra Madhavpur", "जनसेवा केन्द्र माधवपुर",
     CELLULAR, "Priyanka Gupta"),
    ("CSC-WZG-01", "BLK-WZG", "csc", "Jan Seva Kendra Devipur", "जनसेवा केन्द्र देवीपुर",
     CELLULAR, "Anuj Tiwari"),
    ("CSC-MNK-01", "BLK-MNK", "csc", "Jan Seva Kendra Rampur", "जनसेवा केन्द्र रामपुर", BROADBAND,
     "Sachin Yadav"),
    ("CSC-BBJ-01", "BLK-BBJ", "csc", "Jan Seva Kendra Sonpur", "जनसेवा केन्द्र सोनपुर", CELLULAR,
     "Mukesh Kumar"),
)  # fmt: skip

ADDRESSES = {
    "district_hq": "Collectorate campus, Gonda, Uttar Pradesh 271001",
    "office": "Collectorate campus, Gonda, Uttar Pradesh 271001",
    "tehsil": "Tehsil campus, {name}, district Gonda, Uttar Pradesh",
    "block": "Vikas Khand office, {name}, district Gonda, Uttar Pradesh",
    "municipality": "Nagar Palika Parishad office, {town}, district Gonda, Uttar Pradesh",
    "csc": "Gram panchayat {village}, block {parent}, district Gonda, Uttar Pradesh",
}
SITE_NOTES = {  # by site code, or by kind for all sites of that kind
    "GON-HQ": "A 17th block, Khargupur (खरगूपुर), has been sanctioned; add it when its office "
    "opens. Demo data: names and phone numbers are fictional.",
    "GON-COL": "The meeting hall (सभागार) is where the DM holds review meetings and VCs.",
    "GON-EGC": "District Informatics Officer (NIC) and the e-District Manager; server rack.",
    "BLK-RPD": "SWAN point of presence not commissioned yet; BSNL FTTH broadband meanwhile.",
    "BLK-MJH": "SWAN link down since the road widening cut the fibre; 4G router meanwhile.",
    "csc": "Run by a village-level entrepreneur (VLE); supported by the District Service "
    "Provider. The village name is illustrative.",
}

# --- what is bought, from whom ----------------------------------------------------------

DEGS, EDISTRICT, DIGITAL_INDIA, CSC_SHARE = (
    "DeGS fund",
    "e-District project",
    "Digital India",
    "CSC user charges (DeGS share)",
)
SUPPLIERS = (
    "Saryu Systems Pvt. Ltd., Gonda",
    "Devipatan Infotech, Gonda",
    "Awadh Computer House, Lucknow",
    "Gomti Technologies Pvt. Ltd., Lucknow",
    "Purvanchal Digital Solutions, Ayodhya",
)


class Model(NamedTuple):
    maker: str
    name: str
    years: tuple[int, int]  # when offices bought this model
    cost: int  # INR, before the usual few per cent either way
    serial: str  # '#' digit, '@' letter, '*' letter or digit, anything else as is


# item: category code, warranty years, has a management address, models
CATALOGUE: dict[str, tuple[str, int, bool, tuple[Model, ...]]] = {
    "desktop": ("DSK", 3, False, (
        Model("HP", "ProDesk 400 G4 MT", (2016, 2018), 48500, "INA###****"),
        Model("HP", "ProDesk 400 G7 MT", (2020, 2022), 56900, "INA###****"),
        Model("HP", "Pro Tower 280 G9", (2023, 2025), 52400, "INA###****"),
        Model("Dell", "OptiPlex 3050 MT", (2016, 2018), 47200, "*******"),
        Model("Dell", "OptiPlex 3070 MT", (2019, 2020), 51800, "*******"),
        Model("Dell", "OptiPlex 3000 Tower", (2022, 2024), 54300, "*******"),
        Model("Lenovo", "ThinkCentre M720t", (2018, 2020), 50600, "PC******"),
        Model("Lenovo", "ThinkCentre neo 50t", (2022, 2025), 49900, "PC******"),
    )),
    "laptop": ("LAP", 3, False, (
        Model("HP", "ProBook 440 G9", (2021, 2024), 68500, "5CD####***"),
        Model("Dell", "Latitude 3420", (2021, 2023), 64900, "*******"),
    )),
    "printer": ("PRN", 1, True, (
        Model("HP", "LaserJet Pro M402dn", (2016, 2018), 17800, "PHB@######"),
        Model("HP", "LaserJet Pro M404dn", (2019, 2022), 21400, "PHB@######"),
        Model("HP", "LaserJet Pro 4003dn", (2022, 2025), 24900, "PHB@######"),
        Model("Canon", "imageCLASS LBP223dw", (2019, 2023), 19600, "@@@#####"),
        Model("Canon", "imageRUNNER 2206N", (2019, 2024), 62500, "@@@#####"),
    )),
    "mfp": ("PRN", 1, True, (
        Model("HP", "LaserJet Pro MFP M428fdn", (2019, 2023), 38900, "PHB@######"),
        Model("Canon", "imageCLASS MF264dw II", (2022, 2025), 27800, "@@@#####"),
    )),
    "scanner": ("SCN", 1, False, (
        Model("Canon", "imageFORMULA DR-C225 II", (2018, 2023), 31500, "@@######"),
        Model("Epson", "WorkForce DS-530 II", (2020, 2024), 42800, "X@@@######"),
    )),
    "biometric": ("BIO", 1, False, (
        Model("Mantra", "MFS100", (2017, 2023), 2450, "#######"),
        Model("Mantra", "MFS110 L1", (2024, 2025), 2950, "#######"),
        Model("Morpho", "MSO 1300 E3", (2019, 2024), 3100, "##@######"),
    )),
    "ups_line": ("UPS", 2, False, (
        Model("APC", "Back-UPS BX1100C-IN", (2016, 2025), 7450, "#B####V#####"),
        Model("Microtek", "Legend 1100 VA", (2018, 2024), 6200, "MT##########"),
        Model("V-Guard", "Sesto 1100", (2019, 2025), 6600, "VG########"),
    )),
    "ups_online": ("UPS", 2, True, (
        Model("APC", "Smart-UPS SRV3KI (with AP9641 card)", (2016, 2025), 68500, "#S####@#####"),
        Model("Microtek", "Online UPS 3 kVA (with SNMP card)", (2018, 2024), 52800,
              "MO##########"),
        Model("V-Guard", "Online UPS 2 kVA (with SNMP card)", (2019, 2025), 44900, "VO########"),
    )),
    "router_swan": ("RTR", 3, True, (
        Model("Cisco", "1941/K9", (2016, 2017), 98500, "FTX####****"),
        Model("Cisco", "ISR 4221/K9", (2017, 2021), 142000, "FGL####****"),
        Model("Cisco", "ISR 4331/K9", (2017, 2023), 236000, "FDO####****"),
    )),
    "router_broadband": ("RTR", 1, True, (
        Model("TP-Link", "ER605", (2020, 2025), 5900, "22########"),
        Model("D-Link", "DSR-250", (2018, 2023), 14800, "QB##########"),
    )),
    "router_4g": ("RTR", 1, True, (
        Model("TP-Link", "Archer MR600", (2020, 2025), 7900, "22########"),
        Model("D-Link", "DWR-M921", (2019, 2024), 4600, "QX##########"),
    )),
    "switch": ("SWT", 3, True, (
        Model("Cisco", "Catalyst 2960X-24TS-L", (2016, 2019), 89500, "FOC####****"),
        Model("Cisco", "Catalyst 1000-24T-4G-L", (2020, 2024), 64800, "FOC####****"),
        Model("D-Link", "DGS-1210-28", (2016, 2025), 18900, "S3##########"),
    )),
    "core_switch": ("SWT", 3, True, (
        Model("Cisco", "Catalyst 9200L-24T-4G-E", (2020, 2024), 285000, "JAE####****"),
    )),
    "firewall": ("FWL", 3, True, (
        Model("Fortinet", "FortiGate 60F", (2021, 2024), 118000, "FGT60F##########"),
    )),
    "projector": ("PRJ", 3, True, (
        Model("Epson", "EB-X51", (2023, 2025), 46800, "X4NF######"),
        Model("Epson", "EB-E01", (2023, 2025), 33900, "X4NH######"),
        Model("BenQ", "MX560", (2023, 2025), 38500, "PD@@#######"),
        Model("BenQ", "MW560", (2023, 2025), 44200, "PD@@#######"),
    )),
    "hall_projector": ("PRJ", 3, True, (
        Model("Epson", "EB-L520U", (2022, 2025), 268000, "X8RG######"),
    )),
    "vc_codec": ("VCC", 3, True, (
        Model("Poly", "Group 310", (2018, 2021), 248000, "82##########"),
        Model("Poly", "G7500", (2020, 2023), 312000, "82##########"),
        Model("Poly", "Group 500", (2018, 2021), 395000, "82##########"),
    )),
    "vc_camera": ("CAM", 3, False, (
        Model("Poly", "EagleEye IV 4x", (2018, 2023), 128000, "82##########"),
        Model("Poly", "EagleEye IV 12x", (2018, 2023), 186000, "82##########"),
    )),
    "vc_codec_cisco": ("VCC", 3, True, (
        Model("Cisco", "Webex Codec Plus", (2019, 2023), 289000, "FOC####****"),
    )),
    "vc_camera_cisco": ("CAM", 3, False, (
        Model("Cisco", "Precision 60", (2019, 2023), 214000, "FOC####****"),
    )),
    "display": ("DSP", 3, False, (
        Model("Samsung", "QM55B", (2020, 2025), 86500, "0@@@3@@#######"),
        Model("LG", "55UR640S", (2020, 2025), 71900, "###@@@@#####"),
    )),
    "hall_display": ("DSP", 3, False, (
        Model("Samsung", "QM75B", (2020, 2025), 198000, "0@@@3@@#######"),
    )),
    "microphone": ("MIC", 3, False, (
        Model("Poly", "Group Microphone Array", (2018, 2023), 36500, "82##########"),
    )),
}  # fmt: skip


class Kit(NamedTuple):
    """One line of an office's equipment: how many of what, where, in whose custody."""

    item: str
    qty: int
    location: str  # "{n}" is the unit number
    custodian: str
    budget: str
    status: str = "deployed"
    model: str | None = None  # pin one model of the item
    years: tuple[int, int] | None = None  # bought in these years instead of the model's
    note: str = ""


# "router" becomes router_swan, router_broadband or router_4g after the site's link.
KITS: dict[str, tuple[Kit, ...]] = {
    "GON-COL": (
        Kit("desktop", 4, "DM office, desk {n}", "Nazir, Collectorate", DEGS),
        Kit("desktop", 1, "Record room", "Nazir, Collectorate", DEGS, status="condemned",
            model="OptiPlex 3050 MT", years=(2016, 2016),
            note="Condemned by the committee; awaiting e-waste disposal."),
        Kit("printer", 2, "DM office, desk {n}", "Nazir, Collectorate", DEGS),
        Kit("scanner", 1, "DM office, desk 1", "Nazir, Collectorate", DEGS),
        Kit("ups_line", 4, "DM office, desk {n}", "Nazir, Collectorate", DEGS),
        Kit("ups_online", 1, "Meeting hall", "Nazir, Collectorate", DEGS),
        Kit("switch", 1, "Meeting hall rack", "Nazir, Collectorate", DIGITAL_INDIA),
        Kit("hall_projector", 1, "Meeting hall", "Nazir, Collectorate", DEGS),
        Kit("vc_codec", 1, "Meeting hall", "Nazir, Collectorate", DIGITAL_INDIA,
            model="Group 500"),
        Kit("vc_camera", 1, "Meeting hall", "Nazir, Collectorate", DIGITAL_INDIA,
            model="EagleEye IV 12x"),
        Kit("hall_display", 2, "Meeting hall, screen {n}", "Nazir, Collectorate",
            DIGITAL_INDIA),
        Kit("microphone", 2, "Meeting hall, table {n}", "Nazir, Collectorate", DIGITAL_INDIA),
    ),
    "GON-EGC": (
        Kit("router", 1, "Server rack", "DIO (NIC)", DIGITAL_INDIA, model="ISR 4331/K9"),
        Kit("firewall", 1, "Server rack", "DIO (NIC)", DEGS),
        Kit("core_switch", 1, "Server rack", "DIO (NIC)", DEGS),
        Kit("ups_online", 1, "Server rack", "DIO (NIC)", DEGS),
        Kit("desktop", 3, "Cell, desk {n}", "e-District Manager", EDISTRICT),
        Kit("laptop", 2, "Cell, desk {n}", "e-District Manager", DEGS),
        Kit("mfp", 1, "Cell, desk 1", "e-District Manager", DEGS),
        Kit("desktop", 2, "Store room", "e-District Manager", EDISTRICT, status="in_store",
            years=(2025, 2025), note="Spare for the tehsil counters."),
        Kit("projector", 1, "Store room", "e-District Manager", DEGS, status="in_store",
            years=(2025, 2025), note="Spare for the blocks."),
        Kit("biometric", 2, "Store room", "e-District Manager", EDISTRICT, status="in_store"),
    ),
    "GON-CDO": (
        Kit("desktop", 3, "CDO office, desk {n}", "CDO office", DEGS),
        Kit("printer", 1, "CDO office, desk 1", "CDO office", DEGS),
        Kit("ups_line", 3, "CDO office, desk {n}", "CDO office", DEGS),
        Kit("switch", 1, "Network cabinet", "CDO office", DIGITAL_INDIA),
        Kit("projector", 1, "CDO meeting room", "CDO office", DEGS),
    ),
    "tehsil": (
        Kit("desktop", 4, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("printer", 2, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("scanner", 1, "Counter 1", "e-District operator", EDISTRICT),
        Kit("biometric", 2, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("ups_line", 4, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("ups_online", 1, "Server rack", "Nazir, tehsil", DEGS),
        Kit("router", 1, "Server rack", "Nazir, tehsil", DIGITAL_INDIA),
        Kit("switch", 1, "Server rack", "Nazir, tehsil", DIGITAL_INDIA),
        Kit("projector", 1, "Meeting hall", "SDM office", DEGS),
        Kit("vc_codec", 1, "VC room", "SDM office", DIGITAL_INDIA),
        Kit("vc_camera", 1, "VC room", "SDM office", DIGITAL_INDIA),
        Kit("display", 1, "VC room", "SDM office", DIGITAL_INDIA),
    ),
    "block": (
        Kit("desktop", 2, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("printer", 1, "Counter 1", "e-District operator", EDISTRICT),
        Kit("biometric", 1, "Counter 1", "e-District operator", EDISTRICT),
        Kit("ups_line", 2, "Counter {n}", "e-District operator", EDISTRICT),
        Kit("ups_online", 1, "Server rack", "BDO office", DEGS),
        Kit("router", 1, "Server rack", "BDO office", DIGITAL_INDIA),
        Kit("switch", 1, "Server rack", "BDO office", DIGITAL_INDIA),
        Kit("projector", 1, "Meeting hall", "BDO office", DEGS),
        Kit("vc_codec", 1, "Meeting hall", "BDO office", DIGITAL_INDIA),
        Kit("vc_camera", 1, "Meeting hall", "BDO office", DIGITAL_INDIA),
        Kit("display", 1, "Meeting hall", "BDO office", DIGITAL_INDIA),
    ),
    "municipality": (
        Kit("desktop", 3, "Counter {n}", "EO office", DEGS),
        Kit("printer", 1, "Counter 1", "EO office", DEGS),
        Kit("scanner", 1, "Counter 1", "EO office", DEGS),
        Kit("ups_line", 3, "Counter {n}", "EO office", DEGS),
        Kit("ups_online", 1, "Network cabinet", "EO office", DEGS),
        Kit("router", 1, "Network cabinet", "EO office", DIGITAL_INDIA),
        Kit("switch", 1, "Network cabinet", "EO office", DIGITAL_INDIA),
        Kit("vc_codec_cisco", 1, "EO chamber", "EO office", DIGITAL_INDIA),
        Kit("vc_camera_cisco", 1, "EO chamber", "EO office", DIGITAL_INDIA),
        Kit("display", 1, "EO chamber", "EO office", DIGITAL_INDIA),
    ),
    "csc": (
        Kit("desktop", 1, "Counter 1", "VLE", CSC_SHARE),
        Kit("mfp", 1, "Counter 1", "VLE", CSC_SHARE),
        Kit("biometric", 1, "Counter 1", "VLE", CSC_SHARE),
        Kit("ups_line", 1, "Counter 1", "VLE", CSC_SHARE),
        Kit("router", 1, "Counter 1", "VLE", CSC_SHARE),
    ),
}  # fmt: skip

# What the next review will hear about: (site, item) -> status and note of its first unit.
TROUBLE = {
    ("BLK-BLS", "projector"): ("non_functional", "Lamp fused; no spare lamp in stock."),
    ("BLK-PSP", "vc_codec"): ("under_repair", "With the AMC engineer: no video output."),
    ("TEH-TRB", "ups_online"): ("non_functional", "Batteries dead; backup under two minutes."),
    ("MUN-NWB", "vc_camera_cisco"): ("under_repair", "Pan/tilt fault; sent to Lucknow."),
    ("BLK-CHP", "printer"): ("under_repair", "Paper pick-up roller worn; AMC call logged."),
    ("BLK-KTB", "router_swan"): ("non_functional", "Power supply failed; replacement awaited."),
    ("BLK-ITY", "display"): ("non_functional", "Panel cracked while shifting the hall."),
    ("CSC-NWB-01", "mfp"): ("non_functional", "Scanner glass broken; VLE to replace."),
    ("BLK-MJH", "vc_codec"): (
        "in_store",
        "Delivered to the block; installation waits for the SWAN link.",
    ),
}
# Warranties that end within the next few weeks, counted from the day of the first load.
WARRANTY_ENDING_SOON = (
    ("TEH-SDR", "desktop"),
    ("TEH-CLG", "vc_codec"),
    ("BLK-JHJ", "ups_online"),
    ("BLK-WZG", "vc_camera"),
    ("MUN-GON", "display"),
    ("GON-EGC", "firewall"),
    ("BLK-HDM", "desktop"),
)
# AMC after the warranty, per tehsil (and headquarters): vendor and end date, or days from
# the first load for a contract about to lapse. Mankapur has none: the review will ask why.
AMC_CONTRACTS = {
    "GON-HQ": ("Awadh Infotech Services, Lucknow", date(2027, 3, 31)),
    "TEH-SDR": ("Devipatan Computer Care, Gonda", date(2027, 3, 31)),
    "TEH-CLG": ("Saryu Systems Pvt. Ltd., Gonda", 45),
    "TEH-TRB": ("Devipatan Computer Care, Gonda", date(2026, 3, 31)),
}
AMC_ITEMS = {"desktop", "printer", "mfp", "scanner", "ups_line", "ups_online", "router_swan",
             "switch", "core_switch"}  # fmt: skip


# --- the plan: pure, deterministic --------------------------------------------------------


def _serial(rng: random.Random, pattern: str) -> str:
    letters, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "0123456789"
    pools = {"#": digits, "@": letters, "*": letters + digits}
    return "".join(rng.choice(pools[c]) if c in pools else c for c in pattern)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _site_info() -> dict[str, dict]:
    """Each site's row number, kind and the tehsil (or HQ) it belongs to."""
    info: dict[str, dict] = {}
    for number, (code, parent, kind, name_en, *_rest) in enumerate(SITES, start=1):
        cluster = code if kind in ("district_hq", "tehsil") else info[parent]["cluster"]
        info[code] = {"number": number, "kind": kind, "cluster": cluster, "name": name_en}
    return info


def asset_plan(today: date) -> list[dict]:
    """Every demo asset as plain values. Serials never depend on `today`; dates may."""
    info = _site_info()
    plan: list[dict] = []
    seen: set[tuple[str, str, str]] = set()
    for code, _parent, kind, _en, _hi, link, _contact in SITES:
        rng = random.Random(f"gonda-demo:{code}")
        managed = 0
        for kit in KITS.get(code) or KITS.get(kind, ()):
            item = f"router_{link}" if kit.item == "router" else kit.item
            category, warranty_years, has_address, models = CATALOGUE[item]
            # Every random draw happens, in the same order, whatever the date.
            first = min(m.years[0] for m in models)
            last = max(m.years[1] for m in models)
            year = rng.randint(*(kit.years or (first, last)))
            bought = date(year, rng.randint(1, 12), rng.randint(1, 28))
            fitting = [m for m in models if m.years[0] <= year <= m.years[1]] or list(models)
            model = rng.choice(fitting)
            if kit.model:
                model = next(m for m in models if m.name == kit.model)
            supplier = rng.choice(SUPPLIERS)
            order_number = rng.randrange(10**8)
            cost = Decimal(round(model.cost * rng.uniform(0.94, 1.06), -1))
            if (code, item) in WARRANTY_ENDING_SOON:
                ends = today + timedelta(days=12 + 11 * WARRANTY_ENDING_SOON.index((code, item)))
                bought = _years_later(ends, -warranty_years) + timedelta(days=1)
            bought = min(bought, today - timedelta(days=30))
            warranty_end = _years_later(bought, warranty_years) - timedelta(days=1)
            if bought >= date(2016, 9, 1):
                order = f"GEMC-5116877{order_number:08d}"
            else:  # before the Government e-Marketplace
                year_span = f"{bought.year}-{(bought.year + 1) % 100:02d}"
                order = f"DeGS/GON/{year_span}/PO-{order_number % 97 + 1:02d}"
            amc_vendor, amc_end = "", None
            contract = AMC_CONTRACTS.get(info[code]["cluster"])
            if contract and kind != "csc" and item in AMC_ITEMS and warranty_end < today:
                amc_vendor, amc_end = contract
                if isinstance(amc_end, int):
                    amc_end = today + timedelta(days=amc_end)
            for n in range(1, kit.qty + 1):
                serial = _serial(rng, model.serial)
                while (model.maker, model.name, serial) in seen:
                    serial = _serial(rng, model.serial)
                seen.add((model.maker, model.name, serial))
                status, note = kit.status, kit.note
                if n == 1 and (code, item) in TROUBLE:
                    status, note = TROUBLE[(code, item)]
                address, profile = "", None
                if has_address:
                    managed += 1
                    address = f"127.20.{info[code]['number']}.{managed}"
                    swan_gear = category in ("RTR", "SWT", "FWL") and link == SWAN
                    profile = SWAN_PROFILE if swan_gear else OFFICE_PROFILE
                plan.append(
                    {
                        "site": code,
                        "item": item,
                        "category": category,
                        "maker": model.maker,
                        "model": model.name,
                        "profile": profile,
                        "fields": {
                            "serial": serial,
                            "status": status,
                            "location": kit.location.format(n=n),
                            "custodian": kit.custodian,
                            "purchase_date": bought,
                            "purchase_cost": cost,
                            "supplier": supplier,
                            "order_reference": order,
                            "budget_head": kit.budget,
                            "warranty_end": warranty_end,
                            "amc_vendor": amc_vendor,
                            "amc_end": amc_end,
                            "management_address": address,
                            "notes": note,
                        },
                    }
                )
    return plan


def site_rows() -> list[dict]:
    """The SITES register as create_site arguments (parent by code)."""
    info = _site_info()
    rows = []
    for code, parent, kind, name_en, name_hi, link, contact in SITES:
        parent_name = info[parent]["name"] if parent else ""
        address = ADDRESSES[kind].format(
            name=name_en,
            town=name_en.removesuffix(" Municipal Council"),
            village=name_en.removeprefix("Jan Seva Kendra "),
            parent=parent_name,
        )
        rows.append(
            {
                "code": code,
                "parent": parent,
                "name_en": name_en,
                "name_hi": name_hi,
                "kind": kind,
                "link_type": link,
                "address": address,
                "contact_name": contact,
                "contact_phone": f"+91 90000 {10000 + info[code]['number']:05d}",
                "notes": SITE_NOTES.get(code) or SITE_NOTES.get(kind, ""),
            }
        )
    return rows


# --- the loader -------------------------------------------------------------------------


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def load_demo(today: date | None = None, now: datetime | None = None) -> Counter:
    """Create whatever of the demo is missing (flushes, never commits); returns what was made.

    Existing rows, found by username, profile name, site code or model and serial, are
    left exactly as they are, so a second run writes nothing. The recorded history ends at
    `now` (default: the current UTC time), floored to the hour.
    """
    from inventory.assets.models import Asset
    from inventory.assets.services import create_asset
    from inventory.audit.services import acting_as
    from inventory.auth.services import create_user, get_user_by_username
    from inventory.catalog.services import (
        ensure_default_categories,
        get_category_by_code,
        get_or_create_model,
    )
    from inventory.credentials.models import CredentialProfile
    from inventory.credentials.services import save_profile
    from inventory.extensions import db
    from inventory.sites.services import create_site, get_site_by_code

    today = today or date.today()
    made: Counter = Counter()
    with acting_as(None):
        made["categories"] += ensure_default_categories()
        for username, password, role, full_name in DEMO_USERS:
            if get_user_by_username(username) is None:
                create_user(username, password, role, full_name=full_name)
                made["users"] += 1
    with acting_as(get_user_by_username("admin")):
        profiles = {}
        for name, description, plain, secrets in CREDENTIAL_PROFILES:
            profile = db.session.scalar(
                sa.select(CredentialProfile).where(CredentialProfile.name == name)
            )
            if profile is None:
                profile = save_profile(None, {"name": name, "description": description, **plain},
                                       secrets)  # fmt: skip
                made["credential profiles"] += 1
            profiles[name] = profile.id
        sites = {}
        for row in site_rows():
            site = get_site_by_code(row["code"])
            if site is None:
                parent = row.pop("parent")
                site = create_site(parent_id=sites[parent] if parent else None, **row)
                made["sites"] += 1
            sites[row["code"]] = site.id
        existing = {
            tuple(row) for row in db.session.execute(sa.select(Asset.model_id, Asset.serial))
        }
        models = {}
        categories = {}
        for entry in asset_plan(today):
            key = (entry["maker"], entry["model"])
            if key not in models:
                categories[key] = get_category_by_code(entry["category"])
                models[key] = get_or_create_model(*key, categories[key]).id
            if (models[key], entry["fields"]["serial"]) in existing:
                continue
            create_asset(
                category_id=categories[key].id,
                model_id=models[key],
                site_id=sites[entry["site"]],
                credential_profile_id=profiles.get(entry["profile"]),
                **entry["fields"],
            )
            made["assets"] += 1
        made["SSH devices"] += _manage_swan_router(sites[SSH_SITE])
        # Inspections: the standard CSC checklist, then a few visits (only into an empty table).
        from zoneinfo import ZoneInfo

        from flask import current_app

        from inventory.inspections.services import ensure_default_checklist, load_demo_inspections

        made["inspection checklist questions"] += ensure_default_checklist()
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        made["inspections"] += load_demo_inspections(today, zone)
        # Vendors, AMC contracts and maintenance plans (found again by name).
        from inventory.maintenance.demo import load_demo_plans
        from inventory.vendors.demo import load_demo_vendors

        made.update(load_demo_vendors(today))
        made.update(load_demo_plans(today))
    # Tickets last: they name the sites, assets, users and vendors made above.
    from inventory.tickets.demo import load_demo_tickets

    made["tickets"] += load_demo_tickets(today)
    # A few past stock-takes (verification visits), after the assets they scan.
    from inventory.verification.demo import load_demo_visits

    made["verification visits"] += load_demo_visits(today)
    # Procurement requests in different states (after the users and vendors they name).
    from inventory.procurement.demo import load_demo_procurement

    made.update(load_demo_procurement(today))
    # Last: 30 days of recorded history for the VC-readiness board (only into empty tables).
    from inventory.devices.demo import load_demo_history
    from inventory.health.services import floor_hour
    from inventory.models_base import utcnow

    made.update(load_demo_history(floor_hour(now or utcnow())))
    return +made  # only what was added


def _manage_swan_router(site_id: int) -> int:
    """Manage the site's first router over SSH (cisco_ios, DEMO_SSH_PORT) unless it already
    is managed; returns 1 when it was registered now."""
    from inventory.assets.models import Asset
    from inventory.catalog.models import Category
    from inventory.extensions import db
    from inventory.netconfig.services import device_of, manage_device

    router = db.session.scalar(
        sa.select(Asset)
        .join(Category, Category.id == Asset.category_id)
        .where(Asset.site_id == site_id, Category.code == "RTR", Asset.management_address != "")
        .order_by(Asset.id)
        .limit(1)
    )
    if router is None or device_of(router.id) is not None:
        return 0
    manage_device(router, "cisco_ios", port=DEMO_SSH_PORT)
    return 1


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the Gonda district demo data (safe to run again)."""
    from inventory.auth.services import get_user_by_username
    from inventory.crypto import CredentialsKeyMissing
    from inventory.extensions import db

    try:
        made = load_demo()
    except CredentialsKeyMissing as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    if made:
        summary = ", ".join(f"{count} {what}" for what, count in made.items())
        click.echo(f"Gonda district demo loaded: {summary} added.")
    else:
        click.echo("Gonda district demo already loaded; nothing changed.")
    click.echo("Demo users (change these passwords before real use):")
    for username, password, role, _name in DEMO_USERS:
        user = get_user_by_username(username)
        remark = "" if _password_matches(user.password_hash, password) else "  (password changed)"
        click.echo(f"  {role:<9} username: {username:<9} password: {password}{remark}")
