"""Creating, changing and deleting sites, and walking the hierarchy."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.choices import SiteKind
from inventory.extensions import db
from inventory.models_base import references_to
from inventory.sites.models import Site


class SiteError(ValueError):
    """A site change that breaks a rule; the message is shown to the user."""


FIELDS = (
    "code",
    "name_en",
    "name_hi",
    "kind",
    "parent_id",
    "address",
    "contact_name",
    "contact_phone",
    "link_type",
    "notes",
    "vc_expected",
)


def get_site_by_code(code: str) -> Site | None:
    return db.session.scalar(sa.select(Site).where(Site.code == code.strip().upper()))


def _check(site: Site) -> None:
    kind = SiteKind(site.kind)
    duplicate = db.session.scalar(
        sa.select(Site.id).where(Site.code == site.code, Site.id != (site.id or 0))
    )
    if duplicate:
        raise SiteError(_("Another site already has the code %(code)s.", code=site.code))
    if site.id is not None:
        # A change of kind must leave every site below at a lower level.
        for child_kind in db.session.scalars(
            sa.select(Site.kind).where(Site.parent_id == site.id).distinct()
        ):
            if SiteKind(child_kind).level <= kind.level:
                raise SiteError(
                    _(
                        "A %(kind)s cannot be placed under a %(parent)s.",
                        kind=SiteKind(child_kind).label,
                        parent=kind.label,
                    )
                )
    if site.parent_id is None:
        if kind is not SiteKind.DISTRICT_HQ:
            raise SiteError(_("Only a district headquarters can be without a parent site."))
        return
    parent = db.session.get(Site, site.parent_id)
    if parent is None:
        raise SiteError(_("The parent site does not exist."))
    if site.id is not None and (parent.id == site.id or parent.id in descendant_ids(site.id)):
        raise SiteError(_("A site cannot be placed under itself or one of its own sites."))
    if SiteKind(parent.kind).level >= kind.level:
        raise SiteError(
            _(
                "A %(kind)s cannot be placed under a %(parent)s.",
                kind=kind.label,
                parent=SiteKind(parent.kind).label,
            )
        )


def create_site(**fields) -> Site:
    site = Site(**{key: fields.get(key) for key in FIELDS if key in fields})
    site.parent_id = site.parent_id or None
    _check(site)
    db.session.add(site)
    db.session.flush()
    return site


def update_site(site: Site, **fields) -> Site:
    with db.session.no_autoflush:  # nothing half-changed may reach the database unchecked
        for key in FIELDS:
            if key in fields:
                setattr(site, key, fields[key])
        site.parent_id = site.parent_id or None
        _check(site)
    db.session.flush()
    return site


def delete_site(site: Site) -> None:
    from inventory.assets.models import Asset

    children = db.session.scalar(sa.select(sa.func.count()).where(Site.parent_id == site.id))
    assets = db.session.scalar(sa.select(sa.func.count()).where(Asset.site_id == site.id))
    if children or assets:
        raise SiteError(
            _(
                "%(site)s still holds %(assets)d assets and %(children)d sites. "
                "Move or delete them first.",
                site=site.name_en,
                assets=assets,
                children=children,
            )
        )
    kept = references_to(site, blocking_only=True)
    records = kept.get("tickets", 0) + kept.get("inspections", 0)
    if records:
        raise SiteError(
            _(
                "%(site)s has %(n)d tickets and inspections on record, which must be kept. "
                "It cannot be deleted.",
                site=site.name_en,
                n=records,
            )
        )
    db.session.delete(site)
    db.session.flush()


def descendant_ids(site_id: int, include_self: bool = False) -> list[int]:
    """Every site below site_id, however deep (one recursive query)."""
    tree = sa.select(Site.id).where(Site.parent_id == site_id).cte(name="tree", recursive=True)
    tree = tree.union_all(sa.select(Site.id).where(Site.parent_id == tree.c.id))
    ids = list(db.session.scalars(sa.select(tree.c.id)))
    return [site_id, *ids] if include_self else ids


def subtree_condition(column, site_id: int):
    """A WHERE clause: `column` is site_id or any site below it."""
    tree = sa.select(Site.id).where(Site.id == site_id).cte(name="subtree", recursive=True)
    tree = tree.union_all(sa.select(Site.id).where(Site.parent_id == tree.c.id))
    return column.in_(sa.select(tree.c.id))


def ancestors(site: Site) -> list[Site]:
    chain: list[Site] = []
    current = site.parent
    while current is not None and len(chain) < 10:
        chain.insert(0, current)
        current = current.parent
    return chain


def tree_rows(kind: str | None = None, query: str | None = None) -> list[tuple[Site, int]]:
    """All sites in hierarchy order with their depth, optionally filtered."""
    sites = db.session.scalars(sa.select(Site).order_by(Site.name_en)).all()
    by_parent: dict[int | None, list[Site]] = {}
    for site in sites:
        by_parent.setdefault(site.parent_id, []).append(site)
    rows: list[tuple[Site, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for child in by_parent.get(parent_id, []):
            rows.append((child, depth))
            walk(child.id, depth + 1)

    walk(None, 0)
    if kind:
        rows = [(s, d) for s, d in rows if s.kind == kind]
    if query:
        needle = query.strip().lower()
        rows = [
            (s, d)
            for s, d in rows
            if needle in s.code.lower() or needle in s.name_en.lower() or needle in s.name_hi
        ]
    return rows


def parent_choices(exclude: Site | None = None) -> list[tuple[int, str]]:
    """Sites offered as parents, indented by depth; never the site itself or its subtree."""
    excluded: set[int] = set()
    if exclude is not None and exclude.id is not None:
        excluded = {exclude.id, *descendant_ids(exclude.id)}
    return [
        (site.id, "— " * depth + f"{site.name_en} ({site.code})")
        for site, depth in tree_rows()
        if site.id not in excluded and SiteKind(site.kind).level < 3
    ]


def asset_counts_by_site() -> dict[int, int]:
    from inventory.assets.models import Asset

    return dict(
        db.session.execute(sa.select(Asset.site_id, sa.func.count()).group_by(Asset.site_id)).all()
    )
