"""``batch.yml``: parse, validate and expand into runs before any kernel starts.

Checks YAML syntax, keys, that notebooks exist, parameter names against the notebook's
``parameters`` cell (papermill's ``inspect_notebook``), simple types, fan-out sources and
duplicate output names, and reports every problem in one :class:`BatchConfigError`.
A run's ``foreach`` maps a parameter to a list of values or to ``table.column`` of the dataset
(``experiments.experiment_id``: one report per experiment); a dataset without that table gets
no run and a note. The run ``name`` is a template; characters unsafe in file names become ``_``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from ..config import safe_name  # noqa: F401  (the one file-name rule; re-exported)
from ..data import find_table_file, read_table
from ..errors import DataError, ParameterError
from ._common import DEFAULT_TIMEOUT

DEFAULT_CONFIG = config.NOTEBOOKS_DIR / "batch.yml"
_RUN_KEYS = {"name", "notebook", "parameters", "foreach", "timeout"}
_TOP_KEYS = {"dataset", "timeout", "runs"}
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float),
                                              "bool": (bool,)}


class BatchConfigError(ParameterError):
    """``batch.yml`` or a command-line option is invalid; lists every problem found."""


@dataclass(frozen=True)
class Run:
    """One report to render: a notebook with its injected parameters.

    Attributes
    ----------
    name : str
        Output name: ``reports/<name>.html`` and ``reports/<name>.ipynb``.
    notebook : Path
        The source notebook.
    parameters : dict
        Values injected by papermill (only names the notebook's ``parameters`` cell declares).
    entry : str
        The name template of the ``batch.yml`` entry it comes from (for ``--only``).
    declared : dict
        Every parameter of the notebook and its default as written (for the provenance).
    timeout : int, optional
        Seconds one cell may run, when the run sets its own (else the file's ``timeout``).
    language : str
        ``"zh"`` or ``"en"`` for a run of a notebook with a ``language`` parameter (written to
        ``reports/<language>/``, see :func:`language_runs`); ``""`` for a notebook without one
        (written to ``reports/`` once).
    helps : dict
        The comment of each parameter in the notebook's ``parameters`` cell.
    labels : tuple of (parameter, text)
        For a fan-out run over ``table.column``, what its values are called in the data: the
        ``name`` column of the source table's row (an experiment's name), so the index can
        tell runs of one notebook apart by name; empty when the table has no names (the run
        name, shown under the title, carries the value).
    """

    name: str
    notebook: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    entry: str = ""
    declared: dict[str, str] = field(default_factory=dict)
    timeout: int | None = None
    language: str = ""
    helps: dict[str, str] = field(default_factory=dict)
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """``<language>/<name>`` (or ``<name>``): the output path without suffix, and the
        run's key in ``batch.json``."""
        return f"{self.language}/{self.name}" if self.language else self.name

    @property
    def multilingual(self) -> bool:
        """Whether the notebook takes ``language`` and the batch may choose it."""
        return "language" in self.declared


@dataclass(frozen=True)
class BatchConfig:
    """A validated, expanded ``batch.yml``.

    Attributes
    ----------
    path : Path
        The configuration file.
    dataset : str
        The dataset every notebook with a ``dataset`` parameter receives.
    timeout : int
        Seconds a single cell may run.
    runs : tuple of Run
        Every run, fan-outs expanded, in file order.
    notes : tuple of str
        What the expansion found worth saying (e.g. a fan-out with no values), for the console.
    skipped : tuple of Skipped
        The same for fan-outs without values, as data (the index renders them per language).
    """

    path: Path
    dataset: str
    timeout: int
    runs: tuple[Run, ...]
    notes: tuple[str, ...] = ()
    skipped: tuple["Skipped", ...] = ()

    def to_frame(self):
        """One row per run: ``name, notebook, parameters``."""
        import pandas as pd

        return pd.DataFrame([{"name": r.name, "notebook": r.notebook.name,
                              "parameters": json.dumps(r.parameters, ensure_ascii=False)}
                             for r in self.runs], columns=["name", "notebook", "parameters"])


@dataclass(frozen=True)
class Skipped:
    """A ``batch.yml`` entry that made no run: its ``foreach`` found no values in the dataset.

    Attributes
    ----------
    entry : str
        The entry's name template (``03_ab_{experiment_id}``).
    notebook : str
        The notebook file name.
    parameter : str
        The fan-out parameter without values.
    table, column : str
        Where the values were looked for (``table`` absent from the dataset, or ``column``
        without values); empty for a literal list.
    reason : {"no_table", "no_values"}
    dataset : str
        The dataset's name.
    multilingual : bool
        Whether the notebook has a ``language`` parameter (the index says it per language).
    """

    entry: str
    notebook: str
    parameter: str
    table: str
    column: str
    reason: str
    dataset: str
    multilingual: bool = False


def language_runs(runs, languages) -> list[Run]:
    """One run per language for each notebook with a ``language`` parameter.

    A run whose ``batch.yml`` entry sets ``language`` itself, and a notebook without the
    parameter, stay one run (the latter written to ``reports/`` with ``language=""``).

    Examples
    --------
    >>> r = Run(name="01", notebook=Path("01.ipynb"), declared={"language": "'zh'"})
    >>> [x.key for x in language_runs([r], ("zh", "en"))]
    ['zh/01', 'en/01']
    """
    out = []
    for lang in languages:
        for r in runs:
            if r.language:
                if r.language == lang:
                    out.append(r)
            elif r.multilingual and "language" not in r.parameters:
                out.append(dataclasses.replace(r, language=lang,
                                               parameters={**r.parameters, "language": lang}))
            elif r.multilingual and r.parameters["language"] == lang:
                out.append(dataclasses.replace(r, language=lang))
    out += [r for r in runs if not r.multilingual and not r.language]
    return out


def notebook_parameters(notebook: str | Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell (papermill's inspection).

    Returns
    -------
    dict
        ``{name: {"name", "inferred_type_name", "default", "help"}}``; empty when the notebook
        has no cell tagged ``parameters``.
    """
    import papermill as pm

    return pm.inspect_notebook(str(notebook))


def _fanout_values(source: Any, dataset: str, where: str, problems: list[str],
                   names: dict | None = None) -> list[Any]:
    """Values of a ``foreach`` entry: a list literal, or ``table.column`` of the dataset.

    ``names`` (when given) receives ``{str(value): name}`` from the table's ``name`` column
    (the first non-empty name of each value), when the table has one."""
    if isinstance(source, list):
        if not source:
            problems.append(f"{where}: the list of values is empty")
        return source
    if not isinstance(source, str) or not re.fullmatch(r"\w+\.\w+", source):
        problems.append(f"{where}: expected a list of values or 'table.column' "
                        f"(e.g. experiments.experiment_id), got {source!r}")
        return []
    table, column = source.split(".")
    if table not in config.TABLES:
        problems.append(f"{where}: unknown table '{table}' in {source!r}; "
                        f"allowed tables: {', '.join(config.TABLES)}")
        return []
    folder = config.dataset_dir(dataset)
    path = find_table_file(folder, table)
    if path is None:
        return []  # an optional table that is absent: no runs (said in notes)
    try:
        frame = read_table(path)
    except DataError as exc:
        problems.append(f"{where}: cannot read {path}: {exc}")
        return []
    if column not in frame.columns:
        problems.append(f"{where}: column '{column}' not in {path} "
                        f"(columns: {', '.join(map(str, frame.columns))})")
        return []
    values = frame[column].dropna().drop_duplicates().tolist()
    if names is not None and "name" in frame.columns and column != "name":
        named = frame.loc[frame[column].notna() & frame["name"].notna(), [column, "name"]]
        for v, n in zip(named[column], named["name"]):
            if str(n).strip():
                names.setdefault(str(v), str(n).strip())
    return sorted(values, key=str)


def _type_problem(value: Any, spec: dict[str, Any]) -> str | None:
    """A message when ``value`` does not fit the simple annotated type of a parameter."""
    type_name = (spec.get("inferred_type_name") or "").strip()
    allowed = _SIMPLE_TYPES.get(type_name)
    if allowed is None:
        return None
    if isinstance(value, bool) and bool not in allowed:
        return f"expects {type_name}, got {value!r}"
    if not isinstance(value, allowed):
        return f"expects {type_name}, got {type(value).__name__} {value!r}"
    return None


def load_config(path: str | Path = DEFAULT_CONFIG, *, dataset: str | Path | None = None) -> BatchConfig:
    """Read, validate and expand a batch configuration.

    Parameters
    ----------
    path : str or Path
        The YAML file (default ``notebooks/batch.yml``). Notebook paths in it are relative to
        its folder.
    dataset : str or Path, optional
        Overrides the file's ``dataset`` for every run (``--dataset``).

    Returns
    -------
    BatchConfig
        With ``runs``: one :class:`Run` per report (``name, notebook, parameters``).

    Raises
    ------
    BatchConfigError
        Listing every problem: bad YAML (with line), unknown keys, missing notebooks, unknown
        parameter names (with the allowed ones), wrong simple types, bad fan-out sources,
        duplicate output names, a missing dataset folder.

    Examples
    --------
    >>> cfg = load_config("notebooks/batch.yml")                      # doctest: +SKIP
    >>> [r.name for r in cfg.runs]                                    # doctest: +SKIP
    ['01_cohort_retention', '02_churn_survival', '03_ab_exp_checkin_member', ...]
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BatchConfigError(f"batch configuration not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BatchConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise BatchConfigError(f"{path}: expected a mapping with keys {sorted(_TOP_KEYS)}, "
                               f"got {type(raw).__name__}")
    for key in sorted(set(raw) - _TOP_KEYS):
        problems.append(f"unknown top-level key '{key}'; allowed: {', '.join(sorted(_TOP_KEYS))}")
    ds = str(dataset if dataset is not None else raw.get("dataset", config.DEMO_DATASET))
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"timeout: expected a positive number of seconds, got {timeout!r}")
        timeout = DEFAULT_TIMEOUT
    folder = config.dataset_dir(ds)
    if not folder.is_dir():
        problems.append(f"dataset '{ds}': folder {folder} not found (run `make data` for the "
                        "demo, or pass --dataset NAME_OR_PATH)")
    entries = raw.get("runs")
    if not isinstance(entries, list) or not entries:
        problems.append("runs: expected a non-empty list of runs (each with name and notebook)")
        entries = []

    runs: list[Run] = []
    notes: list[str] = []
    skipped: list[Skipped] = []
    for i, entry in enumerate(entries, start=1):
        where = f"runs[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping, got {entry!r}")
            continue
        where = f"runs[{i}] ({entry.get('name', '?')})"
        for key in sorted(set(entry) - _RUN_KEYS):
            problems.append(f"{where}: unknown key '{key}'; allowed: {', '.join(sorted(_RUN_KEYS))}")
        name_t, nb_name = entry.get("name"), entry.get("notebook")
        if not isinstance(name_t, str) or not name_t.strip():
            problems.append(f"{where}: 'name' is required (a string; may use {{parameter}})")
            continue
        if not isinstance(nb_name, str):
            problems.append(f"{where}: 'notebook' is required (a file in {path.parent})")
            continue
        notebook = (path.parent / nb_name).resolve()
        if not notebook.is_file():
            available = sorted(p.name for p in path.parent.glob("*.ipynb"))
            problems.append(f"{where}: notebook '{nb_name}' not found in {path.parent} "
                            f"(available: {', '.join(available) or 'none'})")
            continue
        try:
            declared = notebook_parameters(notebook)
        except Exception as exc:  # nbformat raises several types for a broken file
            problems.append(f"{where}: cannot read notebook {nb_name}: {exc}")
            continue
        run_timeout = entry.get("timeout")
        if run_timeout is not None and (not isinstance(run_timeout, int)
                                        or isinstance(run_timeout, bool) or run_timeout <= 0):
            problems.append(f"{where}: timeout: expected a positive number of seconds, "
                            f"got {run_timeout!r}")
            run_timeout = None
        params = entry.get("parameters") or {}
        foreach = entry.get("foreach") or {}
        if not isinstance(params, dict) or not isinstance(foreach, dict):
            problems.append(f"{where}: 'parameters' and 'foreach' must be mappings")
            continue
        allowed = ", ".join(declared) or "none (the notebook has no cell tagged 'parameters')"
        for key in [*params, *foreach]:
            if key not in declared:
                problems.append(f"{where}: unknown parameter '{key}' for {nb_name}; "
                                f"allowed: {allowed}")
        for key, value in params.items():
            if key in declared and (msg := _type_problem(value, declared[key])):
                problems.append(f"{where}: parameter '{key}' {msg}")
        base = dict(params)
        if "dataset" in declared and (dataset is not None or "dataset" not in base):
            base["dataset"] = ds
        fan: dict[str, list[Any]] = {}
        fan_names: dict[str, dict[str, str]] = {}
        for key, source in foreach.items():
            values = _fanout_values(source, base.get("dataset", ds), f"{where}: foreach {key}",
                                    problems, fan_names.setdefault(key, {}))
            if key in declared and (declared[key].get("inferred_type_name") or "") == "str":
                values = [str(v) for v in values]
            for v in values:
                if key in declared and (msg := _type_problem(v, declared[key])):
                    problems.append(f"{where}: foreach '{key}' value {msg}")
                    break
            fan[key] = values
        combos: list[dict[str, Any]] = [{}]
        for key, values in fan.items():
            combos = [{**c, key: v} for c in combos for v in values]
        if fan and not combos:
            empty = [k for k, v in fan.items() if not v]
            notes.append(f"{name_t}: no values for {', '.join(empty)} in dataset '{ds}' "
                         f"({', '.join(str(foreach[k]) for k in empty)}): no report rendered")
            for k in empty:
                source = foreach[k]
                if isinstance(source, str) and not re.fullmatch(r"\w+\.\w+", source):
                    continue  # a bad source: already a problem
                table, column = source.split(".") if isinstance(source, str) else ("", "")
                ds_k = base.get("dataset", ds)
                absent = bool(table) and find_table_file(config.dataset_dir(ds_k), table) is None
                skipped.append(Skipped(entry=name_t, notebook=nb_name, parameter=k, table=table,
                                       column=column, reason="no_table" if absent else "no_values",
                                       dataset=Path(str(ds_k)).name,
                                       multilingual="language" in declared))
        for combo in combos:
            values = {**base, **combo}
            try:
                name = safe_name(name_t.format(**values))
            except (KeyError, IndexError, ValueError) as exc:
                problems.append(f"{where}: name template {name_t!r} cannot be filled ({exc!r}); "
                                f"it may use {', '.join('{' + k + '}' for k in values) or 'no fields'}")
                break
            runs.append(Run(name=name, notebook=notebook, parameters=values, entry=name_t,
                            declared={k: str(v.get("default")) for k, v in declared.items()},
                            helps={k: str(v.get("help") or "") for k, v in declared.items()},
                            timeout=run_timeout,
                            labels=tuple((k, fan_names[k][str(v)]) for k, v in combo.items()
                                         if str(v) in fan_names.get(k, {}))))
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.name] = seen.get(r.name, 0) + 1
    dupes = sorted(n for n, c in seen.items() if c > 1)
    if dupes:
        problems.append(f"duplicate output names: {', '.join(dupes)} (give each run a distinct "
                        "name; a fan-out name needs its {parameter} in it)")
    if problems:
        raise BatchConfigError(f"{path}: {len(problems)} problem(s), nothing was run:\n  - "
                               + "\n  - ".join(problems))
    return BatchConfig(path=path, dataset=ds, timeout=timeout, runs=tuple(runs),
                       notes=tuple(notes), skipped=tuple(skipped))


def select_runs(runs: tuple[Run, ...] | list[Run], only: list[str] | None) -> list[Run]:
    """The runs whose name (or ``batch.yml`` entry name) matches one of ``only`` (glob patterns).

    Raises
    ------
    BatchConfigError
        When a pattern matches nothing; the message lists the run names.
    """
    if not only:
        return list(runs)
    chosen, unmatched = [], []
    for pattern in only:
        hits = [r for r in runs if fnmatch.fnmatchcase(r.name, pattern) or r.entry == pattern
                or fnmatch.fnmatchcase(r.key, pattern)]
        if not hits:
            unmatched.append(pattern)
        chosen.extend(h for h in hits if h not in chosen)
    if unmatched:
        raise BatchConfigError(f"--only {', '.join(unmatched)}: no such run; runs are: "
                               + ", ".join(r.key for r in runs))
    return [r for r in runs if r in chosen]

