"""A rich progress bar for the privacy area's long loops, or a no-op when progress is off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["Ticker", "ticker"]


class Ticker(Protocol):
    def advance(self, amount: float = 1) -> None: ...


class _Null:
    def advance(self, amount: float = 1) -> None:
        return None


class _Rich:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


@contextmanager
def ticker(description: str, total: float | None, *, enabled: bool, unit: str = "") -> Iterator[Ticker]:
    """``with ticker("privatising", total=n, enabled=progress) as t: ... t.advance(m)``."""
    if not enabled:
        yield _Null()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(TextColumn(unit))
    columns.append(TimeElapsedColumn())
    with Progress(*columns, transient=False, console=Console(stderr=True)) as progress:
        task = progress.add_task(description, total=total)
        yield _Rich(progress, task)
