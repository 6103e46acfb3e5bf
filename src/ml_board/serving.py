"""Runs the board under gevent's WSGI server: one process, one thread, a greenlet per connection.

`patch()` must run before the app is built (it makes `threading`, `socket`, `time.sleep` cooperative, so the
per grid search locks of the ingest and the drain waits of a catch-up yield instead of blocking the process).
`listen()` binds (an OSError says why it cannot), `serve()` then serves until SIGTERM or SIGINT, which disconnect
every Socket.IO client, stop accepting, let running requests finish (at most `grace` seconds) and return.
Why gevent and not gunicorn or Werkzeug: docs/design.md ("MLboard's server").
"""
from __future__ import annotations

import signal
import socket
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

ASYNC_MODE = "gevent"


def patch() -> None:
    """Make the standard library cooperative (gevent's monkey patching); call it before building the app.

    gevent announces each patch to plugins found through package entry points, which scans the metadata of every
    installed distribution several times (~0.6 s of start-up in a virtualenv with torch & co.). The board uses no
    gevent plugin, so the announcements go to in-process subscribers only while patching.
    """
    from gevent import events, monkey

    if monkey.is_module_patched("socket"):
        return
    announce = events.notify_and_call_entry_points
    events.notify_and_call_entry_points = events.notify
    try:
        monkey.patch_all()
    finally:
        events.notify_and_call_entry_points = announce


class _Handler(WSGIHandler):
    """Ends the connection after a websocket: once the websocket handler returns (closed by the server, e.g. at
    shutdown), frames the client still sends must not be read as the next HTTP request."""

    def handle_one_response(self) -> None:
        super().handle_one_response()
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.close_connection = True


class _NoDelayServer(WSGIServer):
    """Sends small frames (acks, live events) at once: with Nagle's algorithm, back-to-back acks of pipelined
    batches wait for the peer's delayed ACK (~40 ms each)."""

    def handle(self, sock: socket.socket, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def listen(app: Any, host: str = "127.0.0.1", port: int = 5001) -> WSGIServer:
    """A server for `app` bound to `host:port` (OSError if it cannot bind), not serving yet."""
    server = _NoDelayServer((host, port), app, spawn=Pool(), log=None, error_log="default",
                            handler_class=_Handler)
    server.init_socket()
    return server


def serve(server: WSGIServer, socketio: Any, grace: float = 5.0) -> None:
    """Serve REST, Socket.IO (real websockets) and the dashboard until SIGTERM or SIGINT."""
    from ml_board.server import close_connections

    def stop() -> None:
        # every websocket handler ends now; engineio waits for each connection's queue to drain, which a client
        # that stopped reading would hold forever: wait at most `grace`
        gevent.spawn(close_connections, server.application, socketio).join(timeout=grace)
        server.stop(timeout=grace)

    handlers = [gevent.signal_handler(signum, gevent.spawn, stop) for signum in (signal.SIGTERM, signal.SIGINT)]
    try:
        server.serve_forever()
    finally:
        for handler in handlers:  # kept referenced until here: a collected handler stops watching
            handler.cancel()
