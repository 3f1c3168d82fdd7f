"""Stored uploads: real images and PDFs, types sniffed from the bytes, limits, dedupe, serving."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
import sqlalchemy as sa
from fpdf import FPDF
from PIL import Image
from werkzeug.datastructures import FileStorage

from inventory.extensions import db
from inventory.files.models import StoredFile
from inventory.files.services import FileError, path_of, sanitise_name, store_upload


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path):
    folder = tmp_path / "uploads"
    app.config["UPLOAD_FOLDER"] = str(folder)
    return folder


def png_bytes(size=(32, 24), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size=(40, 30), exif=None) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (20, 120, 200))
    if exif is not None:
        image.save(buffer, "JPEG", exif=exif)
    else:
        image.save(buffer, "JPEG")
    return buffer.getvalue()


def webp_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 200, 0)).save(buffer, "WEBP")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Quotation 42")
    return bytes(pdf.output())


def upload(data: bytes, name: str = "file.bin", content_type: str = "image/png") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=content_type)


def blobs(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# Accepted types


@pytest.mark.parametrize(
    ("maker", "content_type", "extension"),
    [
        (png_bytes, "image/png", ".png"),
        (jpeg_bytes, "image/jpeg", ".jpg"),
        (webp_bytes, "image/webp", ".webp"),
        (pdf_bytes, "application/pdf", ".pdf"),
    ],
)
def test_real_files_are_stored_with_their_sniffed_type(
    app, upload_folder, maker, content_type, extension
):
    # The client's name and type are wrong on purpose: neither is believed.
    stored = store_upload(upload(maker(), "scan.txt", "text/plain"))
    assert stored.id is not None  # flushed
    assert stored.content_type == content_type
    assert stored.original_name == "scan" + extension
    path = path_of(stored)
    assert path.parent.parent == upload_folder
    assert path.name == stored.sha256 and path.parent.name == stored.sha256[:2]
    assert path.stat().st_size == stored.size
    if content_type.startswith("image/"):
        with Image.open(path) as image:
            image.load()
            assert image.get_format_mimetype() == content_type


def test_store_upload_flushes_but_never_commits(app):
    stored = store_upload(upload(png_bytes(), "a.png"))
    file_id = stored.id
    db.session.rollback()
    assert db.session.get(StoredFile, file_id) is None


def test_uploader_is_recorded(app, make_user):
    user = make_user("engineer")
    stored = store_upload(upload(png_bytes(), "a.png"), uploaded_by=user)
    db.session.commit()
    assert db.session.get(StoredFile, stored.id).uploaded_by_id == user.id


# Refused types


def test_html_named_png_is_refused(app, upload_folder):
    html = b"<!doctype html><html><script>alert(1)</script></html>"
    with pytest.raises(FileError, match="Only photos in JPEG, PNG or WebP format"):
        store_upload(upload(html, "photo.png", "image/png"), kinds=("image",))
    assert blobs(upload_folder) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0


def test_svg_is_refused(app):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
    with pytest.raises(FileError, match="Only photos"):
        store_upload(upload(svg, "logo.svg", "image/svg+xml"))


def test_gif_and_text_are_refused(app):
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, "GIF")
    for data in (buffer.getvalue(), b"plain text"):
        with pytest.raises(FileError, match="PDF documents are accepted"):
            store_upload(upload(data, "x.png"))


def test_kinds_limit_what_is_accepted(app):
    with pytest.raises(FileError, match="Only photos in JPEG, PNG or WebP format"):
        store_upload(upload(pdf_bytes(), "q.pdf", "application/pdf"), kinds=("image",))
    with pytest.raises(FileError, match="Only PDF documents are accepted"):
        store_upload(upload(png_bytes(), "q.png"), kinds=("pdf",))
    with pytest.raises(ValueError, match="unknown file kinds"):
        store_upload(upload(png_bytes(), "q.png"), kinds=("video",))


def test_damaged_image_is_refused(app):
    data = png_bytes(size=(200, 200))
    with pytest.raises(FileError, match="damaged or incomplete"):
        store_upload(upload(data[: len(data) // 2], "half.png"))


def test_pdf_without_an_end_is_refused(app):
    data = pdf_bytes()
    with pytest.raises(FileError, match="PDF could not be read"):
        store_upload(upload(data[:-200], "cut.pdf"))


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (100_000, 100_000)])
def test_decompression_bombs_are_refused(app, upload_folder, width, height):
    with pytest.raises(FileError, match="too large"):
        store_upload(upload(_png_claiming(width, height), "bomb.png"))
    assert blobs(upload_folder) == []


def test_pixel_limit_is_configurable(app):
    app.config["UPLOAD_MAX_IMAGE_PIXELS"] = 1_000_000
    with pytest.raises(FileError, match="1200 x 1000 pixels; at most 1 megapixels"):
        store_upload(upload(png_bytes(size=(1200, 1000)), "big.png"))
    assert store_upload(upload(png_bytes(size=(1000, 1000)), "ok.png")).id


# Sizes


def test_empty_file_is_refused(app):
    with pytest.raises(FileError, match=r"The file empty\.png is empty"):
        store_upload(upload(b"", "empty.png"))


def test_no_file_chosen(app):
    with pytest.raises(FileError, match="Choose a file"):
        store_upload(FileStorage(io.BytesIO(b""), filename=""))
    with pytest.raises(FileError, match="Choose a file"):
        store_upload(None)


def test_oversized_file_is_refused_after_reading_only_the_limit(app):
    data = png_bytes() + b"\x00" * (2 * 1024 * 1024)
    stream = io.BytesIO(data)
    with pytest.raises(FileError, match=r"The file big.png is too large: at most 1 MB"):
        store_upload(FileStorage(stream, filename="big.png"), max_bytes=1024 * 1024)
    assert stream.tell() == 1024 * 1024 + 1


def test_default_limit_comes_from_config(app):
    app.config["UPLOAD_MAX_BYTES"] = 1536
    with pytest.raises(FileError, match=r"at most 1.5 KB"):
        store_upload(upload(pdf_bytes() + b"%" * 2000, "q.pdf"))


# Images are rewritten: metadata and anything hidden after the image are gone


def test_jpeg_location_metadata_is_removed(app):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (27.0, 8.0, 0.0)  # GPSLatitude
    data = jpeg_bytes(exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as original:
        assert 0x8825 in original.getexif()
    stored = store_upload(upload(data, "site.jpg"))
    with Image.open(path_of(stored)) as kept:
        assert 0x8825 not in kept.getexif()
        assert 0x010F not in kept.getexif()


def test_phone_orientation_is_applied(app):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    stored = store_upload(upload(jpeg_bytes(size=(60, 20), exif=exif.tobytes()), "r.jpg"))
    with Image.open(path_of(stored)) as kept:
        assert kept.size == (20, 60)


def test_html_appended_to_an_image_is_dropped(app):
    data = png_bytes() + b"<html><script>alert(1)</script></html>"
    stored = store_upload(upload(data, "poly.png"))
    assert b"<script>" not in path_of(stored).read_bytes()


# Content addressing


def test_identical_uploads_share_one_blob(app, upload_folder):
    data = png_bytes()
    first = store_upload(upload(data, "one.png"))
    second = store_upload(upload(data, "two.png"))
    other = store_upload(upload(png_bytes(colour=(1, 2, 3)), "three.png"))
    db.session.commit()
    assert first.id != second.id
    assert first.sha256 == second.sha256 != other.sha256
    assert (first.original_name, second.original_name) == ("one.png", "two.png")
    assert path_of(first) == path_of(second)
    assert len(blobs(upload_folder)) == 2


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\ram\\photo.jpeg", "photo.png"),
        ("फोटो निरीक्षण.png", "फोटो निरीक्षण.png"),
        ("report.pdf.exe", "report.pdf.png"),
        ('a"<b>\r\n.png', "a_b.png"),
        ("...", "file.png"),
        ("", "file.png"),
        ("x" * 300 + ".png", "x" * 116 + ".png"),
    ],
)
def test_names_are_sanitised(given, kept):
    assert sanitise_name(given, ".png") == kept


# Serving


def test_image_is_served_inline_with_strict_headers(app, as_role):
    data = png_bytes()
    stored = store_upload(upload(data, "फोटो.png"))
    db.session.commit()
    client = as_role("viewer")
    response = client.get(f"/files/{stored.id}/{stored.original_name}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "filename*=UTF-8''%E0%A4%AB" in response.headers["Content-Disposition"]
    assert "private" in response.headers["Cache-Control"]
    assert response.data == path_of(stored).read_bytes()
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (32, 24)


def test_pdf_is_served_as_attachment(app, as_role):
    stored = store_upload(upload(pdf_bytes(), "quotation.pdf", "application/pdf"))
    db.session.commit()
    response = as_role("viewer").get(f"/files/{stored.id}/quotation.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "quotation.pdf" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.data.startswith(b"%PDF-")


def test_file_url_helper_names_the_download(app):
    from inventory.files.views import file_url

    stored = store_upload(upload(png_bytes(), "site photo.png"))
    with app.test_request_context():
        assert file_url(stored) == f"/files/{stored.id}/site%20photo.png"
        assert file_url(None) == ""


def test_missing_file_or_blob_is_404(app, as_role):
    stored = store_upload(upload(png_bytes(), "a.png"))
    db.session.commit()
    client = as_role("viewer")
    assert client.get("/files/999999/a.png").status_code == 404
    path_of(stored).unlink()
    assert client.get(f"/files/{stored.id}/a.png").status_code == 404


def test_anonymous_is_sent_to_login(app, client):
    stored = store_upload(upload(png_bytes(), "a.png"))
    db.session.commit()
    response = client.get(f"/files/{stored.id}/a.png")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
