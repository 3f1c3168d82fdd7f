"""The vendored QR decoder (qr-scanner), served so that a phone fetches it once.

The files are answered by a small WSGI layer in front of the Flask app, not by a view: a
Flask response of a signed-in user carries "Vary: Cookie" and a refreshed session cookie,
and with the cookie changing on every request the browser would fetch the file again each
time. Here the URL names the version (/scan/decoder/<version>/<file>), the answer is
`Cache-Control: public, max-age=<one year>, immutable` with a strong ETag, and nothing
of the session is read or written. The files are public (a static library; nothing
sensitive), like /static. The app's own static files are not affected.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

from werkzeug.wrappers import Request, Response

DECODER_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "qr-scanner"
DECODER_SCRIPT = "qr-scanner.umd.min.js"
DECODER_WORKER = "qr-scanner-worker.min.js"
# The UMD build, the worker module it imports from its own folder, and the ES build.
DECODER_FILES = frozenset({DECODER_SCRIPT, DECODER_WORKER, "qr-scanner.min.js"})
DECODER_MAX_AGE = 365 * 24 * 3600
PREFIX = "/scan/decoder/"


@cache
def decoder_version() -> str:
    """The vendored qr-scanner's version, from its VERSION file ("qr-scanner 1.4.2 ...")."""
    text = (DECODER_DIR / "VERSION").read_text(encoding="utf-8")
    match = re.match(r"qr-scanner (\S+)", text)
    if not match:
        raise RuntimeError(f"cannot read the version in {DECODER_DIR / 'VERSION'}")
    return match.group(1)


def decoder_path(filename: str = DECODER_SCRIPT) -> str:
    """The path of a decoder file below the app's root (prefix it with the script root)."""
    return f"{PREFIX}{decoder_version()}/{filename}"


@cache
def _file(filename: str) -> tuple[bytes, str]:
    """A decoder file's bytes and a strong ETag (read once; the files are small)."""
    body = (DECODER_DIR / filename).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:32]


def _answer(request: Request) -> Response:
    rest = request.path[len(PREFIX) :]
    version, _, filename = rest.partition("/")
    if request.method not in ("GET", "HEAD"):
        return Response("Method not allowed\n", 405, {"Allow": "GET, HEAD"}, "text/plain")
    return answer(request, version, filename)


def answer(request: Request, version: str, filename: str) -> Response:
    """The response for one decoder file (404 for another version or file)."""
    if version != decoder_version() or filename not in DECODER_FILES:
        return Response("Not found\n", 404, mimetype="text/plain")
    body, etag = _file(filename)
    response = Response(body, mimetype="text/javascript")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = DECODER_MAX_AGE
    response.cache_control.immutable = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


class DecoderFiles:
    """WSGI middleware: answers /scan/decoder/<version>/<file>, passes everything else on."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return _answer(Request(environ))(environ, start_response)
        return self.app(environ, start_response)
