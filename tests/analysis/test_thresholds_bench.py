"""Smoke test: the threshold benchmark runs on a tiny study and prints its table."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_runs_tiny_and_reports(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## other\n\nkept\n")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_thresholds.py"),
            "--size",
            "50",
            "--repeat",
            "1",
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "| metric | value | baseline | ratio | database | date |" in done.stdout
    for method in ("up_down", "first_response", "sudo"):
        assert f"| thresholds {method}, 50 sessions" in done.stdout
    text = results.read_text()
    assert "## other\n\nkept" in text and "## thresholds" in text
    # Running again replaces the section instead of adding a second one.
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_thresholds.py"), "--size", "20",
         "--results", str(results)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    text = results.read_text()
    assert text.count("## thresholds") == 1 and "--size 20" in text and "kept" in text
