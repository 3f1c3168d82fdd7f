"""A verification visit in real Chromium: scans made offline are kept, survive a reload, and
reach the server exactly once when the connection returns; a resent scan is stored once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from browser import PHONE, make_qr_y4m

from inventory.extensions import db
from inventory.verification.models import VisitScan
from inventory.verification.services import start_visit

READY = "#verify[data-ready='1']"


def stored_scans(visit_id: int) -> list[tuple[str, str]]:
    db.session.rollback()  # see what the live server committed
    rows = db.session.execute(
        sa.select(VisitScan.tag, VisitScan.outcome)
        .where(VisitScan.visit_id == visit_id)
        .order_by(VisitScan.id)
    )
    return [tuple(row) for row in rows]


def list_tags(page, name: str) -> list[str]:
    return page.eval_on_selector_all(
        f'[data-items="{name}"] .vtag', "nodes => nodes.map(n => n.textContent)"
    )


def type_tag(page, text: str) -> None:
    page.fill("#verify-tag", text)
    page.press("#verify-tag", "Enter")


def cached(page, *paths: str) -> list[str]:
    """Which of these paths the page's service worker caches hold."""
    return page.evaluate(
        """async (paths) => {
            const held = [];
            for (const path of paths) {
                if (await caches.match(location.origin + path)) held.push(path);
            }
            return held;
        }""",
        list(paths),
    )


@pytest.fixture
def visit_setup(district, make_asset, make_user):
    block, csc = district["block"], district["csc"]
    here = [make_asset(block, "DSK", serial=f"B-{i}") for i in range(3)]
    away = make_asset(csc, "PRJ", serial="AWAY")
    user = make_user("engineer", locale="en")
    visit = start_visit(block, user)
    db.session.commit()
    return {"visit": visit, "here": here, "away": away, "user": user}


def test_offline_scans_survive_a_reload_and_are_sent_once(page, visit_setup, tmp_path, live_server):
    visit, here, away = visit_setup["visit"], visit_setup["here"], visit_setup["away"]
    url = f"/verify/visits/{visit.id}"
    camera = make_qr_y4m(live_server.url_for(f"/a/{here[2].tag}"), tmp_path / "qr.y4m")
    p = page(visit_setup["user"], camera=camera, path=url, **PHONE)
    p.wait_for_selector(READY)
    # The page, its scripts and the camera's decoder are kept for a reload without a link.
    p.wait_for_selector("#verify[data-offline='ready']")
    assert p.is_visible("#verify-offline-ready")
    decoder = p.eval_on_selector("script[data-decoder]", "s => s.dataset.decoder")
    wanted = [url, "/static/js/verify.js", "/static/js/scanner.js", decoder]
    assert cached(p, *wanted) == wanted
    cached_copy = p.evaluate(
        "async () => (await (await caches.match(location.origin + location.pathname)).text())"
        '.match(/data-rendered-at="([^"]+)"/)[1]'
    )

    p.context.set_offline(True)
    p.wait_for_selector("#verify-net[data-state='offline']")
    type_tag(p, here[0].tag.lower())
    type_tag(p, away.tag)
    type_tag(p, "NOT-A-REAL-TAG")
    type_tag(p, here[0].tag)  # typed again: refused in the page, not queued
    assert "already scanned" in p.inner_text("#verify-message")
    # One through the fake camera, which shows the QR code of here[2]'s label.
    p.click("#verify-camera-start")
    p.wait_for_selector("#verify-pending[data-count='4']", timeout=30_000)
    p.click("#verify-camera-stop")
    assert p.inner_text("#verify-pending") == "4 scans waiting to send"
    assert stored_scans(visit.id) == []

    # Reloaded with no connection: the service worker's copy opens, the queue is still there.
    p.reload()
    p.wait_for_selector(READY)
    assert p.get_attribute("#verify", "data-rendered-at") == cached_copy  # not the server
    assert p.inner_text("#verify-pending") == "4 scans waiting to send"
    assert p.eval_on_selector_all(
        "#verify-queue .vwaiting .vtag", "nodes => nodes.map(n => n.textContent)"
    ) == [here[0].tag, away.tag, "NOT-A-REAL-TAG", here[2].tag]
    type_tag(p, away.tag)  # still known as scanned after the reload
    assert "already scanned" in p.inner_text("#verify-message")
    assert stored_scans(visit.id) == []

    p.context.set_offline(False)
    p.wait_for_selector("#verify-pending[data-count='0']")
    p.wait_for_function("() => document.querySelectorAll('[data-items=\"found\"] li').length === 2")
    assert stored_scans(visit.id) == [
        (here[0].tag, "found"),
        (away.tag, "unexpected"),
        ("NOT-A-REAL-TAG", "unknown"),
        (here[2].tag, "found"),
    ]
    assert list_tags(p, "found") == [here[0].tag, here[2].tag]
    assert list_tags(p, "unexpected") == [away.tag]
    assert list_tags(p, "unknown") == ["NOT-A-REAL-TAG"]
    assert list_tags(p, "missing") == [here[1].tag]
    assert p.inner_text(".vcounts [data-count='found']") == "2"
    assert p.is_hidden("#verify-queue-box")
    # The queue is empty in storage too: another reload sends nothing again.
    p.reload()
    p.wait_for_selector(READY)
    p.wait_for_selector("#verify-pending[data-count='0']")
    assert len(stored_scans(visit.id)) == 4


def test_a_scan_whose_answer_was_lost_is_sent_again_and_stored_once(page, visit_setup):
    visit, here = visit_setup["visit"], visit_setup["here"]
    # Without the offline worker: Playwright's routes do not see what a worker handles.
    p = page(
        visit_setup["user"], path=f"/verify/visits/{visit.id}", service_workers="block", **PHONE
    )
    p.wait_for_selector(READY)
    answered = []

    def lose_first_answer(route):
        response = route.fetch()  # the server records the scan...
        answered.append(response.status)
        if len(answered) == 1:
            route.abort("connectionreset")  # ...but the phone never hears back
        else:
            route.fulfill(response=response)

    p.route("**/scans", lose_first_answer)
    type_tag(p, here[0].tag)
    p.wait_for_function("() => document.querySelectorAll('[data-items=\"found\"] li').length")
    assert p.get_attribute("#verify-pending", "data-count") == "0"
    assert answered == [201, 200]  # the resend was answered "already recorded"
    p.unroute("**/scans")

    # The queue itself replayed: the same scan twice in storage (two tabs, a restored copy).
    p.context.set_offline(True)
    type_tag(p, here[1].tag)
    p.evaluate(
        """(key) => {
            const data = JSON.parse(localStorage.getItem(key));
            data.queue.push(Object.assign({}, data.queue[0]));
            localStorage.setItem(key, JSON.stringify(data));
        }""",
        f"sampada.verify.{visit.id}",
    )
    p.context.set_offline(False)
    p.wait_for_selector("#verify-pending[data-count='0']")
    p.wait_for_function("() => document.querySelectorAll('[data-items=\"found\"] li').length === 2")
    assert stored_scans(visit.id) == [(here[0].tag, "found"), (here[1].tag, "found")]


def test_hostile_tags_are_shown_as_text(page, visit_setup):
    visit = visit_setup["visit"]
    p = page(visit_setup["user"], path=f"/verify/visits/{visit.id}", **PHONE)
    p.wait_for_selector(READY)
    dialogs = []
    p.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = '<img src=x onerror=alert(1)><b id="bold">x</b>'
    type_tag(p, hostile)
    p.wait_for_function("() => document.querySelectorAll('[data-items=\"unknown\"] li').length")
    shown = list_tags(p, "unknown")[0]
    assert shown.startswith("<IMG")
    assert p.query_selector("[data-items] img, #verify img, #bold, [id=BOLD]") is None
    assert dialogs == []


def test_scans_queued_for_a_visit_finished_meanwhile_are_shown_as_not_recorded(page, visit_setup):
    from inventory.verification.services import finish_visit

    visit, here = visit_setup["visit"], visit_setup["here"]
    p = page(visit_setup["user"], path=f"/verify/visits/{visit.id}", **PHONE)
    p.wait_for_selector(READY)
    p.context.set_offline(True)
    type_tag(p, here[0].tag)
    p.wait_for_selector("#verify-pending[data-count='1']")
    finish_visit(db.session.get(type(visit), visit.id))  # finished from another phone
    db.session.commit()
    p.context.set_offline(False)
    p.wait_for_selector("#verify-queue .vfailed")
    assert p.get_attribute("#verify-pending", "data-count") == "0"
    assert here[0].tag in p.inner_text("#verify-queue .vfailed")
    assert "not recorded" in p.inner_text("#verify-queue .vfailed")
    assert "visit is over" in p.inner_text("#verify-message")
    assert stored_scans(visit.id) == []
