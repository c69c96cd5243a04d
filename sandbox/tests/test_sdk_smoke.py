"""The README's promise: official SDKs alone, pointed at the printed URLs, work against the sandbox."""

import importlib.util
from pathlib import Path


def test_official_sdks_alone_reach_every_vendor(sandbox, capsys):
    spec = importlib.util.spec_from_file_location("sdk_smoke", Path(__file__).with_name("sdk_smoke.py"))
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    assert smoke.main(sandbox.root) == 0
    out = capsys.readouterr().out
    assert out.count("in /_sandbox/state") == 8, out
