"""discoverly's one exception tree.

Every error the library raises on purpose is a :class:`DiscoverlyError`, and also the builtin
exception a Python user would expect, so ``except ValueError`` keeps working::

    DiscoverlyError
    ├── DataError              (ValueError)   bad input data: columns, types, timestamps, empty
    ├── ConfigError            (ValueError)   bad parameters or configuration
    ├── UnknownIdError         (KeyError)     an external id the model or table does not know
    ├── NotFittedError         (RuntimeError) a model used before ``fit`` or ``load``
    ├── ArtifactError          (OSError)      a missing, corrupt or incompatible artifact dir
    ├── MissingDependencyError (ImportError)  an optional extra is not installed
    ├── DatasetNotFoundError   (FileNotFoundError) a public data set file is not where expected
    └── ResourceLimitError     (MemoryError)  a job would need more memory than the limit allows

A message says what was received, what was expected, and how to fix it. The service maps these
once to HTTP problem responses; the CLI maps them to exit codes (see :data:`EXIT_CODES`).
"""

from __future__ import annotations

__all__ = [
    "DiscoverlyError",
    "DataError",
    "ConfigError",
    "UnknownIdError",
    "NotFittedError",
    "ArtifactError",
    "MissingDependencyError",
    "DatasetNotFoundError",
    "ResourceLimitError",
    "EXIT_CODES",
]


class DiscoverlyError(Exception):
    """Base class of every error discoverly raises on purpose."""


class DataError(DiscoverlyError, ValueError):
    """Input data is malformed: missing columns, wrong types, unparseable timestamps, empty."""


class ConfigError(DiscoverlyError, ValueError):
    """A parameter or configuration value is invalid."""


class UnknownIdError(DiscoverlyError, KeyError):
    """An external id (user, item, paper, …) is not known to the table or model."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class NotFittedError(DiscoverlyError, RuntimeError):
    """A model was used before ``fit`` or ``load``."""


class ArtifactError(DiscoverlyError, OSError):
    """An artifact directory is missing, corrupt or written by an incompatible version."""


class MissingDependencyError(DiscoverlyError, ImportError):
    """An optional dependency is not installed; the message names the install command."""


class DatasetNotFoundError(DiscoverlyError, FileNotFoundError):
    """A public data set file is not where discoverly looked; the message says where."""


class ResourceLimitError(DiscoverlyError, MemoryError):
    """A job would need more memory than its limit (``max_memory`` or what the machine has); the
    message gives the estimate, the limit and the ways out (e.g. the Spark engine)."""


#: Exit codes of the ``discoverly`` command for each error class (most specific first).
EXIT_CODES: dict[type[DiscoverlyError], int] = {
    DataError: 3,
    ConfigError: 2,
    UnknownIdError: 4,
    NotFittedError: 5,
    ArtifactError: 6,
    MissingDependencyError: 7,
    DatasetNotFoundError: 8,
    ResourceLimitError: 9,
    DiscoverlyError: 1,
}
