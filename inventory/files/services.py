"""Storing uploads safely: size limit, real type from the bytes, images checked and re-encoded.

`store_upload` is the one way in for every domain (ticket attachments, inspection photos,
quotations). What the client says about the file (its content type, its extension) is
never believed: the type comes from the magic bytes, images are decoded by Pillow under a
pixel limit and written again (which drops EXIF metadata such as the camera's location and
anything appended to the image), PDFs must look like PDFs at both ends.

Blobs are content-addressed: `<UPLOAD_FOLDER>/<sha256[:2]>/<sha256>`, so identical uploads
share one file on disk while each upload keeps its own StoredFile row (name, uploader, time).
A blob is written before the transaction commits; if the transaction is rolled back the blob
stays behind unreferenced, which is harmless (a later identical upload reuses it).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

from inventory.extensions import db
from inventory.files.models import StoredFile


class FileError(ValueError):
    """An upload that cannot be accepted; the message is shown to the user."""


@dataclass(frozen=True)
class FileType:
    kind: str  # "image" or "pdf"
    content_type: str
    extension: str
    pil_format: str | None = None


JPEG = FileType("image", "image/jpeg", ".jpg", "JPEG")
PNG = FileType("image", "image/png", ".png", "PNG")
WEBP = FileType("image", "image/webp", ".webp", "WEBP")
PDF = FileType("pdf", "application/pdf", ".pdf")
KINDS = ("image", "pdf")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
NAME_MAX = 120


def sniff(data: bytes) -> FileType | None:
    """The type the bytes really are (JPEG, PNG, WebP, PDF), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def human_size(size: int) -> str:
    """5242880 -> "5 MB", 1536 -> "1.5 KB"."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"


def _accepted_message(kinds: Iterable[str]) -> str:
    kinds = set(kinds)
    if kinds == {"image"}:
        return _("Only photos in JPEG, PNG or WebP format are accepted.")
    if kinds == {"pdf"}:
        return _("Only PDF documents are accepted.")
    return _("Only photos (JPEG, PNG or WebP) and PDF documents are accepted.")


def sanitise_name(name: str | None, extension: str) -> str:
    """A display and download name: no folders, no control or odd characters, the real extension.

    Letters of any script (Devanagari included) are kept; the extension is the one of the
    sniffed type, so "scan.pdf.exe" that is a PNG is stored as "scan.pdf.png".
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    cleaned = []
    for char in stem:
        category = unicodedata.category(char)
        if category[0] in "LMN" or char in " -_.()":
            cleaned.append(char)
        elif category[0] in "ZP" or char == "\t":
            cleaned.append("_")
    stem = re.sub(r"[_ ]{2,}", "_", "".join(cleaned)).strip(" ._-")
    stem = stem[: NAME_MAX - len(extension)] or "file"
    return stem + extension


def _check_image(data: bytes, filetype: FileType, max_pixels: int) -> bytes:
    """Decode the image under a pixel limit and write it again; returns the new bytes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[filetype.pil_format])
            width, height = image.size
            if width * height > max_pixels:
                raise FileError(
                    _(
                        "The photo is too large: %(width)d x %(height)d pixels; "
                        "at most %(limit)d megapixels are accepted.",
                        width=width,
                        height=height,
                        limit=max_pixels // 1_000_000,
                    )
                )
            image.load()
            image = ImageOps.exif_transpose(image)
    except FileError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileError(_("The photo is too large to process.")) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FileError(
            _("The photo could not be read: the file is damaged or incomplete.")
        ) from exc

    out = io.BytesIO()
    if filetype is JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True)
    elif filetype is PNG:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG")
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image.save(out, "WEBP", quality=85)
    return out.getvalue()


def _check_pdf(data: bytes) -> None:
    if not re.match(rb"%PDF-[12]\.\d", data) or b"%%EOF" not in data[-2048:]:
        raise FileError(_("The PDF could not be read: the file is damaged or incomplete."))


def upload_folder() -> Path:
    """UPLOAD_FOLDER (a relative path is taken inside the instance folder), or instance/uploads."""
    instance = Path(current_app.instance_path)
    return instance / (current_app.config.get("UPLOAD_FOLDER") or "uploads")


def _blob_path(sha256: str) -> Path:
    return upload_folder() / sha256[:2] / sha256


def path_of(stored: StoredFile) -> Path:
    """Where the bytes of a stored file are on disk (they may be missing if the disk was lost)."""
    return _blob_path(stored.sha256)


def _write_blob(sha256: str, data: bytes) -> None:
    target = _blob_path(sha256)
    if target.exists() and target.stat().st_size == len(data):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def store_upload(
    upload,
    *,
    kinds: Iterable[str] = KINDS,
    max_bytes: int | None = None,
    uploaded_by=None,
) -> StoredFile:
    """Check an uploaded file (a werkzeug FileStorage), save its bytes, add and flush its row.

    kinds: which of "image" (JPEG, PNG, WebP) and "pdf" are accepted.
    max_bytes: the size limit (default UPLOAD_MAX_BYTES); at most max_bytes + 1 are read.
    uploaded_by: a User (or None). Raises FileError with a message for the user.
    Never commits.
    """
    kinds = tuple(kinds)
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"unknown file kinds: {sorted(unknown) or kinds}")
    if max_bytes is None:
        max_bytes = int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))
    if upload is None or not getattr(upload, "filename", None):
        raise FileError(_("Choose a file to upload."))

    data = upload.stream.read(max_bytes + 1)
    if not data:
        raise FileError(_("The file %(name)s is empty.", name=upload.filename))
    if len(data) > max_bytes:
        raise FileError(
            _(
                "The file %(name)s is too large: at most %(limit)s is accepted.",
                name=upload.filename,
                limit=human_size(max_bytes),
            )
        )

    filetype = sniff(data)
    if filetype is None or filetype.kind not in kinds:
        raise FileError(_accepted_message(kinds))
    if filetype.kind == "image":
        max_pixels = int(current_app.config.get("UPLOAD_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS))
        data = _check_image(data, filetype, max_pixels)
    else:
        _check_pdf(data)

    sha256 = hashlib.sha256(data).hexdigest()
    _write_blob(sha256, data)
    stored = StoredFile(
        sha256=sha256,
        original_name=sanitise_name(upload.filename, filetype.extension),
        content_type=filetype.content_type,
        size=len(data),
        uploaded_by_id=getattr(uploaded_by, "id", None),
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def get_file(file_id: int) -> StoredFile | None:
    return db.session.get(StoredFile, file_id)
