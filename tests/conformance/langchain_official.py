"""The official ``langchain-ollama`` test suite, run live against our LangChain adapter.

    uv run python -m tests.conformance.langchain_official [--host URL] [--against ours|official]
                                                          [--cache DIR] [--keep DIR] [-- PYTEST_ARGS]

1. Gets the sdist of the ``langchain-ollama`` release pinned in ``langchain_official.yaml`` with pip
   (``pip download``; the ``uvx``-provided pip when this environment has none), checks its sha256, and
   takes its ``tests/`` into a temporary folder. Nothing of it is kept in this repository; the sdist is
   cached (``--cache``, default ``~/.cache/ollama-provider/conformance``).
2. Runs that suite with pytest in a child process, live against the server at ``--host`` (default:
   ``OLLAMA_HOST``, else the local default), through :mod:`tests.conformance.langchain_ollama_shim`:
   ``langchain_ollama`` resolves to our ``langchain_ollama_provider`` and the suite's models to the small
   models of the yaml file.
3. Compares each test's outcome with the yaml file's ``expected`` differences, each listed with its
   kind and reason: ``not-applicable`` (the test patches or calls the official package's internals:
   collected, so its name is checked, but not run), ``documented`` (a difference we make on purpose,
   said in the README), ``model`` (the stand-in model's answer fails the test; the official package
   fails it too on the same models) and ``suite`` (the suite as shipped cannot pass here for either
   package, e.g. a snapshot file the sdist lacks).

The run fails (exit 1) on a **new failure**: a test not listed that fails or errors. A listed
``documented`` or ``suite`` test that now passes also fails the run (the entry is stale and must go:
those kinds do not depend on a model's answer); a listed ``model`` test that passes is only reported
(another server build may answer better). A listed test that was not collected fails a full run (no
``-k``): it was renamed or removed.
Exit 3: no server at the host, or a model it needs is missing (the message says which).

``--against official`` runs the same suite on the installed ``langchain-ollama`` (``uv sync --group
bench``) with the same stand-in models, and prints its outcomes next to the list: how the entries of
kind ``model`` were checked. It compares nothing and exits 0 unless pytest could not run.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
EXPECTED_FILE = HERE / "langchain_official.yaml"
SHIM = "langchain_ollama_shim"
KINDS = ("not-applicable", "documented", "model", "suite")
#: Kinds whose listed tests must keep failing: their cause does not depend on a model's answer.
STRICT_KINDS = ("documented", "suite")
#: Not run at all (collected only, so a renamed test is noticed).
NOT_RUN_KINDS = ("not-applicable",)
FAILED = ("failed", "error")
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_NO_SERVER = 0, 1, 2, 3
DEFAULT_CACHE = Path.home() / ".cache" / "ollama-provider" / "conformance"


# -- the expectations file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    test: str
    kind: str
    reason: str


@dataclass(frozen=True)
class Expectations:
    package: str
    version: str
    sha256: str
    models: dict[str, dict[str, str]]
    options: dict[str, Any]
    tests: dict[str, Expected]

    @property
    def sdist_name(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}.tar.gz"


def load_expectations(path: Path = EXPECTED_FILE) -> Expectations:
    """Read and check the yaml file: every entry has a known kind and a reason, no test twice."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tests: dict[str, Expected] = {}
    for group in data["expected"]:
        kind, reason = group["kind"], str(group.get("reason") or "").strip()
        if kind not in KINDS:
            raise ValueError(f"{path.name}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        if not reason:
            raise ValueError(f"{path.name}: a group of kind {kind} has no reason")
        for test in group["tests"]:
            if test in tests:
                raise ValueError(f"{path.name}: {test} is listed twice")
            tests[test] = Expected(test, kind, " ".join(reason.split()))
    return Expectations(
        package=data["package"],
        version=str(data["version"]),
        sha256=data["sha256"],
        models={kind: dict(table) for kind, table in data["models"].items()},
        options=dict(data.get("options") or {}),
        tests=tests,
    )


# -- comparing outcomes ---------------------------------------------------------------------------------


@dataclass
class Verdict:
    """How a run compares with the expected differences."""

    counts: Counter[str] = field(default_factory=Counter)
    expected_failures: Counter[str] = field(default_factory=Counter)
    new_failures: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    better: list[str] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.new_failures or self.stale or self.not_run)

    @property
    def ran(self) -> int:
        return sum(n for outcome, n in self.counts.items() if outcome != "deselected")


def compare(results: dict[str, dict[str, str]], expectations: Expectations, *, full_run: bool) -> Verdict:
    """Outcomes (nodeid -> {"outcome", "detail"}) against the expected differences."""
    verdict = Verdict()
    for test, result in sorted(results.items()):
        outcome = result["outcome"]
        verdict.counts[outcome] += 1
        listed = expectations.tests.get(test)
        if outcome == "deselected":
            if listed is not None:
                verdict.expected_failures[listed.kind] += 1
            continue
        if outcome in FAILED:
            if listed is None:
                verdict.new_failures.append(f"{test}: {outcome}\n{_last_lines(result.get('detail', ''))}")
            else:
                verdict.expected_failures[listed.kind] += 1
        elif listed is not None and outcome in ("passed", "xpassed"):
            target = verdict.stale if listed.kind in STRICT_KINDS else verdict.better
            target.append(f"{test} ({listed.kind}): {outcome}")
    if full_run:
        verdict.not_run = sorted(test for test in expectations.tests if test not in results)
    return verdict


def _last_lines(text: str, count: int = 6) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-count:])


def report(verdict: Verdict, expectations: Expectations, against: str) -> str:
    counts = verdict.counts
    outcomes = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
    lines = [
        f"langchain-ollama {expectations.version} test suite against {against}: {verdict.ran} run, "
        + ", ".join(f"{counts[k]} {k}" for k in outcomes)
        + f"; {counts['deselected']} not run (not-applicable)",
        "listed in langchain_official.yaml and ended as listed: "
        + ", ".join(f"{verdict.expected_failures[k]} {k}" for k in KINDS),
    ]
    for title, items in (
        ("NEW FAILURES (not listed)", verdict.new_failures),
        ("LISTED BUT PASSING (remove the entry)", verdict.stale),
        ("LISTED BUT NOT RUN (remove or rename the entry)", verdict.not_run),
        ("listed as model-limited, passing here (kept: another server may answer worse)", verdict.better),
    ):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {item}" for item in items)
    lines.append("conformance: OK" if verdict.ok else "conformance: MISMATCH")
    return "\n".join(lines)


# -- the sdist ------------------------------------------------------------------------------------------


def fetch_sdist(expectations: Expectations, cache: Path) -> Path:
    """The pinned sdist from the cache, else downloaded by pip; its sha256 checked either way."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / expectations.sdist_name
    if not target.exists():
        with tempfile.TemporaryDirectory(prefix="sdist-") as scratch:
            requirement = f"{expectations.package}=={expectations.version}"
            args = ["download", "--no-deps", "--no-binary", ":all:", "--dest", scratch, requirement]
            subprocess.run([*pip_command(), *args], check=True, stdout=sys.stderr)
            shutil.move(str(Path(scratch) / expectations.sdist_name), target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != expectations.sha256:
        target.unlink()
        raise SystemExit(f"{target.name}: sha256 {digest}, expected {expectations.sha256} (removed)")
    return target


def pip_command() -> list[str]:
    """pip of this interpreter, else the one ``uvx`` runs (uv environments have no pip of their own)."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for runner in (["uvx"], ["uv", "tool", "run"]):
        if shutil.which(runner[0]):
            return [*runner, "pip"]
    raise SystemExit("pip is needed to download the sdist: install pip or uv")


def unpack_tests(sdist: Path, into: Path) -> tuple[Path, dict[str, list[str]]]:
    """Extract the sdist's ``tests/`` into ``into``; also the top-level names of each official module."""
    modules: dict[str, list[str]] = {}
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            _, _, inner = member.name.partition("/")
            if not member.isfile() or ".." in Path(inner).parts:
                continue
            if inner.startswith("tests/"):
                target = into / inner
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
            elif inner.startswith("langchain_ollama/") and inner.endswith(".py"):
                source = archive.extractfile(member)
                assert source is not None
                name = inner.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
                modules[name] = top_level_names(source.read().decode("utf-8"))
    return into / "tests", modules


def top_level_names(source: str) -> list[str]:
    """The names a module's top level binds (imports, functions, classes, assignments)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return sorted(names - {"*"})


# -- the server -------------------------------------------------------------------------------------------


def server_problem(host: str, expectations: Expectations) -> str | None:
    """Why the run cannot go on at ``host`` (no answer, a stand-in model missing), or None."""
    import httpx

    try:
        answer = httpx.get(f"{host}/api/tags", timeout=5.0)
        answer.raise_for_status()
        installed = {model["name"] for model in answer.json()["models"]}
    except (httpx.HTTPError, ValueError, KeyError) as error:
        return f"no Ollama answers at {host} ({error}): start one, or set OLLAMA_HOST"
    wanted = {name for table in expectations.models.values() for name in table.values()}
    missing = sorted(name for name in wanted if name not in installed and f"{name}:latest" not in installed)
    if missing:
        return f"{host} lacks the stand-in models {missing} (created from cassettes/models)"
    return None


# -- the run ----------------------------------------------------------------------------------------------


def run_suite(
    tests_dir: Path, settings: dict[str, Any], host: str, pytest_args: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Run pytest on the unpacked suite in a child process; the outcomes it wrote."""
    work = tests_dir.parent
    settings_path, results_path = work / "settings.json", work / "results.json"
    settings = {**settings, "results": str(results_path)}
    settings_path.write_text(json.dumps(settings), encoding="utf-8")
    ini = work / "pytest.ini"  # ours, not the sdist's: its addopts need plugins this project lacks
    ini.write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "markers =\n    compile: placeholder test of the official suite\ntimeout = 600\n",
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("OLLAMA_")}
    env.update(
        OLLAMA_HOST=host,
        OLLAMA_PROVIDER_CONFORMANCE=str(settings_path),
        PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    )
    command = [
        sys.executable, "-m", "pytest", str(tests_dir), "-c", str(ini), "--rootdir", str(work),
        "-p", SHIM, "-p", "no:cacheprovider", "-p", "no:cov", "-q", "-rN", *pytest_args,
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=work, env=env, check=False)
    if not results_path.exists():
        raise SystemExit(f"pytest ended ({finished.returncode}) without writing outcomes")
    results: dict[str, dict[str, str]] = json.loads(results_path.read_text(encoding="utf-8"))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.conformance.langchain_official",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--host", help="the Ollama server (default: OLLAMA_HOST, else the local default)")
    parser.add_argument("--against", choices=("ours", "official"), default="ours")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the sdist is kept")
    parser.add_argument(
        "--keep", type=Path, help="unpack and run in DIR (kept) instead of a temporary folder"
    )
    parser.add_argument("--json", type=Path, help="also write every outcome, with the verdict, to this file")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments (e.g. -k ...)")
    args = parser.parse_args(argv)

    from ollama_provider import resolve_host

    expectations = load_expectations()
    host = resolve_host(args.host).rstrip("/")
    problem = server_problem(host, expectations)
    if problem:
        print(f"conformance: cannot run: {problem}", file=sys.stderr)
        return EXIT_NO_SERVER
    if args.against == "official" and importlib.util.find_spec("langchain_ollama") is None:
        print(
            "conformance: --against official needs langchain-ollama (uv sync --group bench)", file=sys.stderr
        )
        return EXIT_USAGE
    sdist = fetch_sdist(expectations, args.cache)
    with tempfile.TemporaryDirectory(prefix="langchain-ollama-tests-") as scratch:
        work = args.keep or Path(scratch)
        if args.keep:
            shutil.rmtree(work / "tests", ignore_errors=True)
            work.mkdir(parents=True, exist_ok=True)
        tests_dir, modules = unpack_tests(sdist, work)
        settings = {
            "against": args.against,
            "deselect": [t.test for t in expectations.tests.values() if t.kind in NOT_RUN_KINDS],
            "official_modules": modules,
            "models": expectations.models,
            "options": expectations.options,
        }
        results = run_suite(tests_dir, settings, host, args.pytest_args)
    verdict = compare(results, expectations, full_run=not args.pytest_args)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "ok": verdict.ok}, indent=1), encoding="utf-8")
    if args.against == "official":
        listed = Counter(
            (expectations.tests[test].kind if test in expectations.tests else "unlisted", result["outcome"])
            for test, result in results.items()
        )
        print(f"langchain-ollama {expectations.version} (official) outcomes, by kind of entry in the list:")
        for (kind, outcome), count in sorted(listed.items()):
            print(f"  {kind:15} {outcome:8} {count}")
        print(", ".join(f"{n} {k}" for k, n in sorted(verdict.counts.items())))
        return EXIT_OK
    print(report(verdict, expectations, "our adapter (langchain_ollama_provider)"))
    return EXIT_OK if verdict.ok else EXIT_MISMATCH


if __name__ == "__main__":
    raise SystemExit(main())
