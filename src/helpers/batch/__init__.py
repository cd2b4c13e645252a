"""Batch reports for reviewers: run the notebooks listed in ``notebooks/batch.yml`` with
papermill, render self-contained HTML, and write ``reports/index.html``.

``python -m helpers.batch`` is what ``make reports`` calls::

    python -m helpers.batch                      # every run of notebooks/batch.yml, zh and en
    python -m helpers.batch --language zh        # Chinese only
    python -m helpers.batch --only 02_churn_survival --dataset data/raw/acme --workers 1
    python -m helpers.batch --only '03_ab_*' --with-code
    python -m helpers.batch --list               # show the expanded runs and exit

Choices made here, once:

- **Validate first.** ``batch.yml`` is parsed and checked (YAML syntax, keys, notebooks exist,
  parameter names against the notebook's ``parameters`` cell read by papermill's
  ``inspect_notebook``, simple types, fan-out sources, duplicate output names) and every problem
  is reported in one :class:`BatchConfigError` before any kernel starts (papermill itself only
  warns about unknown parameters).
- **Fan-out.** A run's ``foreach`` maps a parameter to a list of values or to ``table.column``
  of the dataset (``experiments.experiment_id``: one report per experiment). The run ``name``
  is a template (``03_ab_{experiment_id}``); characters unsafe in file names become ``_``.
  A fan-out over a table the dataset lacks (no experiments) makes no run; the summary and the
  index say so in words (:class:`Skipped`), it is not a failure.
- **Dataset.** The file's ``dataset`` (or ``--dataset``, which wins over everything) is given to
  every notebook that has a ``dataset`` parameter.
- **Languages.** A notebook with a ``language`` parameter is rendered once per language
  (``reports/zh/<name>.html``, ``reports/en/<name>.html``; :func:`language_runs`); its prose
  cells tagged ``lang-zh`` / ``lang-en`` are removed for the other language at render time
  (nbconvert's ``TagRemovePreprocessor``), every page carries ``<html lang>``, and the index and
  provenance words come from one catalog (:mod:`._messages`). A notebook without the parameter
  is rendered once into ``reports/``.
- **Warm kernels.** Each worker keeps one kernel: imports once, the namespace, warnings and
  plot settings reset between runs, a fresh kernel after any failure (:mod:`.kernel`);
  ``--fresh-kernels`` turns it off. The kernels use IPC sockets (no TCP transport warning).
- **Failure isolation.** Runs execute in a process pool; a failing run never stops the others.
  The executed notebook is written beside the target and renamed only on success, so the last
  good ``<name>.ipynb`` and ``<name>.html`` survive a failure; the failed notebook is kept as
  ``<name>.failed.ipynb``. The exit code is 1 when any run failed, 2 on a configuration error.
- **HTML for reviewers.** nbconvert's lab template without the CDN scripts (require.js,
  MathJax, Mermaid, widgets) — notebooks write math in Unicode, and LaTeX source, internal file
  references, ``nan``/``inf`` and tracebacks left on a page are reported as run warnings
  (:func:`reviewer_text_problems`); every string from the data is escaped; code cells hidden unless
  ``--with-code``; markdown images inlined; a subset of the packaged Noto Sans CJK SC font
  embedded as a ``data:`` URI so Chinese text renders without system fonts; a provenance
  section at the end (parameters, dataset fingerprint, package versions, git commit, start time,
  duration).
- **Index.** ``reports/batch.json`` keeps the latest record of every run (so ``--only`` updates
  one row); ``reports/index.html`` is rebuilt from it for the runs the configuration lists, one
  section per language (Chinese first, a link switches), headers in words, 1,240 px wide at most.

Modules: :mod:`.config` (``batch.yml``), :mod:`.execute` (one run), :mod:`.runner` (the pool
and the summary), :mod:`.html` (pages), :mod:`.fonts` (embedded fonts), :mod:`.provenance`,
:mod:`.index` (``batch.json`` and ``index.html``), :mod:`.kernel` (a warm kernel per worker),
:mod:`.cli` (the command line); :mod:`._messages` holds the words of the index and provenance
in both languages.
"""

from ..data import find_table_file, read_table  # noqa: F401  (re-exported for tests)
from ._common import DEFAULT_TIMEOUT, FONT_PLACEHOLDER, INDEX_NAME, KERNEL_NAME, MANIFEST_NAME, \
    TEMPLATES_DIR  # noqa: F401
from .cli import build_parser, main  # noqa: F401
from .config import (DEFAULT_CONFIG, BatchConfig, BatchConfigError, Run, Skipped,  # noqa: F401
                     language_runs, load_config, notebook_parameters, safe_name, select_runs)
from .execute import RunResult, cell_timing, execute_run, output_warnings  # noqa: F401
from .kernel import WarmKernel  # noqa: F401
from .fonts import (EMBEDDED_FONT_FAMILY, SYMBOLS_FONT_FAMILY, embedded_fonts,  # noqa: F401
                    font_face_css, missing_glyphs)
from .html import (REMOVE_CELL_TAGS, REMOVE_INPUT_TAGS, REMOVE_OUTPUT_TAGS,  # noqa: F401
                   external_resources, language_tags, render_report, report_title,
                   reviewer_outputs, reviewer_text_problems, tidy_warnings, visible_text)
from .index import read_manifest, write_index  # noqa: F401
from .provenance import (PROVENANCE_PACKAGES, dataset_fingerprint, git_commit,  # noqa: F401
                         package_versions)
from .runner import BatchResult, run_batch, summary_text  # noqa: F401
