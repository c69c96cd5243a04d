"""Plumbing around Prefect itself, apart from the SOP: the TLS context its API clients share, the
throw-away databases of tests and benchmarks, and its server run as it scales out (API and services
as separate processes on PostgreSQL and Redis). Each workaround names the Prefect version it was
checked on."""
