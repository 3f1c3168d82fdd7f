"""Serving stored files: the sniffed type, no sniffing by the browser, a sandbox around them."""

from __future__ import annotations

import io

from flask import Blueprint, abort, send_file, url_for

from inventory.files import services
from inventory.files.models import StoredFile

bp = Blueprint("files", __name__, url_prefix="/files")

# The file is never a page of this site: no scripts, no styles, no forms, no framing.
FILE_CSP = "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'none'"


def file_url(stored: StoredFile | None) -> str:
    """The address of a stored file (for templates: `file_url(photo)`)."""
    if stored is None:
        return ""
    return url_for("files.download", file_id=stored.id, name=stored.original_name)


@bp.route("/<int:file_id>/<path:name>")
def download(file_id: int, name: str):
    # `name` is only there so that browsers save the file under its own name.
    stored = services.get_file(file_id)
    if stored is None:
        abort(404)
    try:
        # Read whole (files are a few MB at most): no open file handle outlives the request.
        data = services.path_of(stored).read_bytes()
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(data),
        mimetype=stored.content_type,
        as_attachment=not stored.is_image,
        download_name=stored.original_name,
        conditional=True,
        etag=stored.sha256,
        max_age=86400,
        last_modified=stored.created_at,
    )
    response.cache_control.private = True
    response.cache_control.public = False
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
