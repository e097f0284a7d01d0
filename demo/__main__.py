"""`python -m demo [DATA_DIR] [REPORT_DIR]`: the pipeline end to end offline (what `make demo` runs)."""

from __future__ import annotations

import sys
from pathlib import Path

from demo.run import DEMO_DIR, run_demo


def main(argv: list[str]) -> None:
    data_dir = Path(argv[0]) if argv else DEMO_DIR / "data"
    report_dir = Path(argv[1]) if len(argv) > 1 else DEMO_DIR / "report"
    report = run_demo(data_dir, report_dir)
    print(f"demo: the report is {report} (open it in a browser); the snapshots are under {data_dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
