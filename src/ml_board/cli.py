"""`ml_board`: start the board (REST + Socket.IO + dashboard on one port)."""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys

TOKEN_ENV = "MLBOARD_INGEST_TOKEN"
READ_TOKEN_ENV = "MLBOARD_READ_TOKEN"


class UsageError(Exception):
    """Bad command-line input: printed as `ml_board: <message>`, exit status 2."""


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
    parser.add_argument("--port", type=_port, default=5001)
    parser.add_argument("--event_storage_path", default="event_storage", help="folder of the event store")
    parser.add_argument("--ingest_token", default=None,
                        help=f"token required for ingest and checkpoint uploads (or env {TOKEN_ENV})")
    parser.add_argument("--read_token", default=None,
                        help=f"token required to read: REST, live updates, dashboard (or env {READ_TOKEN_ENV}; "
                             "default: reading is open)")
    parser.add_argument("--cors_origins", nargs="*", default=None,
                        help="origins allowed to use the API from a browser (default: same origin only)")
    parser.add_argument("--max_upload_mb", type=float, default=4096, help="largest request body, in MB")
    parser.add_argument("--max_message_mb", type=float, default=64, help="largest Socket.IO message, in MB")
    return parser.parse_args(argv)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 0..65535")
    return port


def token_setting(flag_value: str | None, flag: str, env: str) -> str | None:
    """The token given as `--<flag>`, else by the environment variable `env`, else None.

    A token that is given but empty, or holds whitespace (it could not be sent as `Bearer <token>`), is a
    UsageError: an empty secret must not silently turn the protection off.
    """
    value, source = (flag_value, f"--{flag}") if flag_value is not None else (os.environ.get(env), env)
    if value is None:
        return None
    if not value.strip():
        raise UsageError(f"{source} is empty: give a token, or leave {source} out to run without one")
    if any(ch.isspace() for ch in value):
        raise UsageError(f"{source} must not contain whitespace")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        token = token_setting(args.ingest_token, "ingest_token", TOKEN_ENV)
        read_token = token_setting(args.read_token, "read_token", READ_TOKEN_ENV)
    except UsageError as exc:
        print(f"ml_board: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not token:
        print(f"ml_board: refusing to bind {args.host} without an ingest token: anyone who can reach it could "
              f"write events. Pass --ingest_token or set {TOKEN_ENV}, or bind 127.0.0.1.", file=sys.stderr)
        return 2
    from ml_board import serving

    serving.patch()  # before the app (and its locks) exist
    from ml_board.server import create_app

    app, socketio = create_app(args.event_storage_path, ingest_token=token, read_token=read_token,
                               cors_origins=args.cors_origins,
                               max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                               max_message_bytes=int(args.max_message_mb * 1024 * 1024),
                               async_mode=serving.ASYNC_MODE)
    try:
        server = serving.listen(app, args.host, args.port)
    except OSError as exc:
        print(f"ml_board: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"ml_board: serving {os.path.abspath(args.event_storage_path)} on http://{args.host}:{args.port}"
          f"{' (reading needs the read token)' if read_token else ''}", flush=True)
    serving.serve(server, socketio)
    app.extensions["ml_board"].summaries.close()  # snapshots: the next start need not replay the logs
    print("ml_board: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
