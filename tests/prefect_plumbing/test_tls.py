"""Prefect's API clients share one verified TLS context (prefect_plumbing.tls), and nothing else changes."""

import ssl

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_TLS_INSECURE_SKIP_VERIFY, PREFECT_API_URL, temporary_settings

from prefect_plumbing.tls import share_tls_context

API = "https://prefect.example/api"  # never called: clients are built, not used


def tls_context(client) -> ssl.SSLContext:
    return client._client._transport._pool._ssl_context


def test_importing_the_flows_changes_nothing_in_prefect():
    import subprocess
    import sys

    code = ("import flows.onboarding.new_client, flows.engagement.sweep; "
            "from prefect.client.orchestration import PrefectClient; "
            "print(getattr(PrefectClient.__init__, 'shares_tls_context', False))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_every_api_client_shares_one_verified_context():
    share_tls_context()
    with temporary_settings({PREFECT_API_URL: API}):
        clients = [get_client(sync_client=True) for _ in range(3)] + [get_client() for _ in range(3)]
    contexts = {id(tls_context(c)) for c in clients}
    assert len(contexts) == 1
    ctx = tls_context(clients[0])
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] > 50  # the certifi bundle, loaded once


def test_a_callers_own_verify_and_the_insecure_setting_are_left_to_prefect():
    share_tls_context()
    own = ssl.create_default_context()
    with temporary_settings({PREFECT_API_URL: API}):
        mine = get_client(sync_client=True, httpx_settings={"verify": own})
        shared = tls_context(get_client(sync_client=True))
    assert tls_context(mine) is own
    with temporary_settings({PREFECT_API_URL: API, PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        insecure = tls_context(get_client(sync_client=True))
    assert insecure is not shared and insecure.verify_mode == ssl.CERT_NONE
