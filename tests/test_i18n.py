"""Hindi and English: the catalogue is complete and compiled, and users see their language."""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "inventory"
TRANSLATIONS = PACKAGE / "translations"
PO_PATH = TRANSLATIONS / "hi" / "LC_MESSAGES" / "messages.po"
MO_PATH = PO_PATH.with_suffix(".mo")
FONTS = sorted((PACKAGE / "static" / "fonts").glob("*.woff2"))

# Python-format conversions: %(name)s, %(n)d, %s ... ("%%" is a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")

HINDI_REQUIRED = "यह फ़ील्ड भरना अनिवार्य है।"


@pytest.fixture(autouse=True)
def hindi_by_default(request):
    """The production default (the shared test configuration uses English)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["BABEL_DEFAULT_LOCALE"] = "hi"


def _read_po():
    with PO_PATH.open("rb") as f:
        return read_po(f, locale="hi")


@functools.cache
def _extract() -> dict[str, set[str | tuple[str, ...]]]:
    """Every message in the package now, extracted with the configuration in babel.cfg."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")

    def wanted(path: str) -> bool:
        # Unlike Babel's default, keep directories starting with "_" (templates/_macros).
        name = os.path.basename(path)
        return not name.startswith(".") and name not in {"__pycache__", "instance"}

    messages: dict[str, set[str | tuple[str, ...]]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=DEFAULT_KEYWORDS,
        directory_filter=wanted,
    ):
        messages.setdefault(message, set()).add(filename)
    return messages


def _placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def _key(message_id) -> str:
    return message_id[0] if isinstance(message_id, (tuple, list)) else message_id


# -- the catalogue -----------------------------------------------------------------------


def test_extraction_finds_the_package_messages():
    """The extraction itself works: Python, templates (also _macros) and WTForms' messages."""
    found = {_key(m): files for m, files in _extract().items()}
    assert "Sampada" in found  # base.html
    assert "Please correct the marked fields." in found  # templates/_macros/forms.html
    assert "This field is required." in found  # WTForms, listed in inventory/forms.py
    assert "District headquarters" in found  # choices.py, lazy
    assert "Field must be at least %(min)d character long." in found  # lazy plural
    plural = next(m for m in _extract() if _key(m).startswith("Field must be at least"))
    assert plural[1] == "Field must be at least %(min)d characters long."
    assert len(found) > 300


def test_every_message_has_a_hindi_translation():
    catalog = _read_po()
    problems = []
    for message_id, files in sorted(_extract().items(), key=lambda item: _key(item[0])):
        where = ", ".join(sorted(files))
        entry = catalog.get(_key(message_id))
        if entry is None:
            problems.append(f"not in the .po (run scripts/i18n update): {message_id!r} ({where})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {message_id!r}")
            continue
        ids = tuple(message_id) if isinstance(message_id, (tuple, list)) else (message_id,)
        strings = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        if len(ids) > 1 and (not isinstance(entry.id, (tuple, list)) or len(strings) != 2):
            problems.append(f"needs both plural forms: {message_id!r}")
            continue
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {message_id!r} ({where})")
            continue
        for index, translated in enumerate(strings):
            source = ids[min(index, len(ids) - 1)]
            if _placeholders(translated) != _placeholders(source):
                problems.append(f"placeholders differ: {message_id!r} -> {translated!r}")
    assert not problems, "\n".join(problems)


def test_translations_are_hindi_and_format_cleanly():
    """Each translation is written in Devanagari (or is a kept technical term) and formats."""
    kept_as_is = {
        "—",
        "SWAN",
        "4G",
        "SNMP",
        "SSH",
        "SNMP v1",
        "SNMP v2c",
        "SNMP v3",
        "SLA",
        # product and protocol names
        "Cisco IOS",
        "Linux",
        "PJLink",
        "SHA-256",
    }
    problems = []
    for entry in _read_po():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, (tuple, list)) else (entry.id,)
        strings = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        for translated in strings:
            if not translated:
                continue  # reported by the completeness test
            if translated not in kept_as_is and not DEVANAGARI.search(translated):
                problems.append(f"not Hindi: {ids[0]!r} -> {translated!r}")
            names = dict.fromkeys(re.findall(r"%\((\w+)\)", ids[0]), 1)
            if names:
                try:
                    translated % names
                except (KeyError, ValueError, TypeError) as exc:
                    problems.append(f"does not format ({exc}): {translated!r}")
    assert not problems, "\n".join(problems)


def test_the_catalogue_header_declares_hindi_plurals():
    catalog = _read_po()
    assert str(catalog.locale) == "hi"
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") in {"(n>1)", "n>1"}


def test_committed_mo_matches_the_po():
    catalog = _read_po()
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    fresh = read_mo(buffer)
    with MO_PATH.open("rb") as f:
        committed = read_mo(f)

    def pairs(cat):
        return {
            (m.id if isinstance(m.id, str) else tuple(m.id)): (
                m.string if isinstance(m.string, str) else tuple(m.string)
            )
            for m in cat
            if m.id
        }

    assert pairs(committed) == pairs(fresh), "the .mo is stale: run scripts/i18n compile"
    assert committed.plural_forms == catalog.plural_forms


def test_flask_babel_loads_the_hindi_catalogue(app):
    from flask_babel import force_locale, get_translations, gettext, ngettext

    assert Path(app.root_path, "translations") == TRANSLATIONS
    with app.test_request_context("/"):
        with force_locale("hi"):
            assert gettext("Assets") == "परिसम्पत्तियाँ"
            assert gettext("This field is required.") == HINDI_REQUIRED
            assert gettext("User %(u)s saved.", u="ram") == "उपयोगकर्ता ram सहेजा गया।"
            assert ngettext(
                "Field must be at least %(min)d character long.",
                "Field must be at least %(min)d characters long.",
                5,
                min=5,
            ) == ("फ़ील्ड में कम से कम 5 अक्षर होने चाहिए।")
            assert get_translations().gettext("Sites") == "स्थल"
        with force_locale("en"):
            assert gettext("Assets") == "Assets"


def test_choice_labels_are_translated_lazily(app):
    from flask_babel import force_locale

    from inventory.choices import AssetStatus, SiteKind

    with app.test_request_context("/"):
        with force_locale("hi"):
            assert str(SiteKind.BLOCK.label) == "विकास खण्ड"
            assert str(SiteKind.CSC.label) == "जनसेवा केन्द्र"
            assert str(AssetStatus.CONDEMNED.label) == "निष्प्रयोज्य"
        with force_locale("en"):
            assert str(SiteKind.BLOCK.label) == "Block"


# -- what users see ----------------------------------------------------------------------


def test_hindi_is_the_default_language():
    from inventory.config import Defaults

    assert Defaults.BABEL_DEFAULT_LOCALE == "hi"
    assert Defaults.LANGUAGES == ("hi", "en")


def _html(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_default_language_is_hindi_for_a_new_browser(client):
    page = _html(client.get("/login"))
    assert '<html lang="hi">' in page
    assert "लॉग इन करें" in page


def test_browser_preference_is_used_before_sign_in(client):
    page = _html(client.get("/login", headers={"Accept-Language": "en-IN,en;q=0.9"}))
    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_signed_in_user_sees_hindi_then_english_and_the_choice_is_kept(
    app, client, make_user, login, district, make_asset
):
    from inventory.auth.models import User
    from inventory.extensions import db

    make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"), serial="X51-9")
    user = make_user("manager", locale="hi")
    login(user)

    dashboard = _html(client.get("/"))
    assert '<html lang="hi">' in dashboard
    for text in ("अवलोकन", "परिसम्पत्तियाँ", "स्थल", "श्रेणीवार", "लॉग आउट"):
        assert text in dashboard, text
    assert "Sign out" not in dashboard
    assets = _html(client.get("/assets/"))
    for text in ("टैग", "श्रेणी", "स्थिति", "स्थापित", "CSV निर्यात करें"):
        assert text in assets, text
    sites = _html(client.get("/sites/"))
    for text in ("जनपद मुख्यालय", "तहसील", "विकास खण्ड", "जनसेवा केन्द्र"):
        assert text in sites, text

    response = client.post("/language", data={"locale": "en", "next": "/sites/"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sites/")
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"

    english = _html(client.get("/"))
    assert '<html lang="en">' in english
    assert "Overview" in english and "Sign out" in english
    assert "अवलोकन" not in english
    sites = _html(client.get("/sites/"))
    assert "District headquarters" in sites and "Tehsil" in sites

    client.post("/logout")
    fresh = app.test_client()  # a new browser that prefers Hindi: the saved choice wins
    login(user, target_client=fresh)
    again = _html(fresh.get("/", headers={"Accept-Language": "hi"}))
    assert '<html lang="en">' in again
    assert "Overview" in again

    fresh.post("/language", data={"locale": "hi", "next": "/"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "hi"
    assert "अवलोकन" in _html(fresh.get("/"))


def test_language_switch_rejects_unknown_locales_and_foreign_next(client):
    assert client.post("/language", data={"locale": "fr"}).status_code == 400
    response = client.post("/language", data={"locale": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    assert '<html lang="en">' in _html(client.get("/login"))


def test_validation_messages_are_in_hindi(make_user, login):
    client = login(make_user("manager", locale="hi"))
    response = client.post(
        "/sites/new",
        data={"code": "", "name_en": "", "kind": "district_hq", "link_type": "swan"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 400), page[:2000]
    assert HINDI_REQUIRED in page
    assert "कृपया चिह्नित फ़ील्ड ठीक करें।" in page
    assert "This field is required." not in page


def test_validation_messages_follow_english(make_user, login):
    client = login(make_user("manager", locale="hi"))
    client.post("/language", data={"locale": "en", "next": "/"})
    response = client.post("/sites/new", data={"code": "", "name_en": "", "kind": "district_hq"})
    page = response.get_data(as_text=True)
    assert "This field is required." in page
    assert HINDI_REQUIRED not in page


@pytest.mark.parametrize("font", FONTS, ids=[f.name for f in FONTS])
def test_the_devanagari_font_is_served(client, font):
    response = client.get(f"/static/fonts/{font.name}")
    assert response.status_code == 200
    assert response.data[:4] == b"wOF2"
    assert response.data == font.read_bytes()
    response.close()


def test_the_stylesheet_uses_the_shipped_font(client):
    assert any("devanagari-400" in f.name for f in FONTS)
    page = _html(client.get("/login"))
    assert '<meta charset="utf-8">' in page
    css = client.get("/static/css/app.css")
    text = css.get_data(as_text=True)
    css.close()
    for font in FONTS:
        assert f"fonts/{font.name}" in text
    assert '"Noto Sans Devanagari"' in text
