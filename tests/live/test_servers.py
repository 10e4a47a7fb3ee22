"""The fixture's own promises, which the fault tests build on: settings per server, freeze and thaw, kill and
restart on the same port, counting from the log. One server with nothing loaded: no model is needed here."""

from __future__ import annotations

import os

import httpx
import pytest

from .conftest import Serve

pytestmark = pytest.mark.live_servers


def test_each_server_runs_with_its_own_settings(serve: Serve) -> None:
    plain, busy = serve(2, envs=[{}, {"OLLAMA_NUM_PARALLEL": "1", "OLLAMA_MAX_QUEUE": "1"}])
    # Ollama logs the settings it runs with: the second server's, not the first's.
    assert "OLLAMA_MAX_QUEUE:1 " in busy.log_text() and "OLLAMA_MAX_QUEUE:1 " not in plain.log_text()
    assert "OLLAMA_NO_CLOUD:true" in plain.log_text() and plain.port != busy.port


def test_freeze_thaw_kill_restart_and_what_the_log_counts(serve: Serve) -> None:
    (server,) = serve(1)
    mark = server.mark()
    assert httpx.get(f"{server.url}/api/version", timeout=5).status_code == 200
    assert server.requests("GET", "/api/version", since=mark) == 1  # asked once since the mark

    server.freeze()  # up, but answers nothing: the kernel still takes the connection
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=httpx.Timeout(1.0, connect=1.0)) as client:
        client.get(f"{server.url}/api/version")
    server.thaw()
    assert server.answers(timeout=5)  # answers again once thawed

    group, port = server.pid, server.port
    server.kill()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)  # the whole group is gone, runners included
    assert not server.answers()
    server.restart()
    assert server.port == port and server.pid != group and server.answers()
