"""Wall time of the report batch (``make reports``: every report, both languages) and where it goes.

Run: ``.venv/bin/python benchmarks/batch_reports.py [--dataset demo] [--workers N] [--compare]``
(about a minute and a half on a 2-core machine). Prints figures; never fails.

Renders every run of ``notebooks/batch.yml`` in zh and en into a temporary folder
(``reports/`` is not touched) and prints, per run: the execution wall time split into kernel
(start, or the reset of the worker's warm kernel), import cells, the other cells and papermill's
own time, then the HTML export (nbconvert + font subsetting). The target is the whole demo batch,
both languages, within 90 s wall on 2 cores.

``--compare`` also renders the batch with a fresh kernel per run (``--fresh-kernels``), prints
both wall times, and checks that the two batches show the same reviewer text (every page's
visible text above its provenance section, with run-specific times removed): reusing a kernel is
only honest if it changes nothing a reviewer reads.

Also measured on their own, for scale: a bare kernel start and stop, and the scientific imports
in a fresh interpreter. The machine's load average is printed before and after: the figures scale
with whatever else runs.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time

from helpers import batch


def bare_kernel_seconds() -> float:
    """Start a python3 kernel (IPC, as the batch's), run ``pass``, stop it."""
    from jupyter_client import KernelManager

    t0 = time.perf_counter()
    km = KernelManager(kernel_name="python3", transport="ipc",
                       ip=os.path.join(tempfile.mkdtemp(), "k"))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
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


def reviewer_texts(result) -> dict[str, str]:
    """Each page's visible text above its provenance, without per-run timings, and how many
    figures it shows."""
    out = {}
    for r in result.results:
        if not r.html:
            continue
        page = (result.out_dir / r.html).read_text(encoding="utf-8")
        cut = page.find('id="provenance"')
        text = batch.visible_text(page[:cut] if cut >= 0 else page)
        figures = page[:cut].count("data:image/png;base64,")
        out[r.key] = re.sub(r"\d+(\.\d+)? ?(s|秒)\b", "<t>", text) + f"\n[{figures} figures]"
    return out


def run(cfg, workers, reuse: bool, out: str):
    return batch.run_batch(cfg, out_dir=out, workers=workers, log=lambda s: None,
                           reuse_kernel=reuse)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=None, help="dataset (default: batch.yml's)")
    p.add_argument("--workers", type=int, default=None, help="default: CPU cores")
    p.add_argument("--compare", action="store_true",
                   help="also run with a fresh kernel per run and compare the reviewer text")
    args = p.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} core(s)")
    print(f"bare kernel start+stop: {bare_kernel_seconds():.1f} s; "
          f"scientific imports in a fresh interpreter: {import_seconds():.1f} s")
    cfg = batch.load_config(dataset=args.dataset)
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as out2:
        result = run(cfg, args.workers, True, out)
        frame = result.to_frame().drop(columns="error")
        print(frame.round(1).to_string(index=False))
        busy = float((frame["duration_s"] + frame["render_s"]).sum())
        print(f"\n{len(frame)} report(s) ({', '.join(result.languages)}), "
              f"{int((frame['status'] == 'ok').sum())} ok; wall {result.wall_s:.1f} s on "
              f"{result.workers} worker(s) (target: 90 s on 2 cores)")
        print("summed over runs: kernel start/reset {:.1f} s, imports {:.1f} s, other cells "
              "{:.1f} s, papermill I/O and gaps {:.1f} s, HTML {:.1f} s".format(*(
                  float(frame[c].sum()) for c in
                  ("kernel_s", "imports_s", "compute_s", "overhead_s", "render_s"))))
        print(f"worker time / (wall x workers) = {busy / (result.wall_s * result.workers):.2f} "
              "(the rest: worker start-up, dataset fingerprint, index, waiting for the last run)")
        if args.compare:
            fresh = run(cfg, args.workers, False, out2)
            a, b = reviewer_texts(result), reviewer_texts(fresh)
            differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            print(f"\nfresh kernel per run: wall {fresh.wall_s:.1f} s "
                  f"(warm kernels: {result.wall_s:.1f} s, {fresh.wall_s / result.wall_s:.2f}x)")
            print("reviewer text identical with warm and fresh kernels: "
                  + ("yes, every page" if not differ else "NO: " + ", ".join(differ)))
            for key in differ[:3]:  # (a notebook or helper edited between the two batches
                # also shows here: compare on a checkout nobody is changing)
                lines = difflib.unified_diff(a.get(key, "").splitlines(),
                                             b.get(key, "").splitlines(), lineterm="", n=0)
                print(f"  {key}: " + " | ".join(list(lines)[2:8])[:400])
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
