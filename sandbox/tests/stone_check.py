"""Dropbox's published API specification (the Stone files of github.com/dropbox/dropbox-api-spec, kept in
specs/dropbox-api-spec) and a checker of JSON against its types, for the Dropbox contract tests."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from stone.frontend.frontend import specs_to_ir
from stone.ir import data_types as dt

SPEC_DIR = Path(__file__).parent / "specs" / "dropbox-api-spec"


@cache
def api():
    """The parsed specification (Stone's own front end, as the SDK generator uses it)."""
    return specs_to_ir([(str(p), p.read_text()) for p in sorted(SPEC_DIR.glob("*.stone"))])


def route(name: str):
    """``files/upload`` or ``files/create_folder_v2``: the route, at its version."""
    namespace, _, rest = name.partition("/")
    base, _, version = rest.rpartition("_v") if re.search(r"_v\d+$", rest) else (rest, "", "1")
    return api().namespaces[namespace].routes_by_name[base].at_version[int(version)]


def check(data_type: Any, value: Any, where: str = "$") -> list[str]:
    """Every way ``value`` (parsed JSON) breaks ``data_type``; empty when it conforms. Fields the type does
    not declare count as breaks: the sandbox should send nothing Dropbox does not."""
    problems: list[str] = []
    if dt.is_nullable_type(data_type):
        return [] if value is None else check(data_type.data_type, value, where)
    if dt.is_alias(data_type):
        return check(data_type.data_type, value, where)
    if dt.is_void_type(data_type):
        return [] if value is None else [f"{where}: expected nothing"]
    if dt.is_boolean_type(data_type):
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if dt.is_integer_type(data_type):
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{where}: expected an integer"]
    if dt.is_timestamp_type(data_type):
        try:
            datetime.strptime(value, data_type.format)
            return []
        except (TypeError, ValueError):
            return [f"{where}: {value!r} is not a timestamp {data_type.format}"]
    if dt.is_string_type(data_type):
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if data_type.pattern and not re.fullmatch(data_type.pattern, value):
            problems.append(f"{where}: {value!r} does not match {data_type.pattern}")
        if data_type.min_length is not None and len(value) < data_type.min_length:
            problems.append(f"{where}: shorter than {data_type.min_length}")
        return problems
    if dt.is_list_type(data_type):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [p for i, v in enumerate(value) for p in check(data_type.data_type, v, f"{where}[{i}]")]
    if dt.is_struct_type(data_type):
        return _struct(data_type, value, where, tagged=data_type.has_enumerated_subtypes())
    if dt.is_union_type(data_type):
        return _union(data_type, value, where)
    return [f"{where}: unchecked type {data_type.name}"]


def _struct(data_type: Any, value: Any, where: str, *, tagged: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({data_type.name})"]
    if tagged:  # a struct with enumerated subtypes: ".tag" names the subtype
        subtypes = {s.name: s.data_type for s in data_type.get_enumerated_subtypes()}
        tag = value.get(".tag")
        if tag not in subtypes:
            return [f"{where}: .tag {tag!r} is not one of {sorted(subtypes)}"]
        return _struct(subtypes[tag], {k: v for k, v in value.items() if k != ".tag"}, where,
                       tagged=subtypes[tag].has_enumerated_subtypes())
    fields = {f.name: f for f in data_type.all_fields}
    problems = [f"{where}.{k}: not a field of {data_type.name}" for k in value if k not in fields and k != ".tag"]
    for name, f in fields.items():
        if name in value:
            problems += check(f.data_type, value[name], f"{where}.{name}")
        elif not dt.is_nullable_type(f.data_type) and not f.has_default:
            problems.append(f"{where}.{name}: required by {data_type.name}")
    return problems


def _union(data_type: Any, value: Any, where: str) -> list[str]:
    variants = {f.name: f.data_type for f in data_type.all_fields}
    tag = value if isinstance(value, str) else value.get(".tag") if isinstance(value, dict) else None
    if tag not in variants:
        return [f"{where}: {tag!r} is not a variant of {data_type.name}"]
    inner = variants[tag]
    if isinstance(value, str):
        return [] if dt.is_void_type(inner) else [f"{where}: variant {tag} carries a value"]
    if dt.is_void_type(inner):
        return [f"{where}.{k}: unexpected" for k in value if k != ".tag"]
    unwrapped = dt.unwrap_aliases(dt.unwrap_nullable(inner)[0])[0]
    if dt.is_struct_type(unwrapped) and not unwrapped.has_enumerated_subtypes():  # a struct variant is inlined
        return _struct(unwrapped, {k: v for k, v in value.items() if k != ".tag"}, f"{where}<{tag}>", tagged=False)
    return check(inner, value.get(tag), f"{where}.{tag}")
