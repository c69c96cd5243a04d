"""Token scopes [CONTRACTS §6]: what each vendor's app was granted, checked on every call.

Each vendor offers the scopes its app holds when set up as docs/live-setup.md asks (``offer``); a
sandbox grants all of them except the ones withheld (``SandboxConfig.withheld_scopes``). An
administrator adds a scope later through ``POST /_sandbox/admin/scopes``, as adding it to the app and
installing it again does. A call is refused when none of the scopes it accepts is granted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping


class ScopeGrants:
    def __init__(self, withheld: Mapping[str, Iterable[str]] | None = None) -> None:
        self._withheld = {vendor: set(scopes) for vendor, scopes in (withheld or {}).items()}
        self._offered: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def offer(self, vendor: str, scopes: Iterable[str]) -> None:
        """The scopes ``vendor``'s app holds when set up as the guide says."""
        with self._lock:
            self._offered[vendor] = set(scopes)

    def granted(self, vendor: str) -> list[str]:
        with self._lock:
            return sorted(self._offered.get(vendor, set()) - self._withheld.get(vendor, set()))

    def lacks(self, vendor: str, accepted: Iterable[str]) -> bool:
        """True when a call that accepts any one of ``accepted`` is refused: none of them is granted."""
        accepted = set(accepted)
        return bool(accepted) and not accepted & set(self.granted(vendor))

    def change(self, vendor: str, grant: Iterable[str] = (), withhold: Iterable[str] = ()) -> None:
        """Grant and withhold scopes of ``vendor``'s app (a granted scope is offered from then on)."""
        with self._lock:
            held = self._withheld.setdefault(vendor, set())
            held.difference_update(grant)
            held.update(withhold)
            self._offered.setdefault(vendor, set()).update(grant)

    def withheld(self) -> dict[str, list[str]]:
        with self._lock:
            return {v: sorted(s) for v, s in self._withheld.items() if s}
