"""The QR code of an asset: a short public URL (<PUBLIC_BASE_URL>/a/<tag>) as PNG, SVG or a matrix.

Error correction M (15 % of the code may be damaged or dirty and it still reads), the
encoder's own choice of version and mask. The route /a/<tag> itself (the page a phone opens)
belongs to the scan pages; this module only encodes its address.
"""

from __future__ import annotations

import io
from functools import lru_cache
from urllib.parse import quote

import qrcode
from flask import current_app
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

# Modules of white around the code in the PNG and SVG downloads (the standard asks for 4).
QUIET_ZONE = 4
PNG_MODULE_PX = 10


def public_asset_url(tag: str, base_url: str | None = None) -> str:
    """The address a tag's QR code encodes: PUBLIC_BASE_URL + /a/ + the tag, URL-quoted."""
    base = current_app.config["PUBLIC_BASE_URL"] if base_url is None else base_url
    return str(base).rstrip("/") + "/a/" + quote(tag, safe="")


def _code(data: str, border: int = QUIET_ZONE, box_size: int = 10) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border, box_size=box_size)
    code.add_data(data)
    code.make(fit=True)
    return code


@lru_cache(maxsize=8192)
def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The code's modules without a quiet zone, row by row (True is dark).

    Cached: choosing the mask is most of the cost of a code, and reprinting a site's
    labels asks for the same addresses again.
    """
    return tuple(tuple(row) for row in _code(data, border=0).get_matrix())


def qr_png(data: str, module_px: int = PNG_MODULE_PX) -> bytes:
    """A black-on-white PNG, `module_px` pixels per module, with the quiet zone."""
    image = _code(data, box_size=module_px).make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out)  # PilImage.save writes PNG by default
    return out.getvalue()


def qr_svg(data: str) -> str:
    """An SVG (one path on a white background, sized in mm) with the quiet zone."""
    image = _code(data).make_image(image_factory=SvgPathFillImage)
    return image.to_string(encoding="unicode")
