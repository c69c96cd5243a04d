"""The project's dependency-free copy of the sandbox's URLs agrees with the sandbox's own, so the two never drift."""

import vendor_sandbox

from integrations import sandbox_urls


def test_sdk_urls_match_the_sandbox():
    root = "http://127.0.0.1:8765"
    ours, theirs = sandbox_urls.sdk_urls(root), vendor_sandbox.sdk_urls(root)
    assert list(ours.items()) == list(theirs.items())  # same lines, same URLs, same order
