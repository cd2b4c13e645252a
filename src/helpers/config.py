"""Paths and defaults in one place.

Every path is derived from this package's own location, so the workspace works from any
current directory (a notebook in ``notebooks/``, papermill in a temporary directory, pytest).
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parents[1]
DATA_DIR = PROJECT_DIR / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJECT_DIR / "reports"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"

# --- analysis defaults (DESIGN.md §4, §6) ---
TIMEZONE = "Asia/Shanghai"  # naive timestamps in raw files are read in this zone
ALPHA = 0.05  # two-sided significance level everywhere
SRM_ALPHA = 0.001  # sample-ratio-mismatch alert threshold (GrowthBook/Eppo convention)
INACTIVITY_DAYS = 30  # no active event for this long = churned
CUPED_DAYS = 14  # pre-period length for the CUPED covariate
HORIZON_DAYS = 90  # default horizon for RMST and survival-at-day-N
MIN_GROUPS_FOR_ASYMPTOTICS = 30  # below this, group-randomised tests add a permutation p-value

# --- the demo community (generated on first use by `make data`) ---
DEMO_DATASET = "demo"
DEMO_MEMBERS = 5_000
DEMO_DAYS = 180
DEMO_START = "2026-03-02"  # a Monday, so ISO weeks line up with the first cohort
DEMO_SEED = 1  # rule: the first seed >= 1, taken as it comes (not screened for covered truths)

TABLES = ("members", "events", "activities", "experiments", "assignments", "memberships")


def dataset_dir(dataset: str | Path) -> Path:
    """Return the raw-data folder of ``dataset``.

    Parameters
    ----------
    dataset : str or Path
        A dataset name (a folder under ``data/raw/``, e.g. ``"demo"``) or a path to a folder.
        A name with a path separator or an existing folder is taken as a path.

    Returns
    -------
    Path
        The absolute folder path (not checked for existence here; the loader does that).
    """
    p = Path(dataset).expanduser()
    if p.is_absolute() or len(p.parts) > 1 or (p.exists() and p.is_dir() and str(dataset) != p.name):
        return p.resolve()
    return RAW_DIR / str(dataset)


_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


def safe_name(text: str) -> str:
    """Make ``text`` a file-name-safe report name (letters incl. CJK, digits, ``_ . -``).

    The one rule for report file names: the batch names its runs' pages with it and the
    overview links the A/B pages by it.

    Examples
    --------
    >>> safe_name("03_ab_exp/live 2")
    '03_ab_exp_live_2'
    >>> safe_name("03_ab_线下/活动 1"), safe_name("../x")
    ('03_ab_线下_活动_1', 'x')
    """
    return _UNSAFE_NAME.sub("_", str(text)).strip("._") or "_"


def processed_dir(dataset: str | Path) -> Path:
    """Folder for derived tables of ``dataset`` under ``data/processed/`` (created on demand)."""
    name = Path(dataset).name
    return PROCESSED_DIR / name
