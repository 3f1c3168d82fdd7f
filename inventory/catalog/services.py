"""The catalogue's defaults and the rules for changing categories, makers and models."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from inventory.catalog.models import AssetModel, Category, Manufacturer
from inventory.choices import CategoryGroup
from inventory.extensions import db
from inventory.models_base import references_to


class CatalogError(ValueError):
    """A catalogue change that breaks a rule; the message is shown to the user."""


# (code, English, Hindi, group): the categories every district starts with.
DEFAULT_CATEGORIES = (
    ("DSK", "Desktop", "डेस्कटॉप", CategoryGroup.EDISTRICT),
    ("LAP", "Laptop", "लैपटॉप", CategoryGroup.EDISTRICT),
    ("PRN", "Printer", "प्रिंटर", CategoryGroup.EDISTRICT),
    ("SCN", "Scanner", "स्कैनर", CategoryGroup.EDISTRICT),
    ("UPS", "UPS", "यूपीएस", CategoryGroup.EDISTRICT),
    ("BIO", "Biometric device", "बायोमेट्रिक डिवाइस", CategoryGroup.EDISTRICT),
    ("RTR", "Router", "राउटर", CategoryGroup.NETWORKING),
    ("SWT", "Switch", "स्विच", CategoryGroup.NETWORKING),
    ("FWL", "Firewall", "फ़ायरवॉल", CategoryGroup.NETWORKING),
    ("MDM", "Modem", "मॉडेम", CategoryGroup.NETWORKING),
    ("WAP", "Access point", "एक्सेस पॉइंट", CategoryGroup.NETWORKING),
    ("PRJ", "Projector", "प्रोजेक्टर", CategoryGroup.PROJECTOR),
    ("VCC", "VC codec", "वीसी कोडेक", CategoryGroup.VC),
    ("CAM", "VC camera", "वीसी कैमरा", CategoryGroup.VC),
    ("MIC", "Microphone", "माइक्रोफ़ोन", CategoryGroup.VC),
    ("DSP", "Display", "डिस्प्ले", CategoryGroup.VC),
    ("OTH", "Other", "अन्य", CategoryGroup.OTHER),
)


def ensure_default_categories() -> int:
    """Add any default category that is missing; returns how many were added."""
    existing = set(db.session.scalars(sa.select(Category.code)))
    added = 0
    for code, name_en, name_hi, group in DEFAULT_CATEGORIES:
        if code not in existing:
            db.session.add(Category(code=code, name_en=name_en, name_hi=name_hi, group=group.value))
            added += 1
    db.session.flush()
    return added


def get_category_by_code(code: str) -> Category | None:
    return db.session.scalar(sa.select(Category).where(Category.code == code.strip().upper()))


def find_category(text: str) -> Category | None:
    """By code, or by English or Hindi name (case-insensitive)."""
    text = text.strip()
    if not text:
        return None
    return db.session.scalar(
        sa.select(Category).where(
            sa.or_(
                Category.code == text.upper(),
                sa.func.lower(Category.name_en) == text.lower(),
                Category.name_hi == text,
            )
        )
    )


def get_or_create_manufacturer(name: str) -> Manufacturer:
    name = name.strip()
    found = db.session.scalar(
        sa.select(Manufacturer).where(sa.func.lower(Manufacturer.name) == name.lower())
    )
    if found:
        return found
    maker = Manufacturer(name=name)
    db.session.add(maker)
    db.session.flush()
    return maker


def find_model(manufacturer: str, name: str) -> AssetModel | None:
    return db.session.scalar(
        sa.select(AssetModel)
        .join(Manufacturer)
        .where(
            sa.func.lower(Manufacturer.name) == manufacturer.strip().lower(),
            sa.func.lower(AssetModel.name) == name.strip().lower(),
        )
    )


def get_or_create_model(manufacturer: str, name: str, category: Category) -> AssetModel:
    found = find_model(manufacturer, name)
    if found:
        if found.category_id != category.id:
            raise CatalogError(
                _(
                    "The model %(model)s is a %(category)s, not a %(other)s.",
                    model=str(found),
                    category=found.category.name_en,
                    other=category.name_en,
                )
            )
        return found
    model = AssetModel(
        manufacturer=get_or_create_manufacturer(manufacturer), name=name.strip(), category=category
    )
    db.session.add(model)
    db.session.flush()
    return model


def save_category(category: Category | None, **fields) -> Category:
    code = fields["code"]
    clash = db.session.scalar(
        sa.select(Category.id).where(
            Category.code == code, Category.id != (category.id if category else 0)
        )
    )
    if clash:
        raise CatalogError(_("Another category already has the code %(code)s.", code=code))
    if category is None:
        category = Category()
        db.session.add(category)
    for key, value in fields.items():
        setattr(category, key, value)
    db.session.flush()
    return category


def save_manufacturer(maker: Manufacturer | None, name: str) -> Manufacturer:
    clash = db.session.scalar(
        sa.select(Manufacturer.id).where(
            sa.func.lower(Manufacturer.name) == name.lower(),
            Manufacturer.id != (maker.id if maker else 0),
        )
    )
    if clash:
        raise CatalogError(_("The manufacturer %(name)s exists already.", name=name))
    if maker is None:
        maker = Manufacturer()
        db.session.add(maker)
    maker.name = name
    db.session.flush()
    return maker


def save_model(model: AssetModel | None, **fields) -> AssetModel:
    clash = db.session.scalar(
        sa.select(AssetModel.id).where(
            AssetModel.manufacturer_id == fields["manufacturer_id"],
            sa.func.lower(AssetModel.name) == fields["name"].lower(),
            AssetModel.id != (model.id if model else 0),
        )
    )
    if clash:
        raise CatalogError(_("This manufacturer already has a model of that name."))
    if model is None:
        model = AssetModel()
        db.session.add(model)
    elif model.category_id != fields["category_id"]:
        from inventory.assets.models import Asset

        in_use = db.session.scalar(sa.select(sa.func.count()).where(Asset.model_id == model.id))
        if in_use:
            raise CatalogError(
                _("The category cannot change while %(n)d assets use this model.", n=in_use)
            )
    with db.session.no_autoflush:
        for key, value in fields.items():
            setattr(model, key, value)
        # The objects too, not only the ids: the change log labels the model "maker name".
        model.manufacturer = db.session.get(Manufacturer, model.manufacturer_id)
        model.category = db.session.get(Category, model.category_id)
    db.session.flush()
    return model


def delete_catalog_item(item: Category | Manufacturer | AssetModel) -> None:
    """Delete an unused entry. In use means anything points at it: assets, models, and also
    maintenance plans or contract rules, which would otherwise go with it."""
    used = sum(references_to(item).values())
    if used:
        raise CatalogError(
            _(
                "%(item)s is still in use (%(n)d records). It cannot be deleted.",
                item=str(item),
                n=used,
            )
        )
    db.session.delete(item)
    db.session.flush()
