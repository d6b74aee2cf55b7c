"""The stepping rule the tablet uses offline (static/js/bench-stepping.js) agrees with
analysis.thresholds.next_filament on thousands of random series, for every method, and
its target force with analysis.thresholds.first_response_threshold.

Series are grown by the rule with random responses, with random overrides (a filament
other than the suggested one), random start filaments, runs past the end of the series,
and a short filament set whose ends are reached often. Every prefix is compared.
"""

import json
import random
from pathlib import Path

from analysis import thresholds

STEPPING_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "bench-stepping.js"
SHORT_SET = tuple(
    thresholds.Filament(size, grams)
    for size, grams in (("3.61", 0.4), ("3.84", 0.6), ("4.08", 1.0), ("4.17", 1.4), ("4.31", 2.0))
)


def random_params(rng: random.Random, filaments, method: str) -> dict | None:
    """Ascending / percent-response settings as a study holds them (None otherwise)."""
    if method not in thresholds.BLOCK_FAMILY:
        return None
    n = rng.choice([1, 1, 2, 3, 5])
    sizes = [f.size for f in filaments]
    subset = rng.sample(sizes, rng.randint(1, min(6, len(sizes)))) if rng.random() < 0.7 else None
    return {"applications": n, "withdrawals": rng.randint(1, n), "subset": subset}


def random_cases(rng: random.Random, filaments, method: str, n_series: int) -> list[dict]:
    sizes = [f.size for f in filaments]
    cases = []
    for _ in range(n_series):
        params = random_params(rng, filaments, method)
        start = rng.choice(sizes)
        p_withdraw = rng.choice([0.2, 0.5, 0.8])
        p_override = rng.choice([0.0, 0.0, 0.15])
        series: list[tuple[str, bool]] = []
        extra = rng.randint(0, 3)  # taps after the series ended (the engine ignores them)
        for _ in range(60):
            expected = thresholds.next_filament(
                series, filaments, method=method, start=start, **(params or {})
            )
            cases.append(
                {
                    "series": [[s, w] for s, w in series],
                    "sizes": sizes,
                    "method": method,
                    "start": start,
                    "params": params,
                    "expected": expected,
                }
            )
            if expected is None:
                if extra == 0:
                    break
                extra -= 1
                expected = rng.choice(sizes)
            size = rng.choice(sizes) if rng.random() < p_override else expected
            series.append((size, rng.random() < p_withdraw))
    return cases


def in_stepping_js(browser, call: str, cases: list[dict], shared: tuple[str, ...] = ()) -> list:
    """`call` (a JavaScript expression of one case `c`) for every case, evaluated in a blank
    page that loads static/js/bench-stepping.js as the tablet does.

    The cases go in and the answers come out as one JSON string each way (Playwright's own
    encoding of a 14,000-case argument, value by value, took twenty seconds); the values of
    the `shared` keys (the filament set, the same in thousands of cases) travel once and
    every case gets its own copy back in the page. An answer JSON cannot spell (undefined,
    NaN, Infinity) comes back as its name, so it never passes for null."""
    tables: list = []
    wire = []
    for case in cases:
        case = dict(case)
        for key in shared:
            if case[key] not in tables:
                tables.append(case[key])
            case[key] = tables.index(case[key])
        wire.append(case)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<!doctype html><title>stepping</title>")
        page.add_script_tag(path=str(STEPPING_JS))
        answers = page.evaluate(
            f"""([text, shared]) => {{
                  const {{tables, cases}} = JSON.parse(text);
                  for (const c of cases) {{
                    for (const key of shared) c[key] = structuredClone(tables[c[key]]);
                  }}
                  return JSON.stringify(
                    cases.map(c => {call}),
                    (key, v) => v === undefined || (typeof v === "number" && !isFinite(v))
                      ? String(v) : v);
                }}""",
            [json.dumps({"tables": tables, "cases": wire}), list(shared)],
        )
        return json.loads(answers)
    finally:
        context.close()


def test_js_stepping_rule_agrees_with_python_for_all_methods(browser):
    rng = random.Random(20260311)
    cases = []
    for method in thresholds.METHODS:
        cases += random_cases(rng, thresholds.STOELTING_20, method, 400)
        cases += random_cases(rng, SHORT_SET, method, 200)
    # Size spelling: "6.1" is the filament "6.10" for both.
    cases.append(
        {
            "series": [["6.1", False]],
            "sizes": [f.size for f in thresholds.STOELTING_20],
            "method": "up_down",
            "start": "6.10",
            "expected": thresholds.next_filament([("6.1", False)], start="6.10"),
        }
    )
    got = in_stepping_js(
        browser,
        "LabstudyStepping.nextFilament(c.series, c.sizes, c.method, c.start, c.params)",
        cases,
        shared=("sizes",),
    )
    assert len(got) == len(cases) > 10_000
    mismatches = [
        (c["method"], c["start"], c["series"], c["expected"], g)
        for c, g in zip(cases, got, strict=True)
        if c["expected"] != g
    ]
    assert mismatches == []
    ended = sum(1 for c in cases if c["expected"] is None)
    assert ended > 1000  # plenty of closed series, not just open ones
    for method in thresholds.METHODS:
        assert sum(1 for c in cases if c["method"] == method) > 2000


def test_js_target_force_agrees_with_python_on_every_series(browser):
    """The force the tablet shows for a closed series offline (LabstudyStepping.targetForce,
    static/js/bench-stepping.js) is analysis.thresholds.first_response_threshold's grams:
    the lowest filament that drew a withdrawal, the cut-off when none did or when it is
    heavier than the cut-off, and nothing while the series is still open."""
    rng = random.Random(20260312)
    cases = []
    for filaments, n_series in ((thresholds.STOELTING_20, 1000), (SHORT_SET, 500)):
        specs = [{"size": f.size, "grams": f.grams} for f in filaments]
        for case in random_cases(rng, filaments, "first_response", n_series):
            if not case["series"]:
                continue  # the engine refuses an empty series; the bench never asks
            cutoff_g = rng.choice([300.0, 100.0, 26.0, 1.0])
            found = thresholds.first_response_threshold(
                case["series"], filaments, cutoff_g=cutoff_g
            )
            expected = None if found.status == "incomplete" else found.grams
            cases.append({**case, "filaments": specs, "cutoff": cutoff_g, "expected": expected})
    got = in_stepping_js(
        browser,
        "LabstudyStepping.targetForce(c.series, c.filaments, c.method, c.cutoff)",
        cases,
        shared=("filaments",),
    )
    assert len(got) == len(cases) > 10_000
    mismatches = [
        (c["cutoff"], c["series"], c["expected"], g)
        for c, g in zip(cases, got, strict=True)
        if c["expected"] != g
    ]
    assert mismatches[:5] == []
    closed = [c for c in cases if c["expected"] is not None]
    assert len(closed) > 1000
    assert any(c["expected"] == c["cutoff"] for c in closed)  # none withdrew, or too heavy
    # Off the top of the five-filament set (2 g) below a 26 g or 300 g cut-off: 2 g.
    assert any(c["expected"] == 2.0 and c["cutoff"] > 2.0 for c in closed)
    assert any(c["expected"] == c["filaments"][0]["grams"] for c in closed)  # the lightest
    assert sum(1 for c in closed if c["expected"] < c["cutoff"]) > 500


def test_js_block_thresholds_agree_with_python(browser):
    """Ascending and percent response: the threshold the tablet shows offline
    (LabstudyStepping.blockThreshold) is analysis.thresholds.compute_threshold's grams for
    every prefix of random series, with random N, withdrawals needed and filaments in use,
    including the top filament in use reported when nothing reached the criterion."""
    rng = random.Random(20261204)
    cases = []
    for method in thresholds.BLOCK_FAMILY:
        for filaments, n_series in ((thresholds.STOELTING_20, 500), (SHORT_SET, 300)):
            specs = [{"size": f.size, "grams": f.grams} for f in filaments]
            for case in random_cases(rng, filaments, method, n_series):
                if not case["series"]:
                    continue
                cutoff_g = rng.choice([300.0, 26.0, 1.0])
                found = thresholds.compute_threshold(
                    case["series"], filaments, method=method, cutoff_g=cutoff_g,
                    **(case["params"] or {}),
                )  # fmt: skip
                expected = None if found.status == "incomplete" else found.grams
                cases.append({**case, "filaments": specs, "cutoff": cutoff_g, "expected": expected})
    got = in_stepping_js(
        browser,
        "LabstudyStepping.blockThreshold(c.series, c.filaments, c.method, c.cutoff, c.params)",
        cases,
        shared=("filaments",),
    )
    mismatches = [
        (c["method"], c["params"], c["series"], c["expected"], g)
        for c, g in zip(cases, got, strict=True)
        if c["expected"] != g
    ]
    assert mismatches[:5] == []
    closed = [c for c in cases if c["expected"] is not None]
    assert len(closed) > 1000
    for method in thresholds.BLOCK_FAMILY:
        assert sum(1 for c in closed if c["method"] == method) > 300
