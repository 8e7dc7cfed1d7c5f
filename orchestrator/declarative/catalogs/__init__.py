"""The activity catalogs of this deployment, listed by import, and the process's catalog.

`installed_catalog()` is what definitions may name and what the worker serves: the
built-ins (run by the interpreter, builtin.py) and every catalog in DEPLOYED. The worker
registers its activities, and the CLI, the API, schedules and the workflow validate and
build definitions against it, so they all agree. A new catalog module is one more entry
in DEPLOYED; `install` adds a catalog at run time (tests add their own activities) before
the worker is built.
"""

from __future__ import annotations

from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.catalogs import builtin, demo

DEPLOYED: tuple[ActivityCatalog, ...] = (demo.CATALOG,)

# One object for the life of the process: the workflow module reads it once, when it is
# imported (passed through the sandbox), and sees what `install` adds later.
_INSTALLED = ActivityCatalog()
for _catalog in (builtin.CATALOG, *DEPLOYED):
    _INSTALLED.include(_catalog)


def installed_catalog() -> ActivityCatalog:
    """The process's catalog: built-ins, DEPLOYED, and whatever `install` added."""
    return _INSTALLED


def install(catalog: ActivityCatalog) -> ActivityCatalog:
    """Add a catalog's entries to the process's catalog (again: no change); returns it."""
    _INSTALLED.include(catalog)
    return _INSTALLED
