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
from ollama_provider.config import OllamaConfig
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
from ollama_provider.pool._routing import Plan, Run, Send, Sleep, WaitForSlot, route, suitable_hosts
from ollama_provider.pool._state import FIRST_COOLDOWN, MAX_COOLDOWN, REFRESH_INTERVAL, HostPool
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

    def answer(self, host: str, call: Any) -> Any:
        self.sent.append((host, call.path))
        if host in self.down:
            raise refused(host)
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
        return hosts.answer(step.host.url, step.call)
    if isinstance(step, Run):
        for plan in step.plans:
            run(plan, hosts, clock)
        return None
    if isinstance(step, Sleep):
        if clock is not None:
            clock.now += step.seconds
        return None
    raise AssertionError(f"unexpected step {step!r}")


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
    ],
    ids=["refused", "connect-timeout", "503", "502", "dropped-before-answer", "model-not-found"],
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
        OllamaTimeoutError("sent no answer within 300s"),  # a read timeout: the model may be loading
        IncompleteStreamError("cut mid-stream"),
        InvalidRequestError("bad"),
    ],
    ids=["400", "500", "read-timeout", "incomplete", "invalid"],
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
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    ask(pool, hosts, clock)
    clock.now += FIRST_COOLDOWN
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
    hosts = Hosts(a=["llama3.2"], b=["llama3.2"])
    clock = Clock()
    pool = new_pool(hosts, clock)
    hosts.down = {A}
    ask(pool, hosts, clock)
    clock.now += FIRST_COOLDOWN
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
