"""Which assets get labels, and their label sheet as PDF.

A selection is an `AssetFilter`, the same object behind the register list and its exports:
selected rows (`ids`), the list's own filters, or a site with every site below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from inventory.assets.models import Asset
from inventory.assets.services import AssetFilter, asset_query, count_assets
from inventory.catalog.models import Category
from inventory.extensions import db
from inventory.labels import sheets
from inventory.labels.qr import public_asset_url
from inventory.sites.models import Site


class LabelError(ValueError):
    """A label request that cannot be met; the message says why."""


@dataclass(frozen=True)
class Society:
    name_en: str
    name_hi: str


def check_count(count: int, limit: int) -> None:
    if count == 0:
        raise LabelError(_("No assets match this selection, so there is nothing to print."))
    if count > limit:
        raise LabelError(
            ngettext(
                "%(num)d label is more than the %(max)d that can be made at once.",
                "%(num)d labels are more than the %(max)d that can be made at once.",
                count,
                max=limit,
            )
            + " "
            + _("Narrow the list, for example to one site or one category.")
        )


def label_rows(flt: AssetFilter, chunk: int = 900) -> list[sa.Row]:
    """Tag and names of the selected assets in the list's order, without loading objects.

    The ids come in the list's order (its sort may join sites or categories); the names
    are then read in chunks of ids, well under every database's limit of bound values.
    """
    ids = list(db.session.scalars(asset_query(flt).with_only_columns(Asset.id)))
    columns = (
        Asset.id,
        Asset.tag,
        Category.name_en.label("category_en"),
        Category.name_hi.label("category_hi"),
        Site.name_en.label("site_en"),
        Site.name_hi.label("site_hi"),
    )
    found: dict[int, sa.Row] = {}
    for i in range(0, len(ids), chunk):
        query = (
            sa.select(*columns)
            .join(Category, Category.id == Asset.category_id)
            .join(Site, Site.id == Asset.site_id)
            .where(Asset.id.in_(ids[i : i + chunk]))
        )
        found.update((row.id, row) for row in db.session.execute(query))
    return [found[i] for i in ids if i in found]


def label_data(rows: Iterable, base_url: str) -> list[sheets.LabelData]:
    return [
        sheets.LabelData(
            tag=row.tag,
            url=public_asset_url(row.tag, base_url),
            category_en=row.category_en,
            category_hi=row.category_hi or "",
            site_en=row.site_en,
            site_hi=row.site_hi or "",
        )
        for row in rows
    ]


def preview_tags(flt: AssetFilter, n: int = 12) -> list[str]:
    return list(db.session.scalars(asset_query(flt).with_only_columns(Asset.tag).limit(n)))


def labels_pdf(
    flt: AssetFilter,
    layout: sheets.Layout,
    margins: sheets.Margins,
    *,
    start: int,
    outlines: bool,
    base_url: str,
    society: Society,
    limit: int,
) -> tuple[bytes, int]:
    """The label sheet of the selection, and how many labels it has."""
    check_count(count_assets(flt), limit)
    labels = label_data(label_rows(flt), base_url)
    check_count(len(labels), limit)  # the register may have changed since the count
    try:
        pdf = sheets.render_labels(
            labels,
            layout,
            margins,
            start=start,
            society_en=society.name_en,
            society_hi=society.name_hi,
            outlines=outlines,
        )
    except sheets.SheetError as exc:
        raise LabelError(str(exc)) from exc
    return pdf, len(labels)
