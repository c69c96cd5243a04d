"""`onboard demo --storage dropbox --esign dropbox_sign`, twice on one state: the client's Dropbox folder holds
the proposal, the contract and the signed PDF (each with a view-only link) and the upload file request;
the second run creates nothing new anywhere."""

import json
import subprocess
import sys

from tests.app.test_demo import demo_env, objects  # noqa: F401 - demo_env is a fixture

ARGS = ["--storage", "dropbox", "--esign", "dropbox_sign"]


def run(state, env) -> dict:
    proc = subprocess.run([sys.executable, "-m", "app.cli", "demo", *ARGS, "--state", str(state), "--json"],
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_the_documents_live_in_dropbox_and_a_second_run_adds_nothing(tmp_path, demo_env):  # noqa: F811
    state = tmp_path / "demo.db"
    first = run(state, demo_env)
    assert first["outcome"] == "onboarded" and first["resources"]["drive"] == []
    files = {f["path"].rsplit("/", 2)[-2] + "/" + f["path"].rsplit("/", 1)[-1]: f["link"]
             for f in first["resources"]["dropbox"]}
    client = "Acme Corp (Pty) Ltd"
    assert {f"Proposals/Proposal v1 — {client}.pdf", f"Contracts/Service agreement — {client}.pdf",
            f"Contracts/Service agreement — {client} — SIGNED.pdf"} <= set(files)
    assert all(link and link.startswith("https://www.dropbox.com/scl/fi/") for link in files.values())
    (request,) = first["resources"]["dropbox_file_requests"]
    assert request["destination"].endswith(f"{client} (acme-corp.example)/Uploads")
    counts = objects(state)
    assert counts["dropbox/entry"] >= 10 and counts["dropbox/file_request"] == 1

    second = run(state, demo_env)
    assert second["outcome"] == "onboarded" and objects(state) == counts
    assert second["resources"]["dropbox"] == first["resources"]["dropbox"]
