"""The baseline server for bench/ingest.py: the same board app under Werkzeug's development server (threading).

    python bench/werkzeug_board.py PORT STORAGE

What `ml_board` ran on before it moved to gevent; kept here only to measure the production server against it.
"""
from __future__ import annotations

import sys

from ml_board.server import create_app


def main(port: int, storage: str) -> None:
    app, socketio = create_app(storage)
    socketio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
