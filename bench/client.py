"""
A small HTTP/1.1 load generator on asyncio streams, standard library only.

Each of `concurrency` coroutines sends one request at a time over its own
connection (reopened when the server closes it, as gunicorn's sync workers do
after every response) and times it from the first byte sent to the last byte
read.
"""

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Connection:
    """One keep-alive connection to the server, reopened as needed."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def send(self, request: Request) -> Response:
        began = time.perf_counter()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(request.body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            body = await self.reader.read()
            headers["connection"] = "close"
        seconds = time.perf_counter() - began
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body, seconds)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()


def rss_kib(pid: int) -> int | None:
    """Return the resident memory of process `pid` in KiB, or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclasses.dataclass
class Workers:
    """Requests served by each server worker (``X-Worker-Pid``) and its memory at checkpoints."""

    checkpoints: tuple[int, ...]
    served: Counter[int] = dataclasses.field(default_factory=Counter)
    rss: dict[int, dict[int, int]] = dataclasses.field(default_factory=dict)

    def saw(self, response: Response) -> None:
        pid_text = response.headers.get("x-worker-pid")
        if not pid_text:
            return
        pid = int(pid_text)
        self.served[pid] += 1
        if self.served[pid] in self.checkpoints:
            kib = rss_kib(pid)
            if kib is not None:
                self.rss.setdefault(pid, {})[self.served[pid]] = kib


@dataclasses.dataclass
class Sample:
    """What one timed run of one endpoint gave."""

    seconds: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: Counter[int] = dataclasses.field(default_factory=Counter)
    queries: list[int] = dataclasses.field(default_factory=list)
    failures: list[str] = dataclasses.field(default_factory=list)


# A request to send, and what to do with its answer (None: nothing).
Make = Callable[[], tuple[Request, Callable[[Response], None] | None]]


async def load(
    host: str,
    port: int,
    make: Make,
    *,
    seconds: float,
    concurrency: int,
    ok: Callable[[int], bool],
    workers: Workers,
    stop_when: Callable[[], bool] | None = None,
) -> Sample:
    """Send requests from `make` for `seconds` (or until `stop_when()`), and measure them."""
    sample = Sample()
    deadline = time.perf_counter() + seconds

    async def user() -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < deadline and not (stop_when and stop_when()):
                request, after = make()
                try:
                    response = await connection.send(request)
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
                    await connection.close()
                    sample.statuses[0] += 1
                    sample.failures.append(f"{request.method} {request.path}: {e!r}")
                    continue
                workers.saw(response)
                sample.latencies.append(response.seconds)
                sample.statuses[response.status] += 1
                if "x-query-count" in response.headers:
                    sample.queries.append(int(response.headers["x-query-count"]))
                if not ok(response.status) and len(sample.failures) < 5:
                    sample.failures.append(
                        f"{request.method} {request.path}: {response.status} "
                        + response.body[:200].decode("utf-8", "replace")
                    )
                if after is not None:
                    after(response)
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    sample.seconds = time.perf_counter() - began
    return sample
