"""A TCP relay on loopback in front of moto, for the browser's S3 traffic: tests cut the connection
(reset every open one) or freeze it (bytes stop moving, sockets stay open) to act out a phone losing
its network, which a browser's own offline switch cannot do on loopback. It counts the bytes the
browser sent, so a bench can say how much a cut cost, and can cap the upstream rate (all connections
together), so a bench can also run at the uplink a phone has rather than loopback's."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress


class Relay:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1",
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.target = (host, target_port)
        self._clock, self._sleep = clock, sleep
        self._server = socket.create_server((host, 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._refusing = threading.Event()
        self._stop = threading.Event()
        self.bytes_up = 0  # browser -> S3
        self.uplink_bytes_per_s: float | None = None  # None: as fast as loopback goes
        self._uplink_free_at = 0.0  # monotonic time the capped uplink is next free
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._refusing.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                if up:
                    with self._lock:
                        self.bytes_up += len(data)
                    self._pace(len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            if up:  # the browser went away (a reload, an aborted part): S3 must see a reset, not a short body
                self._reset(sink)
                self._drop(source)
            else:
                self._drop(source, sink)

    def _pace(self, size: int) -> None:
        """With an uplink cap, wait for this chunk's turn on the one shared link."""
        rate = self.uplink_bytes_per_s
        if not rate:
            return
        with self._lock:
            now = self._clock()
            self._uplink_free_at = max(self._uplink_free_at, now) + size / rate
            wait = self._uplink_free_at - now
        self._sleep(wait)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._open.discard(sock)

    def cut(self, *, refuse: bool = True) -> None:
        """Reset every open connection; with `refuse`, new ones are closed too until `restore`."""
        if refuse:
            self._refusing.set()
        with self._lock:
            doomed = list(self._open)
        for sock in doomed:
            self._reset(sock)

    def _reset(self, sock: socket.socket) -> None:
        """Close with linger 0 and no shutdown: the peer gets a reset, never a clean end of stream
        (moto would store a part cut short as if it were whole; S3 refuses a body shorter than sent)."""
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
        with self._lock:
            self._open.discard(sock)

    def freeze(self) -> None:
        """Stop moving bytes (connections stay open: what a stalled mobile link looks like)."""
        self._flowing.clear()

    def restore(self) -> None:
        self._refusing.clear()
        self._flowing.set()

    def close(self) -> None:
        self._stop.set()
        self.restore()
        self.cut(refuse=False)
        self._server.close()
