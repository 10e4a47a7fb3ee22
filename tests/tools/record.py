"""Record every recorded scenario against a live Ollama into a folder, then replay the suite on it.

    uv run python -m tests.tools.record DIR [--host URL] [--registry HOST:PORT] [--dry-run] [-- PYTEST_ARGS]

1. Checks the server: it answers, and holds the recordings' models (created from cassettes/models).
2. Records into DIR (new or empty) every test marked ``recorded`` -- the API scenarios, the LangChain
   and LlamaIndex flows, the LangChain standard suites through our adapter -- with pytest's
   ``--record-mode=new_episodes --recordings DIR``: tests sharing a cassette add to it, nothing in
   ``cassettes/recorded`` is touched. What the server cannot do is skipped with the reason: the
   pull/push scenarios without a registry (how to run one is said), and the ``replay_only``
   scenarios (a busy queue, a registry that cannot be reached, a dropped pull), whose bundled
   recordings stay in use.
3. Runs ``pytest -m "not docs" --recordings DIR`` (replay only): the suite on the new recordings.

``PYTEST_ARGS`` (after ``--``) narrow both runs (default: ``tests``). ``--dry-run`` checks and prints the plan only.
Adopt a recording by copying DIR's files over ``cassettes/recorded``, then regenerate the
documentation outputs: ``uv run python -m tests.tools.docs_outputs``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ollama_provider import resolve_host

from ..live_server import (
    DEFAULT_REGISTRY,
    PROBE_TIMEOUT_SECONDS,
    REGISTRY_ENV,
    ollama_problem,
    registry_problem,
)
from ..recordings import REPO_ROOT

MODELS_DIR = REPO_ROOT / "cassettes" / "models"
#: The models the recordings use, and the Modelfile (in cassettes/models) each is created from.
REQUIRED_MODELS = {
    "smollm2:135m": "smollm2.Modelfile",
    "smollm2-tools:135m": "smollm2-tools.Modelfile",
    "smollm2-tools-parallel:135m": "smollm2-tools-parallel.Modelfile",
    "smollm2-think:135m": "smollm2-think.Modelfile",
    "gemma3:270m": "gemma3.Modelfile",
    "all-minilm:latest": "all-minilm.Modelfile",
}
RECORD_MARKS = "recorded or replay_only"  # replay_only: listed as skipped, with their reasons
#: pytest-timeout for the record run (the suite's 120 s is for replay). A CPU server under load takes
#: minutes for one of the standard suites' tests; cut at 120 s, a test leaves a cassette holding only
#: its first requests, which its replay then cannot match. Arguments after ``--`` may override it.
RECORD_TIMEOUT_SECONDS = 1800
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_SERVER = 0, 1, 2, 3


@dataclass(frozen=True)
class Server:
    """What the record run needs to know about the live server (see :func:`probe_server`)."""

    url: str
    problem: str | None = None
    version: str | None = None
    models: frozenset[str] = frozenset()


@dataclass
class Plan:
    """The record run: fatal problems, skipped capabilities (with reasons) and the two pytest runs."""

    server: Server
    directory: Path
    registry: str
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    record: list[str] = field(default_factory=list)
    verify: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.server.problem:
            return EXIT_NO_SERVER
        return EXIT_USAGE if self.problems else EXIT_OK


def probe_server(url: str) -> Server:
    """Ask the server at ``url`` for its version and installed models."""
    problem = ollama_problem(url)
    if problem:
        return Server(url, problem)
    with httpx.Client(base_url=url, timeout=PROBE_TIMEOUT_SECONDS * 10) as http:
        version = http.get("/api/version").json().get("version")
        models = frozenset(model["name"] for model in http.get("/api/tags").json().get("models", []))
    return Server(url, None, version, models)


def plan_run(
    server: Server, directory: Path, registry: str, registry_issue: str | None, selection: Sequence[str]
) -> Plan:
    """Decide what to record and what to skip (pure: the facts come from the probes)."""
    plan = Plan(server, directory, registry)
    if server.problem:
        plan.problems.append(f"cannot record: {server.problem}")
        return plan
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        plan.problems.append(
            f"{directory} is not an empty folder: record into a new one (a record run adds to the cassettes there)"
        )
    missing = sorted(set(REQUIRED_MODELS) - server.models)
    if missing:
        create = "; ".join(f"ollama create {name} -f {REQUIRED_MODELS[name]}" for name in missing)
        plan.problems.append(
            f"the server lacks the recordings' models {', '.join(missing)}: in {MODELS_DIR} (next to the "
            f"weights named in cassettes/recorded/SOURCE.md) run {create}"
        )
    if registry_issue:
        plan.skipped.append(f"pull and push scenarios (marked registry): {registry_issue}")
    plan.skipped.append(
        "scenarios marked replay_only (a busy queue, an unreachable registry, a dropped pull): the record "
        "run lists each with the reason; their bundled recordings stay in use"
    )
    tests = list(selection) or ["tests"]
    common = [f"--recordings={directory}", "-p", "no:cacheprovider", "--no-cov"]
    plan.record = [
        sys.executable,
        "-m",
        "pytest",
        f"--timeout={RECORD_TIMEOUT_SECONDS}",
        *tests,
        "-m",
        RECORD_MARKS,
        "--record-mode=new_episodes",
        *common,
    ]
    plan.verify = [sys.executable, "-m", "pytest", *tests, "-m", "not docs", *common]
    return plan


def describe(plan: Plan) -> str:
    """The plan, as the command prints it."""
    server = plan.server
    lines = [f"Ollama {server.version or '?'} at {server.url}: recording into {plan.directory}"]
    lines += [f"  cannot go on: {problem}" for problem in plan.problems]
    if not plan.problems:
        lines += [f"  skipped: {reason}" for reason in plan.skipped]
        settings = f"OLLAMA_HOST={server.url} {REGISTRY_ENV}={plan.registry}"
        lines.append(f"  1. record: {settings} {shlex.join(plan.record)}")
        lines.append(f"  2. replay the suite on it: {REGISTRY_ENV}={plan.registry} {shlex.join(plan.verify)}")
    return "\n".join(lines)


def _note(plan: Plan) -> str:
    """RECORDING.md of the new folder: where and when it was recorded, and what was left out."""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    skipped = "".join(f"- {reason}\n" for reason in plan.skipped)
    return (
        f"# Recorded {when}\n\nBy `python -m tests.tools.record` against Ollama {plan.server.version} at "
        f"{plan.server.url}, through this project's own code. Nothing was edited.\n\nLeft out:\n{skipped}"
    )


def run(plan: Plan) -> int:
    """Record, then replay the suite on the recordings. The exit code is the first failure's."""
    plan.directory.mkdir(parents=True, exist_ok=True)
    (plan.directory / "RECORDING.md").write_text(_note(plan), encoding="utf-8")
    recording = {**os.environ, "OLLAMA_HOST": plan.server.url, REGISTRY_ENV: plan.registry}
    replaying = {key: value for key, value in recording.items() if key != "OLLAMA_HOST"}  # replay, not live
    recorded = subprocess.run(plan.record, cwd=REPO_ROOT, env=recording, check=False).returncode
    verified = subprocess.run(plan.verify, cwd=REPO_ROOT, env=replaying, check=False).returncode
    print(f"record: exit {recorded}; the suite on {plan.directory}: exit {verified}", flush=True)
    return EXIT_OK if recorded == verified == 0 else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tools.record", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="a new or empty folder for the recordings")
    parser.add_argument("--host", help="the live Ollama (default: OLLAMA_HOST, else http://127.0.0.1:11434)")
    parser.add_argument(
        "--registry",
        default=os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY,
        help=f"host:port of the registry for the pull/push scenarios (default: ${REGISTRY_ENV} or {DEFAULT_REGISTRY})",
    )
    parser.add_argument("--dry-run", action="store_true", help="check the server and print the plan only")
    parser.epilog = "Arguments after -- go to both pytest runs instead of `tests` (to record a subset)."
    given = list(sys.argv[1:] if argv is None else argv)
    split = given.index("--") if "--" in given else len(given)
    args = parser.parse_args(given[:split])
    selection = given[split + 1 :]

    url = resolve_host(args.host) if args.host else resolve_host()
    directory = args.directory.resolve()
    server = probe_server(url)
    plan = plan_run(server, directory, args.registry, registry_problem(args.registry), selection)
    print(describe(plan), flush=True)
    if plan.problems or args.dry_run:
        return plan.exit_code
    return run(plan)


if __name__ == "__main__":
    sys.exit(main())
