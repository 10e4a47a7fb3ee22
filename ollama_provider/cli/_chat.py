"""``ollama-provider chat``: stream one answer as it arrives, or hold an interactive conversation.

>>> from ollama_provider import OllamaProvider
>>> from ollama_provider.testing import ReplayServer
>>> import io
>>> from rich.console import Console
>>> with ReplayServer("cassettes/recorded") as server, OllamaProvider(server.url) as provider:
...     reply = stream_reply(provider, [{"role": "user", "content": "Write a haiku about the sea."}],
...                          ChatSettings(model="smollm2:135m"), Console(file=io.StringIO()))
>>> reply.content.splitlines()[0], reply.final.done_reason
('1. **Sail into the unknown**', 'stop')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from rich.console import Console

from ..provider import OllamaProvider
from ..types import ChatResponse, ToolCall
from ._output import human_duration

__all__ = ["ChatReply", "ChatSettings", "repl", "stats_line", "stream_reply"]

#: Typed at the interactive prompt, these end the conversation (as in ``ollama run``).
EXIT_COMMANDS = frozenset({"/bye", "/exit", "/quit"})


@dataclass(slots=True)
class ChatSettings:
    """What ``chat`` sends besides the messages (``None`` = the server's default).

    >>> ChatSettings(model="smollm2:135m", temperature=0.0).request_kwargs()
    {'model': 'smollm2:135m', 'temperature': 0.0}
    """

    model: str
    think: bool | str | None = None
    format: Any = None
    temperature: float | None = None
    seed: int | None = None
    num_predict: int | None = None
    num_ctx: int | None = None
    keep_alive: str | None = None

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :meth:`OllamaProvider.chat`, without the unset ones."""
        values = {
            "model": self.model,
            "think": self.think,
            "format": self.format,
            "temperature": self.temperature,
            "seed": self.seed,
            "num_predict": self.num_predict,
            "num_ctx": self.num_ctx,
            "keep_alive": self.keep_alive,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(slots=True)
class ChatReply:
    """One streamed answer, put back together.

    >>> ChatReply(content="Hi").as_message()
    {'role': 'assistant', 'content': 'Hi'}
    """

    content: str = ""
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    final: ChatResponse | None = None
    elapsed: float = 0.0
    interrupted: bool = False

    def as_message(self) -> dict[str, Any]:
        """The answer as a message to append to the conversation history."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        return message

    def summary(self) -> dict[str, Any]:
        """The answer for ``--json`` output."""
        final = self.final
        return {
            "model": final.model if final else None,
            "content": self.content,
            "thinking": self.thinking or None,
            "tool_calls": [call.to_dict() for call in self.tool_calls],
            "done_reason": final.done_reason if final else None,
            "usage": final.usage if final else None,
            "tokens_per_second": final.timings.tokens_per_second if final else None,
            "elapsed": self.elapsed,
            "interrupted": self.interrupted,
        }


def stats_line(reply: ChatReply) -> str:
    """Usage and speed of an answer, for people.

    >>> final = ChatResponse(done=True, prompt_eval_count=12, eval_count=30, eval_duration=500_000_000)
    >>> stats_line(ChatReply(final=final, elapsed=0.75))
    '12 prompt + 30 completion tokens · 60.0 tokens/s · 750 ms'
    """
    final = reply.final
    if final is None:
        return f"no final chunk (interrupted) · {human_duration(reply.elapsed)}"
    usage = final.usage
    speed = final.timings.tokens_per_second
    rate = f"{speed:.1f} tokens/s" if speed is not None else "- tokens/s"
    return (
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens · {rate} · "
        f"{human_duration(reply.elapsed)}"
    )


def stream_reply(
    provider: OllamaProvider,
    messages: list[dict[str, Any]],
    settings: ChatSettings,
    console: Console | None,
) -> ChatReply:
    """Stream one answer, printing it as it arrives (thinking dimmed) unless *console* is ``None``.

    Ctrl-C stops the answer early (the connection is closed) and marks the reply ``interrupted``.
    """
    reply = ChatReply()
    started = perf_counter()
    was_thinking = False
    stream = provider.chat(messages, stream=True, **settings.request_kwargs())
    try:
        for chunk in stream:
            message = chunk.message
            if message.thinking:
                reply.thinking += message.thinking
                if console is not None:
                    console.print(message.thinking, end="", style="dim italic", markup=False, highlight=False)
                was_thinking = True
            if message.content:
                if console is not None and was_thinking:
                    console.print("\n")  # a blank line between the thoughts and the answer
                was_thinking = False
                reply.content += message.content
                if console is not None:
                    console.print(message.content, end="", markup=False, highlight=False)
            for call in message.tool_calls or []:
                reply.tool_calls.append(call)
                if console is not None:
                    console.print(
                        f"\n[tool call] {call.function.name}({call.function.arguments})",
                        end="",
                        style="cyan",
                        markup=False,
                        highlight=False,
                    )
            if chunk.done:
                reply.final = chunk
    except KeyboardInterrupt:
        reply.interrupted = True
    finally:
        stream.close()
        reply.elapsed = perf_counter() - started
    if console is not None:
        console.print()
    return reply


def repl(
    provider: OllamaProvider,
    settings: ChatSettings,
    console: Console,
    errors: Console,
    system: str | None = None,
) -> None:
    """An interactive conversation: each line is a turn, the history is kept.

    ``/clear`` forgets the history, ``/bye`` (or Ctrl-D / Ctrl-C at the prompt) ends it; Ctrl-C while
    an answer streams stops that answer only.
    """
    history: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    errors.print(f"Chatting with {settings.model}. /bye to leave, /clear to start over.", style="dim")
    while True:
        try:
            line = console.input("[bold green]>>> [/]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        text = line.strip()
        if not text:
            continue
        if text in EXIT_COMMANDS:
            return
        if text == "/clear":
            history = history[:1] if system else []
            errors.print("History cleared.", style="dim")
            continue
        history.append({"role": "user", "content": text})
        reply = stream_reply(provider, history, settings, console)
        errors.print(stats_line(reply), style="dim", markup=False)
        history.append(reply.as_message())
