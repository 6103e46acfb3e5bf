"""Checks an HTTP answer against an OpenAPI 3.0 document, with a real JSON-schema validator (OAS 3.0 dialect).

Given the document, a method and the path as sent, `OpenApiChecker.check` finds the operation, insists that the
status and the media type are declared, and validates the body against the declared schema (NDJSON: every line
against it). Anything undeclared is a `SpecViolation`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson",)


class SpecViolation(AssertionError):
    """An answer (or a request) that the OpenAPI document does not declare."""


@dataclass(frozen=True)
class Answer:
    """What the checker needs of an HTTP response."""

    status: int
    content_type: str = ""
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    spec: dict[str, Any]

    def parameters(self, where: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.spec.get("parameters", []) if p.get("in") == where}


def _template_regex(template: str, parameters: dict[str, dict[str, Any]]) -> re.Pattern[str]:
    """`/a/{x}/b` -> a regex of the raw (percent-encoded) path; a parameter spans '/' if it says so."""
    pattern = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]*)\})?", template):
        pattern += re.escape(literal)
        if name:
            multi = parameters.get(name, {}).get("x-multi-segment", False)
            pattern += f"(?P<{name}>{'.+' if multi else '[^/]+'})"
    return re.compile(pattern + r"\Z")


class OpenApiChecker:
    """The operations of one OpenAPI 3.0 document and a validator per declared schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        if not str(spec.get("openapi", "")).startswith("3.0"):
            raise ValueError(f"an OpenAPI 3.0 document is needed, got openapi={spec.get('openapi')!r}")
        self.spec = spec
        self._components = spec.get("components", {})
        self._validators: dict[int, tuple[dict[str, Any], Any]] = {}
        for name, schema in self._components.get("schemas", {}).items():
            OAS30Validator.check_schema(schema)  # a malformed schema fails here, not as a confusing mismatch
        self._routes: list[tuple[re.Pattern[str], str]] = []
        for template, item in spec["paths"].items():
            parameters = {p["name"]: p for op in item.values() if isinstance(op, dict)
                          for p in op.get("parameters", [])}
            self._routes.append((_template_regex(template, parameters), template))
        self._routes.sort(key=lambda route: -len(route[1].split("{")[0]))  # the longest literal prefix first

    def operation(self, method: str, path: str) -> Operation:
        """The operation serving `method path` (the raw path, a query string is ignored)."""
        raw_path = path.split("?", 1)[0]
        for regex, template in self._routes:
            if regex.match(raw_path):
                item = self.spec["paths"][template]
                if method.lower() not in item:
                    raise SpecViolation(f"{method.upper()} {template} is not in the OpenAPI document "
                                        f"(declared: {sorted(m.upper() for m in item)})")
                return Operation(template, method.lower(), item[method.lower()])
        raise SpecViolation(f"no path of the OpenAPI document matches {raw_path!r}")

    def check_query(self, method: str, path: str, names: Iterable[str]) -> None:
        """Every query parameter a request sends must be declared."""
        operation = self.operation(method, path)
        unknown = sorted(set(names) - set(operation.parameters("query")))
        if unknown:
            raise SpecViolation(f"{method.upper()} {operation.template} declares no query parameter {unknown}")

    def check(self, method: str, path: str, answer: Answer) -> Operation:
        """Raise `SpecViolation` unless `answer` is a declared response of the operation serving `method path`."""
        operation = self.operation(method, path)
        where = f"{method.upper()} {path} -> {answer.status} (operation {operation.template})"
        responses = operation.spec.get("responses", {})
        declared = (responses.get(str(answer.status)) or responses.get(f"{answer.status // 100}XX")
                    or responses.get("default"))
        if declared is None:
            raise SpecViolation(f"{where}: status {answer.status} is not declared (declared: {sorted(responses)}); "
                                f"body: {answer.body[:300]!r}")
        content = declared.get("content") or {}
        if not content:
            if answer.body:
                raise SpecViolation(f"{where}: the response declares no content, got {answer.body[:100]!r}")
        elif answer.media_type not in content:
            raise SpecViolation(f"{where}: media type {answer.media_type!r} is not declared ({sorted(content)})")
        else:
            schema = content[answer.media_type].get("schema")
            if schema is not None:
                self._check_body(where, answer, schema)
        self._check_headers(where, answer, declared.get("headers") or {})
        return operation

    def _check_body(self, where: str, answer: Answer, schema: dict[str, Any]) -> None:
        if answer.media_type in JSON_TYPES:
            self.validate(_parse(where, answer.body), schema, where)
        elif answer.media_type in NDJSON_TYPES:
            if answer.body and not answer.body.endswith(b"\n"):
                raise SpecViolation(f"{where}: NDJSON must end with a newline")
            for number, line in enumerate(answer.body.splitlines(), 1):
                self.validate(_parse(f"{where}, line {number}", line), schema, f"{where}, line {number}")

    def _check_headers(self, where: str, answer: Answer, headers: dict[str, Any]) -> None:
        for name, header in headers.items():
            value = answer.headers.get(name)
            if value is None:
                if header.get("required"):
                    raise SpecViolation(f"{where}: required header {name} is missing")
                continue
            schema = header.get("schema", {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    raise SpecViolation(f"{where}: header {name}={value!r} is not an integer") from None
            self.validate(value, schema, f"{where}, header {name}")

    def validate(self, instance: Any, schema: dict[str, Any], where: str = "value") -> None:
        """Validate `instance` against `schema`, whose `$ref`s point into this document's components."""
        cached = self._validators.get(id(schema))
        if cached is None:  # keyed by identity: the document's schemas live as long as the checker
            cached = self._validators[id(schema)] = (
                schema, OAS30Validator({"allOf": [schema], "components": self._components}))
        validator = cached[1]
        error = best_match(validator.iter_errors(instance))
        if error is not None:
            raise SpecViolation(f"{where}: {error.message} at {error.json_path} (schema path "
                                f"{'/'.join(map(str, error.schema_path))})")


def _parse(where: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SpecViolation(f"{where}: body is not JSON ({exc}): {body[:200]!r}") from None
