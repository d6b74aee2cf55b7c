"""Ascending and percent-response series recorded on the tablet (issue 15), one tap
offline, and the frequency curve on the animal page. Screenshots: bench_ascending.png,
bench_frequency.png, animal_frequency.png in docs/screenshots/."""

import datetime as dt
import re

from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from analysis import thresholds
from animals.models import Animal
from labstudy import services as study_services
from labstudy.models import Membership, Role, Study
from sessions.models import Stimulus
from tests.browser.conftest import TABLET, screenshot, sign_in, too_small_targets

QUEUE_KEY = "labstudy.bench.queue.v1"
CHAPLAN_8 = ["3.61", "3.84", "4.08", "4.31", "4.56", "4.74", "4.93", "5.18"]


def _study(slug, method, **settings):
    users = {u.username: u for u in get_user_model().objects.all()}
    study = study_services.create_study(
        template_key="psnl-vf-3x8",
        slug=slug,
        title=f"{method} bench day",
        day0_date=timezone.localdate() - dt.timedelta(days=28),
        user=users["datamanager"],
        status=Study.Status.RUNNING,
        threshold_method=method,
        **settings,
    )
    for username, role in (("technician", Role.TECHNICIAN), ("investigator", Role.INVESTIGATOR)):
        Membership.objects.create(user=users[username], study=study, role=role)
    group = study.groups.order_by("order").first()
    animal = Animal.objects.create(study=study, code="R01", cage="C1", group=group)
    return study, animal, study.timepoints.get(label="T3")


def _open(new_page, study, animal, tp):
    page = new_page(TABLET)
    page.clock.install()
    sign_in(page, "technician")
    page.goto(f"/s/{study.slug}/bench/vf/{animal.pk}/{tp.pk}/right/")
    return page


def _press(page, withdrew):
    page.get_by_role("button", name="Withdrawal" if withdrew else "No response", exact=True).click()
    page.clock.fast_forward(450)


def _synced(page):
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('{QUEUE_KEY}') || '[]').length === 0"
    )
    page.wait_for_function("() => !document.querySelector('.bench-chip.is-pending')")


def _shown(page):
    return (
        page.locator("#bench-next-size").inner_text().strip(),
        page.locator("#bench-application").inner_text().strip(),
    )


def _stored(animal):
    rows = Stimulus.objects.filter(session__animal=animal, voided=False).order_by("order")
    return list(rows.values_list("filament__size", "withdrew"))


def test_an_ascending_series_on_the_tablet(transactional_db, demo_study, new_page):
    # Two of three per filament on Chaplan's eight; the rat answers 0.4 g O O (settled),
    # 0.6 g X O O, 1 g O X X -> threshold 1 g after 8 taps.
    study, animal, tp = _study(
        "bench-ascending",
        "ascending",
        applications_per_filament=3,
        withdrawals_needed=2,
        method_filaments=", ".join(CHAPLAN_8),
    )
    page = _open(new_page, study, animal, tp)
    text = page.locator("#bench-panel").inner_text()
    assert "Ascending: each filament up to 3 times, lowest first" in text
    taps = [
        ("3.61", False, "Application 1 of 3"),
        ("3.61", False, "Application 2 of 3"),
        ("3.84", True, "Application 1 of 3"),
        ("3.84", False, "Application 2 of 3"),
        ("3.84", False, "Application 3 of 3"),
        ("4.08", False, "Application 1 of 3"),
        ("4.08", True, "Application 2 of 3"),
        ("4.08", True, "Application 3 of 3"),
    ]
    for i, (size, withdrew, label) in enumerate(taps):
        assert _shown(page) == (size, label), i
        if i == 5:
            # Offline, the tablet keeps guiding upward by the same rule.
            page.context.set_offline(True)
        _press(page, withdrew)
        if i == 6:
            assert _shown(page) == ("4.08", "Application 3 of 3")
            assert too_small_targets(page) == []
            screenshot(page, "bench_ascending")
            page.context.set_offline(False)
            page.evaluate("window.dispatchEvent(new Event('online'))")
        if i < 5:
            _synced(page)
    _synced(page)
    assert _stored(animal) == [(s, w) for s, w, _ in taps]
    result = page.locator("#bench-result")
    result.wait_for()
    text = re.sub(r"\s+", " ", result.inner_text())
    assert "1 g" in text and "Ascending method of limits" in text
    expected = thresholds.ascending_threshold(
        [(s, w) for s, w, _ in taps], applications=3, withdrawals=2, subset=CHAPLAN_8
    )
    assert expected.grams == 1.0
    expect(page.get_by_role("button", name="Withdrawal")).to_be_hidden()


def test_a_percent_response_block_and_its_curve(transactional_db, demo_study, new_page):
    # Five applications each on 1, 2 and 4 g, 3 of 5 needed:
    # 1 g 0/5, 2 g 3/5, 4 g 5/5 -> threshold 2 g.
    study, animal, tp = _study(
        "bench-frequency",
        "percent_response",
        applications_per_filament=5,
        withdrawals_needed=3,
        method_filaments="4.08, 4.31, 4.56",
    )
    page = _open(new_page, study, animal, tp)
    assert (
        "Percent response: every filament 5 times, lowest first."
        in page.locator("#bench-panel").inner_text()
    )
    answers = {"4.08": "OOOOO", "4.31": "XOXOX", "4.56": "XXXXX"}
    taps = [(size, ch == "X") for size, pattern in answers.items() for ch in pattern]
    for i, (size, withdrew) in enumerate(taps):
        assert _shown(page) == (size, f"Application {i % 5 + 1} of 5"), i
        _press(page, withdrew)
        _synced(page)
        if i == 7:
            assert too_small_targets(page) == []
            screenshot(page, "bench_frequency")
    assert _stored(animal) == taps
    result = page.locator("#bench-result")
    result.wait_for()
    assert "2 g" in result.inner_text()

    sign_in(page, "investigator")
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(f"/s/{study.slug}/dashboard/animals/{animal.pk}/")
    chart = page.locator("#chart-frequency .main-svg").first
    chart.wait_for()
    points = page.evaluate(
        "() => document.getElementById('chart-frequency').data.map(t => [t.name, t.x, t.y])"
    )
    assert points == [["T3 right hind", [1, 2, 4], [0, 60, 100]]]
    assert "1 g: 0 of 5 · 2 g: 3 of 5 · 4 g: 5 of 5" in page.locator("#frequency").inner_text()
    page.locator("#frequency").scroll_into_view_if_needed()
    screenshot(page, "animal_frequency")
