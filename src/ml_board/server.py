"""The MLboard app factory: Flask REST blueprint, Flask-SocketIO ingest and live rooms, the dashboard at `/`."""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, jsonify, request, send_from_directory
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from ml_board import wire
from ml_board.access import READERS_ROOM
from ml_board.api import BoardState, api
from ml_board.ingest import LiveIngest
from ml_board.store import EventStore
from ml_board.summaries import Summaries

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 ** 2


def create_app(storage_path: str | os.PathLike, ingest_token: str | None = None, read_token: str | None = None,
               cors_origins: list[str] | None = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
               async_mode: str = "threading") -> tuple[Flask, SocketIO]:
    """Build the board over the event store at `storage_path`.

    `read_token`: if given, every REST route (but the upload) and the Socket.IO `join` need it (see docs/api.md).
    `cors_origins`: origins allowed to call the REST API and connect over Socket.IO (None: same origin only).
    `max_upload_bytes` bounds HTTP request bodies (413 beyond), `max_message_bytes` one Socket.IO message.
    `async_mode`: "threading" under a threaded WSGI server (Werkzeug, gunicorn's gthread worker), "gevent" under
    gevent's server after monkey patching (what `ml_board` does, see `ml_board.serving`).
    """
    app = Flask("ml_board", static_folder=str(STATIC_DIR), static_url_path="")
    app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes
    app.json.sort_keys = False
    store = EventStore(storage_path)
    state = BoardState(store, Summaries(store), ingest_token or None, read_token or None)
    app.extensions["ml_board"] = state
    app.register_blueprint(api, url_prefix="/api")
    _add_cors(app, cors_origins)
    _add_errors(app)

    @app.get("/")
    def index() -> Response:
        if not (STATIC_DIR / "index.html").exists():
            return Response("MLboard: the dashboard is not built; the REST API is at /api/openapi.json",
                            mimetype="text/plain")
        return send_from_directory(STATIC_DIR, "index.html")

    socketio = SocketIO(app, async_mode=async_mode, json=wire, cors_allowed_origins=_origin_check(cors_origins),
                        max_http_buffer_size=max_message_bytes, async_handlers=False, ping_timeout=60,
                        logger=False, engineio_logger=False)
    LiveIngest(socketio, store, ingest_token or None, read_token or None,
               summary_of=state.summaries.summary, health=state.health).register()

    def changed(grid_search_id: str, change: dict) -> None:  # list pages refresh, run pages show the change
        socketio.emit("grid_searches_changed", {"grid_search_id": grid_search_id, **change}, to=READERS_ROOM)

    state.on_changed = changed
    closing = threading.Event()
    app.extensions["ml_board.closing"] = closing
    _tune_websockets(socketio, closing)
    return app, socketio


def close_connections(app: Flask, socketio: SocketIO) -> None:
    """Stop handling messages and disconnect every Socket.IO client (on shutdown).

    A message read after this is dropped, not handled: unacknowledged, a sink sends it again to the next board.
    Blocks until every connection's queue is sent (engineio's close waits for it).
    Without it, the messages already buffered on a connection being closed reach python-socketio after it forgot
    the session, and each is logged as an error (a binary attachment without its header).
    """
    app.extensions["ml_board.closing"].set()
    socketio.server.eio.disconnect()


def _tune_websockets(socketio: SocketIO, closing: threading.Event, receive_bytes: int = 1024 * 1024) -> None:
    """Three tweaks of engineio's simple-websocket wrapper, per connection.

    - Read 1 MiB per recv: by default 4 KiB, which makes a 1 MB batch cost hundreds of parser calls.
    - Yield before reading the next message: under gevent the reply to a message (an ingest ack) is queued for the
      connection's writer greenlet, which would otherwise only run once no further message is buffered, so a
      pipelining sender would wait for acks while its batches are already here. (Under threads: a no-op sleep.)
    - Once `closing` is set, drop the messages still arriving instead of handing them over, until the client has
      closed the connection (which the server's close packet asks it to do).
    """
    eio = socketio.server.eio
    websocket_class = eio._async.get("websocket") if isinstance(getattr(eio, "_async", None), dict) else None
    if websocket_class is None:
        return

    def websocket(handler: Callable, server: object) -> object:
        ws = websocket_class(handler, server)
        if isinstance(getattr(ws, "server_args", None), dict):  # engineio's simple-websocket wrappers
            ws.server_args["receive_bytes"] = receive_bytes
        wait = ws.wait

        def wait_after_yielding() -> object:
            socketio.sleep(0)
            while True:
                message = wait()
                if message is None or not closing.is_set():
                    return message
                # closing: dropped unhandled (so unacknowledged) until the client closes the connection

        ws.wait = wait_after_yielding
        return ws

    eio._async = {**eio._async, "websocket": websocket}


def _origin_check(cors_origins: list[str] | None) -> Callable[[str | None, dict], bool] | None:
    """Socket.IO origin policy: same origin always, plus the configured origins (None: same origin only)."""
    if not cors_origins:
        return None
    allowed = set(cors_origins)

    def check(origin: str | None, environ: dict) -> bool:
        same = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin is None or origin == same or origin in allowed or "*" in allowed

    return check


def _add_cors(app: Flask, cors_origins: list[str] | None) -> None:
    allowed = set(cors_origins or [])

    @app.after_request
    def cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and request.path.startswith("/api/") and ("*" in allowed or origin in allowed):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization, X-Ingest-Token"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, OPTIONS"
        return response


def _add_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not request.path.startswith("/api/"):
            return exc
        response = jsonify(error=exc.description or exc.name)
        response.status_code = exc.code or 500
        return response
