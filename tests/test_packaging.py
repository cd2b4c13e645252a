"""The build files agree: environment.yml installs exactly what pyproject.toml declares."""

import re
import tomllib

import yaml

from helpers import config


def _pyproject():
    return tomllib.loads((config.PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))


def _environment():
    return yaml.safe_load((config.PROJECT_DIR / "environment.yml").read_text(encoding="utf-8"))


def test_environment_installs_the_project_with_dev_extras():
    env = _environment()
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["-e .[dev]"]]
    assert "pip" in env["dependencies"]


def test_environment_python_satisfies_requires_python():
    env = _environment()
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert pythons == ["python=3.11"]
    requires = _pyproject()["project"]["requires-python"]
    assert ">=3.11" in requires and "<3.12" not in requires


def test_environment_declares_no_package_of_its_own():
    """Any conda package besides python/pip would drift from pyproject.toml: forbid it."""
    env = _environment()
    extra = [d for d in env["dependencies"] if isinstance(d, str) and not re.match(r"^(python|pip)\b", d)]
    assert extra == []


def test_pyproject_pins_known_constraints():
    deps = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0].lower(): d
            for d in _pyproject()["project"]["dependencies"]}
    assert deps["pandas"].replace(" ", "").startswith("pandas>=2.2,<3")  # lifelines 0.30 needs pandas<3
    assert "==0.13.2" in deps["seaborn"]
    assert ">=0.14.2" in deps["statsmodels"]
    for needed in ("lifelines", "papermill", "nbconvert", "ipykernel", "jupyterlab", "pyarrow",
                   "noto-cjk-sans-otc"):
        assert needed in deps, needed
    assert any(d.startswith("nbval") for d in _pyproject()["project"]["optional-dependencies"]["dev"])


def test_paths_derive_from_the_package_location():
    assert (config.PROJECT_DIR / "pyproject.toml").exists()
    assert config.RAW_DIR == config.PROJECT_DIR / "data" / "raw"
    assert config.dataset_dir("demo") == config.RAW_DIR / "demo"
    assert config.dataset_dir("/tmp/x") == config.dataset_dir("/tmp/x").resolve()


def test_notebooks_are_committed_without_outputs():
    import json

    for nb_path in sorted(config.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        dirty = [i for i, c in enumerate(nb["cells"])
                 if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
        assert not dirty, f"{nb_path.name}: cells {dirty} carry outputs; clear them before committing"
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: needs exactly one cell tagged 'parameters'"
