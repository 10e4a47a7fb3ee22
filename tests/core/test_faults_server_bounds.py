"""The fault server itself is bounded: it stops by itself, and stopping it leaves no thread behind."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from .fault_server import Exchange, FaultServer


def test_stop_joins_every_thread_even_with_a_stalled_connection() -> None:
    server = FaultServer(Exchange.stall).start()
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            httpx.get(server.url, timeout=5)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    stalled = threading.Thread(target=client)
    stalled.start()
    assert server.wait_for(lambda s: len(s.requests) == 1).accepted == 1  # a handler is stalling now
    server.stop()  # must wake the stalled handler, not wait for its MAX_STALL
    stalled.join(timeout=5)
    assert server.threads_alive() == 0 and not stalled.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # the client saw the close, not a timeout


def test_stops_by_itself_after_its_lifetime() -> None:
    server = FaultServer(max_lifetime=0.2).start()
    try:
        for thread in list(server._threads):
            thread.join(timeout=5)  # the accept loop ends on its own once the lifetime is over
        assert server.threads_alive() == 0
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
            pass  # nothing listens any more
    finally:
        server.stop()


def test_restart_keeps_the_port() -> None:
    with FaultServer() as server:
        port = server.port
        server.restart()
        assert server.port == port
        assert httpx.get(server.url + "/api/version").json() == {"version": "0.12.6"}
    assert server.threads_alive() == 0
