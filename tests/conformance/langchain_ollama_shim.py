"""pytest plugin for the official ``langchain-ollama`` test suite (loaded as ``-p langchain_ollama_shim``).

The runner (:mod:`tests.conformance.langchain_official`) starts pytest on the suite with this plugin and
a JSON settings file named by ``OLLAMA_PROVIDER_CONFORMANCE``. The plugin does three things:

* **The import shim** (``"against": "ours"``): ``langchain_ollama`` and each of its submodules resolve
  to a module that serves the names of ours (``langchain_ollama.chat_models.ChatOllama`` *is*
  ``langchain_ollama_provider.ChatOllama``), as a user who switched packages gets them. A name that
  only the official module has (its ``Client``, private helpers), listed in the settings from the
  official source, resolves to a placeholder that fails when used: a test that patches or calls an
  official internal then fails by itself (and is listed as not applicable) instead of one private
  import taking every test of its module down at collection. With ``"against": "official"`` nothing
  is shimmed: the same run checks the official package, for comparison.
* **Stand-in models**: the suite asks for ``llama3.1``, ``deepseek-r1:1.5b``, ``gpt-oss:20b``. The
  request bodies sent to the server name the small models of the settings instead (and carry a
  ``seed``, and a ``num_predict`` cap, when the test sets none: a 135M model's answers then repeat from
  run to run and stay short). Rewritten in httpx's transports, below both packages, so objects keep
  the names the tests gave them and both packages are treated alike; answers are not touched.
* **Outcomes**: every test's outcome (and every collection error) is written to the settings' ``results``
  file as JSON, for the runner to compare with the expected differences. The tests of the settings'
  ``deselect`` list (those that patch the official internals) are collected but not run: through
  ours they would only send requests a test of the official internals never meant to send.

Importing this module does nothing; only pytest's ``pytest_configure`` hook below installs anything.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SETTINGS_ENV = "OLLAMA_PROVIDER_CONFORMANCE"
#: Our package, by the official package's module names.
OURS = "langchain_ollama_provider"
#: Endpoints whose body names a model, by which table of stand-ins applies.
CHAT_PATHS = ("/api/chat", "/api/generate")
MODEL_PATHS = {"/api/chat": "chat", "/api/generate": "chat", "/api/show": "chat", "/api/embed": "embed"}


class OfficialInternal:
    """What a name of the official module that ours lacks resolves to: calling it fails, and it has no
    attributes (so ``unittest.mock.patch`` can still replace it and put it back)."""

    def __init__(self, qualified: str) -> None:
        self._qualified = qualified

    def _message(self) -> str:
        return (
            f"{self._qualified} is an internal of the official langchain-ollama: the drop-in has no such name"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(self._message())

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{name!r}: {self._message()}")

    def __repr__(self) -> str:
        return f"<official-only {self._qualified}>"


def shim_module(name: str, ours: types.ModuleType | None, official_names: list[str]) -> types.ModuleType:
    """A module named ``name`` serving ``ours``'s attributes, and placeholders for official-only names."""
    module = types.ModuleType(name, ours.__doc__ if ours is not None else None)
    internal = set(official_names)

    def __getattr__(attribute: str) -> Any:
        if ours is not None and hasattr(ours, attribute):
            return getattr(ours, attribute)
        if attribute in internal:
            return OfficialInternal(f"{name}.{attribute}")
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    if ours is not None:
        module.__all__ = list(getattr(ours, "__all__", []))
    return module


def install_shim(official_modules: dict[str, list[str]]) -> None:
    """Put the shim modules in ``sys.modules`` under the official names (before any test imports)."""
    package = importlib.import_module(OURS)
    for name, names in sorted(official_modules.items()):
        ours_name = OURS + name.removeprefix("langchain_ollama")
        try:
            ours: types.ModuleType | None = importlib.import_module(ours_name)
        except ImportError:
            ours = None  # e.g. langchain_ollama._utils: official-only
        module = shim_module(name, ours, names)
        if name == "langchain_ollama":
            module.__path__ = []  # a package, so that its submodules import
            module.__version__ = package.__version__  # type: ignore[attr-defined]
        sys.modules[name] = module
    for name, module in list(sys.modules.items()):
        parent, _, child = name.rpartition(".")
        if parent == "langchain_ollama" and name in official_modules:
            setattr(sys.modules[parent], child, module)


# -- stand-in models ----------------------------------------------------------------------------------


def stand_in(name: Any, table: dict[str, str]) -> Any:
    """The model to ask the server for instead of ``name`` (``llama3.1`` and ``llama3.1:latest`` alike)."""
    if not isinstance(name, str):
        return name
    if name in table:
        return table[name]
    base, _, tag = name.partition(":")
    return table.get(base, name) if tag == "latest" else name


def rewrite_body(path: str, body: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """The request body with stand-in models, and the run's default options where the test set none."""
    kind = MODEL_PATHS.get(path)
    if kind is None:
        return body
    table = settings["models"][kind]
    body = dict(body)
    for key in ("model", "name"):
        if key in body:
            body[key] = stand_in(body[key], table)
    if path in CHAT_PATHS:
        options = dict(body.get("options") or {})
        for option, value in settings.get("options", {}).items():
            if options.get(option) is None:
                options[option] = value
        body["options"] = options
    return body


def rewrite_request(request: Any, settings: dict[str, Any]) -> Any:
    """An ``httpx.Request`` whose JSON body went through :func:`rewrite_body` (others as they are)."""
    import httpx

    if request.method != "POST" or request.url.path not in MODEL_PATHS:
        return request
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        return request
    if not isinstance(body, dict):
        return request
    new_body = rewrite_body(request.url.path, body, settings)
    if new_body == body:
        return request
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
    rewritten = httpx.Request(
        request.method, request.url, headers=headers, content=json.dumps(new_body).encode()
    )
    if "x-ollama-model" in rewritten.headers and "model" in new_body:
        rewritten.headers["x-ollama-model"] = str(new_body["model"])
    rewritten.extensions = request.extensions
    return rewritten


def install_stand_ins(settings: dict[str, Any]) -> None:
    """Route every httpx request of the process through :func:`rewrite_request`."""
    import httpx

    sync_send: Callable[..., Any] = httpx.HTTPTransport.handle_request
    async_send: Callable[..., Any] = httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        return sync_send(self, rewrite_request(request, settings))

    async def handle_async_request(self: Any, request: Any) -> Any:
        return await async_send(self, rewrite_request(request, settings))

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


# -- outcomes -----------------------------------------------------------------------------------------


class Outcomes:
    """Each test's outcome: passed, failed, error, skipped, xfailed, xpassed, or deselected (a test of
    the settings' ``deselect`` list: collected, so its name is checked, but not run); and why, when
    not passed."""

    def __init__(self, path: Path, deselect: list[str]) -> None:
        self.path = path
        self.deselect = set(deselect)
        self.results: dict[str, dict[str, str]] = {}

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        kept = [item for item in items if item.nodeid not in self.deselect]
        dropped = [item for item in items if item.nodeid in self.deselect]
        for item in dropped:
            self._set(item.nodeid, "deselected")
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    def _set(self, nodeid: str, outcome: str, detail: str = "") -> None:
        self.results[nodeid] = {"outcome": outcome, "detail": detail[-2000:]}

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._set(report.nodeid, "error", str(report.longrepr))

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        detail = str(report.longrepr) if report.longrepr else ""
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                self._set(report.nodeid, "xfailed" if report.skipped else "xpassed", report.wasxfail)
            elif report.skipped:
                self._set(report.nodeid, "skipped", detail)
            else:
                self._set(report.nodeid, report.outcome, detail)
        elif report.failed:  # setup or teardown
            self._set(report.nodeid, "error", detail)
        elif report.when == "setup" and report.skipped:
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            self._set(report.nodeid, outcome, detail)

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(self.results, indent=1, sort_keys=True), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    settings_path = os.environ.get(SETTINGS_ENV)
    if not settings_path:
        raise pytest.UsageError(f"langchain_ollama_shim needs {SETTINGS_ENV} (run the conformance runner)")
    settings = json.loads(Path(settings_path).read_text(encoding="utf-8"))
    if settings["against"] == "ours":
        install_shim(settings["official_modules"])
    install_stand_ins(settings)
    outcomes = Outcomes(Path(settings["results"]), settings.get("deselect", []))
    config.pluginmanager.register(outcomes, "conformance-outcomes")
