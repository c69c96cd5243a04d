"""Readable unique client ids such as ACME-0042 (pure: existing ids come in)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_SUFFIXES = {"inc", "ltd", "llc", "pty", "corp", "co", "the", "and", "gmbh", "plc", "sa", "cc"}


def client_id_prefix(company_name: str) -> str:
    """Up to 4 letters from the company's name, ignoring legal suffixes: 'Acme Corp (Pty) Ltd' -> 'ACME'."""
    ascii_name = unicodedata.normalize("NFKD", company_name).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[A-Za-z0-9]+", ascii_name) if w.lower() not in _SUFFIXES]
    letters = "".join(words)[:4].upper() if len(words) <= 1 else "".join(w[0] for w in words)[:4].upper()
    if len(words) > 1 and len(letters) < 3:
        letters = (words[0] + words[1])[:4].upper()
    return letters or "CLNT"


def next_client_id(company_name: str, taken: Iterable[str]) -> str:
    """The next free ``PREFIX-NNNN`` given the ids already taken."""
    prefix = client_id_prefix(company_name)
    numbers = [int(m.group(1)) for t in taken if (m := re.fullmatch(rf"{prefix}-(\d+)", t))]
    return f"{prefix}-{max(numbers, default=0) + 1:04d}"
