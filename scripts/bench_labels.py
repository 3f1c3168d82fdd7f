#!/usr/bin/env python3
"""Benchmark label sheets: the time to make 1,000 labels as PDF, per stock, beside the time
the qrcode package alone needs for the same 1,000 codes.

    .venv/bin/python scripts/bench_labels.py               # 1,000 labels, 3 runs per figure
    .venv/bin/python scripts/bench_labels.py --labels 5000 --runs 5

What it does:

1. Builds an app on a temporary SQLite database (schema by create_all) and seeds a Gonda-like
   tree (HQ, tehsils, blocks, CSCs, with Hindi names) and N assets over the default categories.
2. Baseline: qrcode making the N QR matrices (error correction M, best mask), nothing else.
3. Per stock (A4 3x7, A4 2x5, thermal 50x25):
   - "render": inventory.labels.sheets.render_labels on the N labels, QR cache cleared first
     (a first print: every code computed);
   - "render, codes cached": the same with the codes already in qr_matrix's cache (a reprint;
     what remains is text shaping, layout and PDF writing);
   - "request": POST /labels/ through the Flask test client as an engineer (query, render,
     response), QR cache cleared first.
   p50 over --runs runs, pages, PDF size, and the render/baseline ratio.

Timings on a shared machine are noisy; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory import create_app
from inventory.extensions import db

PASSWORD = "bench-engineer-password"  # noqa: S105 - a throwaway user in a throwaway database
TEHSILS = (
    ("Gonda Sadar", "गोण्डा सदर"),
    ("Mankapur", "मनकापुर"),
    ("Tarabganj", "तरबगंज"),
    ("Colonelganj", "कर्नलगंज"),
)
BLOCKS = ("झंझरी", "रुपईडीह", "इटियाथोक", "पंडरी कृपाल", "मुजेहना", "छपिया", "वज़ीरगंज")


def p50(fn: Callable[[], object], runs: int, before: Callable[[], None] | None = None):
    times, result = [], None
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def seed(n: int) -> None:
    from inventory.assets.models import Asset
    from inventory.catalog.models import Category
    from inventory.catalog.services import ensure_default_categories
    from inventory.sites.models import Site

    ensure_default_categories()
    hq = Site(code="GON-HQ", name_en="Gonda HQ", name_hi="गोण्डा मुख्यालय", kind="district_hq")
    db.session.add(hq)
    db.session.flush()
    leaves = [hq]
    for t, (name_en, name_hi) in enumerate(TEHSILS):
        tehsil = Site(
            code=f"TEH-{t}",
            name_en=f"Tehsil {name_en}",
            name_hi=f"तहसील {name_hi}",
            kind="tehsil",
            parent_id=hq.id,
        )
        db.session.add(tehsil)
        db.session.flush()
        for b, block_hi in enumerate(BLOCKS):
            block = Site(
                code=f"BLK-{t}-{b}",
                name_en=f"Block {b} of {name_en}",
                name_hi=f"विकास खण्ड {block_hi}",
                kind="block",
                parent_id=tehsil.id,
            )
            db.session.add(block)
            db.session.flush()
            for c in range(3):
                csc = Site(
                    code=f"CSC-{t}-{b}-{c}",
                    name_en=f"CSC {c + 1}, {name_en}",
                    name_hi=f"जनसेवा केन्द्र {c + 1}, {block_hi}",
                    kind="csc",
                    parent_id=block.id,
                )
                db.session.add(csc)
                leaves += [block, csc]
    db.session.flush()
    categories = list(db.session.scalars(db.select(Category).order_by(Category.code)))
    db.session.add_all(
        Asset(
            tag=f"GON-{categories[i % len(categories)].code}-{i + 1:05d}",
            category_id=categories[i % len(categories)].id,
            site_id=leaves[i % len(leaves)].id,
            status="deployed",
        )
        for i in range(n)
    )
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from inventory.assets.services import AssetFilter
    from inventory.auth.services import create_user
    from inventory.labels import qr, services
    from inventory.labels.sheets import LAYOUTS, render_labels

    folder = tempfile.mkdtemp(prefix="bench-labels-")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "WTF_CSRF_ENABLED": False,
            "CREDENTIALS_KEYS": [Fernet.generate_key().decode()],
            "CREDENTIALS_KEY_FILE": f"{folder}/credentials.key",
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 1024,
            "LABELS_MAX": max(args.labels, 5000),
        }
    )
    with app.app_context():
        db.create_all()
        seed(args.labels)
        create_user("bench", PASSWORD, "engineer", locale="en")
        db.session.commit()
        base = app.config["PUBLIC_BASE_URL"]
        query_time, labels = p50(
            lambda: services.label_data(services.label_rows(AssetFilter()), base), args.runs
        )
        society = {
            "society_en": app.config["SOCIETY_NAME"],
            "society_hi": app.config["SOCIETY_NAME_HI"],
        }
    n = len(labels)
    urls = [label.url for label in labels]
    raw_matrix = qr.qr_matrix.__wrapped__  # the uncached function: qrcode itself

    print(f"Label sheets: {n} labels, p50 of {args.runs} runs")
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print(f"Reading the {n} labels' data from SQLite: {query_time * 1000:.0f} ms")
    baseline, _ = p50(lambda: [raw_matrix(u) for u in urls], args.runs)
    print(f"Baseline, qrcode alone, {n} QR matrices (M, best mask): {baseline:.2f} s")
    print()
    header = (
        f"{'stock':15} {'render s':>9} {'x qrcode':>9} {'cached s':>9} {'request s':>10} "
        f"{'pages':>6} {'PDF KiB':>8} {'ms/label':>9}"
    )
    print(header)
    print("-" * len(header))
    client = app.test_client()
    with app.app_context():
        client.post("/login", data={"username": "bench", "password": PASSWORD})
    for key, layout in LAYOUTS.items():
        cold, pdf = p50(
            lambda layout=layout: render_labels(labels, layout, **society),
            args.runs,
            before=qr.qr_matrix.cache_clear,
        )
        for url in urls:
            qr.qr_matrix(url)
        warm, _ = p50(lambda layout=layout: render_labels(labels, layout, **society), args.runs)

        def request(key=key):
            with app.app_context():
                response = client.post("/labels/", data={"layout": key})
            assert response.status_code == 200, response.status_code
            assert response.mimetype == "application/pdf"
            return response.data

        through_app, body = p50(request, args.runs, before=qr.qr_matrix.cache_clear)
        pages = layout.pages(n)
        print(
            f"{key:15} {cold:9.2f} {cold / baseline:9.2f} {warm:9.2f} {through_app:10.2f} "
            f"{pages:6d} {len(pdf) / 1024:8.0f} {cold / n * 1000:9.2f}"
        )
        assert abs(len(body) - len(pdf)) < len(pdf) * 0.05  # the same sheet, give or take dates
    print()
    print("render: codes computed (first print); cached: codes from qr_matrix's cache (reprint);")
    print("request: POST /labels/ in the test client, codes computed. x qrcode = render/baseline.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
