"""PLACEHOLDER: replaced by the zoom emulation."""
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..vendor import SandboxVendor


class ZoomVendor(SandboxVendor):
    name = "zoom"
    prefix = "/zoom"

    def router(self):
        return APIRouter()

    @classmethod
    def sdk_urls(cls, root):
        return {}

    def rate_rule(self, request):
        return None

    def rate_limited(self, verdict):
        return JSONResponse({}, status_code=429)

    def server_error(self, status):
        return JSONResponse({}, status_code=status)
