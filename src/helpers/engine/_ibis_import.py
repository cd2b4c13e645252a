"""Import Ibis' SQL compilers one by one, as they are asked for.

``ibis.backends.sql.compilers`` (ibis-framework 12) imports the compiler of every SQL dialect
Ibis knows, twenty of them, when the DuckDB or the pyspark backend is imported: in a fresh
process ~0.15 s of the ~0.5 s that importing the DuckDB backend costs, paid before a user's
first table. :func:`lazy_compilers` puts in its place a package module that imports a
compiler's module on first use (``sc.duckdb``, ``sc.PySparkCompiler``), with the same names.

It does so only when the installed package's ``__init__.py`` holds nothing but its
``__all__`` and ``from ibis.backends.sql.compilers.<module> import <Name>`` lines (checked
by parsing it); in any other case, or when the package is already imported, Ibis is left to
import itself as usual. Results are the same either way: the classes are Ibis' own.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path

PACKAGE = "ibis.backends.sql.compilers"


def _names(init: Path) -> dict[str, str] | None:
    """``{class name: module}`` of the compilers package's ``__init__``, or None when the file
    holds anything but ``__all__`` and ``from PACKAGE.<module> import <Name>`` lines."""
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    names: dict[str, str] = {}
    listed: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "__all__":
            try:
                listed = list(ast.literal_eval(node.value))
            except ValueError:
                return None
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith(PACKAGE + ".") and node.module.count(".") == 4:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
            continue
        return None
    if listed is None or sorted(listed) != sorted(names):
        return None
    return names


def lazy_compilers() -> bool:
    """Install the lazy compilers package (before Ibis imports the real one).

    Returns
    -------
    bool
        Whether the lazy package is in place (False: Ibis imports the package as usual).
    """
    current = sys.modules.get(PACKAGE)
    if current is not None:
        return bool(getattr(current, "_community_lazy", False))
    try:
        import ibis.backends.sql as parent  # imports ibis, not the compilers
    except ImportError:
        return False
    if PACKAGE in sys.modules:  # the parent imported it after all
        return False
    folder = Path(parent.__file__).parent / "compilers"
    init = folder / "__init__.py"
    names = _names(init)
    if names is None:
        return False
    module = types.ModuleType(PACKAGE, "Ibis' SQL compilers, imported as they are asked for.")
    module.__file__ = str(init)
    module.__path__ = [str(folder)]
    module.__package__ = PACKAGE
    module.__spec__ = importlib.util.spec_from_file_location(
        PACKAGE, init, submodule_search_locations=[str(folder)])
    module.__all__ = sorted(names)
    module._community_lazy = True
    # the eager package's submodules: its compilers' and the two they all import
    modules = {m.rsplit(".", 1)[1] for m in names.values()} | {"base", "_compat"}

    def __getattr__(attr: str):
        if attr in names:
            value = getattr(importlib.import_module(names[attr]), attr)
            setattr(module, attr, value)
            return value
        if attr in modules:  # e.g. ``sc.duckdb``: the modules the real package imports
            return importlib.import_module(f"{PACKAGE}.{attr}")
        raise AttributeError(f"module {PACKAGE!r} has no attribute {attr!r}")

    def __dir__():
        return sorted(set(module.__dict__) | set(names))

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    sys.modules[PACKAGE] = module
    parent.compilers = module
    return True
