"""The end of a series under a gloved finger: when the last tap completes it, the room the
answer buttons had stays as a blank strip, so a second tap there (a double tap, a bounce
the debounce lets through, a tap made before the technician looks) lands on nothing.
Before, on a phone, Next animal and Undo moved up to where Withdrawal and No response had
been (the tablet probe of 2026-12-05).

The world is tests.worlds.make_bench_study on the up-down method: today is study day 28
(T3), tess is the blinded technician.
"""

import json

import pytest
from playwright.sync_api import expect

from analysis import thresholds
from sessions.models import Stimulus
from tests.browser.conftest import TABLET, screenshot, sign_in, too_small_targets
from tests.worlds import make_bench_study, session_url

PHONE = {"width": 390, "height": 844}
QUEUE_KEY = "labstudy.bench.queue.v1"
ANSWERS = ("Withdrawal", "No response")
# O O X O X X O: an up-down series that turns at 4.74 g and completes after 7 taps.
UP_DOWN_RESPONSES = [False, False, True, False, True, True, False]


def wait_synced(page) -> None:
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('{QUEUE_KEY}') || '[]').length === 0"
    )
    page.wait_for_function("() => !document.querySelector('.bench-chip.is-pending')")


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def points(box: dict, inset: float = 3) -> list[tuple[float, float]]:
    """Nine points over a button's box: its corners (`inset` px in), edges and centre."""
    xs = (box["x"] + inset, box["x"] + box["width"] / 2, box["x"] + box["width"] - inset)
    ys = (box["y"] + inset, box["y"] + box["height"] / 2, box["y"] + box["height"] - inset)
    return [(x, y) for y in ys for x in xs]


def under(page, point: tuple[float, float]) -> dict:
    """What a finger at `point` would touch: the control (link, button, summary, field)
    there, if any, and whether the point is on the completed series' blank strip."""
    return page.evaluate(
        """([x, y]) => {
            const e = document.elementFromPoint(x, y);
            const control = e && e.closest('a, button, summary, input, select, textarea');
            return {
                control: control ? (control.id || control.textContent.trim()) : null,
                strip: Boolean(e && e.closest('#bench-answer-done')),
            };
        }""",
        list(point),
    )


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_a_second_tap_where_the_answers_were_lands_on_nothing(
    transactional_db, study, people, new_page, viewport
):
    bench = make_bench_study(study, method="up_down")
    series = []
    for withdrew in UP_DOWN_RESPONSES:
        series.append((thresholds.next_filament(series, method="up_down"), withdrew))
    assert thresholds.next_filament(series, method="up_down") is None  # complete
    page = new_page(viewport)
    page.clock.install()  # the 400 ms debounce: the clock moves on instead of the test waiting
    sign_in(page, "tess")
    page.goto(session_url(bench, "R03"))
    *first, (_, last) = series
    for _, withdrew in first:
        page.get_by_role("button", name=ANSWERS[0 if withdrew else 1], exact=True).click()
        page.clock.fast_forward(450)
    wait_synced(page)
    answers = {
        name: page.get_by_role("button", name=name, exact=True).bounding_box() for name in ANSWERS
    }
    finger = centre(answers[ANSWERS[0 if last else 1]])

    page.mouse.click(*finger)  # the tap that completes the series
    wait_synced(page)
    expect(page.locator("#bench-result-server")).to_be_visible()  # the server's answer is in

    # Anywhere both answer buttons were, a finger now finds the blank strip and no control
    # (before, on a phone, Undo came up over their top 15 px).
    for name, box in answers.items():
        for point in points(box):
            assert under(page, point) == {"control": None, "strip": True}, (name, point)
    strip = page.locator("#bench-answer-done")
    expect(strip).to_have_text("No more filaments in this series")
    room = strip.bounding_box()
    for box in answers.values():  # the strip covers the buttons' whole room
        assert room["y"] <= box["y"] + 1
        assert room["y"] + room["height"] >= box["y"] + box["height"] - 1
    next_animal = page.get_by_role("link", name="Next animal", exact=True)
    assert next_animal.bounding_box()["y"] >= room["y"] + room["height"]

    page.clock.fast_forward(450)  # past the debounce: a tap on a control would count
    page.mouse.click(*finger)  # the second tap: nothing happens
    page.wait_for_timeout(300)  # time for a navigation or a post to start, if one were made
    assert page.url.endswith(session_url(bench, "R03"))
    assert json.loads(page.evaluate(f"localStorage.getItem('{QUEUE_KEY}') || '[]'")) == []
    expect(page.locator("#bench-undo-confirm")).to_be_hidden()
    stored = Stimulus.objects.filter(session__animal=bench.animals["R03"], voided=False)
    assert list(stored.order_by("order").values_list("filament__size", "withdrew")) == series
    assert too_small_targets(page) == []
    if viewport is PHONE:
        screenshot(page, "bench-session-complete-phone")

    next_animal.click()  # Next animal still works, below the strip
    page.wait_for_url(lambda url: not url.endswith(session_url(bench, "R03")))
