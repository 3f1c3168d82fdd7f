"""The route x role matrix's vocabulary, and the per-domain route tables it gathers.

Each domain that adds URL rules keeps its entries in tests/routes_<domain>.py:

    ROUTES: dict[str, Route] = {"/tickets/": Route("tickets.index", "viewer", "/tickets/")}

    def make_objects(base: dict, n: int) -> dict:   # optional
        \"\"\"Objects the domain's URLs name, made fresh for each role (n is unique).\"\"\"
        return {"ticket_id": ...}

`base` holds the core objects (asset_id, tag, site_id, user_id, ...); test_routes_matrix.py
merges every module's ROUTES into MATRIX and fails on a rule listed nowhere or twice.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Route:
    """One URL rule: who may use it, and a concrete URL for it (placeholders from `objects`)."""

    endpoint: str
    least: str  # "public" or a Role value
    url: str
    methods: tuple[str, ...] = ("GET",)
    get_status: int = 200  # what an allowed GET answers
    get_status_signed_in: int | None = None  # when a signed-in user gets something else
    post_data: dict[str, str] = field(default_factory=dict)


def _domains() -> list:
    here = Path(__file__).parent
    names = sorted(
        info.name for info in pkgutil.iter_modules([str(here)]) if info.name.startswith("routes_")
    )
    return [importlib.import_module(name) for name in names]


DOMAINS = _domains()
