"""A warm kernel per batch worker: started once, the scientific imports done once, and the
notebook's state wiped between runs.

Kernel start and imports dominate a report's time (about 3 s of a 6 s run on the demo). A
worker therefore keeps one kernel and, before each run, resets it to the state it had right
after the warm-up imports:

- the user namespace, the output history and the execution counter are cleared (``%reset -f``;
  the kernel keeps no input history database, so restarted line numbers cannot clash);
- warning filters are restored and the registries of shown warnings emptied, so a warning the
  previous run printed is printed again (``"once"`` included);
- matplotlib's figures are closed and its ``rcParams`` restored (taken after the inline backend
  was loaded, so figures still show at the end of a cell).

What stays is what a fresh kernel would rebuild identically: imported modules (and their
module-level caches) and the CJK font registered with matplotlib. A kernel whose run failed
(an error, a timeout, a dead kernel) is shut down and the next run gets a fresh one; so does a
notebook in another folder (the kernel's working directory). ``reuse=False`` gives every run a
fresh kernel. The kernel talks over IPC sockets in a private temporary folder (no TCP port,
hence no "running over TCP without encryption" warning).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from jupyter_core.utils import run_sync

from ._common import KERNEL_NAME

#: modules imported once per kernel (those the notebooks import; missing ones are skipped)
WARM_MODULES = ("numpy", "pandas", "scipy.stats", "statsmodels.api", "lifelines",
                "matplotlib.pyplot", "seaborn", "IPython.display", "helpers", "helpers.data",
                "helpers.plots", "helpers.cohorts", "helpers.survival", "helpers.experiments",
                "helpers.exp_metrics", "helpers.conversion", "helpers.value", "helpers.overview")

_WARM_UP = """
import importlib as _il, sys as _s, types as _t, warnings as _w
for _name in {modules!r}:
    try:
        _il.import_module(_name)
    except ImportError:
        pass
try:
    from helpers import plots as _hp
    _hp.use_cjk_font()
except Exception:
    pass
import matplotlib as _m
import matplotlib.pyplot as _p
# load the inline backend now (matplotlib loads it at the first figure): it makes matplotlib
# interactive, which is what shows figures at the end of a cell; the snapshot must hold that
_p.figure()
_p.close("all")
_state = _t.ModuleType("_batch_kernel_state")
_state.filters = list(_w.filters)
_state.rc = {{k: v for k, v in _m.rcParams.items() if k != "backend"}}
_s.modules["_batch_kernel_state"] = _state
get_ipython().run_line_magic("reset", "-f")
"""

_RESET = """
import sys as _s, warnings as _w, matplotlib as _m
_state = _s.modules["_batch_kernel_state"]
_w.filters[:] = _state.filters
_w._filters_mutated()
_w.onceregistry.clear()
for _mod in list(_s.modules.values()):
    _reg = getattr(_mod, "__warningregistry__", None)
    if isinstance(_reg, dict):
        _reg.clear()
import matplotlib.pyplot as _p
_p.close("all")
with _w.catch_warnings():
    _w.simplefilter("ignore")
    _m.rcParams.update(_state.rc)
get_ipython().run_line_magic("reset", "-f")
get_ipython().execution_count = 1
"""


class WarmKernel:
    """One kernel, reused across runs of one worker process.

    Examples
    --------
    >>> k = WarmKernel()                                        # doctest: +SKIP
    >>> km = k.acquire(cwd="notebooks")  # started and warmed   # doctest: +SKIP
    >>> # papermill.execute_notebook(..., km=km); then k.release(ok=True)
    """

    def __init__(self, kernel_name: str = KERNEL_NAME, reuse: bool = True):
        self.kernel_name = kernel_name
        self.reuse = reuse
        self.km = None
        self.cwd: str | None = None
        self.runs = 0  # runs executed in the current kernel
        self._dir: str | None = None
        self._kc = None  # our own client, for the warm-up and the resets

    def acquire(self, cwd: str | Path):
        """A started, warmed and reset kernel manager for a run in ``cwd``.

        Returns
        -------
        jupyter_client.KernelManager
        """
        cwd = str(cwd)
        if self.km is not None and (self.cwd != cwd or not run_sync(self.km.is_alive)()):
            self.shutdown()
        if self.km is None:
            try:
                self._start(cwd)
            except Exception:  # e.g. a start slowed down by a busy machine: one more try
                self.shutdown()
                self._start(cwd)
        else:
            self._execute(_RESET)
        return self.km

    @property
    def reused(self) -> bool:
        """Whether the kernel handed out by the last :meth:`acquire` ran a notebook before."""
        return self.runs > 0

    def release(self, ok: bool) -> None:
        """After a run: keep the kernel if the run succeeded and reuse is on, else stop it."""
        self.runs += 1
        if not (ok and self.reuse):
            self.shutdown()

    def _start(self, cwd: str) -> None:
        # the asynchronous manager, as nbclient's own: with a blocking one, nbclient's wait for
        # the output of a cell that timed out blocks its event loop for ever
        from jupyter_client import AsyncKernelManager

        self._dir = tempfile.mkdtemp(prefix="batch-kernel-")
        km = AsyncKernelManager(kernel_name=self.kernel_name, transport="ipc",
                                ip=str(Path(self._dir) / "kernel"))
        # no input history: the execution counter restarts at 1 for every run, and IPython's
        # history database would print "Session/line number was not unique" into a report
        run_sync(km.start_kernel)(cwd=cwd, extra_arguments=["--HistoryManager.enabled=False"])
        self.km, self.cwd, self.runs = km, cwd, 0
        self._execute(_WARM_UP.format(modules=WARM_MODULES))

    def _execute(self, code: str, timeout: float = 180) -> None:
        if self._kc is None:
            from jupyter_client import BlockingKernelClient

            # parent: "alive" asks the manager (is the process running?), not the heartbeat,
            # which a kernel starting on a busy machine may miss ("Kernel died")
            self._kc = BlockingKernelClient(parent=self.km)
            self._kc.load_connection_info(self.km.get_connection_info())
            self._kc.start_channels()
            self._kc.wait_for_ready(timeout=timeout)
        reply = self._kc.execute_interactive(code, timeout=timeout, store_history=False,
                                             output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            content = reply["content"]
            raise RuntimeError(f"kernel set-up failed: {content.get('ename')}: "
                               f"{content.get('evalue')}")

    def shutdown(self) -> None:
        """Stop the kernel (if any) and remove its socket folder."""
        if self._kc is not None:
            try:
                self._kc.stop_channels()
            except Exception:
                pass
            self._kc = None
        if self.km is not None:
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # already dead: nothing left to stop
                pass
            try:
                run_sync(self.km.cleanup_resources)()
            except Exception:
                pass
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
        self.km, self.cwd, self.runs, self._dir = None, None, 0, None


_WORKER_KERNEL: WarmKernel | None = None


def worker_kernel(reuse: bool = True) -> WarmKernel:
    """This process's :class:`WarmKernel` (created on first use, stopped when the process exits)."""
    global _WORKER_KERNEL
    if _WORKER_KERNEL is None:
        import atexit
        from multiprocessing import util

        _WORKER_KERNEL = WarmKernel()
        # pool workers leave through os._exit: atexit does not run there, Finalize does
        util.Finalize(None, _WORKER_KERNEL.shutdown, exitpriority=10)
        atexit.register(_WORKER_KERNEL.shutdown)
    _WORKER_KERNEL.reuse = reuse
    return _WORKER_KERNEL
