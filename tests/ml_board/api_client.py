"""`requests` against a board's REST API, every answer checked against the OpenAPI document that board serves."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from tests.ml_board.openapi_check import Answer, OpenApiChecker


def answer_of(response: requests.Response) -> Answer:
    """The checker's view of a response (reads the body; `response.content` stays available)."""
    return Answer(response.status_code, response.headers.get("Content-Type", ""), response.content,
                  response.headers)


class ApiClient:
    """HTTP calls to one board at `base_url`; its `/api/openapi.json` is fetched once and checks every answer.

    `token`: sent as `Authorization: Bearer` with every request (a request's own headers win). `spec_token`: the
    read token to fetch the document with, for a client that itself sends none (default: `token`).
    """

    def __init__(self, base_url: str, timeout: float = 30.0, token: str | None = None,
                 spec_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        spec_token = spec_token or token
        response = requests.get(f"{self.base_url}/api/openapi.json", timeout=timeout,
                                headers={"Authorization": f"Bearer {spec_token}"} if spec_token else {})
        response.raise_for_status()
        self.checker = OpenApiChecker(response.json())
        self.checker.check("get", "/api/openapi.json", answer_of(response))

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("get", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("post", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`requests.request` on `base_url + path` (path as sent, percent-encoded), then the spec check."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        query = [name for name, _ in parse_qsl(urlsplit(path).query)] + list(kwargs.get("params") or {})
        self.checker.check_query(method, path, query)
        response = requests.request(method, self.base_url + path, **kwargs)
        self.checker.check(method, path, answer_of(response))
        return response
