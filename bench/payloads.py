"""What the fake server says, shared by the server (to encode it) and the runner (to check it arrived intact).

Sizes travel in the model name's tag (``bench-chat:20000`` streams 20,000 chunks, ``bench-embed:64`` returns
64-dimensional vectors), so every client, including the framework adapters that fix the model at construction,
can ask for them with its natural API and no side channel.
"""

from __future__ import annotations

CHAT_MODEL = "bench-chat"
EMBED_MODEL = "bench-embed"
DEFAULT_CHUNKS = 16
DEFAULT_EMBED_DIM = 64
CREATED_AT = "2026-08-21T01:02:03.123456789Z"

# Mixed ASCII and multi-byte tokens so every decoder has to deal with real UTF-8, as with a real model.
TOKENS: tuple[str, ...] = (
    " The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".",
    " Ça", " va", " très", " bien", " 🦊", "\n",
)  # fmt: skip


def chat_model(n_chunks: int) -> str:
    """Model name asking for a stream of ``n_chunks`` NDJSON lines (the last one is ``done``)."""
    return f"{CHAT_MODEL}:{n_chunks}"


def embed_model(dim: int) -> str:
    """Model name asking the fake server for vectors of ``dim`` floats."""
    return f"{EMBED_MODEL}:{dim}"


def size_from_model(model: str, default: int) -> int:
    """The integer tag of ``name:123``, or ``default`` when the tag is missing or not a positive integer."""
    _, _, tag = model.rpartition(":")
    return int(tag) if tag.isdigit() and int(tag) > 0 else default


def token(index: int) -> str:
    return TOKENS[index % len(TOKENS)]


def expected_text(n_chunks: int) -> str:
    """The text a client must reassemble from an ``n_chunks`` stream: every line but the final, empty one."""
    return "".join(token(i) for i in range(n_chunks - 1))


def sample_texts(count: int) -> list[str]:
    """Short, distinct texts to embed (about the size of a sentence fragment)."""
    return [f"short text number {i} about foxes" for i in range(count)]
