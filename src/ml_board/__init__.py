"""MLboard: the hub between running grid searches and the people watching them.

Socket.IO ingest into an append-only event store per grid search, REST replay and summaries, live rooms, and the
dashboard. Imports only `mlgym.events` and its own modules (never torch).
"""

__all__ = ["create_app"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 - thin lazy re-export of ml_board.server.create_app
    from ml_board.server import create_app as _create_app
    return _create_app(*args, **kwargs)
