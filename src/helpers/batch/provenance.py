"""Where a report comes from: the dataset's fingerprint, the git commit, package versions."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path

from .. import config

#: packages named in each report's provenance
PROVENANCE_PACKAGES = ("community-analytics", "pandas", "numpy", "scipy", "statsmodels",
                       "lifelines", "matplotlib", "seaborn", "pyarrow", "papermill",
                       "nbconvert", "ipykernel")


def dataset_fingerprint(dataset: str | Path) -> tuple[str, int]:
    """SHA-256 over the raw files of a dataset (relative name, size and bytes, sorted by name).

    Returns
    -------
    (str, int)
        ``"sha256:<hex>"`` and the number of files hashed.
    """
    folder = config.dataset_dir(dataset)
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    for p in files:
        digest.update(f"{p.relative_to(folder).as_posix()}\0{p.stat().st_size}\0".encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}", len(files)


def git_commit(repo: str | Path = config.PROJECT_DIR) -> str:
    """``HEAD``'s hash, with ``+uncommitted changes`` when tracked files differ; or ``unknown``."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (+uncommitted changes)" if dirty else head


def package_versions(names: tuple[str, ...] = PROVENANCE_PACKAGES) -> dict[str, str]:
    """``{"python": …, package: version}`` for the packages named (``not installed`` if absent)."""
    versions = {"python": sys.version.split()[0]}
    for n in names:
        try:
            versions[n] = importlib_metadata.version(n)
        except importlib_metadata.PackageNotFoundError:
            versions[n] = "not installed"
    return versions

