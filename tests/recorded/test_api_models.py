"""Model-management scenarios through the public API: list, show, running models, copy and delete,
pull / push / create progress, blobs, version and the root liveness text.

What a caller relies on: names, sizes, details and capabilities; ``context_length``; parsed,
timezone-aware timestamps; progress sequences (statuses, digests, percent) ending in ``success``;
``None`` from copy/delete and a :class:`ModelNotFoundError` for a model that is gone. Expected values
are read from each test's cassette (``recording``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ollama_provider import AsyncOllamaProvider, ModelNotFoundError, OllamaProvider, ProgressResponse

from ..live_server import registry
from ..recordings import Cassette, cassette
from ..releases import PLAIN_REGISTRY_PULLS, skip_lacking, unless_refused
from .api_scenarios import GEMMA, MINILM, SMOLLM, SMOLLM_PARALLEL, SMOLLM_THINK, SMOLLM_TOOLS
from .expected import assert_details, assert_progress, parameter_values, utc

#: The models the recordings were made with (created from cassettes/models).
RECORDED_MODELS = {MINILM, SMOLLM_PARALLEL, SMOLLM_THINK, SMOLLM_TOOLS, SMOLLM, GEMMA}


def _minilm_weights() -> str:
    """The digest of all-minilm's weights on the recording server: the blob its recorded show answer
    is built FROM (each release converts the weights into a blob of its own)."""
    shown = cassette("api/show_embedding_model.yaml").exchange("/api/show").json
    found = re.search(r"^FROM .*blobs/sha256-([0-9a-f]{64})$", shown["modelfile"], re.MULTILINE)
    assert found, "the recorded show of all-minilm names no weights blob"
    return f"sha256:{found.group(1)}"


def _in_registry(recording: Cassette, path: str, model: str) -> str:
    """``model`` in the registry of the pull and push scenarios: the recorded name when replaying
    (whichever registry the recording used), else in the registry to record with."""
    recorded = [exchange.request["model"] for exchange in recording.all(path)]
    return recorded[0] if recorded else f"{registry()}/library/{model}"


def _assert_listed(ours: Any, raw: dict[str, Any]) -> None:
    """A ``ModelInfo`` of ``list_models`` holds its recorded ``/api/tags`` entry."""
    assert (ours.name, ours.model, ours.size, ours.digest) == (
        raw["name"],
        raw["model"],
        raw["size"],
        raw["digest"],
    )
    assert ours.modified_at == utc(raw["modified_at"]) and ours.modified_at.tzinfo is not None
    assert ours.capabilities == raw.get("capabilities")
    assert_details(ours.details, raw["details"])


def _assert_shown(shown: Any, raw: dict[str, Any]) -> None:
    """A ``ShowResponse`` holds its recorded ``/api/show`` answer."""
    assert shown.capabilities == raw["capabilities"]
    assert shown.model_info == raw["model_info"]
    architecture = raw["model_info"]["general.architecture"]
    assert shown.context_length == raw["model_info"][f"{architecture}.context_length"]
    assert (shown.modelfile, shown.template) == (raw["modelfile"], raw["template"])
    assert (shown.parameters, shown.system) == (raw.get("parameters", ""), raw.get("system", ""))
    assert shown.parameter_values == parameter_values(raw.get("parameters", ""))
    assert shown.modified_at == utc(raw["modified_at"]) and shown.modified_at.tzinfo is not None
    assert_details(shown.details, raw["details"])


# --------------------------------------------------------------------------- server


@pytest.mark.vcr("api/version.yaml")
def test_version(provider: OllamaProvider, recording: Cassette) -> None:
    version = provider.version()

    assert version == recording.exchange("/api/version", "GET").json["version"]
    assert version[0].isdigit()


@pytest.mark.vcr("api/root.yaml")
def test_root_answers_the_liveness_text_to_get_and_an_empty_body_to_head(
    provider: OllamaProvider, recording: Cassette
) -> None:
    assert provider.request("GET", "/") == recording.exchange("/", "GET").body == "Ollama is running"
    assert provider.request("HEAD", "/") == recording.exchange("/", "HEAD").body == ""


# --------------------------------------------------------------------------- listing and details


@pytest.mark.vcr("api/tags.yaml")
def test_list_models_gives_names_sizes_details_and_capabilities(
    provider: OllamaProvider, recording: Cassette
) -> None:
    models = provider.list_models()

    recorded = recording.exchange("/api/tags", "GET").json["models"]
    assert [m.name for m in models] == [raw["name"] for raw in recorded]  # in the server's order
    assert {m.name for m in models} >= RECORDED_MODELS
    for ours, raw in zip(models, recorded, strict=True):
        _assert_listed(ours, raw)
    by_name = {m.name: m for m in models}
    if not any("capabilities" in raw for raw in recorded):
        # What the server does not list is unknown (None), never an empty guess.
        assert all(m.capabilities is None and m.details.context_length is None for m in models)
        skip_lacking("lists no capabilities and no context length in /api/tags (show_model has both)")
    assert "thinking" in (by_name[SMOLLM_THINK].capabilities or [])
    # /api/tags lists the embedding model as "completion" and without a context length:
    # show_model (below) is where its "embedding" capability and its context are found.
    assert by_name[MINILM].capabilities == ["completion"]
    assert by_name[MINILM].details.context_length is None


@pytest.mark.vcr("api/show.yaml")
def test_show_model_gives_details_capabilities_context_and_parameters(
    provider: OllamaProvider, recording: Cassette
) -> None:
    shown = provider.show_model(SMOLLM)

    _assert_shown(shown, recording.exchange("/api/show").json)
    assert shown.model_info["general.architecture"] == "llama"
    assert shown.parameter_values["stop"]  # the template's stop tokens, from the Modelfile
    # Not verbose: the tokenizer's big arrays are left out (null).
    assert shown.model_info["tokenizer.ggml.tokens"] is None


@pytest.mark.vcr("api/show_tools_model.yaml")
def test_show_model_of_a_tools_model_lists_the_tools_capability(
    provider: OllamaProvider, recording: Cassette
) -> None:
    shown = provider.show_model(SMOLLM_TOOLS)

    _assert_shown(shown, recording.exchange("/api/show").json)
    assert "tools" in shown.capabilities and "thinking" not in shown.capabilities
    assert "{{- if .Tools }}" in shown.template  # the template is what makes it a tools model


@pytest.mark.vcr("api/show_thinking_model.yaml")
def test_show_model_of_a_thinking_model_lists_the_thinking_capability(
    provider: OllamaProvider, recording: Cassette
) -> None:
    shown = provider.show_model(SMOLLM_THINK)

    _assert_shown(shown, recording.exchange("/api/show").json)
    assert {"tools", "thinking"} <= set(shown.capabilities)


@pytest.mark.vcr("api/show_embedding_model.yaml")
def test_show_model_of_an_embedding_model(provider: OllamaProvider, recording: Cassette) -> None:
    shown = provider.show_model(MINILM)

    _assert_shown(shown, recording.exchange("/api/show").json)
    assert shown.capabilities == ["embedding"]
    assert shown.context_length == shown.model_info["bert.context_length"]
    assert shown.model_info["bert.embedding_length"] == 384  # the vector size embed() returns
    assert shown.parameters == "" and shown.parameter_values == {}


@pytest.mark.vcr("api/show_verbose.yaml")
def test_show_model_verbose_includes_the_full_tokenizer(
    provider: OllamaProvider, recording: Cassette
) -> None:
    shown = provider.show_model(MINILM, verbose=True)

    exchange = recording.exchange("/api/show")
    assert exchange.request["verbose"] is True
    _assert_shown(shown, exchange.json)
    tokens = shown.model_info["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list) and len(tokens) == len(shown.model_info["tokenizer.ggml.token_type"]) > 0


@pytest.mark.vcr("api/ps.yaml")
async def test_async_list_running_gives_memory_context_and_expiry(
    ollama_host: str, recording: Cassette
) -> None:
    async with AsyncOllamaProvider(host=ollama_host) as provider:
        running = await provider.list_running()

    recorded = recording.exchange("/api/ps", "GET").json["models"]
    assert running and [m.name for m in running] == [raw["name"] for raw in recorded]
    for ours, raw in zip(running, recorded, strict=True):
        assert (ours.model, ours.size, ours.size_vram, ours.digest) == (
            raw["model"],
            raw["size"],
            raw["size_vram"],
            raw["digest"],
        )
        assert ours.context_length == raw["context_length"]  # the context it was loaded with
        assert ours.expires_at == utc(raw["expires_at"]) and ours.expires_at.tzinfo is not None
        assert_details(ours.details, raw["details"])


# --------------------------------------------------------------------------- copy, delete, create


@pytest.mark.model_suggestions
@pytest.mark.vcr("api/copy_delete.yaml")
def test_copy_list_delete_then_delete_again_raises_model_not_found(
    provider: OllamaProvider, recording: Cassette
) -> None:
    assert provider.copy_model(SMOLLM, "smollm2-copy:test") is None
    assert recording.exchange("/api/copy").request == {"source": SMOLLM, "destination": "smollm2-copy:test"}

    models = provider.list_models()
    listed = recording.exchange("/api/tags", "GET").json["models"]
    assert [m.name for m in models] == [raw["name"] for raw in listed]
    for ours, raw in zip(models, listed, strict=True):
        _assert_listed(ours, raw)
    copy = next(m for m in models if m.name == "smollm2-copy:test")
    original = next(m for m in models if m.name == SMOLLM)
    assert (copy.digest, copy.size) == (original.digest, original.size)  # a new name on the same manifest

    recording.require("/api/delete", "DELETE")
    assert provider.delete_model("smollm2-copy:test") is None
    assert recording.exchange("/api/delete", "DELETE").status == 200

    recording.require("/api/delete", "DELETE", nth=1)
    with pytest.raises(ModelNotFoundError) as raised:
        provider.delete_model("smollm2-copy:test")
    error = raised.value
    gone = recording.exchange("/api/delete", "DELETE", nth=1)
    assert (error.status_code, error.message, error.model) == (gone.status, gone.error, "smollm2-copy:test")
    # The closest installed names (from the installed list the provider fetched after the 404).
    installed = {m.name for m in models}
    assert error.suggestions and set(error.suggestions) <= installed
    assert SMOLLM in error.suggestions
    assert f"did you mean: {error.suggestions[0]}" in str(error)


@pytest.mark.vcr("api/create_derived.yaml")
def test_create_model_from_another_reports_progress_then_show_and_delete(
    provider: OllamaProvider, recording: Cassette
) -> None:
    updates: list[ProgressResponse] = []
    last = provider.create_model(
        "smollm2-pirate:test",
        from_=SMOLLM,
        system="You talk like a pirate.",
        parameters={"temperature": 0.2},
        progress=updates.append,
    )

    assert_progress(updates, recording.exchange("/api/create").lines)
    assert last == updates[-1] == ProgressResponse("success")
    assert all(u.percent is None for u in updates)  # create reports steps, not bytes
    assert any(u.status.startswith("using existing layer sha256:") for u in updates)

    recording.require("/api/show")
    pirate = provider.show_model("smollm2-pirate:test")
    _assert_shown(pirate, recording.exchange("/api/show").json)
    assert pirate.system == "You talk like a pirate."
    assert pirate.parameter_values["temperature"] == ["0.2"]
    assert pirate.details.parent_model == SMOLLM
    assert "tools" in pirate.capabilities  # inherited from its base

    recording.require("/api/delete", "DELETE")
    assert provider.delete_model("smollm2-pirate:test") is None
    assert recording.exchange("/api/delete", "DELETE").status == 200


# --------------------------------------------------------------------------- registry: pull and push


@pytest.mark.registry
@pytest.mark.vcr("api/pull_local.yaml")
def test_pull_model_streams_download_progress_with_digest_and_percent(
    provider: OllamaProvider, recording: Cassette
) -> None:
    with (
        unless_refused(recording, "/api/pull", PLAIN_REGISTRY_PULLS),
        provider.pull_model(
            _in_registry(recording, "/api/pull", MINILM), insecure=True, stream=True
        ) as stream,
    ):
        updates = list(stream)

    assert_progress(updates, recording.exchange("/api/pull").lines)
    assert updates[0] == ProgressResponse("pulling manifest")
    layers = [u for u in updates if u.digest]
    assert layers and all(
        u.status == f"pulling {u.digest.removeprefix('sha256:')[:12]}" for u in layers if u.digest
    )
    for digest in {u.digest for u in layers}:
        completed = [u.completed or 0 for u in layers if u.digest == digest]
        assert completed == sorted(completed)  # progress only moves forward
    assert [u.status for u in updates[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    assert updates[-1].percent is None


@pytest.mark.registry
@pytest.mark.vcr("api/pull_local_present.yaml")
def test_pull_model_of_a_model_whose_layers_are_present_reports_each_layer_complete(
    provider: OllamaProvider, recording: Cassette
) -> None:
    updates: list[ProgressResponse] = []
    with unless_refused(recording, "/api/pull", PLAIN_REGISTRY_PULLS):
        last = provider.pull_model(
            _in_registry(recording, "/api/pull", SMOLLM), insecure=True, progress=updates.append
        )

    assert_progress(updates, recording.exchange("/api/pull").lines)
    assert last == updates[-1] == ProgressResponse("success")
    layers = [u for u in updates if u.digest]
    assert layers and all(u.completed == u.total and u.percent == 100.0 for u in layers)
    assert [u.status for u in updates if not u.digest] == [
        "pulling manifest",
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]


# Replay only: the scenario needs an earlier pull of the same model dropped by its client.
@pytest.mark.replay_only(
    "needs an earlier pull of the same model dropped by its client, then the server finishing it"
)
@pytest.mark.vcr("api/pull_resume.yaml")
def test_pull_model_after_a_dropped_pull_finishes_from_the_kept_download(
    provider: OllamaProvider, recording: Cassette
) -> None:
    recorded = recording.exchange("/api/pull")
    updates: list[ProgressResponse] = []
    last = provider.pull_model(recorded.request["model"], insecure=True, progress=updates.append)

    assert_progress(updates, recorded.lines)
    assert last.status == "success"
    # The layer was completed by the dropped pull: no download progress this time.
    assert [u.status for u in updates] == [
        "pulling manifest",
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]


@pytest.mark.registry
@pytest.mark.vcr("api/push_local.yaml")
def test_push_model_reports_upload_progress_per_layer(provider: OllamaProvider, recording: Cassette) -> None:
    updates: list[ProgressResponse] = []
    name = _in_registry(recording, "/api/push", SMOLLM)
    if not recording.replaying:
        # Setup of a record run: the model to push, under its registry name, whatever an earlier pull
        # did (Ollama 0.12 cannot pull it from a plain registry). Replay never sends it.
        provider.copy_model(SMOLLM, name)
    last = provider.push_model(name, insecure=True, progress=updates.append)

    assert_progress(updates, recording.exchange("/api/push").lines)
    assert last == updates[-1] == ProgressResponse("success")
    assert updates[0].status == "retrieving manifest"
    layers = [u for u in updates if u.digest]
    assert layers and all(
        u.status == f"pushing {u.digest.removeprefix('sha256:')[:12]}" for u in layers if u.digest
    )
    assert all(u.percent is not None and 0 < u.percent <= 100 for u in layers)
    assert [u.status for u in updates[-2:]] == ["pushing manifest", "success"]


# --------------------------------------------------------------------------- blobs


@pytest.mark.vcr("api/blob_head.yaml")
def test_blob_exists_is_true_for_a_stored_blob_and_false_for_an_unknown_one(
    provider: OllamaProvider, recording: Cassette
) -> None:
    assert provider.blob_exists(_minilm_weights()) is True
    assert provider.blob_exists("sha256:" + "0" * 64) is False
    assert [e.status for e in recording.exchanges] == [200, 404]
