"""CPU cost of starting the CLI: `myia --help` and `myia models list`.

Each command runs as its own process (the installed `myia` script) several times; the figure
is the child's user + system CPU seconds (`resource.getrusage(RUSAGE_CHILDREN)`), which the
load of other processes changes much less than wall time. `models list` runs on a migrated,
seeded SQLite database in a temporary directory. Writes bench/results/cli_startup.json.

    .venv/bin/python bench/cli_startup.py [--runs N]

Target (issue 17): `myia --help` ≤ 0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

MYIA = str(Path(sys.executable).with_name("myia"))
RESULTS = Path(__file__).parent / "results" / "cli_startup.json"
HELP_TARGET_S = 0.3


def cpu_seconds(args: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([MYIA, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(args: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    cpu_seconds(args, env)  # warm the page cache and the bytecode files
    samples = [cpu_seconds(args, env) for _ in range(runs)]
    return {
        "median_cpu_s": round(statistics.median(samples), 3),
        "min_cpu_s": round(min(samples), 3),
        "max_cpu_s": round(max(samples), 3),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MYIA_MODE": "test", "LOG_TO_DB": "false",
               "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db"}  # fmt: skip
        for setup in (["db", "migrate"], ["db", "seed"]):
            subprocess.run([MYIA, *setup], env=env, check=True, stdout=subprocess.DEVNULL)
        results = {
            "help": measure(["--help"], env, options.runs),
            "models_list": measure(["models", "list"], env, options.runs),
        }
    results["help_target_cpu_s"] = HELP_TARGET_S
    results["help_within_target"] = results["help"]["median_cpu_s"] <= HELP_TARGET_S
    results["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name in ("help", "models_list"):
        figures = results[name]
        spread = f"min {figures['min_cpu_s']}, max {figures['max_cpu_s']}, {figures['runs']} runs"
        print(f"myia {name.replace('_', ' ')}: median {figures['median_cpu_s']} s CPU ({spread})")
    print(
        f"target --help ≤ {HELP_TARGET_S} s: {'met' if results['help_within_target'] else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
