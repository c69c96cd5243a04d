"""An offline sandbox of HubSpot, Asana, Google (Drive, Forms, Gmail, Calendar), Slack, Zoom, Keap, Dropbox Sign and Dropbox.

Each vendor speaks its real HTTP API (paths, status codes, envelopes, error bodies, rate limits),
so the official SDKs run against it unmodified. Laid out like moto: ``core/`` holds the app, the
state store, rate limits and fault injection; each vendor has a thin ``routes.py`` over a
``backend.py`` that keeps its state and an ``errors.py`` with its error bodies.

The client-onboarding project never imports this package from production code: it learns the
sandbox's URLs from ``integrations/sandbox_urls.py``; only its command-line app and tests start one.

Public API::

    SandboxServer(SandboxConfig(...))   # the sandbox on a uvicorn thread; a context manager
    create_app(SandboxConfig(...))      # the ASGI app, to serve it yourself
    sdk_urls(root)                      # the base URL each official SDK takes, by line (VENDOR_LINES)
    FaultConfig(server_error=0.1, ...)  # fault probabilities per vendor (SandboxConfig.faults, POST /_sandbox/config)
    TeamMember(name=..., email=...)     # a colleague seeded in every vendor (SandboxConfig.team)
"""

from vendor_sandbox.asana.routes import AsanaVendor
from vendor_sandbox.core.app import SandboxConfig, TeamMember, create_app, use_vendors
from vendor_sandbox.core.faults import FaultConfig
from vendor_sandbox.core.server import VENDOR_LINES, SandboxServer, free_port, sdk_urls
from vendor_sandbox.dropbox.routes import DropboxVendor
from vendor_sandbox.dropbox_sign.routes import DropboxSignVendor
from vendor_sandbox.google.routes import GoogleVendor
from vendor_sandbox.hubspot.routes import HubSpotVendor
from vendor_sandbox.keap.routes import KeapVendor
from vendor_sandbox.slack.routes import SlackVendor
from vendor_sandbox.zoom.routes import ZoomVendor

# the composition root: the vendors every sandbox serves, in this order (seeding, routes, state, page)
use_vendors(HubSpotVendor, AsanaVendor, GoogleVendor, SlackVendor, ZoomVendor, KeapVendor, DropboxSignVendor,
            DropboxVendor)

__all__ = [
    "VENDOR_LINES",
    "FaultConfig",
    "SandboxConfig",
    "SandboxServer",
    "TeamMember",
    "create_app",
    "free_port",
    "sdk_urls",
]
