"""`ml_board`: start the board (REST + Socket.IO + dashboard on one port)."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

TOKEN_ENV = "MLBOARD_INGEST_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether binding `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ml_board", description="MLboard: event store, REST API and dashboard.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--event_storage_path", default="event_storage", help="folder of the event store")
    parser.add_argument("--ingest_token", default=None,
                        help=f"token required for ingest and checkpoint uploads (or env {TOKEN_ENV})")
    parser.add_argument("--cors_origins", nargs="*", default=None,
                        help="origins allowed to use the API from a browser (default: same origin only)")
    parser.add_argument("--max_upload_mb", type=float, default=4096, help="largest request body, in MB")
    parser.add_argument("--max_message_mb", type=float, default=64, help="largest Socket.IO message, in MB")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    token = args.ingest_token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token:
        print(f"ml_board: refusing to bind {args.host} without an ingest token: anyone who can reach it could "
              f"write events. Pass --ingest_token or set {TOKEN_ENV}, or bind 127.0.0.1.", file=sys.stderr)
        return 2
    from ml_board.server import create_app, serve

    app, socketio = create_app(args.event_storage_path, ingest_token=token, cors_origins=args.cors_origins,
                               max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                               max_message_bytes=int(args.max_message_mb * 1024 * 1024))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"ml_board: serving {os.path.abspath(args.event_storage_path)} on http://{args.host}:{args.port}",
          flush=True)
    serve(app, socketio, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
