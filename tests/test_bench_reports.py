"""The per-report benchmark's pure parts (benchmarks/reports.py): argument parsing, the choice
of reports and engines, the table and the closing lines. Nothing here is timed."""

import argparse
import doctest
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reports.py"


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script(SCRIPT, "bench_reports")


def test_docstring_examples(bench):
    result = doctest.testmod(bench, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("text, sizes", [("100000,1000000", [100_000, 1_000_000]),
                                         ("10_000_000", [10_000_000]), (" 100k , 1m ", [100_000, 1_000_000])])
def test_parse_sizes(bench, text, sizes):
    assert bench.parse_sizes(text) == sizes


@pytest.mark.parametrize("text", ["", "abc", "0", "-5", "1.5m"])
def test_parse_sizes_refuses(bench, text):
    with pytest.raises(argparse.ArgumentTypeError):
        bench.parse_sizes(text)


def test_parse_engines(bench):
    assert bench.parse_engines("spark,pandas, spark") == ["spark", "pandas"]
    with pytest.raises(argparse.ArgumentTypeError, match="pandas, duckdb, spark"):
        bench.parse_engines("pandas,polars")


def test_command_line_defaults(bench, monkeypatch):
    """The defaults are the issue's: 100k and 1M, pandas and DuckDB (Spark when asked)."""
    seen = {}

    def fake_parse(self, argv=None, namespace=None):
        ns = original(self, argv, namespace)
        seen.update(vars(ns))
        raise SystemExit(0)
    original = argparse.ArgumentParser.parse_args
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", fake_parse)
    with pytest.raises(SystemExit):
        bench.main([])
    assert seen["sizes"] == [100_000, 1_000_000] and seen["engines"] == ["pandas", "duckdb"]
    with pytest.raises(SystemExit):
        bench.main(["--sizes", "100k", "--engines", "duckdb,spark", "--only", "01", "03_*"])
    assert seen["sizes"] == [100_000] and seen["engines"] == ["duckdb", "spark"]
    assert seen["only"] == ["01", "03_*"]


def test_report_patterns_select_batch_runs(bench):
    """Prefixes and patterns pick the batch's runs (03 expanded per experiment of the dataset);
    every report by default, 01 and 02 only beyond a million members."""
    from helpers import batch
    cfg = batch.load_config(dataset="demo")
    names = [r.name for r in cfg.runs]
    pick = lambda pats: [r.name for r in batch.select_runs(cfg.runs, pats)]  # noqa: E731
    assert pick(bench.report_patterns(None, 100_000)) == names
    assert [n[:2] for n in pick(bench.report_patterns(None, 100_000))] == \
        ["00", "01", "02", *["03"] * (len(names) - 4), "04"]
    assert pick(bench.report_patterns(None, 10_000_000)) == ["01_cohort_retention",
                                                             "02_churn_survival"]
    assert pick(bench.report_patterns(["04", "03_*"], 100_000)) == \
        [n for n in names if n[:2] in ("03", "04")]


def test_skip_reason(bench):
    assert bench.skip_reason("pandas", 1_000_000) is None
    why = bench.skip_reason("pandas", 10_000_000)
    assert "10,000,000" in why and "1,000,000" in why
    assert bench.skip_reason("pandas", 2_000_000, pandas_max=5_000_000) is None
    assert bench.skip_reason("duckdb", 10_000_000) is None
    assert bench.skip_reason("spark", 10_000_000) is None


def test_result_line_and_table(bench):
    rows = [dict(report="01_cohort_retention", members=1_000_000, engine="duckdb",
                 seconds=282.04, peak_mb=2917.4, status="ok"),
            dict(report="03_ab_exp_live_group", members=100_000, engine="spark",
                 seconds=61.96, peak_mb=1530.6, status="failed"),
            dict(report="04_conversion_value", members=10_000_000, engine="pandas",
                 seconds=None, peak_mb=None, status="skipped")]
    assert bench.result_line(rows[0]) == \
        "report 01 at 1,000,000 members (duckdb): 282.0 s, peak 2,917 MB"
    assert bench.result_line(rows[1]) == \
        "report 03 exp_live_group at 100,000 members (spark): 62.0 s, peak 1,531 MB (failed)"
    lines = bench.results_table(rows).splitlines()
    assert lines[0].split() == ["report", "members", "engine", "seconds", "peak", "MB", "status"]
    assert lines[1].split() == ["01_cohort_retention", "1,000,000", "duckdb", "282.0", "2,917",
                                "ok"]
    assert lines[3].split() == ["04_conversion_value", "10,000,000", "pandas", "skipped"]
    # numbers right-aligned under their headers
    for value, line in (("282.0", lines[1]), ("62.0", lines[2])):
        assert line.index(value) + len(value) == lines[0].index("seconds") + len("seconds")
    assert lines[1].index("2,917") + 5 == lines[0].index("peak MB") + len("peak MB")
