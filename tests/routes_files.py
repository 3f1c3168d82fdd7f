"""Route table for stored files (inventory.files); see tests/routing.py."""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app
from PIL import Image
from routing import Route
from werkzeug.datastructures import FileStorage

ROUTES: dict[str, Route] = {
    "/files/<int:file_id>/<path:name>": Route(
        "files.download", "viewer", "/files/{file_id}/{file_name}"
    ),
}


def _test_upload_folder() -> None:
    """Blobs go under the test's own temporary folder, never the real instance folder."""
    if not current_app.config.get("UPLOAD_FOLDER"):
        key_file = Path(current_app.config["CREDENTIALS_KEY_FILE"])
        current_app.config["UPLOAD_FOLDER"] = str(key_file.parent / "uploads")


def make_objects(base: dict, n: int) -> dict:
    from inventory.extensions import db
    from inventory.files.services import store_upload

    _test_upload_folder()
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (n % 256, 10, 20)).save(buffer, "PNG")
    buffer.seek(0)
    stored = store_upload(FileStorage(buffer, filename=f"matrix-{n}.png"), kinds=("image",))
    db.session.commit()
    return {"file_id": stored.id, "file_name": stored.original_name}
