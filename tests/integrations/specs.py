"""Validate sandbox responses against the vendors' published specs in ``shared/specs``.

The specs are reference data and are not committed: they are found beside the repository
(``../shared/specs``, where CI puts them) or at ``$ONBOARD_SPECS_DIR``.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

REPO = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    found = Path(os.environ.get("ONBOARD_SPECS_DIR", REPO.parent / "shared" / "specs"))
    if not found.is_dir():
        pytest.skip(f"vendor specs not found at {found} (set ONBOARD_SPECS_DIR)")
    return found


@cache
def _asana() -> dict[str, Any]:
    with open(specs_dir() / "asana" / "asana_oas.yaml") as f:
        return _nullable_allof(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def _nullable_allof(node: Any) -> Any:
    """Asana writes 'nullable $ref' as ``allOf: [$ref, {nullable: true}]``, which validators read as
    'must match $ref'; rewrite it to the meaning the spec intends: ``$ref`` or null."""
    if isinstance(node, list):
        return [_nullable_allof(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_allof(v) for k, v in node.items()}
    parts = node.get("allOf")
    if isinstance(parts, list) and any(p.get("nullable") is True for p in parts if isinstance(p, dict)):
        rest = [p for p in parts if not (isinstance(p, dict) and p.get("nullable") is True)]
        node.pop("allOf")
        node["anyOf"] = [{"allOf": rest}, {"enum": [None]}]
    return node


@cache
def _swagger(name: str) -> dict[str, Any]:
    path = {"slack": "slack/slack_web_openapi_v2.json", "zoom": "zoom/openapi.v2.json"}[name]
    return json.loads((specs_dir() / path).read_text())


def validate_asana(body: Any, schema: str) -> None:
    """``body`` (one object, inside the ``data`` envelope) against ``components.schemas.<schema>``."""
    spec = _asana()
    registry = _registry("urn:asana", spec)
    OAS30Validator({"$ref": f"urn:asana#/components/schemas/{schema}"}, registry=registry).validate(body)


def validate_swagger(
    name: str, body: Any, path: str, method: str = "post", status: int = 200, patch: dict | None = None
) -> None:
    """``body`` against the response schema of ``path``/``method``/``status`` in a Swagger 2.0 spec.

    ``patch`` overrides definitions the stale spec gets wrong (each one named in the calling test).
    """
    spec = copy.deepcopy(_swagger(name)) if patch else _swagger(name)
    for dotted, value in (patch or {}).items():
        node = spec
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
    schema = spec["paths"][path][method]["responses"][str(status)]["schema"]
    uri = f"urn:{name}"
    registry = _registry(uri, {**spec, "__response__": schema})
    Draft4Validator({"$ref": uri + "#/__response__"}, registry=registry).validate(body)


def _registry(uri: str, spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(uri, Resource.from_contents(spec, default_specification=DRAFT4))


KEAP_SPEC = REPO / "sandbox" / "tests" / "specs" / "keap-v1-openapi.trimmed.json"


@cache
def keap_spec() -> dict[str, Any]:
    """Keap's published v1 OpenAPI document, trimmed to the operations used (shipped with the sandbox:
    Apache 2.0; sandbox/tests/specs/README.md)."""
    return json.loads(KEAP_SPEC.read_text())


def validate_keap(body: Any, path: str, method: str, status: int = 200) -> None:
    """``body`` against the response schema Keap publishes for ``method path`` answering ``status``
    (OpenAPI 3.1: JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator
    from referencing.jsonschema import DRAFT202012

    spec = keap_spec()
    assert "content" in spec["paths"][path][method]["responses"][str(status)], (method, path, status)
    pointer = "/".join(("paths", path.replace("~", "~0").replace("/", "~1"), method, "responses", str(status),
                        "content", "application~1json", "schema"))
    registry = Registry().with_resource("urn:keap", Resource.from_contents(spec, default_specification=DRAFT202012))
    Draft202012Validator({"$ref": f"urn:keap#/{pointer}"}, registry=registry).validate(body)
