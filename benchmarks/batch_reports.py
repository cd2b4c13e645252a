"""Wall time of the report batch (``make reports``) and where it goes.

Run: ``.venv/bin/python benchmarks/batch_reports.py [--dataset demo] [--workers N]``
(about a minute on an idle 2-core machine). Prints figures; never fails.

Renders every run of ``notebooks/batch.yml`` into a temporary folder (``reports/`` is not
touched) and prints, per run: the execution wall time split into kernel start and stop, import
cells, the other cells and papermill's own time (reading and saving the notebook, gaps between
cells), then the HTML export (nbconvert + font subsetting). Also measured on their own, for
scale: a bare kernel start and stop, and the scientific imports in a fresh interpreter. The
machine's load average is printed before and after: the figures scale with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from helpers import batch


def bare_kernel_seconds() -> float:
    """Start a python3 kernel, run ``pass``, stop it."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    kc.execute_interactive("pass", timeout=60)
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return time.perf_counter() - t0


def import_seconds() -> float:
    code = ("import pandas, numpy, scipy.stats, statsmodels.api, lifelines, matplotlib.pyplot, "
            "seaborn; from helpers import plots, cohorts, survival, experiments")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=None, help="dataset (default: batch.yml's)")
    p.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    args = p.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} core(s)")
    print(f"bare kernel start+stop: {bare_kernel_seconds():.1f} s; "
          f"scientific imports in a fresh interpreter: {import_seconds():.1f} s")
    cfg = batch.load_config(dataset=args.dataset)
    with tempfile.TemporaryDirectory() as out:
        result = batch.run_batch(cfg, out_dir=out, workers=args.workers, log=lambda s: None)
        frame = result.to_frame().drop(columns="error")
    print(frame.round(1).to_string(index=False))
    busy = float((frame["duration_s"] + frame["render_s"]).sum())
    print(f"\n{len(frame)} report(s), {int((frame['status'] == 'ok').sum())} ok; wall "
          f"{result.wall_s:.1f} s on {result.workers} worker(s)")
    print("summed over runs: kernel start+stop {:.1f} s, imports {:.1f} s, other cells {:.1f} s, "
          "papermill I/O and gaps {:.1f} s, HTML {:.1f} s".format(*(
              float(frame[c].sum()) for c in
              ("kernel_s", "imports_s", "compute_s", "overhead_s", "render_s"))))
    print(f"worker time / (wall x workers) = {busy / (result.wall_s * result.workers):.2f} "
          "(the rest: worker start-up, dataset fingerprint, index, waiting for the last run)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
