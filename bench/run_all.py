"""Run every benchmark under bench/ (`make bench`); each writes its section of RESULTS.md.

Benchmarks are not tests: CI does not run them (tests/bench/test_bench_smoke.py runs each
on a tiny size). Each script makes its own PostgreSQL database on 127.0.0.1:5432 (or the
server in DATABASE_URL) and drops it afterwards. Arguments after the script's own are
passed to every benchmark, e.g. `python bench/run_all.py --quick --results /tmp/R.md`.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench._results import write_summary  # noqa: E402


def main(argv: list[str]) -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        t0 = time.monotonic()
        result = subprocess.run([sys.executable, str(script), *argv], cwd=HERE.parent)
        print(f"== {script.name}: exit {result.returncode}, {time.monotonic() - t0:.0f} s")
        if result.returncode != 0:
            failed.append(script.name)
    results = HERE / "RESULTS.md"
    if "--results" in argv:
        results = Path(argv[argv.index("--results") + 1])
    if results.exists() and "--no-write" not in argv:
        write_summary(results)
    print(f"Results: {results}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
