"""The overview (notebook 00): its numbers are the detail reports' numbers; intervals are right;
the renderer writes both languages, escapes data strings and says why a section is missing."""

from __future__ import annotations

import ast
import dataclasses
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
    # the recent joiners: the same function on those members only (not through by=); the
    # windows are whole local days ending at the local midnight before until − 30 days
    until = ds.events["ts"].max()
    cut = (until - pd.Timedelta(days=30)).normalize()  # Asia/Shanghai: no clock change
    for label, (lo, hi) in [("recent", (cut - pd.Timedelta(days=28), cut)),
                            ("previous", (cut - pd.Timedelta(days=56),
                                          cut - pd.Timedelta(days=28)))]:
        sub = ds.members.loc[(ds.members["joined_at"] >= lo) & (ds.members["joined_at"] < hi)]
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
    cut = (until - pd.Timedelta(days=30)).normalize()  # whole local days (Asia/Shanghai)
    sub = ds.members.loc[(ds.members["joined_at"] >= cut - pd.Timedelta(days=28))
                         & (ds.members["joined_at"] < cut)]
    ref = conversion.funnel(sub, ds.events, window_days=30, observed_until=until)
    ref = ref.loc[ref["step"] == "purchased"].iloc[0]
    assert ind.n == ref["eligible"] and ind.value == pytest.approx(ref["rate"])


def test_join_windows_partition_members(demo_community):
    ds = demo_community
    until = ds.events["ts"].max()
    labelled, windows = join_windows(ds.members, until, recent_days=28)
    assert set(labelled["overview_window"]) <= {"recent", "previous", "earlier", "too_recent"}
    r0, r1 = windows["recent"]
    assert r1 == (until - pd.Timedelta(days=30)).normalize() and r1 - r0 == pd.Timedelta(days=28)
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
    # two experiments of the same name: the ids are shown too (escaped as well)
    rep = dataclasses.replace(demo_report, experiments=(
        line, dataclasses.replace(line, experiment_id="c", link="03_ab_c.html")))
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
    assert rep.indicator("retention").current_end == \
        (rep.observed_until - pd.Timedelta(days=30)).normalize()
    assert rep.layers.as_of == rep.observed_until
    assert list(rep.layers.now) == cr.layers.table["members"].tolist()


# ----------------------------------------------------------------------------- whole local days
def _local_days(tz, start, end):
    """Members' join windows by hand: whole local days ``[start, end)`` of ``tz``."""
    return pd.Timestamp(start, tz=tz), pd.Timestamp(end, tz=tz)


@pytest.mark.parametrize("tz,until,expected", [
    # the demo's end: 23:59:53 local; cut at the local midnight before until − 30 days
    ("Asia/Shanghai", "2026-08-28 23:59:53", ("2026-07-01", "2026-07-29", "2026-06-03")),
    # a UTC instant whose local date is a day later (00:30 local): cut on the local day
    ("Asia/Shanghai", pd.Timestamp("2026-06-29 16:30", tz="UTC"),
     ("2026-05-03", "2026-05-31", "2026-04-05")),
    # Berlin: summer time starts on 29 March inside the recent window (28 local days = 671 h)
    ("Europe/Berlin", "2026-05-20 12:00", ("2026-03-23", "2026-04-20", "2026-02-23")),
])
def test_join_windows_are_whole_local_days(tz, until, expected):
    until = pd.Timestamp(until) if isinstance(until, pd.Timestamp) else pd.Timestamp(until, tz=tz)
    r0, cut, p0 = (pd.Timestamp(d, tz=tz) for d in expected)
    joined = []
    for day in (p0, r0, cut):  # 23:30 the evening before and 00:30 on each boundary day
        joined += [day - pd.Timedelta(minutes=30), day + pd.Timedelta(minutes=30)]
    m = pd.DataFrame({"member_id": range(6), "joined_at": pd.DatetimeIndex(joined).tz_convert(tz)})
    out, w = join_windows(m, until)
    assert w == {"recent": (r0, cut), "previous": (p0, r0)}
    assert all(str(t.tz) == tz and (t.hour, t.minute) == (0, 0) for t in (*w["recent"], p0))
    assert out["overview_window"].tolist() == ["earlier", "previous", "previous", "recent",
                                               "recent", "too_recent"]
    # everyone in the windows has reached day 30 (the detail reports' eligibility rule)
    counted = out["overview_window"].isin(["recent", "previous"])
    assert (m.loc[counted, "joined_at"] <= until - pd.Timedelta(days=30)).all()


def test_recent_joiner_label_names_exactly_the_days_counted(demo_community, demo_report):
    """'7月1日至7月28日入群': the first and last join days counted, whole local days."""
    ds = demo_community
    ind = demo_report.indicator("retention")
    until = ds.events["ts"].max()
    cut = (until - pd.Timedelta(days=30)).normalize()  # Asia/Shanghai: no clock change
    first, last = (cut - pd.Timedelta(days=28)).date(), (cut - pd.Timedelta(days=1)).date()
    days = ds.members["joined_at"].dt.date
    assert ind.n == ((days >= first) & (days <= last)).sum()
    label = f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日入群"
    assert label in _text(overview.tiles_html(demo_report, "zh"))
    assert f"joined {first:%Y-%m-%d} – {last:%Y-%m-%d}" in _text(
        overview.tiles_html(demo_report, "en"))


# ----------------------------------------------------------------------------- shown numbers
def test_share_change_is_the_difference_of_the_shown_values():
    """30.8% vs 33.2% reads '2.4 points lower' (not the unrounded 2.45 → '2.5')."""
    x1, n1, x0, n0 = 316, 1027, 293, 882  # 30.77% and 33.22%: difference −2.45 points
    d, lo, hi = I.newcombe_difference(x1, n1, x0, n0)
    assert round(100 * d, 1) == -2.5  # what the tile wrote before
    ind = overview.Indicator(
        "retention", "share", value=x1 / n1, ci_low=0.28, ci_high=0.34, interval_of="share",
        n=n1, previous=x0 / n0, previous_n=n0, change=d, change_low=lo, change_high=hi,
        change_kind="difference", current_start=pd.Timestamp("2026-07-01", tz="Asia/Shanghai"),
        current_end=pd.Timestamp("2026-07-29", tz="Asia/Shanghai"))
    same = dataclasses.replace(ind, value=0.30804, previous=0.30796, change=0.00008)
    for case, want in ((ind, ("下降 2.4 个百分点", "Down 2.4 pp")), (same, ("持平", "Same as"))):
        rep = overview.OverviewReport(
            dataset="x", observed_until=pd.Timestamp("2026-08-28", tz="Asia/Shanghai"),
            members=n1, settings=overview.OverviewSettings(),
            indicators=(overview.Indicator("growth", "count", reason="no_complete_week"),
                        overview.Indicator("activity", "count", reason="no_complete_week"),
                        case, overview.Indicator("conversion", "share", reason="no_purchases")),
            layers=overview.LayerMix(reason="no_members"))
        for lang, words in zip(("zh", "en"), want):
            text = _text(overview.tiles_html(rep, lang))
            assert words in text, text
            assert not BANNED.search(text)
    from helpers.overview.render import shown_difference

    for a, b in [(0.307692, 0.3322), (0.12345, 0.12355), (0.5, 0.49949), (0.0, 1.0)]:
        assert shown_difference(a, b) == pytest.approx(
            (float(f"{100 * a:.1f}") - float(f"{100 * b:.1f}")) / 100, abs=1e-12)


def test_experiment_table_names_experiments_and_says_the_interval_once(demo_report):
    for lang, head, effect in (("zh", "效果（95% 置信区间）", r"[+-]\d+\.\d%（[+-]\d+\.\d% 至 [+-]\d+\.\d%）"),
                               ("en", "Effect (95% CI)", r"[+-]\d+\.\d% \([+-]\d+\.\d% to [+-]\d+\.\d%\)")):
        md = overview.sections_markdown(demo_report, "experiments", lang)
        rows = md.splitlines()
        assert head in rows[0]
        body = re.sub(r"\]\([^)]*\.html\)", "]", "\n".join(rows[2:]))  # links' targets out
        assert "置信区间" not in body and "CI" not in body and "%–" not in body
        for e in demo_report.experiments:
            assert e.name and F_escape(e.name) in body and e.experiment_id not in body
            assert re.search(effect, body)
    # names that collide get their id; a missing name shows the id
    a, b = demo_report.experiments[:2]
    rep = dataclasses.replace(demo_report, experiments=(
        dataclasses.replace(a, name="提醒"), dataclasses.replace(b, name="提醒"),
        dataclasses.replace(demo_report.experiments[2], name="")))
    md = overview.sections_markdown(rep, "experiments", "zh")
    ids = [e.experiment_id for e in rep.experiments]
    assert f"提醒 \\({F_escape(ids[0])}\\)" in md and f"提醒 \\({F_escape(ids[1])}\\)" in md
    assert f"| {F_escape(ids[2])} |" in md


def F_escape(text):
    from helpers._format import escape_md

    return escape_md(text)


def test_churn_risk_threshold_is_the_churn_reports_one_definition(demo_community, demo_report):
    """One threshold (survival.ChurnSettings.risk_threshold): the overview's count and report
    02's summary both use it; moving it moves both."""
    assert "risk_threshold" not in {f.name for f in dataclasses.fields(overview.OverviewSettings)}
    assert demo_report.churn.threshold == survival.ChurnSettings().risk_threshold
    st = survival.ChurnSettings(  # notebook 02's call, another threshold
        inactivity_days=30, observed_until=None, active_types=None, censoring="detectable",
        segment_col="channel", reference_segment=None, covariates=["channel", "referred"],
        cluster_col="group_id", horizon_days=90, survival_days=[30, 90, 180],
        risk_horizon_days=30, risk_threshold=0.2)
    rep = survival.churn_report(demo_community.members, demo_community.events, st)
    scored = rep.risk.dropna(subset=["churn_risk"])
    n20 = int((scored["churn_risk"] >= 0.2).sum())
    assert n20 > demo_report.churn.at_risk
    assert f"{n20:,} 名不低于 20%" in survival.render_summary(rep, "zh")
    assert f"{n20:,} at 20% or more" in survival.render_summary(rep, "en")
    default = survival.render_summary(dataclasses.replace(rep, settings=survival.ChurnSettings(
        **{**{f.name: getattr(st, f.name) for f in dataclasses.fields(st)},
           "risk_threshold": 0.3})), "zh")
    assert f"{demo_report.churn.at_risk:,} 名不低于 30%" in default
    with pytest.raises(ParameterError):
        survival.ChurnSettings(risk_threshold=1.5)


# ----------------------------------------------------------------------------- engines
def _edge_community(folder: Path, tz: str) -> Path:
    """A small synthetic community in ``tz`` plus members who joined at 23:30 and 00:30 local
    around every window boundary (for the default end and for ``observed_until=2026-05-20
    12:00``), with events and purchases at 23:30 / 00:30 around their day 30, and a last event
    at 00:30 local (its UTC date is the day before)."""
    from helpers import synth
    from helpers.engine import load

    tables, _ = synth.generate(n_members=400, days=120, n_groups=10, seed=5, timezone=tz,
                               experiments=synth.default_experiments(120))
    members, events = tables["members"], tables["events"]
    template = members.iloc[0]
    boundaries = ["2026-04-05", "2026-05-03", "2026-05-31",   # default end: 2026-06-30 00:30
                  "2026-02-23", "2026-03-23", "2026-04-20"]   # end 2026-05-20 12:00 (Berlin DST)
    new_m, new_e = [], []
    for i, day in enumerate(boundaries):
        d = pd.Timestamp(day, tz=tz)
        for j, joined in enumerate((d - pd.Timedelta(minutes=30), d + pd.Timedelta(minutes=30))):
            mid = 900_000 + 10 * i + j
            new_m.append({**template.to_dict(), "member_id": mid, "joined_at": joined,
                          "left_at": pd.NaT, "referrer_id": None})
            day30 = pd.Timestamp(joined.tz_localize(None).normalize() + pd.Timedelta(days=30),
                                 tz=tz)
            for ts, kind, amount in ((day30 - pd.Timedelta(minutes=30), "message", np.nan),
                                     (day30 + pd.Timedelta(minutes=30), "message", np.nan),
                                     (joined + pd.Timedelta(days=30, hours=-1), "purchase", 9.5),
                                     (joined + pd.Timedelta(days=30, hours=1), "purchase", 4.0)):
                new_e.append({"member_id": mid, "ts": ts, "event_type": kind,
                              "activity_id": None, "amount": amount})
    last = pd.Timestamp("2026-06-30 00:30", tz=tz)
    new_e = [e for e in new_e if e["ts"] < last]
    new_e.append({"member_id": int(template["member_id"]), "event_type": "message",
                  "ts": last, "activity_id": None, "amount": np.nan})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # all-empty referrer_id of the new rows
        members = pd.concat([members, pd.DataFrame(new_m)], ignore_index=True)
    members["joined_at"] = pd.DatetimeIndex(members["joined_at"]).tz_convert(tz)
    ev = pd.DataFrame(new_e)
    ev["ts"] = pd.DatetimeIndex(ev["ts"]).tz_convert(tz)
    events = pd.concat([events.astype({"activity_id": object}), ev], ignore_index=True)
    events = events.sort_values("ts", kind="stable", ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in {**tables, "members": members, "events": events}.items():
        load.write_parquet(df, folder / f"{name}.parquet")
    return folder


def _same_overview(a, b):
    """Two overview reports are the same: every figure, every window and date (in the same
    zone), and the reviewer's text in both languages."""
    assert str(a.observed_until) == str(b.observed_until)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), rtol=0, atol=1e-9)
    for x, y in zip(a.indicators, b.indicators):
        for f in ("current_start", "current_end", "previous_start", "previous_end"):
            assert str(getattr(x, f)) == str(getattr(y, f)), (x.key, f)
        assert [str(t) for t, _ in x.trend] == [str(t) for t, _ in y.trend]
        np.testing.assert_allclose([v for _, v in x.trend], [v for _, v in y.trend], atol=1e-9)
    assert a.layers == b.layers and a.churn == b.churn
    assert [(e.experiment_id, e.decision, e.estimate, e.ci_low, e.ci_high) for e in a.experiments] \
        == [(e.experiment_id, e.decision, e.estimate, e.ci_low, e.ci_high) for e in b.experiments]
    for lang in ("zh", "en"):
        assert overview.tiles_html(a, lang) == overview.tiles_html(b, lang)
        assert overview.render_sections(a, lang) == overview.render_sections(b, lang)


def _no_scorecard(monkeypatch):
    """The channel scorecard is report 04's (helpers.conversion): on lazy events its
    ``value_per_member`` fails today (see the xfail below), so the engines are compared
    without it here."""
    from helpers.overview import report as R

    monkeypatch.setattr(R, "_scorecard", lambda ds, s, until, notes: (None, None, "no_channels"))


@pytest.fixture(scope="module")
def edge_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("overview_edges")
    return {tz: _edge_community(root / tz.replace("/", "_"), tz)
            for tz in ("Asia/Shanghai", "Europe/Berlin")}


@pytest.mark.parametrize("tz,end,windows", [
    ("Asia/Shanghai", None, ("2026-04-05", "2026-05-03", "2026-05-31")),
    ("Europe/Berlin", "2026-05-20 12:00", ("2026-02-23", "2026-03-23", "2026-04-20")),
])
def test_pandas_and_duckdb_overviews_are_identical_around_midnight(edge_dirs, tz, end, windows,
                                                                   monkeypatch):
    pytest.importorskip("duckdb")
    _no_scorecard(monkeypatch)
    settings = overview.OverviewSettings(observed_until=end)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = data.load_community(edge_dirs[tz], tz=tz, engine="pandas")
        lazy = data.load_community(edge_dirs[tz], tz=tz, engine="duckdb")
        a = overview.overview_report(mem, settings)
        b = overview.overview_report(lazy, settings)
    from helpers import engine

    assert engine.is_lazy(lazy.events) and not engine.is_lazy(mem.events)
    p0, r0, cut = (pd.Timestamp(d, tz=tz) for d in windows)
    ret = a.indicator("retention")
    assert (ret.previous_start, ret.current_start, ret.current_end) == (p0, r0, cut)
    if end is None:  # the last event at 00:30 local: the caption's date is the local one
        assert str(b.observed_until) == str(pd.Timestamp("2026-06-30 00:30", tz=tz))
        assert "2026年6月30日" in overview.tiles_html(b, "zh")
    _same_overview(a, b)
    # the planted members at 23:30 / 00:30 around each boundary are in the windows by hand
    labelled, _ = join_windows(mem.members, a.observed_until)
    got = labelled.set_index("member_id")["overview_window"]
    first = 900_000 + (0 if end is None else 30)
    assert [got[first + k] for k in (0, 1, 10, 11, 20, 21)] == [
        "earlier", "previous", "previous", "recent", "recent", "too_recent"]


def test_pandas_and_duckdb_overviews_are_identical_on_the_demo(demo_dir, demo_report,
                                                               monkeypatch):
    pytest.importorskip("duckdb")
    from helpers.overview import report as R

    card = (demo_report.scorecard, demo_report.scorecard_leaders, demo_report.scorecard_reason)
    monkeypatch.setattr(R, "_scorecard", lambda ds, s, until, notes: card)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lazy = data.load_community(demo_dir, engine="duckdb")
        rep = overview.overview_report(lazy)
    _same_overview(demo_report, rep)


def test_channel_scorecard_on_duckdb_equals_pandas(small_dir, small_report):
    pytest.importorskip("duckdb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = overview.overview_report(data.load_community(small_dir, engine="duckdb"))
    pd.testing.assert_frame_equal(rep.scorecard, small_report.scorecard)
