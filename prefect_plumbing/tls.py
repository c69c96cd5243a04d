"""One TLS context for every Prefect API client of a process.

Prefect builds a new verified ``SSLContext`` (the certifi bundle, or ``PREFECT_API_SSL_CERT_FILE``)
for each API client it makes: one per subflow run, per pause, per resume. With OpenSSL 3.0 (Debian
12's) that is ~50 ms of CPU, with the GIL held: about a second of a new-client run on a zero-latency
sandbox (``bench/overhead.py``; README, "Where a run's time goes"). The context is the same every
time and httpx only reads it, so it is built once per certificate file and handed to every client.
A caller's own ``verify`` and ``PREFECT_API_TLS_INSECURE_SKIP_VERIFY`` are left to Prefect.

Called explicitly, never on import: by ``services.build_services`` (every run) and by the app before
it first talks to Prefect. Checked on Prefect 3.8.8 (``PrefectClient.__init__(httpx_settings=...)``).
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import certifi
from prefect.client.orchestration import PrefectClient, SyncPrefectClient
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY


@functools.lru_cache(maxsize=4)
def verified_context(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def share_tls_context() -> None:
    """Make every Prefect API client built from now on use the process's one verified context."""
    for cls in (PrefectClient, SyncPrefectClient):
        if not getattr(cls.__init__, "shares_tls_context", False):
            cls.__init__ = _sharing(cls.__init__)


def _sharing(init):
    @functools.wraps(init)
    def wrapper(self, *args: Any, httpx_settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        settings = dict(httpx_settings or {})
        if "verify" not in settings and not PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value():
            settings["verify"] = verified_context(PREFECT_API_SSL_CERT_FILE.value() or certifi.where())
        init(self, *args, httpx_settings=settings, **kwargs)

    wrapper.shares_tls_context = True
    return wrapper
