"""Validate response bodies against the ``schemas`` of Google's discovery documents.

The documents are the ones bundled in google-api-python-client (the contract, CONTRACTS.md §3).
Discovery schemas are a JSON-Schema dialect: ``type``/``properties``/``items``/``additionalProperties``,
``$ref`` by schema *name*, and string ``format``s where 64-bit integers travel as decimal strings.
Schemas are closed here: a property the document does not declare is an error (it catches invented fields).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

_INT = re.compile(r"-?\d+")
_UINT = re.compile(r"\d+")


class DiscoveryValidationError(AssertionError):
    pass


@cache
def document(api: str) -> dict[str, Any]:
    """``api`` as ``"drive.v3"``, ``"forms.v1"``, ``"gmail.v1"``, ``"calendar.v3"``."""
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{api}.json"
    return json.loads(path.read_text())


def validate(api: str, schema: str, body: Any, *, patch: dict[str, Any] | None = None) -> None:
    """Raise ``DiscoveryValidationError`` listing every place ``body`` breaks ``schemas[schema]``.

    ``patch`` ({"Schema.property": schema}) overrides a property the document gets wrong; every use
    must be explained where it is made.
    """
    schemas = document(api)["schemas"]
    if patch:
        schemas = {k: json.loads(json.dumps(v)) for k, v in schemas.items()}
        for dotted, value in patch.items():
            name, prop = dotted.split(".", 1)
            schemas[name].setdefault("properties", {})[prop] = value
    errors: list[str] = []
    _check(schemas, {"$ref": schema}, body, schema, errors)
    if errors:
        raise DiscoveryValidationError(f"{api} {schema}:\n  " + "\n  ".join(errors[:20]))


def _check(schemas: dict[str, Any], spec: dict[str, Any], value: Any, where: str, errors: list[str]) -> None:
    if "$ref" in spec:
        name = spec["$ref"]
        if name not in schemas:
            errors.append(f"{where}: unknown schema {name}")
            return
        spec = schemas[name]
    kind = spec.get("type", "any")
    if kind == "any":
        return
    if value is None:
        errors.append(f"{where}: null is not a {kind}")  # Google omits unset fields, never sends null
        return
    if kind == "object":
        if not isinstance(value, dict):
            errors.append(f"{where}: expected object, got {type(value).__name__}")
            return
        props = spec.get("properties", {})
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(schemas, props[key], item, f"{where}.{key}", errors)
            elif extra is not None:
                _check(schemas, extra, item, f"{where}[{key!r}]", errors)
            elif props:
                errors.append(f"{where}: property {key!r} is not in the schema")
        return
    if kind == "array":
        if not isinstance(value, list):
            errors.append(f"{where}: expected array, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(schemas, spec.get("items", {}), item, f"{where}[{i}]", errors)
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected boolean, got {value!r}")
        return
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{where}: expected integer, got {value!r}")
        elif spec.get("format") in ("uint32", "uint64") and value < 0:
            errors.append(f"{where}: expected unsigned, got {value}")
        return
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{where}: expected number, got {value!r}")
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"{where}: expected string, got {value!r}")
            return
        problem = _format_problem(spec.get("format"), value)
        if problem:
            errors.append(f"{where}: {problem}")
        if "enum" in spec and value not in spec["enum"]:
            errors.append(f"{where}: {value!r} not in {spec['enum']}")
        return
    errors.append(f"{where}: unsupported schema type {kind}")


def _format_problem(fmt: str | None, value: str) -> str | None:
    """64-bit integers travel as decimal strings; bytes as base64(url); times as RFC 3339."""
    if fmt == "int64" and not _INT.fullmatch(value):
        return f"int64 must be a decimal string, got {value!r}"
    if fmt == "uint64" and not _UINT.fullmatch(value):
        return f"uint64 must be a decimal string, got {value!r}"
    if fmt == "byte":
        try:
            base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_") + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return f"byte must be base64, got {value[:20]!r}"
    if fmt in ("date-time", "google-datetime"):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"{fmt} must be RFC 3339, got {value!r}"
        if dt.tzinfo is None:
            return f"{fmt} must carry an offset, got {value!r}"
    if fmt == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"date must be YYYY-MM-DD, got {value!r}"
    return None
