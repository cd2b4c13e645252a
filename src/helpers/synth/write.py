"""Writing a generated community (raw tables and ``truth.json``, atomically), reading its
truth, and ``python -m helpers.synth``."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..data import atomic_path
from .generate import generate
from .settings import ExperimentPlan, SynthConfig


# ----------------------------------------------------------------------------- writing
def write_community(folder: str | Path, *, fmt: str = "csv", cfg: SynthConfig | None = None,
                    partition_events: bool = False, **overrides) -> dict:
    """Generate a community and write its raw tables plus ``truth.json`` to ``folder``.

    Parameters
    ----------
    folder : str or Path
        Target folder (created). Each file is written atomically.
    fmt : {"csv", "parquet"}
        CSV writes naive local timestamps (as most exports do); Parquet keeps tz-aware ones,
        in microseconds (Spark refuses nanoseconds).
    partition_events : bool
        Parquet only: write the events as a hive-partitioned folder
        ``events/month=YYYY-MM/part-00000.parquet`` (local months) instead of ``events.parquet``.

    Returns
    -------
    dict
        The truth, with ``seconds`` (generation time) added under ``timing``.
    """
    t0 = time.perf_counter()
    tables, truth = generate(cfg, **overrides)
    t_gen = time.perf_counter() - t0
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from ..engine.load import write_events, write_parquet
    for name, df in tables.items():
        if name == "events" and fmt == "parquet" and partition_events:
            tmp_dir = folder / ".events.partial"
            shutil.rmtree(tmp_dir, ignore_errors=True)
            write_events(df, tmp_dir, tz=config.TIMEZONE)
            shutil.rmtree(folder / "events", ignore_errors=True)
            tmp_dir.rename(folder / "events")
            continue
        target = folder / f"{name}.{fmt}"
        with atomic_path(target, allow_raw=True) as tmp:
            if fmt == "parquet":
                write_parquet(df, tmp)
            else:
                out = df.copy()
                for c in out.columns:
                    if isinstance(out[c].dtype, pd.DatetimeTZDtype):
                        out[c] = out[c].dt.tz_localize(None)
                out.to_csv(tmp, index=False, date_format="%Y-%m-%d %H:%M:%S", encoding="utf-8")
    truth["timing"] = {"generate_seconds": round(t_gen, 2),
                       "write_seconds": round(time.perf_counter() - t0 - t_gen, 2)}
    with atomic_path(folder / "truth.json", allow_raw=True) as tmp:
        tmp.write_text(json.dumps(truth, ensure_ascii=False, indent=2, default=_json_default),
                       encoding="utf-8")
    return truth


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, ExperimentPlan):
        return asdict(o)
    raise TypeError(type(o))


def load_truth(folder: str | Path) -> dict:
    """Read ``truth.json`` of a generated dataset (name under data/raw or a path)."""
    return json.loads((config.dataset_dir(folder) / "truth.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.synth [--members N] [--days D] [--seed S] [--format csv|parquet] [--out DIR]``."""
    import argparse

    p = argparse.ArgumentParser(description="Generate a synthetic community with planted truth.")
    p.add_argument("--members", type=int, default=config.DEMO_MEMBERS)
    p.add_argument("--days", type=int, default=config.DEMO_DAYS)
    p.add_argument("--groups", type=int, default=40)
    p.add_argument("--seed", type=int, default=config.DEMO_SEED)
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--partitioned", action="store_true",
                   help="Parquet: events as events/month=YYYY-MM/part-*.parquet")
    p.add_argument("--out", default=str(config.RAW_DIR / config.DEMO_DATASET))
    a = p.parse_args(argv)
    truth = write_community(a.out, fmt=a.format, n_members=a.members, days=a.days,
                            n_groups=a.groups, seed=a.seed, partition_events=a.partitioned)
    c = truth["counts"]
    print(f"wrote {a.out}: {c['members']:,} members, {c['events']:,} events "
          f"in {truth['timing']['generate_seconds']}s (+{truth['timing']['write_seconds']}s writing)")
    return 0
