"""Real-browser tests: the app on a live loopback server, driven by Chromium through Playwright.

Loaded by tests/conftest.py (``pytest_plugins = [..., "browser"]``). Nothing here starts
unless a test asks for it. Chromium is Debian's /usr/bin/chromium (no Playwright download),
kept on loopback by its launch flags (see /work/shared/docs/BROWSER-TESTS.md).

Fixtures
--------
``live_server`` (function scope): the test's own ``app`` (so its fresh database) served by
    Werkzeug in a thread on 127.0.0.1 and a free port. Attributes: ``url``
    ("http://127.0.0.1:PORT"), ``app``, ``live_server.url_for("/a/GON-1")`` for an
    absolute URL, ``live_server.requests`` (every request received so far, in order, as
    (method, path) pairs) and ``live_server.paths(method=None)`` (just the paths): count
    what reached the server, e.g. that a queued scan was sent once or a cached file not
    fetched again. Create data with the usual factories (they commit) before or during the
    test; after the browser changed something, call ``db.session.expire_all()`` (or
    ``db.session.rollback()``) before reading it in the test. CSRF protection is ON for the
    live server (as in production), so pages must send their forms' tokens.

``browser`` (session scope): a headless Chromium without a camera. Getting the camera there
    fails with NotFoundError (no device).

``camera_browser(y4m_path=None)`` (session-scoped factory): a Chromium whose fake camera plays
    ``y4m_path`` (a file from ``make_qr_y4m``), or Chromium's own test pattern when None. One
    browser per file, reused across the session and closed at its end.

``page(user=None, *, password=PASSWORD, camera=False, grant_camera=None, path=None,
    **context_options)`` (function-scoped factory): a new browser context and page on the live
    server (``base_url`` set, so ``page.goto("/scan")`` works). With ``user`` it signs that
    user in through the real login form first. ``camera``: False (no camera device), True (the
    fake test-pattern camera) or a .y4m path (that file as the camera). ``grant_camera``
    defaults to True when there is a camera; pass False to see the permission refused
    (NotAllowedError). ``path``: go there after signing in. Contexts are closed after the
    test. Extra keyword arguments go to ``Browser.new_context`` (``offline``, ``locale``,
    ``viewport``, ...). The returned page has ``page.console_messages`` (a list of
    "type: text" strings) to help diagnose failures.

Helpers (plain functions, import them with ``from browser import ...``)
----------------------------------------------------------------------
``make_qr_y4m(text, path, *, width=640, height=480, frames=2) -> Path``: a Y4M video (the
    format Chromium's fake camera reads) showing a QR code of ``text``, centred, black on white.
``write_y4m(image, path, frames=2) -> Path``: any Pillow image as a Y4M video.
``sign_in(page, username, password=PASSWORD)``: the login form, filled in and submitted.
``PHONE`` : context options for a phone-sized viewport (``page(user, **PHONE)``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import qrcode
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-battery"  # tests/conftest.py's default for make_user

# Loopback only: no name lookup leaves the machine, no Google services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

Y4M_HEADER = "YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n"


def write_y4m(image: Image.Image, path: str | Path, frames: int = 2) -> Path:
    """Write `image` as a 4:2:0 Y4M video of `frames` identical frames (grey: U = V = 128)."""
    path = Path(path)
    width, height = image.size
    if width % 2 or height % 2:
        raise ValueError("Y4M 4:2:0 needs even width and height")
    luma = image.convert("L").tobytes()  # full range, as C420jpeg means
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(Y4M_HEADER.format(w=width, h=height).encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n")
            out.write(luma)
            out.write(chroma)
            out.write(chroma)
    return path


def make_qr_y4m(
    text: str, path: str | Path, *, width: int = 640, height: int = 480, frames: int = 2
) -> Path:
    """A fake-camera video of a QR code of `text` (about 3/4 of the frame's height)."""
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    side = (min(width, height) * 3 // 4) // code.size[0] * code.size[0] or code.size[0]
    code = code.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(code, ((width - side) // 2, (height - side) // 2))
    return write_y4m(frame, path, frames)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Fill in and submit the real login form (the page must be on /login)."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    if "/login" in page.url:
        raise AssertionError(f"signing in {username} failed: {page.inner_text('main')[:300]}")


@dataclass
class LiveServer:
    url: str
    app: object
    _server: object = field(repr=False, default=None)
    _thread: threading.Thread | None = field(repr=False, default=None)
    _log: list = field(repr=False, default_factory=list)

    def url_for(self, path: str) -> str:
        return self.url + path

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request the server was sent so far, in order: (method, path)."""
        return list(self._log)

    def paths(self, method: str | None = None) -> list[str]:
        """The paths requested so far (of one method, if given), in order."""
        return [p for m, p in self._log if method is None or m == method]


class _InFlight:
    """WSGI middleware: logs each request (method, path) and counts those being answered,
    so that teardown can wait for them."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.idle = threading.Condition()
        self.log: list[tuple[str, str]] = []

    def __call__(self, environ, start_response):
        from werkzeug.wsgi import ClosingIterator

        with self.idle:
            self.count += 1
            self.log.append((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        try:
            response = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(response, [self._done])

    def _done(self) -> None:
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self.idle:
            self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    """The test's app (its fresh database) on 127.0.0.1 and a free port, in a thread."""
    from werkzeug.serving import make_server

    app.config["WTF_CSRF_ENABLED"] = True
    wsgi = _InFlight(app.wsgi_app)
    original = app.wsgi_app
    app.wsgi_app = wsgi
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    live = LiveServer(url=f"http://127.0.0.1:{server.port}", app=app, _server=server, _log=wsgi.log)
    live._thread = thread
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        wsgi.wait_idle(timeout=10)  # requests still being answered use the database
        app.wsgi_app = original


def _launch(playwright, extra_args=()):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


# Module scope, not session: while Playwright's sync API is started, the main thread has a
# running asyncio loop, and every later asyncio.run() (the SNMP probe's tests) would fail.
@pytest.fixture(scope="module")
def _playwright():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    playwright = manager.start()
    try:
        yield playwright
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser(_playwright):
    """Headless Chromium without a camera, for the test module."""
    chromium = _launch(_playwright)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def camera_browser(_playwright):
    """Factory: a Chromium whose fake camera shows a .y4m file (or the test pattern)."""
    launched: dict[str, object] = {}

    def get(y4m_path: str | Path | None = None):
        key = str(Path(y4m_path).resolve()) if y4m_path else ""
        if key not in launched:
            args = ["--use-fake-device-for-media-stream"]
            if key:
                if not Path(key).is_file():
                    raise FileNotFoundError(key)
                args.append(f"--use-file-for-fake-video-capture={key}")
            launched[key] = _launch(_playwright, args)
        return launched[key]

    try:
        yield get
    finally:
        for chromium in launched.values():
            chromium.close()


@pytest.fixture
def page(live_server, browser, camera_browser):
    """Factory: a new context and page on the live server, signed in as `user` if given."""
    contexts = []

    def open_page(
        user=None,
        *,
        password: str = PASSWORD,
        camera: bool | str | Path = False,
        grant_camera: bool | None = None,
        path: str | None = None,
        **context_options,
    ):
        if camera is False:
            chromium = browser
        else:
            chromium = camera_browser(None if camera is True else camera)
        context = chromium.new_context(base_url=live_server.url, **context_options)
        contexts.append(context)
        if grant_camera is None:
            grant_camera = camera is not False
        if grant_camera:
            context.grant_permissions(["camera"], origin=live_server.url)
        new_page = context.new_page()
        new_page.console_messages = []
        new_page.on(
            "console", lambda msg: new_page.console_messages.append(f"{msg.type}: {msg.text}")
        )
        if user is not None:
            new_page.goto("/login")
            sign_in(new_page, user.username, password)
        if path is not None:
            new_page.goto(path)
        return new_page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()
