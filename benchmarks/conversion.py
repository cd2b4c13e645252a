"""Time the conversion and value helpers at scale (figures, never a test).

Usage::

    .venv/bin/python benchmarks/conversion.py                       # 100,000 members
    .venv/bin/python benchmarks/conversion.py --sizes 100000 1000000 --out /tmp/bench

For each size a synthetic community is generated once with ``helpers.synth`` (Parquet, under
``--out``) and loaded with ``data.load_community``. Timed, best of ``--repeat``:

- ``conversion.funnel`` by channel (pandas, on the loaded tables) against a plain DuckDB SQL
  query of the same definition over the same Parquet files (ordered steps inside
  ``[joined_at, joined_at + 30 d)``, eligible = window over, repurchase = a purchase on a later
  local day than the first); the counts are checked identical and the ratio printed;
- ``value.repeat_purchase`` (BG/NBD + Gamma-Gamma fit, predictions, intervals by channel, holdout);
- ``value.renewal`` on the memberships table;
- ``conversion.channel_scorecard``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import duckdb
import pandas as pd

from helpers import conversion, data, synth, value

FUNNEL_SQL = """
WITH m AS (
  SELECT member_id, joined_at, channel FROM read_parquet('{members}')
  WHERE joined_at <= TIMESTAMPTZ '{end}'),
e AS (
  SELECT e.member_id, e.ts, e.event_type FROM read_parquet('{events}') e JOIN m USING (member_id)
  WHERE e.ts >= m.joined_at AND e.ts < m.joined_at + INTERVAL 30 DAY
    AND e.ts <= TIMESTAMPTZ '{end}'),
act AS (SELECT member_id, min(ts) AS t FROM e GROUP BY member_id),
buy AS (SELECT e.member_id, min(e.ts) AS t FROM e JOIN act USING (member_id)
        WHERE e.event_type = 'purchase' AND e.ts >= act.t GROUP BY e.member_id),
rep AS (SELECT e.member_id, min(e.ts) AS t FROM e JOIN buy USING (member_id)
        WHERE e.event_type = 'purchase'
          AND CAST(timezone('{tz}', e.ts) AS DATE) > CAST(timezone('{tz}', buy.t) AS DATE)
        GROUP BY e.member_id)
SELECT m.channel, count(*) AS eligible, count(act.member_id) AS active,
       count(buy.member_id) AS purchased, count(rep.member_id) AS repurchased
FROM m LEFT JOIN act USING (member_id) LEFT JOIN buy USING (member_id)
       LEFT JOIN rep USING (member_id)
WHERE m.joined_at + INTERVAL 30 DAY <= TIMESTAMPTZ '{end}'
GROUP BY m.channel ORDER BY m.channel
"""


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def dataset(n: int, out: Path) -> Path:
    folder = out / f"conversion_{n}"
    if not (folder / "events.parquet").exists():
        t0 = time.perf_counter()
        synth.write_community(folder, fmt="parquet", n_members=n)
        print(f"generated {n:,} members in {time.perf_counter() - t0:.1f} s -> {folder}")
    return folder


def run(n: int, out: Path, repeat: int) -> dict:
    folder = dataset(n, out)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = data.load_community(folder, engine="pandas") if "engine" in \
            data.load_community.__code__.co_varnames else data.load_community(folder)
    load = time.perf_counter() - t0
    m, e = ds.members, ds.events
    end = ds.observed_until
    print(f"\n{n:,} members, {len(e):,} events (loaded in {load:.1f} s)")
    t_f, f = best_of(lambda: conversion.funnel(m, e, by="channel", observed_until=end), repeat)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    sql = FUNNEL_SQL.format(members=folder / "members.parquet", events=folder / "events.parquet",
                            end=end.isoformat(), tz=ds.timezone)
    t_sql, ref = best_of(lambda: con.execute(sql).df(), repeat)
    wide = f.pivot(index="channel", columns="step", values="converted")
    wide["eligible"] = f[f["step"] == "joined"].set_index("channel")["eligible"]
    ref = ref.set_index("channel")
    same = all((wide.loc[ref.index, c].to_numpy() == ref[c].to_numpy()).all()
               for c in ("eligible", "active", "purchased", "repurchased"))
    print(f"  funnel by channel          {t_f:7.2f} s   DuckDB SQL {t_sql:6.2f} s   "
          f"ratio {t_f / t_sql:4.2f}x   counts identical: {same}")
    t_r, rp = best_of(lambda: value.repeat_purchase(m, e, observed_until=end, by="channel"), 1)
    print(f"  repeat_purchase (BG/NBD + Gamma-Gamma, {len(rp.members):,} buyers) "
          f"{t_r:6.2f} s (fit, predictions, intervals by channel, holdout refit)")
    t_n, rn = best_of(lambda: value.renewal(ds.memberships, observed_until=end), repeat)
    print(f"  renewal ({len(ds.memberships):,} periods)  {t_n:7.2f} s   params "
          f"{ {k: {a: round(b, 3) for a, b in v.items()} for k, v in rn.params.items()} }")
    t_c, _ = best_of(lambda: conversion.channel_scorecard(m, e, observed_until=end), 1)
    print(f"  channel_scorecard          {t_c:7.2f} s")
    return dict(members=n, funnel=t_f, funnel_sql=t_sql, same=same, repeat=t_r, renewal=t_n,
                scorecard=t_c)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    p.add_argument("--out", default="/tmp/conversion_bench")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    for n in a.sizes:
        run(n, Path(a.out), a.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
