"""The app sets Prefect's environment (PREFECT_HOME, the ephemeral server's timeout, the log level)
before anything imports Prefect, which reads its settings on import: the modules the app loads first
must not import it."""

import subprocess
import sys


def test_the_app_and_the_services_load_without_importing_prefect():
    code = ("import sys, app.cli, app.demo, app.sandbox, services, services.settings, services.clients; "
            "print(sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
