"""A real nginx running the shipped deploy/nginx/ollama.conf in front of local upstreams, for tests.

The shipped file is used as it is, except for what must differ on a test machine: the addresses
of its upstream ``server`` lines (each keeps its parameters), its ``listen`` line (a free loopback
port, plus a TLS one when a certificate is given: TLS termination at the balancer is common, and it
is where a buffering proxy holds a stream back) and its access log path. It is wrapped in a minimal
nginx.conf whose pid file, logs and temporary directories live in a private directory, and run in
the foreground.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO_ROOT / "deploy" / "nginx" / "ollama.conf"
START_TIMEOUT_SECONDS = 10.0
SERVER_LINE = r"^(\s*server\s+)(\S+)(.*;)$"  # inside the upstream block; the address is group 2


def find_nginx() -> str | None:
    """The nginx binary (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate and key for 127.0.0.1 made with the openssl command (None without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    if count != 1:
        raise AssertionError(f"{SHIPPED_CONF.name}: expected one match of {pattern!r}, found {count}")
    return new


def render(
    shipped: str, upstreams: Sequence[str], listen: str, access_log: Path, balance: str | None = None
) -> str:
    """The shipped file with its upstream servers (as many as ``upstreams``, each with the shipped
    parameters), listen line(s) and log path replaced; ``balance`` (e.g. ``"least_conn;"``, or
    ``""`` for round-robin) instead of the hash on the model, for benchmarks."""
    servers = re.findall(SERVER_LINE, shipped, flags=re.MULTILINE)
    if not servers:
        raise AssertionError(f"{SHIPPED_CONF.name} has no upstream server lines")
    indent, _, parameters = servers[0]
    lines = "\n".join(indent + url.removeprefix("http://") + parameters for url in upstreams)
    text = _servers_replaced(shipped, lines)
    if balance is not None:
        text = _replace_once(text, r"^\s*hash\s+\$http_x_ollama_model\s+consistent;$", f"    {balance}")
    text = _replace_once(text, r"^\s*listen\s+11434;$", listen)
    return _replace_once(text, r"/var/log/nginx/ollama\.access\.log", str(access_log))


def _servers_replaced(shipped: str, lines: str) -> str:
    """The upstream's consecutive ``server`` lines replaced by ``lines``."""
    block = re.compile(r"(?:" + SERVER_LINE + r"\n)+", flags=re.MULTILINE)
    text, count = block.subn(lambda _: lines + "\n", shipped, count=1)
    if count != 1:
        raise AssertionError(f"{SHIPPED_CONF.name}: expected one block of upstream server lines")
    return text


def _wrapper(directory: Path, include: Path, tls: tuple[Path, Path] | None) -> str:
    # Run as root (CI), nginx would start its worker as "nobody", which cannot enter a private
    # temporary directory: keep it as the current user.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    certificate = f"    ssl_certificate {tls[0]};\n    ssl_certificate_key {tls[1]};\n" if tls else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} notice;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n{temp_paths}\n{certificate}    include {include};\n}}\n"
    )


class NginxServer:
    """nginx on ``url`` (and ``tls_url`` with a certificate) proxying to ``upstreams``."""

    def __init__(
        self,
        binary: str,
        directory: Path,
        upstreams: Sequence[str],
        tls: tuple[Path, Path] | None = None,
        *,
        balance: str | None = None,
        shipped: str | None = None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.access_log = directory / "access.log"
        self.error_log = directory / "error.log"
        listen = f"    listen 127.0.0.1:{self.port};"
        if tls:
            listen += f"\n    listen 127.0.0.1:{self.tls_port} ssl;"
        include = directory / "ollama.conf"
        text = SHIPPED_CONF.read_text() if shipped is None else shipped  # another variant, for benchmarks
        include.write_text(render(text, upstreams, listen, self.access_log, balance))
        conf = directory / "nginx.conf"
        conf.write_text(_wrapper(directory, include, tls))
        # -e: the error log before the configuration is read (the compiled-in path may not be writable).
        self.process = subprocess.Popen(
            [binary, "-e", str(self.error_log), "-p", str(directory), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._wait_until_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        assert self.tls_port is not None, "started without a certificate"
        return f"https://127.0.0.1:{self.tls_port}"

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, stderr = self.process.communicate()
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {stderr}{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nginx did not listen on port {self.port}: {self.errors()}")

    def errors(self) -> str:
        return self.error_log.read_text() if self.error_log.exists() else ""

    def log_lines(self) -> list[str]:
        """The access log (the shipped ``ollama`` format: upstreams tried and their statuses)."""
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown of the master and its worker
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
