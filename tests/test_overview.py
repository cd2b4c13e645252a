"""The overview (notebook 00): its numbers are the detail reports' numbers; intervals are right;
the renderer writes both languages, escapes data strings and says why a section is missing."""

from __future__ import annotations

import ast
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson

from helpers import cohorts, config, data, exp_metrics, overview, survival, synth
from helpers.errors import ParameterError
from helpers.overview import _intervals as I
from helpers.overview.indicators import join_windows

NOTEBOOKS = config.NOTEBOOKS_DIR
BANNED = re.compile(r"\b(nan|NaN|None|inf|True|False|NaT)\b|Traceback|DESIGN\.md|helpers\.")


def _text(html: str) -> str:
    """Visible text of an HTML block (tags and the style sheet removed)."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture(scope="module")
def demo_report(demo_community):
    return overview.overview_report(demo_community)


@pytest.fixture(scope="module")
def small_report(small_community):
    return overview.overview_report(small_community)


# ----------------------------------------------------------------------------- intervals
@pytest.mark.parametrize("k", [0, 1, 7, 50, 333])
def test_poisson_interval_equals_statsmodels_exact(k):
    lo, hi = I.poisson_interval(k)
    ref = confint_poisson(k, 1, method="exact-c")
    assert lo == pytest.approx(float(ref[0]), abs=1e-9)
    assert hi == pytest.approx(float(ref[1]), rel=1e-9)


@pytest.mark.parametrize("x1,n1,x0,n0", [(56, 70, 48, 80), (0, 20, 5, 30), (120, 999, 294, 873),
                                         (30, 30, 10, 40)])
def test_newcombe_difference_equals_statsmodels(x1, n1, x0, n0):
    d, lo, hi = I.newcombe_difference(x1, n1, x0, n0)
    ref = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
    assert d == pytest.approx(x1 / n1 - x0 / n0)
    assert (lo, hi) == pytest.approx((float(ref[0]), float(ref[1])), abs=1e-9)


@pytest.mark.parametrize("x,n", [(0, 10), (3, 10), (273, 999), (10, 10)])
def test_wilson_equals_statsmodels(x, n):
    assert I.wilson(x, n) == pytest.approx(proportion_confint(x, n, method="wilson"), abs=1e-9)


def test_rate_ratio_interval_is_clopper_pearson_of_the_conditional_binomial():
    lo, hi = I.rate_ratio_interval(30, 20)
    plo, phi = proportion_confint(30, 50, method="beta")
    assert (lo, hi) == pytest.approx((plo / (1 - plo), phi / (1 - phi)), rel=1e-9)
    assert I.rate_ratio_interval(5, 0)[1] == np.inf
    assert all(np.isnan(I.rate_ratio_interval(0, 0)))


def test_intervals_cover_the_truth_by_simulation(rng):
    """Exact intervals are conservative: coverage at least 95% (and not absurdly wide);
    Newcombe's is close to 95% at these sample sizes."""
    sims = 2000
    rate0, ratio = 300.0, 1.1
    k0 = rng.poisson(rate0, sims)
    k1 = rng.poisson(rate0 * ratio, sims)
    cover_ratio = np.mean([lo <= ratio <= hi for lo, hi in
                           (I.rate_ratio_interval(a, b) for a, b in zip(k1, k0))])
    cover_rate = np.mean([lo <= rate0 <= hi for lo, hi in map(I.poisson_interval, k0)])
    n1, n0, p1, p0 = 900, 850, 0.28, 0.33
    x1, x0 = rng.binomial(n1, p1, sims), rng.binomial(n0, p0, sims)
    cover_diff = np.mean([lo <= p1 - p0 <= hi for _, lo, hi in
                          (I.newcombe_difference(a, n1, b, n0) for a, b in zip(x1, x0))])
    assert 0.945 <= cover_ratio <= 0.985
    assert 0.945 <= cover_rate <= 0.985
    assert 0.935 <= cover_diff <= 0.965


# ----------------------------------------------------------------------------- settings
def _notebook_defaults(name: str) -> dict:
    import papermill as pm

    params = pm.inspect_notebook(str(NOTEBOOKS / name))
    return {k: ast.literal_eval(v["default"]) for k, v in params.items()}


def test_settings_defaults_are_the_detail_notebooks_defaults():
    """The overview calls the detail functions with the detail notebooks' parameters: when a
    notebook's default moves, this fails until OverviewSettings follows."""
    s = overview.OverviewSettings()
    for field_name, (nb, param) in overview.NOTEBOOK_PARAMETERS.items():
        defaults = _notebook_defaults(nb)
        assert param in defaults, f"{nb} has no parameter {param}"
        want = defaults[param]
        got = getattr(s, field_name)
        if isinstance(want, list):
            want, got = list(want), list(got)
        if field_name == "cluster_col" and want == "":
            want = None
        assert got == want, f"{field_name}: overview {got!r} vs {nb} {param}={want!r}"


def test_fixed_choices_are_the_detail_reports_defaults():
    """The conversion tile is 30-day conversion and the scorecard compares channels: the
    conversion report's defaults (window_days, by) must be those too; the indicators are
    weekly, report 01's default period."""
    from helpers.overview.indicators import N_DAY
    from helpers.overview.report import SCORECARD_BY

    from helpers.overview.report import PERIOD

    d = _notebook_defaults("04_conversion_value.ipynb")
    assert d["window_days"] == N_DAY and d["by"] == SCORECARD_BY
    assert _notebook_defaults("01_cohort_retention.ipynb")["period"] == PERIOD


def test_settings_validate():
    with pytest.raises(ParameterError, match="recent_days"):
        overview.OverviewSettings(recent_days=0)
    with pytest.raises(ParameterError, match="active_types"):
        overview.OverviewSettings(active_types=())
    with pytest.raises(ParameterError, match="correction"):
        overview.OverviewSettings(correction="bonferroni")
    with pytest.raises(ParameterError, match="unknown overview setting"):
        overview.OverviewSettings.from_parameters(recent=3)
    s = overview.OverviewSettings.from_parameters(observed_until="", active_types=[])
    assert s.observed_until is None and s.active_types is None


# ----------------------------------------------------------------------------- equality
def test_growth_and_activity_equal_the_cohort_report(demo_community, demo_report):
    ds = demo_community
    g = cohorts.growth(ds.members, ds.events, period="W", active_types=None, observed_until=None)
    done = g.loc[g["complete"]]
    cur, prev = done.iloc[-1], done.iloc[-2]
    growth, activity = demo_report.indicator("growth"), demo_report.indicator("activity")
    assert growth.value == cur["new_members"] and growth.previous == prev["new_members"]
    assert growth.get("net_growth") == cur["net_growth"]
    assert growth.current_start == cur["period"]
    assert activity.value == cur["active_members"]
    assert activity.previous == prev["active_members"]
    assert activity.get("stickiness") == pytest.approx(cur["stickiness"])
    assert growth.change == pytest.approx(cur["new_members"] / prev["new_members"])


def test_retention_equals_n_day_retention(demo_community, demo_report):
    ds = demo_community
    ind = demo_report.indicator("retention")
    # the detail report's D30 over every eligible member (notebook 01's call)
    nd = cohorts.n_day_retention(ds.members, ds.events, days=[7, 30], mode="classic",
                                 active_types=None, observed_until=None)
    d30 = nd.loc[nd["day"] == 30].iloc[0]
    assert ind.get("all_rate") == pytest.approx(d30["rate"])
    assert ind.get("all_n") == d30["eligible"]
    # the recent joiners: the same function on those members only (not through by=)
    until = ds.events["ts"].max()
    cut = until - pd.Timedelta(days=30)
    for label, (lo, hi) in [("recent", (cut - pd.Timedelta(days=28), cut)),
                            ("previous", (cut - pd.Timedelta(days=56),
                                          cut - pd.Timedelta(days=28)))]:
        sub = ds.members.loc[(ds.members["joined_at"] > lo) & (ds.members["joined_at"] <= hi)]
        ref = cohorts.n_day_retention(sub, ds.events, days=[30], observed_until=until).iloc[0]
        value, n = (ind.value, ind.n) if label == "recent" else (ind.previous, ind.previous_n)
        assert n == ref["eligible"] == len(sub)
        assert value == pytest.approx(ref["rate"])
        if label == "recent":
            assert (ind.ci_low, ind.ci_high) == pytest.approx((ref["ci_low"], ref["ci_high"]))


def test_churn_risk_count_equals_the_churn_report(demo_dir, demo_community, demo_report):
    ds = demo_community
    # notebook 02's call
    settings = survival.ChurnSettings(
        inactivity_days=30, observed_until=None, active_types=None, censoring="detectable",
        segment_col="channel", reference_segment=None, covariates=["channel", "referred"],
        cluster_col="group_id", horizon_days=90, survival_days=[30, 90, 180],
        risk_horizon_days=30)
    rep = survival.churn_report(ds.members, ds.events, settings,
                                truth=survival.planted_truth(demo_dir))
    c = demo_report.churn
    assert c.reason is None
    scored = rep.risk.dropna(subset=["churn_risk"])
    assert c.scored == len(scored)
    assert c.at_risk == int((scored["churn_risk"] >= 0.3).sum())
    assert c.median_risk == pytest.approx(scored["churn_risk"].median())
    assert c.active_within_days == rep.settings.risk_active_within_days
    assert c.at_risk > 0


def test_experiment_decisions_equal_the_ab_reports(demo_community, demo_report):
    ds = demo_community
    ids = ds.experiments.sort_values("ends_at", ascending=False)["experiment_id"].astype(str)
    assert [e.experiment_id for e in demo_report.experiments] == list(ids)
    s = overview.OverviewSettings()
    for line in demo_report.experiments:
        rep = exp_metrics.analyse_experiment(
            ds, line.experiment_id, metrics=list(s.metrics), primary_metric=s.primary_metric,
            guardrails=list(s.guardrails), alpha=s.alpha, correction=s.correction,
            cuped=s.cuped, cuped_days=s.cuped_days, retention_days=s.retention_days,
            on_error="report")
        assert line.decision == rep.decision
        prim = rep.results.loc[rep.results["role"] == "primary"].iloc[0]
        assert line.estimate == pytest.approx(prim["estimate"])
        assert (line.ci_low, line.ci_high) == pytest.approx((prim["ci_low"], prim["ci_high"]))
        assert line.link == f"03_ab_{line.experiment_id}.html"


def test_layer_mix_equals_the_cohort_report(demo_community, demo_report):
    ds = demo_community
    # notebook 01's call
    cr = cohorts.cohort_report(ds.members, ds.events, period="W", mode="classic", by="channel",
                               active_types=None, observed_until=None)
    L = demo_report.layers
    assert list(L.now) == cr.layers.table["members"].tolist()
    assert L.left == cr.layers.left
    assert sum(L.now) == demo_report.members == cr.members_end
    tr = cr.transitions
    assert L.moved_up == tr.loc[tr["direction"] == "up", "members"].sum()
    assert L.moved_down == tr.loc[tr["direction"] == "down", "members"].sum()
    assert L.stayed == tr.loc[tr["direction"] == "same", "members"].sum()
    assert (L.since, L.as_of) == cr.transition_window
    assert L.left_since == cr.transition_left
    # the mix at the window's start, with the same rules
    t0 = cr.transition_window[0]
    before = cohorts.layer_mix(cohorts.member_layers(ds.members, ds.events, as_of=t0),
                               ds.members, as_of=t0)
    assert list(L.before) == before.table["members"].tolist()
    # the growth and D30 figures are report 01's too
    done = cr.growth.loc[cr.growth["complete"]]
    assert demo_report.indicator("growth").value == done["new_members"].iloc[-1]
    d30 = cr.n_day.loc[cr.n_day["day"] == 30].iloc[0]
    assert demo_report.indicator("retention").get("all_rate") == pytest.approx(d30["rate"])


def test_conversion_equals_the_funnel(demo_community, demo_report):
    conversion = pytest.importorskip("helpers.conversion")
    if not hasattr(conversion, "funnel"):
        pytest.skip("helpers.conversion.funnel not there yet")
    ds = demo_community
    ind = demo_report.indicator("conversion")
    f = conversion.funnel(ds.members, ds.events, window_days=30)
    row = f.loc[f["step"] == "purchased"].iloc[0]
    assert ind.get("all_rate") == pytest.approx(row["rate"])
    until = ds.events["ts"].max()
    cut = until - pd.Timedelta(days=30)
    sub = ds.members.loc[(ds.members["joined_at"] > cut - pd.Timedelta(days=28))
                         & (ds.members["joined_at"] <= cut)]
    ref = conversion.funnel(sub, ds.events, window_days=30, observed_until=until)
    ref = ref.loc[ref["step"] == "purchased"].iloc[0]
    assert ind.n == ref["eligible"] and ind.value == pytest.approx(ref["rate"])


def test_join_windows_partition_members(demo_community):
    ds = demo_community
    until = ds.events["ts"].max()
    labelled, windows = join_windows(ds.members, until, recent_days=28)
    assert set(labelled["overview_window"]) <= {"recent", "previous", "earlier", "too_recent"}
    r0, r1 = windows["recent"]
    assert r1 == until - pd.Timedelta(days=30) and r1 - r0 == pd.Timedelta(days=28)
    assert "overview_window" not in ds.members.columns  # input not modified


# ----------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("new,exits,active", [([0, 0, 5, 1], [0, 0, 0, 0], [0, 0, 3, 1]),
                                              ([4, 0, 0, 1], [0, 1, 0, 0], [2, 1, 0, 1]),
                                              ([3, 3, 3, 0], [0, 0, 0, 0], [3, 3, 3, 0])])
def test_tiles_for_weeks_from_zero_to_zero_and_flat(new, exits, active):
    """Weeks with no joins or no actives before, after, or both: words, never 'nan' or '()'."""
    net = np.array(new) - np.array(exits)
    g = pd.DataFrame({"period": pd.date_range("2026-03-02", periods=4, freq="7D"),
                      "new_members": new, "exits": exits, "net_growth": net,
                      "members_end": net.cumsum(), "active_members": active,
                      "stickiness": [np.nan if a == 0 else 0.5 for a in active],
                      "complete": [True, True, True, False]})
    growth, activity = overview.growth_indicators(g)
    rep = overview.OverviewReport(
        dataset="x", observed_until=pd.Timestamp("2026-03-25"), members=int(net.sum()),
        settings=overview.OverviewSettings(),
        indicators=(growth, activity,
                    overview.Indicator("retention", "share", reason="no_recent_eligible"),
                    overview.Indicator("conversion", "share", reason="no_purchases")),
        layers=overview.LayerMix(reason="no_members"))
    for lang in ("zh", "en"):
        text = _text(overview.tiles_html(rep, lang))
        assert not BANNED.search(text) and "()" not in text and "（）" not in text, text
    assert growth.value == new[2] and activity.value == active[2]


def test_catalog_has_the_same_keys_and_fields_in_both_languages():
    assert overview.CATALOG.check() == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_tiles_show_four_indicators_without_raw_values(demo_report, language):
    html = overview.tiles_html(demo_report, language)
    assert html.count('class="kpi-tile"') == 4
    for key in overview.INDICATORS:
        assert f'data-indicator="{key}"' in html
    text = _text(html)
    assert not BANNED.search(text), BANNED.search(text)
    for ind in demo_report.indicators:
        if ind.available:
            value = (f"{100 * ind.value:.1f}%" if ind.kind == "share" else f"{ind.value:,.0f}")
            assert value in text
    if language == "zh":
        han = len(re.findall(r"[\u4e00-\u9fff]", text))
        latin = len(re.findall(r"[A-Za-z]", text))
        assert han > 3 * latin


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sections_render_without_raw_values(demo_report, language):
    for name, md in overview.render_sections(demo_report, language).items():
        assert not BANNED.search(md), (name, md)
    exp = overview.sections_markdown(demo_report, "experiments", language)
    assert "(03_ab_exp_checkin_member.html)" in exp
    assert ("推广" if language == "zh" else "Ship") in exp


def test_data_strings_are_escaped(demo_report):
    import dataclasses

    evil = "<img src=x onerror=alert(1)>**VIP**|x"
    line = dataclasses.replace(demo_report.experiments[0], name=evil, experiment_id="a|b",
                               primary_label="<b>m</b>", link="03_ab_a_b.html")
    rep = dataclasses.replace(demo_report, experiments=(line,))
    md = overview.sections_markdown(rep, "experiments", "en")
    assert "<img" not in md and "<b>" not in md and "**VIP**" not in md
    assert "&lt;img" in md and "a\\|b" in md


def test_trend_plot_draws_four_panels(demo_report):
    from helpers import plots

    axes = plots.plot_overview_trends(demo_report, language="zh")
    assert len(axes) == 4
    assert [len(ax.lines) for ax in axes] == [
        1 if len(i.trend) >= 2 else 0 for i in demo_report.indicators]
    assert axes[0].get_title() == overview.CATALOG.t("title.growth", "zh")


# ----------------------------------------------------------------------------- thin data
def _write(folder: Path, tables: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def small_tables(small_dir):
    return {p.stem: pd.read_csv(p) for p in Path(small_dir).glob("*.csv")}


def _render_all(rep):
    out = []
    for lang in ("zh", "en"):
        out.append(_text(overview.tiles_html(rep, lang)))
        out.extend(overview.render_sections(rep, lang).values())
    return out


def test_thin_dataset_without_purchases_experiments_or_groups(small_tables, tmp_path):
    t = small_tables
    ev = t["events"].loc[t["events"]["event_type"] != "purchase"]
    ev = ev.drop(columns=[c for c in ("amount", "group_id") if c in ev.columns])
    members = t["members"].drop(columns=["referrer_id"], errors="ignore").assign(group_id="")
    ds = data.load_community(_write(tmp_path / "thin", {"members": members, "events": ev}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overview itself raises no warning stream
        rep = overview.overview_report(ds)
    assert rep.indicator("conversion").reason == "no_purchases"
    assert rep.experiments == () and rep.experiments_reason == "no_experiments"
    texts = _render_all(rep)
    for text in texts:
        assert not BANNED.search(text), text
    zh = _text(overview.tiles_html(rep, "zh"))
    assert overview.CATALOG.t("reason.no_purchases", "zh") in zh
    assert overview.CATALOG.t("exp.none_table", "en") in overview.sections_markdown(
        rep, "experiments", "en")


def test_very_short_history_says_why(small_tables, tmp_path):
    t = small_tables
    members = t["members"].copy()
    joined = pd.to_datetime(members["joined_at"], format="ISO8601", utc=True)
    first = joined.min()
    keep = joined <= first + pd.Timedelta(days=9)
    members = members.loc[keep]
    ev = t["events"]
    ts = pd.to_datetime(ev["ts"], format="ISO8601", utc=True)
    ev = ev.loc[(ts <= first + pd.Timedelta(days=12)) & ev["member_id"].isin(members["member_id"])]
    ds = data.load_community(_write(tmp_path / "short", {"members": members, "events": ev}))
    rep = overview.overview_report(ds)
    assert rep.indicator("retention").reason == "no_recent_eligible"
    assert rep.churn.reason == "too_short"
    for text in _render_all(rep):
        assert not BANNED.search(text), text
    # a tile without data shows why, not a join period that lies before the data
    zh = overview.tiles_html(rep, "zh")
    tile = zh.split('data-indicator="retention"')[1].split('data-indicator=')[0]
    assert "kpi-period" not in tile and "kpi-missing" in tile
    # nothing measured in two channels: no claim that "intervals overlap"
    card = overview.sections_markdown(rep, "scorecard", "en")
    if rep.scorecard is not None and not (rep.scorecard_leaders["levels"] >= 2).any():
        assert overview.CATALOG.t("card.no_leaders", "en") not in card
    from helpers import plots

    if not any(len(i.trend) >= 2 for i in rep.indicators):
        assert len(plots.plot_overview_trends(rep, language="en")) == 0


def test_scorecard_equals_report_04s(demo_community, demo_report):
    conversion = pytest.importorskip("helpers.conversion")
    ds = demo_community
    card = conversion.channel_scorecard(ds.members, ds.events, by="channel",
                                        observed_until=ds.events["ts"].max())
    pd.testing.assert_frame_equal(demo_report.scorecard.reset_index(drop=True),
                                  card.reset_index(drop=True))
    md = overview.sections_markdown(demo_report, "scorecard", "zh")
    for ch in card["channel"]:
        assert f"| {ch} |" in md


def test_conversion_figures_equal_report_04s(demo_community, demo_report):
    """Notebook 04's call: its funnel over all eligible members and its channel scorecard are
    the overview's."""
    conversion = pytest.importorskip("helpers.conversion")
    ds = demo_community
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = conversion.conversion_report(
            ds.members, ds.events, activities=ds.activities, memberships=ds.memberships,
            by="channel", window_days=30, horizon_days=90, grace_days=30, review_detail=10,
            active_types=None, observed_until=None)
    f = rep.funnel_all
    bought = f.loc[f["step"] == "purchased"].iloc[0]
    ind = demo_report.indicator("conversion")
    assert ind.get("all_rate") == pytest.approx(bought["rate"])
    assert ind.get("all_n") == bought["eligible"]
    pd.testing.assert_frame_equal(demo_report.scorecard.reset_index(drop=True),
                                  rep.scorecard.reset_index(drop=True))


def test_one_channel_text_ids(small_tables, tmp_path):
    t = small_tables
    members = t["members"].assign(channel="邀请码",
                                  member_id=lambda d: "m" + d["member_id"].astype(str))
    ev = t["events"].assign(member_id=lambda d: "m" + d["member_id"].astype(str))
    if "referrer_id" in members:
        members["referrer_id"] = members["referrer_id"].map(
            lambda v: v if pd.isna(v) else f"m{int(v)}")
    ds = data.load_community(_write(tmp_path / "one", {"members": members, "events": ev}))
    rep = overview.overview_report(ds)
    assert rep.indicator("growth").available
    assert rep.scorecard is None and rep.scorecard_reason == "one_channel"
    for text in _render_all(rep):
        assert not BANNED.search(text), text


# ----------------------------------------------------------------------------- notebook
def test_notebook_00_is_thin_tagged_and_committed_without_outputs():
    nb = json.loads((NOTEBOOKS / "00_overview.ipynb").read_text(encoding="utf-8"))
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    assert 'language: str = "zh"' in src and 'dataset: str = "demo"' in src
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            tags = c.get("metadata", {}).get("tags", [])
            assert "lang-zh" in tags or "lang-en" in tags, "".join(c["source"])[:60]
        else:
            assert c.get("outputs") == [] and c.get("execution_count") is None
            assert "def " not in "".join(c["source"])


@pytest.mark.parametrize("language", ["en"])
def test_notebook_00_runs_in_the_other_language(small_dir, tmp_path, language):
    """nbval runs the notebook with its defaults (zh, demo); this runs it in English on the small
    community and reads what a reviewer would see: no error, no warning stream, no raw values."""
    import nbformat
    import papermill as pm

    out = tmp_path / f"00_{language}.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "00_overview.ipynb"), str(out),
                        parameters={"dataset": str(small_dir), "language": language},
                        progress_bar=False, cwd=str(NOTEBOOKS))
    nb = nbformat.read(out, as_version=4)
    shown = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "lang-zh" in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            assert o["output_type"] != "error", o.get("evalue")
            assert o["output_type"] != "stream", "".join(o.get("text", ""))
            data_ = o.get("data", {})
            shown.append(_text(data_.get("text/html", "")) if "text/html" in data_
                         else data_.get("text/markdown", ""))
    text = "\n".join(shown)
    assert not BANNED.search(text), BANNED.search(text)
    assert "New members (weekly)" in text


def test_experiment_links_are_the_batch_report_names(demo_dir, demo_report):
    """The overview links 03_ab_<id>.html in its own language folder: the names the batch gives
    the A/B runs of notebooks/batch.yml on the same dataset (reports/<lang>/<name>.html)."""
    from helpers import batch

    cfg = batch.load_config(NOTEBOOKS / "batch.yml", dataset=demo_dir)
    ab = {f"{r.name}.html" for r in cfg.runs if r.notebook.name == "03_activity_ab_test.ipynb"}
    overview_first = cfg.runs[0].notebook.name == "00_overview.ipynb"
    assert overview_first
    assert {e.link for e in demo_report.experiments} == ab
    # the prose links to the detail reports: pages the batch writes beside the overview
    nb = json.loads((NOTEBOOKS / "00_overview.ipynb").read_text(encoding="utf-8"))
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    links = set(re.findall(r"\]\(([^)]+\.html)\)", prose))
    assert links and links <= {f"{r.name}.html" for r in cfg.runs}, links


def test_lazy_events_give_the_same_overview(small_dir, small_report, monkeypatch):
    """On the DuckDB engine (events as a lazy table) every figure is the same as in memory.
    The channel scorecard is left out here: it is conversion's (and its engine support too)."""
    pytest.importorskip("duckdb")
    from helpers.overview import report as R

    monkeypatch.setattr(R, "_scorecard", lambda ds, s, until, notes: (None, None, "no_channels"))
    lazy = data.load_community(small_dir, engine="duckdb")
    from helpers import engine

    assert engine.is_lazy(lazy.events)
    rep = overview.overview_report(lazy)
    pd.testing.assert_frame_equal(rep.to_frame(), small_report.to_frame())
    assert rep.layers == small_report.layers and rep.churn == small_report.churn
    assert [(e.experiment_id, e.decision, e.estimate) for e in rep.experiments] == \
        [(e.experiment_id, e.decision, e.estimate) for e in small_report.experiments]


def test_an_earlier_observation_end_flows_to_every_section(small_community):
    """observed_until given: the same end for every section, as each detail report takes it."""
    ds = small_community
    end = "2026-05-20 12:00"
    rep = overview.overview_report(ds, overview.OverviewSettings(observed_until=end))
    assert rep.observed_until == pd.Timestamp(end, tz="Asia/Shanghai")
    cr = cohorts.cohort_report(ds.members, ds.events, period="W", mode="classic", by="channel",
                               observed_until=end)
    done = cr.growth.loc[cr.growth["complete"]]
    assert rep.indicator("growth").value == done["new_members"].iloc[-1]
    assert rep.indicator("growth").current_start == done["period"].iloc[-1]
    d30 = cr.n_day.loc[cr.n_day["day"] == 30].iloc[0]
    assert rep.indicator("retention").get("all_rate") == pytest.approx(d30["rate"])
    assert rep.indicator("retention").current_end == rep.observed_until - pd.Timedelta(days=30)
    assert rep.layers.as_of == rep.observed_until
    assert list(rep.layers.now) == cr.layers.table["members"].tolist()
