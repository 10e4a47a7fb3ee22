"""Puts an earlier version of our core first on ``sys.path``, for the ``ours-core-before`` client.

``python -m bench --baseline REV`` exports ``ollama_provider`` as it was at git revision REV into a
temporary folder and names it in ``BENCH_BASELINE_DIR``; the worker of ``ours-core-before`` imports
this module before the core, so the same scenarios measure that version side by side with today's.
"""

import os
import sys

_folder = os.environ.get("BENCH_BASELINE_DIR")
if not _folder:
    raise ImportError("no baseline: run `python -m bench --baseline REV` to compare with revision REV")
sys.path.insert(0, _folder)
