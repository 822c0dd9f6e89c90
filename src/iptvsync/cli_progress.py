"""Rich progress bars for a sync run, fed with the public run dict the engine flushes."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from iptvsync.store.run_state import RunStatus

STATUS_STYLE = {
    RunStatus.SUCCEEDED: "bold green",
    RunStatus.GUARDED: "bold yellow",
    RunStatus.CANCELLED: "yellow",
    RunStatus.FAILED: "bold red",
}


#: Redraws a second (Rich's default is 10). Each redraw renders the bars in the syncing
#: process, on the thread that also fetches and parses; a sync's numbers move smoothly at 4
#: (docs/benchmarks.md, session 19).
REFRESHES_PER_S = 4


class SyncProgress:
    """The bars while a sync runs, where the output is a terminal; elsewhere (a pipe, a log
    file, cron) nothing until the summary: Rich would still render the bars on every refresh,
    only to print them once at the end."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.fields[phase]:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>10}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            refresh_per_second=REFRESHES_PER_S,
            disable=not console.is_terminal,
        )
        self.items: TaskID | None = None
        self.pages: TaskID | None = None

    def __enter__(self) -> SyncProgress:
        self.progress.__enter__()
        self.items = self.progress.add_task("items", total=None, phase="starting", rate="")
        self.pages = self.progress.add_task("pages", total=None, phase="pages", rate="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(exc_type, exc, tb)

    def update(self, run: dict[str, Any]) -> None:
        if self.items is None or self.pages is None:
            return
        p = run["progress"]
        self.progress.update(
            self.items,
            completed=p["done_items"],
            total=p["total_items"] or None,
            phase=run["phase"],
            rate=f"{p['items_per_s']:,.0f}/s",
        )
        self.progress.update(
            self.pages, completed=p["done_pages"], total=p["total_pages"] or None, rate=""
        )

    def summary(self, run: dict[str, Any]) -> None:
        style = STATUS_STYLE.get(run["status"], "bold")
        self.console.print(
            f"run {run['id']}: [{style}]{run['status']}[/] · {run['requests']:,} provider requests"
        )
        table = Table("kind", "added", "updated", "unchanged", "removed")
        for kind, c in run["counts"].items():
            table.add_row(
                kind,
                f"{c['added']:,}",
                f"{c['updated']:,}",
                f"{c['unchanged']:,}",
                f"{c['removed']:,}",
            )
        self.console.print(table)
        for warning in run["warnings"]:
            self.console.print(f"[yellow]warning[/]: {warning}")
        if run["error"]:
            self.console.print(
                f"[bold red]error[/]: {run['error']['code']}: {run['error']['message']}"
            )
