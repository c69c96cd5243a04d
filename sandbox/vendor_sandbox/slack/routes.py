"""Slack Web API emulation: ``POST /slack/api/<method>`` (GET too), as slack-sdk's WebClient calls it.

Thin routes: parse the arguments (query, form or JSON body), check the token, call the backend,
answer HTTP 200 ``{"ok": ...}`` in Slack's shape [CONTRACTS.md §4].
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxContext, SandboxVendor, atomic, html_table

from . import errors
from .backend import SlackBackend

# Web API tiers, per method per workspace per app [doc:docs.slack.dev/apis/web-api/rate-limits]
TIER_2 = Rule(20, 60.0, "Tier 2")
TIER_3 = Rule(50, 60.0, "Tier 3")
TIER_4 = Rule(100, 60.0, "Tier 4")
METHOD_TIERS: dict[str, Rule] = {
    "auth.test": TIER_4,  # documented as "Special"; generous in practice
    "conversations.create": TIER_2,
    "conversations.invite": TIER_3,
    "conversations.setTopic": TIER_2,
    "conversations.setPurpose": TIER_2,
    "conversations.archive": TIER_2,
    "conversations.unarchive": TIER_2,
    "conversations.info": TIER_3,
    "conversations.list": TIER_2,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.open": TIER_3,
    "users.lookupByEmail": TIER_3,
    "users.info": TIER_4,
    "users.list": TIER_2,
    # chat.postMessage is "Special": 1/s per channel, checked in the backend (the channel is in the body)
}
# The bot token scopes each method accepts, from each method's reference page [doc:docs.slack.dev/
# reference/methods/<method> "Scopes: Bot token"]; auth.test needs none. Each list names a kind of
# conversation per scope (public, private, DM, group DM): the sandbox asks for the first, the one for
# what the SOP uses (public channels, DMs to open and post).
_MANAGE = ("channels:manage", "groups:write", "im:write", "mpim:write")
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "conversations.create": _MANAGE, "conversations.invite": _MANAGE, "conversations.setTopic": _MANAGE,
    "conversations.setPurpose": _MANAGE, "conversations.archive": _MANAGE, "conversations.unarchive": _MANAGE,
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.list": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "chat.postMessage": ("chat:write",),
    "users.lookupByEmail": ("users:read.email",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
}
ALL_SCOPES = sorted({scopes[0] for scopes in METHOD_SCOPES.values()})  # what the live-setup guide asks for


class PersonMessage(BaseModel):
    """A colleague or client writes in Slack (``user`` id or ``email``)."""

    channel: str
    text: str
    email: str | None = None
    user: str | None = None
    thread_ts: str | None = None


class NewPerson(BaseModel):
    name: str
    email: str


class SlackVendor(SandboxVendor):
    name = "slack"
    prefix = "/slack"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.backend = SlackBackend(self.db, ctx)
        ctx.scopes.offer(self.name, ALL_SCOPES)
        b = self.backend
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda a: b.auth_test(),
            "conversations.create": b.conversations_create,
            "conversations.invite": b.conversations_invite,
            "conversations.setTopic": b.conversations_set_topic,
            "conversations.setPurpose": b.conversations_set_purpose,
            "conversations.archive": b.conversations_archive,
            "conversations.unarchive": b.conversations_unarchive,
            "conversations.info": b.conversations_info,
            "conversations.list": b.conversations_list,
            "conversations.history": b.conversations_history,
            "conversations.replies": b.conversations_replies,
            "conversations.open": b.conversations_open,
            "chat.postMessage": b.chat_post_message,
            "users.lookupByEmail": b.users_lookup_by_email,
            "users.info": b.users_info,
            "users.list": b.users_list,
        }

    # ------------------------------------------------------------------ API

    def router(self) -> APIRouter:
        r = APIRouter()

        @r.api_route("/api/{method}", methods=["GET", "POST"])
        async def call(method: str, request: Request) -> Response:
            handler = self.methods.get(method)
            if handler is None:
                return errors.unknown_method(method).response()
            args, token = await _arguments(request)
            if token is None:
                raise errors.slack_error("not_authed")
            if not token.strip():
                raise errors.slack_error("invalid_auth")
            accepted = METHOD_SCOPES.get(method, ())
            provided = ",".join(self.ctx.scopes.granted("slack"))
            # every answer names the token's scopes and the method's (the x-oauth-scopes and
            # x-accepted-oauth-scopes headers [doc:api.slack.com/docs/oauth-scopes])
            headers = {"x-oauth-scopes": provided, "x-accepted-oauth-scopes": ",".join(accepted)}
            if self.ctx.scopes.lacks("slack", accepted[:1]):
                return JSONResponse({"ok": False, "error": "missing_scope", "needed": accepted[0],
                                     "provided": provided}, headers=headers)
            with self.db.transaction():  # one Web API call lands whole
                return JSONResponse(handler(args), headers=headers)

        return r

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"slack": root + "/slack/api/"}

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        method = request.url.path.rsplit("/", 1)[-1]
        rule = METHOD_TIERS.get(method)
        return (method, rule) if rule else None

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.rate_limited_error(verdict.retry_after_header).response()

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # ------------------------------------------------------------------ people

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/messages")
        def person_writes(body: PersonMessage) -> dict[str, Any]:
            """A colleague or client posts in a channel or DM (optionally in a thread)."""
            user = b.get_user(body.user) if body.user else b.find_user_by_email(body.email or "")
            if user is None:
                raise errors.slack_error("user_not_found", 404)
            if body.channel.startswith("D") or body.channel[0] in "UW":
                ch = b.open_im(user["id"]) if body.channel[0] in "UW" else b.conversation(body.channel)
            else:
                ch = b.resolve_channel(body.channel, open_dm=False)
            if ch.get("is_archived"):
                raise errors.slack_error("is_archived", 400)
            msg = b.add_message(ch, user["id"], body.text, thread_ts=body.thread_ts)
            view = b.message_view(msg, with_metadata=False)
            return {"ok": True, "channel": ch["id"], "ts": msg["ts"], "message": view}

        @r.post("/users")
        def person_joins(body: NewPerson) -> dict[str, Any]:
            """Someone joins the workspace (idempotent by email)."""
            return {"ok": True, "user": b.add_user(body.name, body.email)}

        return r

    # ------------------------------------------------------------------ inspection

    def html(self) -> str:
        b = self.backend
        users = [
            {"id": u["id"], "name": u["name"], "real_name": u["real_name"],
             "email": u["profile"].get("email", ""), "is_bot": u["is_bot"]}
            for u in self.db.list("user")
        ]
        names = {u["id"]: u["name"] for u in users}
        channels = [
            {"id": c["id"], "name": "#" + c["name"], "private": c["is_private"], "archived": c["is_archived"],
             "topic": c["topic"]["value"], "purpose": c["purpose"]["value"],
             "members": ", ".join(names.get(m, m) for m in c["_members"])}
            for c in self.db.list("channel")
        ]
        ims = [{"id": i["id"], "with": names.get(i["user"], i["user"])} for i in self.db.list("im")]
        out = f"<p>Team {html.escape(b.team_id)} ({html.escape(b.team()['name'])})</p>"
        out += html_table("users", users, ["id", "name", "real_name", "email", "is_bot"])
        out += html_table("channels", channels, ["id", "name", "private", "archived", "topic", "purpose", "members"])
        out += html_table("direct messages", ims, ["id", "with"])
        for conv in [*self.db.list("channel"), *self.db.list("im")]:
            title = "#" + conv["name"] if "name" in conv else "DM with " + names.get(conv["user"], conv["user"])
            rows = [
                {"ts": m["ts"], "user": names.get(m.get("user", ""), m.get("user", "")),
                 "text": m["text"] or json.dumps(m.get("blocks", []))[:400],
                 "thread_ts": m.get("thread_ts", "") if m.get("thread_ts") != m["ts"] else "",
                 "subtype": m.get("subtype", "")}
                for m in self.db.list(f"messages.{conv['id']}")
            ]
            out += html_table(f"messages in {title}", rows, ["ts", "user", "text", "thread_ts", "subtype"])
        return out


async def _arguments(request: Request) -> tuple[dict[str, Any], str | None]:
    """Method arguments from the query string, a form body or a JSON body, and the token.

    The token comes from ``Authorization: Bearer`` or, for query/form requests, a ``token`` argument;
    JSON bodies need the header [doc:docs.slack.dev/apis/web-api "JSON-encoded bodies"]."""
    args: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST":
        if ctype == "application/json":
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise errors.slack_error("invalid_json") from None
            if not isinstance(body, dict):
                raise errors.slack_error("invalid_json")
            body.pop("token", None)
            args.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    token = args.pop("token", None)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        token = value if scheme.lower() == "bearer" else ""
    return args, token
