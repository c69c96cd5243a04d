"""The SOP's flows. Importing them makes Prefect's API clients share one TLS context (``onboard.prefect_tls``)."""

from onboard.prefect_tls import share_tls_context

share_tls_context()
