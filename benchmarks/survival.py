"""Time ``helpers.survival.churn_table`` on large synthetic communities (figures, never a test).

Usage::

    .venv/bin/python benchmarks/survival.py                  # 100,000 and 1,000,000 members
    .venv/bin/python benchmarks/survival.py --sizes 100000

The data (about 35-40 events per member over 180 days) is generated once with ``helpers.synth``
as Parquet under ``data/raw/bench_<n>/`` and reused (same folders and reader as
``benchmarks/retention.py``). For each size the script times, best of ``repeat`` runs:
``member_activity_span`` (the event-level step, the part a DuckDB engine would replace) and
``churn_table`` (span + member-level churn rules + covariates). Target: 1,000,000 members in
under 15 s for ``churn_table``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from retention import cli, run_cases  # noqa: E402  (shared conventions)

from helpers import survival  # noqa: E402

DEFAULT_SIZES = (100_000, 1_000_000)
TARGET_SECONDS_1M = 15.0


def _survival_cases(members, events):
    return [
        ("member_activity_span", lambda: survival.member_activity_span(events)),
        ("churn_table", lambda: survival.churn_table(members, events)),
        ("churn_table active_types=message", lambda: survival.churn_table(
            members, events, active_types=["message"])),
    ]


def run(sizes=DEFAULT_SIZES, *, repeat: int = 2, loader: bool = False) -> pd.DataFrame:
    """Time the churn-table steps on each size.

    Parameters
    ----------
    sizes : sequence of int
        Member counts (a dataset ``data/raw/bench_<n>`` is generated if missing).
    repeat : int
        Runs per case; the best time is kept.
    loader : bool
        Read with the validating ``data.load_community`` instead of direct Parquet reads.

    Returns
    -------
    DataFrame
        ``members, events, case, seconds, cpu_seconds, events_per_second, rows_out``
        (best of ``repeat``; CPU time is NaN for the read).
    """
    return run_cases(sizes, _survival_cases, repeat=repeat, loader=loader)


def main(argv=None) -> int:
    df = cli(run, __doc__.splitlines()[0], argv)
    big = df[(df["members"] == 1_000_000) & (df["case"] == "churn_table")]
    if not big.empty:
        s = float(big["seconds"].iloc[0])
        c = float(big["cpu_seconds"].iloc[0])
        print(f"churn_table, 1,000,000 members: {s:.2f} s wall, {c:.2f} s CPU (target < "
              f"{TARGET_SECONDS_1M:.0f} s: {'met' if s < TARGET_SECONDS_1M else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
