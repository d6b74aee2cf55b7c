"""A live gunicorn server for the benchmarks, and a small HTTP client that signs in.

`Server` runs `gunicorn -c gunicorn.conf.py labstudy.wsgi` (the production configuration)
on a free port of 127.0.0.1 with the production settings, as behind the reverse proxy the
README describes: the client sends `X-Forwarded-Proto: https`, so no redirect, secure
cookies, HSTS and CSRF origin checks all apply. Static files are collected into a
temporary folder first (the manifest storage needs them). The settings are
bench.settings: the product's plus the baseline page. Only 127.0.0.1 is ever contacted;
every loop using this is bounded.

`Browser` is http.client over one keep-alive connection with a cookie jar: it signs in
through the real login form (CSRF token and session cookie) like a tablet's browser.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ACCESS = re.compile(r'"([A-Z]+ [^"]*)" \d{3} .* (\d+)ms$')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1:<free port>; a context manager that always stops it."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int | None = None,
        threads: int | None = None,
        log_dir: Path | None = None,
    ):
        self.database_url = database_url
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.tmp = Path(tempfile.mkdtemp(prefix="labstudy-bench-"))
        self.log_dir = log_dir or self.tmp
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTUDY_")}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            DATABASE_URL=self.database_url,
            LABSTUDY_ENV="production",
            LABSTUDY_SECRET_KEY=secrets.token_urlsafe(50),
            LABSTUDY_ALLOWED_HOSTS=HOST,
            LABSTUDY_CSRF_TRUSTED_ORIGINS=f"http://{HOST}:{self.port}",
            LABSTUDY_STATIC_ROOT=str(self.tmp / "static"),
            LABSTUDY_BIND=f"{HOST}:{self.port}",
            LABSTUDY_ACCESS_LOG=str(self.log_dir / "access.log"),
            DJANGO_SETTINGS_MODULE="bench.settings",
        )
        if self.workers:
            env["LABSTUDY_WORKERS"] = str(self.workers)
        if self.threads:
            env["LABSTUDY_THREADS"] = str(self.threads)
        return env

    def __enter__(self) -> Server:
        env = self.env()
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        self.log = open(self.log_dir / "gunicorn.log", "w")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "labstudy.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            try:
                status, _, _ = Browser(self.port).request("GET", "/accounts/login/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout_s:.0f} s")

    def log_text(self) -> str:
        path = self.log_dir / "gunicorn.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def request_ms(self) -> dict[str, list[float]]:
        """Server-side time of every request so far, from the access log (gunicorn's %(M)s),
        by kind: "tap" (POST .../tap/), "baseline" (/bench-baseline/), "other"."""
        times: dict[str, list[float]] = {"tap": [], "baseline": [], "other": []}
        path = self.log_dir / "access.log"
        if not path.exists():
            return times
        for line in path.read_text().splitlines():
            found = _ACCESS.search(line)
            if not found:
                continue
            request, ms = found.group(1), float(found.group(2))
            if request.startswith("POST ") and "/tap/" in request:
                times["tap"].append(ms)
            elif "/bench-baseline/" in request:
                times["baseline"].append(ms)
            else:
                times["other"].append(ms)
        return times

    def worker_pids(self) -> list[int]:
        """The worker processes (children of the gunicorn master)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: finish requests, then exit
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.tmp / "static", ignore_errors=True)
        if self.log_dir == self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Browser:
    """One keep-alive connection to the server, with cookies, behind an HTTPS proxy."""

    def __init__(self, port: int, timeout_s: float = 30.0):
        self.port = port
        self.timeout_s = timeout_s
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout_s)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self, method: str, path: str, fields: dict | None = None, headers: dict | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        body = urlencode(fields, doseq=True).encode() if fields is not None else None
        sent = {
            "X-Forwarded-Proto": "https",  # as the reverse proxy sets it
            "Origin": f"https://{HOST}:{self.port}",
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if method == "POST" and "csrftoken" in self.cookies:
            sent["X-CSRFToken"] = self.cookies["csrftoken"]
        sent.update(headers or {})
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection (as browsers do, send
                # again on a new one; a re-sent tap is safe: it carries its UUID).
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, response.msg, data

    def login(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        match = _CSRF_INPUT.search(page.decode())
        if status != 200 or not match:
            raise RuntimeError(f"login page: HTTP {status}")
        status, headers, _ = self.request(
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": match.group(1), "username": username, "password": password},
            {"Referer": f"https://{HOST}:{self.port}/accounts/login/"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed: HTTP {status}")
