"""Wall time of `firebreak demo`, end to end, cold and warm Prefect home. One command:

    .venv/bin/python bench/demo_wall.py

"Cold" starts Prefect's ephemeral server on an empty PREFECT_HOME (its migrations run), as on a
fresh clone; "warm" reuses it, as every later demo does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIREBREAK = Path(sys.executable).parent / "firebreak"


def run(prefect_home: Path, home: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBREAK_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(prefect_home)
    started = time.perf_counter()
    subprocess.run(
        [str(FIREBREAK), "demo", "--home", str(home)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        prefect_home = Path(tmp) / "prefect"
        cold = run(prefect_home, Path(tmp) / "demo1")
        warm = run(prefect_home, Path(tmp) / "demo2")
        shutil.rmtree(prefect_home, ignore_errors=True)
    print(f"firebreak demo, cold Prefect home: {cold:.1f} s")
    print(f"firebreak demo, warm Prefect home: {warm:.1f} s")
    print("target: under 60 s")


if __name__ == "__main__":
    main()
