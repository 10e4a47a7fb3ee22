"""One client's worker process: ``python -m bench.worker --import-statement STMT --client NAME ...``.

The runner starts one per client and repeat, so imports and memory of one library never touch another's
figures. Its first act is to time the client's import statement, while the interpreter has loaded nothing
but this module's ``sys`` and ``time``: that makes every worker a fresh-interpreter import measurement.
Everything else (argument parsing, the scenarios) is imported afterwards on purpose.
"""

import sys
import time


def _time_import(statement: str) -> float:
    started = time.perf_counter()
    exec(statement, {})  # the statement comes from bench.clients, never from outside input
    return time.perf_counter() - started


def main() -> None:
    statement = sys.argv[sys.argv.index("--import-statement") + 1]
    try:
        import_s: float | None = _time_import(statement)
        import_error = None
    except ImportError as exc:
        import_s, import_error = None, f"{type(exc).__name__}: {exc}"

    import argparse
    import json
    from pathlib import Path

    from bench import scenarios
    from bench.clients import BY_NAME
    from bench.config import Sizes
    from bench.scenario_runner import run_worker

    parser = argparse.ArgumentParser(description="benchmark one client (used by bench.run)")
    parser.add_argument("--import-statement", required=True)
    parser.add_argument("--client", required=True, choices=sorted(BY_NAME))
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--sizes-json", required=True)
    parser.add_argument(
        "--scenarios", required=True, help="comma-separated, from " + ", ".join(scenarios.WORKER_SCENARIOS)
    )
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    if import_error is not None:
        report = {"client": args.client, "status": "unavailable", "error": import_error, "scenarios": {}}
    else:
        sizes = Sizes(**json.loads(args.sizes_json))
        report = run_worker(args.client, sizes, args.base_url, args.scenarios.split(","))
        report["import_s"] = import_s
    args.out.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
