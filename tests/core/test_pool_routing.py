"""The routing of several hosts, sans I/O: the pool's state and the plans, driven by hand.

No sockets here (tests/core/test_pool_hosts.py runs the same behaviours on real server processes):
a scripted ``answer(host, call)`` stands for the hosts, and a fake clock for time, so cooldowns of
30 s are checked in microseconds.
"""

from __future__ import annotations

from typing import Any

import pytest

from ollama_provider import _calls as calls
from ollama_provider._names import canonical_name
from ollama_provider._retry import RetryPolicy
from ollama_provider.config import DEFAULT_SLOW_START, OllamaConfig
from ollama_provider.errors import (
    IncompleteStreamError,
    InvalidRequestError,
    ModelNotFoundError,
    OllamaConnectionError,
    OllamaError,
    OllamaResponseError,
    OllamaTimeoutError,
    ServerBusyError,
)
from ollama_provider.pool._routing import (
    Plan,
    Race,
    RaceOutcome,
    Run,
    Send,
    Sleep,
    WaitForSlot,
    abandoned,
    if_silent,
    route,
    suitable_hosts,
)
from ollama_provider.pool._state import (
    FIRST_COOLDOWN,
    MAX_COOLDOWN,
    MIN_BUSY_SHARE,
    MIN_SHARE,
    REFRESH_INTERVAL,
    HostPool,
)
from ollama_provider.types import ModelInfo, RunningModel

A, B, C = "http://a:11434", "http://b:11434", "http://c:11434"
MODEL = "llama3.2:latest"
CHECKS = ("/api/tags", "/api/ps", "/api/version")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refused(url: str) -> OllamaConnectionError:
    return OllamaConnectionError(f"cannot connect to {url}", host=url, unreachable=True)


def silent(url: str) -> OllamaTimeoutError:
    return OllamaTimeoutError(f"Ollama at {url} sent no answer within 5s", silent=True)


class Hosts:
    """Scripted hosts: what each has installed and loaded, which are down, what each was sent."""

    def __init__(self, **models: list[str]) -> None:
        self.installed = {f"http://{name}:11434": names for name, names in models.items()}
        self.loaded: dict[str, list[str]] = {url: [] for url in self.installed}
        self.down: set[str] = set()
        self.sent: list[tuple[str, str]] = []  # (host, path) of every request
        self.faults: dict[str, list[OllamaError]] = {}
        #: What each host answers for: what it lists, unless a test says otherwise.
        self.serves = self.installed
        self.no_ps: set[str] = set()
        #: Hosts that accept connections and say nothing (SIGSTOP): every request runs out.
        self.frozen: set[str] = set()
        #: Hosts whose queue is full: every routed request gets a 503 "server busy".
        self.busy: set[str] = set()
        #: Seconds each host takes to answer (for races: the fake clock moves that much).
        self.latency: dict[str, float] = {}
        #: The deadline of every housekeeping request sent: (host, path, deadline).
        self.deadlines: list[tuple[str, str, float | None]] = []

    def answer(self, host: str, call: Any, deadline: float | None = None) -> Any:
        self.sent.append((host, call.path))
        if call.path in CHECKS:
            self.deadlines.append((host, call.path, deadline))
        if host in self.down:
            raise refused(host)
        if host in self.frozen:
            raise silent(host)
        if host in self.busy and call.path not in CHECKS:
            raise ServerBusyError("server busy, please try again.  maximum pending requests exceeded")
        if self.faults.get(host) and call.path not in CHECKS:
            raise self.faults[host].pop(0)
        if call.path == "/api/tags":
            return [ModelInfo(name) for name in self.installed[host]]
        if call.path == "/api/ps":
            if host in self.no_ps:
                raise OllamaResponseError("404 page not found", status_code=404)
            return [RunningModel(name) for name in self.loaded[host]]
        if call.path == "/api/version":
            return "0.33.0"
        if call.model and canonical_name(call.model) not in {canonical_name(m) for m in self.serves[host]}:
            raise ModelNotFoundError(f"model '{call.model}' not found", model=call.model)
        return f"answer from {host}"

    def routed(self) -> list[str]:
        """The hosts that got the requests being routed (not the checks)."""
        return [host for host, path in self.sent if path not in CHECKS]


def run(plan: Plan[Any], hosts: Hosts, clock: Clock | None = None) -> Any:
    """Drive a plan: background checks run at once (as if instantly done), sleeps move the clock."""
    try:
        step = next(plan)
        while True:
            try:
                outcome = do(step, hosts, clock)
            except OllamaError as error:
                step = plan.throw(error)
            else:
                step = plan.send(outcome)
    except StopIteration as done:
        return done.value


def do(step: Any, hosts: Hosts, clock: Clock | None) -> Any:
    if isinstance(step, Send):
        return hosts.answer(step.host.url, step.call, step.deadline)
    if isinstance(step, Race):
        return race(step, hosts, clock)
    if isinstance(step, Run):
        for plan in step.plans:
            run(plan, hosts, clock)
        return None
    if isinstance(step, Sleep):
        if clock is not None:
            clock.now += step.seconds
        return None
    raise AssertionError(f"unexpected step {step!r}")


def race(step: Race, hosts: Hosts, clock: Clock | None) -> RaceOutcome:
    """A hedged send on the fake clock: each copy ends after its host's latency; the first answer
    wins, copies still running then are cancelled; the clock moves to the end of the race."""
    copies: list[tuple[float, Send]] = [(hosts.latency.get(step.first.host.url, 0.0), step.first)]
    if copies[0][0] > step.after:
        second = step.second()
        if second is not None:
            copies.append((step.after + hosts.latency.get(second.host.url, 0.0), second))
    outcome = RaceOutcome()
    end = max(at for at, _ in copies)
    for at, send in sorted(copies, key=lambda copy: copy[0]):
        if outcome.winner is not None:
            outcome.cancelled.append(send)
            continue
        try:
            outcome.answer = hosts.answer(send.host.url, send.call)
            outcome.winner, end = send, at
        except OllamaError as error:
            outcome.failed.append((send, error))
    if clock is not None:
        clock.now += end
    return outcome


def ask(
    pool: HostPool, hosts: Hosts, clock: Clock | None = None, *, model: str = "llama3.2", retries: int = 0
) -> str:
    host, answer = run(
        route(pool, calls.chat(OllamaConfig(), "hi", model=model), RetryPolicy(retries, 0.5, 8.0)),
        hosts,
        clock,
    )
    pool.release(host)
    assert answer == f"answer from {host.url}"
    return str(host.url)


def new_pool(hosts: Hosts, clock: Clock | None = None, **options: Any) -> HostPool:
    return HostPool(list(hosts.installed), clock=clock or Clock(), **options)


def a_ejected_and_due_for_a_probe() -> tuple[Hosts, Clock, HostPool]:
    """Hosts a and b; a refused a request (ejected), and its first cooldown is over."""
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    ask(pool, hosts, clock)
    clock.now += FIRST_COOLDOWN
    return hosts, clock, pool


# -- choosing ---------------------------------------------------------------------------------------
def test_only_hosts_that_have_the_model_get_it() -> None:
    hosts = Hosts(a=["qwen2.5:7b"], b=["llama3.2"], c=["llama3.2", "qwen2.5:7b"])
    pool = new_pool(hosts)
    assert {ask(pool, hosts) for _ in range(6)} == {B, C}
    assert {ask(pool, hosts, model="qwen2.5:7b") for _ in range(6)} == {A, C}


def test_the_first_request_asks_every_host_for_its_models_then_routes_on_what_they_said() -> None:
    hosts = Hosts(a=["qwen2.5:7b"], b=["llama3.2"])
    pool = new_pool(hosts)
    ask(pool, hosts)
    assert sorted(hosts.sent[:4]) == sorted(
        [(A, "/api/tags"), (A, "/api/ps"), (B, "/api/tags"), (B, "/api/ps")]
    )
    assert hosts.routed() == [B]  # never tried on a, which does not have it


def test_sequential_requests_spread_over_equal_hosts() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    pool = new_pool(hosts)
    assert [ask(pool, hosts) for _ in range(6)] == [A, B, C, A, B, C]


def test_a_host_with_the_model_loaded_is_preferred() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    hosts.loaded[C] = ["llama3.2"]
    pool = new_pool(hosts)
    assert [ask(pool, hosts) for _ in range(3)] == [C, C, C]


def test_a_model_is_not_taken_for_loaded_just_because_it_answered() -> None:
    # Otherwise the first host to answer would get every later request and its peers none.
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts)
    assert [ask(pool, hosts) for _ in range(4)] == [A, B, A, B]


def test_the_fewest_requests_in_flight_wins_among_loaded_hosts() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.loaded = {A: ["llama3.2"], B: ["llama3.2"]}
    pool = new_pool(hosts)
    run(suitable_hosts(pool, MODEL), hosts)
    first = pool.choose(MODEL, exclude=())
    second = pool.choose(MODEL, exclude=())
    third = pool.choose(MODEL, exclude=())
    assert first.host is not None and second.host is not None and third.host is not None
    assert {first.host.url, second.host.url} == {A, B}  # concurrent requests never pile on one host
    assert [h.in_flight for h in pool.hosts] == [2, 1] or [h.in_flight for h in pool.hosts] == [1, 2]
    for choice in (first, second, third):
        assert choice.host is not None
        pool.release(choice.host)
    assert [h.in_flight for h in pool.hosts] == [0, 0]


def test_a_host_without_the_model_loaded_still_gets_concurrent_requests() -> None:
    # A restarted server (seen live): back in rotation with nothing loaded, while its peers have the
    # model loaded. Preferring loaded hosts outright sent every request to the peers, forever.
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    hosts.loaded = {A: ["llama3.2"], B: ["llama3.2"], C: []}
    pool = new_pool(hosts)
    run(suitable_hosts(pool, MODEL), hosts)
    choices = [pool.choose(MODEL, exclude=()) for _ in range(5)]
    chosen = [choice.host.url for choice in choices if choice.host is not None]
    assert chosen[:4] == [A, B, A, B]  # loaded, and no busier: the loaded hosts first
    assert chosen[4] == C  # then the load is worth it: both loaded hosts have two in flight


def test_max_in_flight_makes_a_request_wait_for_a_release() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts, max_in_flight=1)
    run(suitable_hosts(pool, MODEL), hosts)
    held = [pool.choose(MODEL, exclude=()).host for _ in range(2)]
    full = pool.choose(MODEL, exclude=())
    assert full.host is None and full.reason == "full"
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0), slot_wait=5.0)
    step = next(plan)
    assert isinstance(step, WaitForSlot) and step.model == MODEL and step.releases == pool.releases
    woken: list[str] = []
    waiter = pool.wait(step.model, step.exclude, step.releases, lambda: woken.append("woken"))
    assert waiter is not None and held[1] is not None
    pool.release(held[1])
    assert woken == ["woken"]
    assert held[1].in_flight == 1  # handed over, not freed: a newcomer cannot take it first
    assert pool.choose(MODEL, exclude=()).reason == "full"
    handed = pool.stop_waiting(waiter)
    assert handed is held[1]
    step = plan.send(handed)
    assert isinstance(step, Send) and step.host is held[1]


def test_a_freed_slot_goes_to_the_longest_waiting_request_that_host_can_serve() -> None:
    hosts = Hosts(a=["llama3.2"], b=["qwen2.5:7b"])
    pool = new_pool(hosts, max_in_flight=1)
    run(suitable_hosts(pool, MODEL), hosts)
    a, b = (pool.choose(m, exclude=()).host for m in (MODEL, "qwen2.5:7b"))
    assert a is not None and b is not None
    woken: list[str] = []
    releases = pool.releases
    for name in ("first, for qwen", "second, for llama", "third, for llama"):
        model = "qwen2.5:7b" if "qwen" in name else MODEL
        pool.wait(model, (), releases, lambda name=name: woken.append(name))
    pool.release(a)  # a cannot serve qwen: the first llama waiter gets it, one wake-up only
    assert woken == ["second, for llama"]
    pool.release(b)
    assert woken == ["second, for llama", "first, for qwen"]
    assert pool.wait(MODEL, (), releases, lambda: None) is None  # released since: no need to wait


# -- failing over --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fault",
    [
        refused(A),
        OllamaTimeoutError("connect timeout", retryable=True),
        ServerBusyError("server busy", status_code=503),
        ServerBusyError("bad gateway", status_code=502),
        OllamaConnectionError("closed the connection before answering", host=A),
        ModelNotFoundError("model 'llama3.2' not found", model="llama3.2"),
        silent(A),
    ],
    ids=["refused", "connect-timeout", "503", "502", "dropped-before-answer", "model-not-found", "silent"],
)
def test_fails_over_at_once_before_any_answer(fault: OllamaError) -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts)
    hosts.faults[A] = [fault]
    assert ask(pool, hosts) == B
    assert hosts.routed() == [A, B]
    assert [h.in_flight for h in pool.hosts] == [0, 0]


@pytest.mark.parametrize(
    "fault",
    [
        OllamaResponseError("invalid option", status_code=400),
        OllamaResponseError("runner crashed", status_code=500),
        OllamaTimeoutError("all 32 connections of the client's pool were in use"),  # our side, not the host's
        IncompleteStreamError("cut mid-stream"),
        InvalidRequestError("bad"),
    ],
    ids=["400", "500", "client-pool-timeout", "incomplete", "invalid"],
)
def test_answers_and_read_timeouts_are_not_sent_elsewhere(fault: OllamaError) -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts)
    hosts.faults[A] = [fault]
    with pytest.raises(type(fault)):
        ask(pool, hosts)
    assert hosts.routed() == [A]
    assert [h.in_flight for h in pool.hosts] == [0, 0]


def test_model_not_found_from_a_host_that_listed_it_makes_the_pool_ask_that_host_again() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.loaded[A] = ["llama3.2"]  # so a is asked first
    pool = new_pool(hosts)
    assert ask(pool, hosts) == A
    hosts.installed[A] = []  # deleted behind the pool's back
    hosts.faults[A] = [ModelNotFoundError("model 'llama3.2' not found", model="llama3.2")]
    hosts.sent.clear()
    assert ask(pool, hosts) == B
    assert (A, "/api/tags") in hosts.sent  # asked again at once
    assert pool.host(A).models == frozenset()
    hosts.sent.clear()
    assert [ask(pool, hosts) for _ in range(3)] == [B, B, B]


def test_a_model_no_host_has_is_model_not_found_naming_every_host_asked() -> None:
    hosts = Hosts(a=["llama3.2"], b=["qwen2.5:7b"])
    pool = new_pool(hosts)
    with pytest.raises(ModelNotFoundError) as caught:
        ask(pool, hosts, model="mistral")
    assert caught.value.model == "mistral"
    assert A in str(caught.value) and B in str(caught.value)
    assert [path for _, path in hosts.sent].count("/api/tags") == 4  # asked twice, in case it was just pulled
    assert len(hosts.routed()) == 1  # then one host answers for all: its 404 ends it


def test_a_model_a_host_serves_without_listing_it_is_found_by_asking_one_host() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.serves = {A: ["llama3.2", "my-alias"], B: ["llama3.2"]}  # an alias the lists do not show
    pool = new_pool(hosts)
    assert ask(pool, hosts, model="my-alias") == A
    assert pool.host(A).models is not None and "my-alias:latest" in pool.host(A).models
    hosts.sent.clear()
    assert ask(pool, hosts, model="my-alias") == A  # known now: no second search
    assert hosts.routed() == [A]


def test_a_host_without_api_ps_still_gets_routed_on_its_model_list() -> None:
    hosts = Hosts(a=["qwen2.5:7b"], b=["llama3.2"])
    hosts.no_ps = {A, B}
    pool = new_pool(hosts)
    assert [ask(pool, hosts) for _ in range(3)] == [B, B, B]
    assert pool.host(A).models == frozenset({"qwen2.5:7b"})


def test_a_model_pulled_since_the_last_listing_is_found() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts)
    ask(pool, hosts)
    hosts.installed[B].append("mistral:latest")  # `ollama pull mistral` on b, outside this provider
    assert ask(pool, hosts, model="mistral") == B


def test_every_host_down_is_one_connection_error_naming_every_host() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    hosts.down = {A, B, C}
    clock = Clock()
    pool = new_pool(hosts, clock)
    with pytest.raises(OllamaConnectionError) as caught:
        ask(pool, hosts, clock, retries=2)
    message = str(caught.value)
    assert all(url in message for url in (A, B, C)) and "ollama serve" in message
    assert not any(h.in_rotation for h in pool.hosts)


def test_busy_everywhere_backs_off_between_rounds_honouring_retry_after() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    busy = [ServerBusyError("server busy", status_code=503, retry_after=3.0) for _ in range(2)]
    hosts.faults = {A: list(busy[:1]), B: list(busy[1:])}
    started = clock.now
    assert ask(pool, hosts, clock, retries=1) in (A, B)
    assert clock.now - started >= 3.0  # one backoff, after both hosts were tried at once
    assert len(hosts.routed()) == 3
    assert all(h.in_rotation for h in pool.hosts)  # busy is not down


# -- ejection, cooldown and probes -----------------------------------------------------------------------
def test_an_unreachable_host_is_skipped_during_its_cooldown_then_probed_back() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    assert ask(pool, hosts, clock) == B
    hosts.down = set()  # a is back, but the pool does not know yet
    hosts.sent.clear()
    assert [ask(pool, hosts, clock) for _ in range(3)] == [B, B, B]
    assert all(host == B for host, _ in hosts.sent)
    clock.now += FIRST_COOLDOWN
    hosts.sent.clear()
    picks = [ask(pool, hosts, clock)]
    assert (A, "/api/version") in hosts.sent  # probed before getting traffic again
    assert pool.host(A).in_rotation
    picks += [ask(pool, hosts, clock) for _ in range(11)]
    assert A in picks  # with a tenth of a share at first (slow start: see below)


def test_the_cooldown_doubles_with_each_failed_probe_up_to_thirty_seconds() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    ask(pool, hosts, clock)
    cooldowns = []
    for _ in range(7):
        state = pool.host(A)
        assert state.ejected_until is not None
        cooldowns.append(round(state.ejected_until - clock.now, 6))
        clock.now = state.ejected_until
        ask(pool, hosts, clock)  # probes a (still down): ejected again, for longer
    assert cooldowns == [FIRST_COOLDOWN, 2.0, 4.0, 8.0, 16.0, MAX_COOLDOWN, MAX_COOLDOWN]


def test_a_request_that_succeeds_resets_the_cooldown() -> None:
    hosts = Hosts(a=["llama3.2"])
    hosts.installed[B] = ["llama3.2"]
    hosts.loaded[B] = []
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    ask(pool, hosts, clock)
    clock.now += FIRST_COOLDOWN
    ask(pool, hosts, clock)  # probe fails: 2 s
    hosts.down = set()
    clock.now += 2.0
    while ask(pool, hosts, clock) != A:  # probed back, then a request succeeds there
        pass
    clock.now += DEFAULT_SLOW_START
    while ask(pool, hosts, clock) != A:  # and another, once its slow start is over: back for good
        pass
    hosts.down = {A}
    while pool.host(A).in_rotation:
        ask(pool, hosts, clock)
    state = pool.host(A)
    assert state.ejected_until is not None and state.ejected_until - clock.now == pytest.approx(
        FIRST_COOLDOWN
    )


def test_lists_are_refreshed_in_the_background_after_the_interval() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    ask(pool, hosts, clock)
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0))
    assert isinstance(next(plan), Send)  # fresh lists: straight to a host
    plan.close()
    clock.now += REFRESH_INTERVAL
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0))
    step = next(plan)
    assert isinstance(step, Run) and not step.wait and len(step.plans) == 2  # the request does not wait
    assert isinstance(plan.send(None), Send)
    plan.close()
    assert [h.in_flight for h in pool.hosts] == [0, 0]  # closing the plan released its host


def test_a_probe_is_background_work_while_other_hosts_can_answer() -> None:
    hosts, clock, pool = a_ejected_and_due_for_a_probe()
    step = next(route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0)))
    assert isinstance(step, Run) and not step.wait  # b answers meanwhile
    for plan in step.plans:
        run(plan, hosts, clock)  # a is still down: ejected again
    hosts.down = {A, B}
    pool.eject(pool.host(B), refused(B))
    clock.now += 60
    step = next(route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0)))
    assert isinstance(step, Run) and step.wait  # nothing else is up: the request waits for the probes


def test_a_probe_claimed_by_a_request_that_was_abandoned_is_due_again_later() -> None:
    _, clock, pool = a_ejected_and_due_for_a_probe()
    assert [c.kind for c in pool.due_checks(MODEL, exclude=())] == ["probe"]  # claimed, never run
    assert pool.due_checks(MODEL, exclude=()) == []
    clock.now += MAX_COOLDOWN
    assert [c.kind for c in pool.due_checks(MODEL, exclude=()) if c.host.url == A] == ["probe"]


def test_the_pool_forgets_requests_in_flight_in_a_forked_child() -> None:
    hosts = Hosts(a=["llama3.2"])
    pool = new_pool(hosts)
    run(suitable_hosts(pool, MODEL), hosts)
    assert pool.choose(MODEL, exclude=()).host is not None
    pool._after_fork_in_child()
    assert pool.hosts[0].in_flight == 0


# -- gray failures: hosts that are up but not well ---------------------------------------------------------
def test_a_host_silent_before_the_first_chunk_is_left_for_the_next_and_taken_out_of_rotation() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    ask(pool, hosts, clock)
    hosts.frozen = {A}  # accepts connections, answers nothing (SIGSTOP, a paused VM)
    hosts.sent.clear()
    names = [ask(pool, hosts, clock) for _ in range(6)]
    assert names == [B] * 6  # no error reached the caller
    assert hosts.routed().count(A) == 1  # one request paid for the silence; then none went there
    assert not pool.host(A).in_rotation
    clock.now += FIRST_COOLDOWN
    hosts.sent.clear()
    assert ask(pool, hosts, clock) == B  # the probe runs in the background, and runs out: out again
    assert (A, "/api/version") in hosts.sent and (A, "/api/chat") not in hosts.sent
    state = pool.host(A)
    assert state.ejected_until is not None and state.ejected_until - clock.now == 2 * FIRST_COOLDOWN
    hosts.frozen = set()  # SIGCONT
    clock.now += 2 * FIRST_COOLDOWN
    ask(pool, hosts, clock)  # the probe answers: back
    assert pool.host(A).in_rotation


def test_a_host_frozen_before_the_first_request_gets_no_request_at_all() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    hosts.frozen = {B}
    clock = Clock()
    pool = new_pool(hosts, clock)
    names = [ask(pool, hosts, clock) for _ in range(9)]
    assert set(names) == {A, C}
    assert (B, "/api/tags") in hosts.sent and B not in hosts.routed()  # its listing ran out: ejected


def test_housekeeping_requests_have_the_probe_timeout_and_the_request_waits_no_longer() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.frozen = {A}
    clock = Clock()
    pool = new_pool(hosts, clock, probe_timeout=0.5)
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0))
    step = next(plan)  # nothing known yet: the lists are asked first, and waited for
    assert isinstance(step, Run) and step.wait and len(step.plans) == 2
    assert step.limit is not None and 0.5 <= step.limit <= 0.75  # the probe timeout, and a moment
    for check in step.plans:
        run(check, hosts, clock)
    step = plan.send(None)
    assert isinstance(step, Send) and step.host.url == B  # a's listing ran out: it counts against a
    assert not pool.host(A).in_rotation and "sent no answer" in (pool.host(A).last_error or "")
    plan.close()
    clock.now += FIRST_COOLDOWN
    ask(pool, hosts, clock)  # a's probe
    assert {deadline for _, _, deadline in hosts.deadlines} == {0.5}  # lists and probes alike


def test_a_request_waiting_on_a_host_that_says_nothing_probes_it_and_leaves_it_once_ejected() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock, probe_timeout=2.0)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0))
    step = next(plan)
    assert isinstance(step, Send) and step.host.url == A and step.watch == 2.0
    a = pool.host(A)
    assert if_silent(pool, a) is None  # it answered its listing just now
    clock.now += 2.0
    woken: list[str] = []
    pool.watch(a, lambda: woken.append("woken"))
    check = if_silent(pool, a)  # silent for the probe timeout while a request waits on it: probe it
    assert check is not None and if_silent(pool, a) is None  # one probe at a time
    run(check, hosts, clock)  # a busy server answers /api/version at once: the request keeps waiting
    assert a.in_rotation and woken == [] and if_silent(pool, a) is None
    clock.now += 2.0
    check = if_silent(pool, a)
    assert check is not None
    hosts.frozen = {A}
    run(check, hosts, clock)  # a frozen one does not: ejected, and the waiting request is told
    assert not a.in_rotation and woken == ["woken"]
    step = plan.throw(abandoned(a))  # the shell gives the send up: to the next host at once
    assert isinstance(step, Send) and step.host.url == B
    with pytest.raises(StopIteration) as done:
        plan.send("answer from b")
    host, _ = done.value.value
    pool.release(host)
    assert [h.in_flight for h in pool.hosts] == [0, 0]


def test_a_model_no_list_names_is_asked_for_on_the_next_host_when_one_cannot_be_reached() -> None:
    # Pulled on every box since the last listing, and the first box is down: not "no host reachable".
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    ask(pool, hosts, clock)
    hosts.serves = {url: ["llama3.2", "fresh"] for url in (A, B, C)}  # the listings lag behind
    hosts.down = {A}
    assert ask(pool, hosts, clock, model="fresh") in (B, C)
    assert not pool.host(A).in_rotation


def test_a_search_for_an_unlisted_model_goes_on_past_a_host_that_drops_the_request() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.serves = {A: ["llama3.2", "alias"], B: ["llama3.2", "alias"]}
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.faults[A] = [OllamaConnectionError("closed the connection before answering", host=A)]
    assert ask(pool, hosts, clock, model="alias") == B
    assert hosts.routed() == [A, B]
    hosts.frozen = {B}
    hosts.sent.clear()
    hosts.serves = {A: ["llama3.2"], B: ["llama3.2"]}
    with pytest.raises(ModelNotFoundError):  # the 404 of the one host that answered speaks for all
        ask(pool, hosts, clock, model="gone")
    assert hosts.routed().count(A) == 1


def picks_in(pool: HostPool, hosts: Hosts, clock: Clock, count: int, step: float) -> list[str]:
    """``count`` sequential requests, ``step`` seconds apart: who answered each."""
    names = []
    for _ in range(count):
        names.append(ask(pool, hosts, clock))
        clock.now += step
    return names


def test_a_host_back_from_an_outage_gets_a_reduced_share_that_grows_while_it_answers() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock, slow_start=10.0)
    ask(pool, hosts, clock)
    hosts.down = {A}
    while pool.host(A).in_rotation:
        ask(pool, hosts, clock)
    hosts.down = set()
    clock.now += FIRST_COOLDOWN
    ask(pool, hosts, clock)  # the probe answers: back in rotation
    assert pool.host(A).in_rotation and pool.share(pool.host(A)) == pytest.approx(MIN_SHARE)
    shares = [picks_in(pool, hosts, clock, 20, 0.1).count(A) for _ in range(6)]  # 2 s windows
    assert shares[0] <= 2  # a full share would be about 7 of 20
    assert shares == sorted(shares) and shares[-1] >= 6  # growing, and full after slow_start


def test_a_flapping_host_starts_over_at_a_tenth_each_time_and_stays_out_longer() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock, slow_start=10.0)
    ask(pool, hosts, clock)
    cooldowns, first_windows = [], []
    for _ in range(3):  # up, down, up within seconds
        hosts.down = {A}
        while pool.host(A).in_rotation:
            ask(pool, hosts, clock)
        state = pool.host(A)
        assert state.ejected_until is not None
        cooldowns.append(round(state.ejected_until - clock.now, 6))
        hosts.down = set()
        clock.now = state.ejected_until
        ask(pool, hosts, clock)  # probed back
        assert pool.share(state) == pytest.approx(MIN_SHARE)
        first_windows.append(picks_in(pool, hosts, clock, 10, 0.1).count(A))
    assert cooldowns == [FIRST_COOLDOWN, 2 * FIRST_COOLDOWN, 4 * FIRST_COOLDOWN]  # no request succeeded
    assert all(count <= 2 for count in first_windows)  # never an equal share (5 of 10) on return


def test_without_slow_start_a_host_back_gets_a_full_share_at_once() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock, slow_start=0.0)
    hosts.down = {A}
    ask(pool, hosts, clock)
    hosts.down = set()
    clock.now += FIRST_COOLDOWN
    ask(pool, hosts, clock)
    assert pool.share(pool.host(A)) == 1.0
    assert picks_in(pool, hosts, clock, 10, 0.1).count(A) == 5


def test_a_host_that_answers_busy_to_every_request_gets_less_traffic_while_it_does() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"], c=["llama3.2"])
    hosts.loaded[A] = ["llama3.2"]  # loaded there: before, it came first for every request
    clock = Clock()
    pool = new_pool(hosts, clock)
    ask(pool, hosts, clock)
    hosts.busy = {A}  # OLLAMA_MAX_QUEUE reached: 503 at once
    hosts.sent.clear()
    names = picks_in(pool, hosts, clock, 60, 0.1)  # 6 s of sequential requests
    assert set(names) == {B, C}
    tried_a = hosts.routed().count(A)
    assert 1 <= tried_a <= 8  # about one a second, to see whether it recovered (not all 60, nor 20)
    assert pool.share(pool.host(A)) < 1.0
    hosts.busy = set()  # its queue drains
    clock.now += 5.0
    hosts.sent.clear()
    assert picks_in(pool, hosts, clock, 10, 0.1).count(A) >= 8  # loaded there: first again


def test_busy_shares_halve_down_to_a_sixteenth_and_double_back() -> None:
    clock = Clock()
    pool = HostPool([A, B], clock=clock)
    a = pool.host(A)
    for _ in range(6):
        pool.busy(a)
    assert pool.share(a) == MIN_BUSY_SHARE
    clock.now += 2.0  # two seconds without a busy answer: two doublings
    assert pool.share(a) == pytest.approx(4 * MIN_BUSY_SHARE)
    pool.succeeded(a, None)
    assert pool.share(a) == pytest.approx(8 * MIN_BUSY_SHARE)


# -- hedging ------------------------------------------------------------------------------------------------
def embed_call() -> Any:
    return calls.embed(OllamaConfig(), ["a text"], model="llama3.2")


def hedged(pool: HostPool, hosts: Hosts, clock: Clock, call: Any, hedge_after: float | str | None) -> str:
    host, answer = run(route(pool, call, RetryPolicy(0), hedge_after=hedge_after), hosts, clock)
    pool.release(host)
    assert answer == f"answer from {host.url}"
    return str(host.url)


def test_hedging_is_off_unless_asked_for_and_never_for_generations() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    pool = new_pool(hosts)
    run(suitable_hosts(pool, MODEL), hosts)
    assert isinstance(next(route(pool, embed_call(), RetryPolicy(0))), Send)
    chat = calls.chat(OllamaConfig(), "hi", model=MODEL)
    assert isinstance(next(route(pool, chat, RetryPolicy(0), hedge_after=0.1)), Send)
    step = next(route(pool, embed_call(), RetryPolicy(0), hedge_after=0.1))
    assert isinstance(step, Race) and step.after == 0.1


def test_a_slow_short_request_gets_a_second_copy_elsewhere_and_the_first_answer_wins() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.latency = {A: 5.0, B: 0.05}  # a is slow today
    clock = Clock()
    pool = new_pool(hosts, clock)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    started = clock.now
    assert hedged(pool, hosts, clock, embed_call(), 0.2) == B
    assert clock.now - started == pytest.approx(0.25)  # instead of 5 s
    assert [host for host, path in hosts.sent if path == "/api/embed"] == [B]  # a's copy was cancelled
    assert [h.in_flight for h in pool.hosts] == [0, 0]


def test_a_fast_answer_sends_no_second_copy() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.latency = {A: 0.1, B: 0.1}
    clock = Clock()
    pool = new_pool(hosts, clock)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    assert hedged(pool, hosts, clock, embed_call(), 0.2) == A
    assert hosts.routed() == [A]


def test_a_copy_that_fails_leaves_the_answer_to_the_other() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    hosts.latency = {A: 1.0, B: 0.0}
    hosts.busy = {B}
    clock = Clock()
    pool = new_pool(hosts, clock)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    assert hedged(pool, hosts, clock, embed_call(), 0.2) == A
    assert pool.share(pool.host(B)) < 1.0  # its busy answer was heard
    assert [h.in_flight for h in pool.hosts] == [0, 0]


def test_hedging_at_p95_waits_for_the_latency_each_host_showed() -> None:
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    for i in range(19):  # too few to trust a percentile: no hedging yet
        hosts.latency = {A: 0.01 * (i % 10 + 1), B: 0.01 * (i % 10 + 1)}
        hedged(pool, hosts, clock, embed_call(), "p95")
    plan = route(pool, embed_call(), RetryPolicy(0), hedge_after="p95")
    assert isinstance(next(plan), Send)
    plan.close()
    for i in range(30):
        hosts.latency = {A: 0.01 * (i % 20 + 1), B: 0.01 * (i % 20 + 1)}
        hedged(pool, hosts, clock, embed_call(), "p95")
    step = next(route(pool, embed_call(), RetryPolicy(0), hedge_after="p95"))
    assert isinstance(step, Race)
    assert 0.15 <= step.after <= 0.2  # the slowest twentieth of what that host answered lately


def test_a_request_that_leaves_a_host_waits_for_a_slot_elsewhere_afresh() -> None:
    # With max_in_flight_per_host, a request given up on (its host froze) after most of its wait
    # must not time out waiting for a slot on the others: its wait starts again.
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock, max_in_flight=1)
    run(suitable_hosts(pool, MODEL), hosts, clock)
    plan = route(pool, calls.chat(OllamaConfig(), "hi", model=MODEL), RetryPolicy(0), slot_wait=5.0)
    first = next(plan)
    assert isinstance(first, Send)
    held = pool.choose(MODEL, exclude=())  # another request holds the other host's slot
    assert held.host is not None and held.host is not first.host
    clock.now += 4.0  # most of the wait gone, on a host that froze
    step = plan.throw(abandoned(first.host))
    assert isinstance(step, WaitForSlot) and step.deadline == clock.now + 5.0
    plan.close()
