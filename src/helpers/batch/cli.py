"""The command line (``python -m helpers.batch``): parses options and calls the runner."""

from __future__ import annotations

import argparse
import json
import sys

from .. import config
from ..errors import DataError
from .._format import LANGUAGES
from .config import DEFAULT_CONFIG, BatchConfigError, language_runs, load_config, select_runs
from .runner import run_batch, summary_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m helpers.batch",
                                description="Render the reports of notebooks/batch.yml to HTML "
                                            "(reports/index.html lists them).")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="batch file (default: %(default)s)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this report (glob pattern or batch.yml entry name; repeatable)")
    p.add_argument("--dataset", metavar="NAME",
                   help="dataset for every run: a folder under data/raw/ or a path")
    p.add_argument("--workers", type=int, metavar="N",
                   help="parallel runs (default: number of CPU cores)")
    p.add_argument("--with-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--out", default=str(config.REPORTS_DIR),
                   help="output folder (default: %(default)s)")
    p.add_argument("--list", action="store_true", help="print the expanded runs and exit")
    p.add_argument("--language", action="append", choices=LANGUAGES, metavar="LANG",
                   help="render notebooks with a language parameter in this language only: "
                        "zh or en (repeatable; default: both, into reports/zh and reports/en)")
    p.add_argument("--fresh-kernels", action="store_true",
                   help="start a new kernel for every run (default: each worker reuses one "
                        "warm kernel, reset between runs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 a run failed, 2 bad config)."""
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config, dataset=args.dataset)
        languages = tuple(args.language or LANGUAGES)
        runs = select_runs(language_runs(cfg.runs, languages), args.only)
        if args.list:
            for r in runs:
                print(f"{r.key}\t{r.notebook.name}\t{json.dumps(r.parameters, ensure_ascii=False)}")
            for note in cfg.notes:
                print(f"note: {note}")
            return 0
        result = run_batch(cfg, out_dir=args.out, only=args.only, workers=args.workers,
                           with_code=args.with_code, log=lambda s: print(s, flush=True),
                           languages=languages, reuse_kernel=not args.fresh_kernels)
    except (BatchConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary_text(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
