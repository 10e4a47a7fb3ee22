"""``ollama-provider pull``: a progress bar per layer, with size, speed and time left.

>>> from ollama_provider import OllamaProvider
>>> from ollama_provider.testing import ReplayServer
>>> import io
>>> with ReplayServer("cassettes/recorded") as server, OllamaProvider(server.url) as provider:
...     last = pull_with_progress(provider, "127.0.0.1:5000/library/all-minilm:latest", insecure=True,
...                               console=Console(file=io.StringIO()))
>>> last.status
'success'
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..errors import InvalidResponseError
from ..provider import OllamaProvider
from ..types import ProgressResponse

__all__ = ["interrupted_message", "pull_with_progress"]


def interrupted_message(name: str) -> str:
    """What to tell the user when they stop a pull with Ctrl-C.

    Ollama keeps the layers it has downloaded (and may even finish the download on its own), so the
    same command picks up where it stopped.

    >>> print(interrupted_message("qwen2.5:0.5b"))
    Interrupted. Ollama keeps what it has downloaded of qwen2.5:0.5b:
    run `ollama-provider pull qwen2.5:0.5b` again to resume.
    """
    return (
        f"Interrupted. Ollama keeps what it has downloaded of {name}: "
        f"run `ollama-provider pull {name}` again to resume."
    )


def pull_with_progress(
    provider: OllamaProvider, name: str, *, insecure: bool | None = None, console: Console | None = None
) -> ProgressResponse:
    """Pull *name*, drawing one bar per layer (downloaded / total, speed, time left) and each status.

    Returns the last update (``status == "success"``). Ctrl-C propagates as ``KeyboardInterrupt``
    after the connection is closed; the caller reports it (:func:`interrupted_message`).
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    tasks: dict[str, TaskID] = {}
    last: ProgressResponse | None = None
    previous_status: str | None = None
    with (
        Progress(*columns, console=console, transient=False) as progress,
        provider.pull_model(name, stream=True, insecure=insecure) as updates,
    ):
        for update in updates:
            last = update
            if update.digest and update.total:
                task = tasks.get(update.digest)
                if task is None:
                    task = progress.add_task(f"pulling {_short_digest(update.digest)}", total=update.total)
                    tasks[update.digest] = task
                progress.update(task, completed=update.completed or 0, total=update.total)
            elif update.status != previous_status:
                for task in tasks.values():  # the layers are done: Ollama's last count may fall short
                    progress.update(task, completed=progress.tasks[task].total)
                progress.console.print(update.status, markup=False, highlight=False)
            previous_status = update.status
    if last is None:
        raise InvalidResponseError("the server sent no progress at all")
    return last


def _short_digest(digest: str) -> str:
    """The 12 hex digits Ollama shows for a layer.

    >>> _short_digest("sha256:aa8749f20da853914849bfd826f5e3bca5d866eb262ff3d8fe9e64bbeaf4cd38")
    'aa8749f20da8'
    """
    return digest.removeprefix("sha256:")[:12]
