"""The bench guides ascending and percent-response series (issue 15): the next filament
steps upward from the lowest filament in use, each filament N times, the panel says which
application comes next, and the series closes with the method's threshold."""

import pytest

from analysis.frames import session_frame
from sessions.models import Stimulus
from tests.worlds import make_bench_study, session_url, state_of, tap

CHAPLAN_8 = "3.61, 3.84, 4.08, 4.31, 4.56, 4.74, 4.93, 5.18"


def _study(study, method, **settings):
    for name, value in settings.items():
        setattr(study, name, value)
    study.threshold_method = method
    study.full_clean()
    study.save()
    return make_bench_study(study, method=method)


def _next_size(response) -> str:
    html = response.content.decode()
    return html.split('id="bench-next-size" class="bench-next-size">')[1].split("<")[0]


@pytest.mark.django_db
def test_ascending_guidance_steps_upward_and_closes_at_the_first_withdrawal(study, client_for):
    bench = _study(study, "ascending", method_filaments=CHAPLAN_8)
    client = client_for("technician")
    page = client.get(session_url(bench))
    assert page.status_code == 200
    html = page.content.decode()
    assert _next_size(page) == "3.61"  # the lowest filament in use, not the 4.31 start
    assert "Application 1 of 1" in html
    assert "Ascending: each filament once, lowest first" in html
    asked, session, after = [], "", ""
    # The rat withdraws from 2 g (4.31) up: O O O X.
    for size, withdrew in (("3.61", False), ("3.84", False), ("4.08", False), ("4.31", True)):
        response = tap(client, bench, withdrew=withdrew, size=size, session=session, after=after)
        state = state_of(response)
        session, after = state["session"], state["series"][-1]["uuid"]
        if withdrew:
            html = response.content.decode()
        else:
            asked.append(_next_size(response))
    assert asked == ["3.84", "4.08", "4.31"]  # one step up after every "no response"
    assert "Series complete" in html and "2 g" in html
    assert "Ascending method of limits" in html
    frame = session_frame(bench.study)
    row = frame[frame["animal"] == "R03"].iloc[0]
    assert (row["threshold_g"], row["status"], row["method"]) == (2.0, "ok", "ascending")


@pytest.mark.django_db
def test_percent_response_block_applies_each_filament_n_times(study, client_for):
    bench = _study(
        study,
        "percent_response",
        method_filaments="4.08, 4.31",
        applications_per_filament=3,
        withdrawals_needed=2,
    )
    client = client_for("technician")
    session, after = "", ""
    asked = []
    # 1 g: O O O (0 of 3); 2 g: X O X (2 of 3) -> threshold 2 g after 6 taps.
    for size, withdrew in zip(
        ["4.08"] * 3 + ["4.31"] * 3, [False, False, False, True, False, True], strict=True
    ):
        response = tap(client, bench, withdrew=withdrew, size=size, session=session, after=after)
        state = state_of(response)
        session, after = state["session"], state["series"][-1]["uuid"]
        html = response.content.decode()
        if "Series complete" not in html:
            label = html.split('id="bench-application" class="bench-application">')[1]
            asked.append((_next_size(response), label.split("<")[0]))
            assert "Percent response: every filament 3 times, lowest first." in html
    assert asked == [
        ("4.08", "Application 2 of 3"),
        ("4.08", "Application 3 of 3"),
        ("4.31", "Application 1 of 3"),
        ("4.31", "Application 2 of 3"),
        ("4.31", "Application 3 of 3"),
    ]
    assert "Series complete" in html
    assert Stimulus.objects.filter(session_id=session).count() == 6
    row = session_frame(bench.study).query("animal == 'R03'").iloc[0]
    assert (row["threshold_g"], row["status"]) == (2.0, "ok")
