"""Slack: the SlackChat integration (slack-sdk WebClient) against the sandbox's Web API emulation.

Contract: CONTRACTS.md §4 and the published spec ``slack/slack_web_openapi_v2.json``.
"""

from __future__ import annotations

import re
import uuid
from urllib.error import URLError

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from integrations import retry
from integrations import slack as slack_mod
from integrations.errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient
from integrations.slack import SlackChat, channel_name, connect

from .specs import _swagger, validate_swagger

TOKEN = "sandbox-token"
ADMIN = "admin@sandbox.example"  # the default sandbox team member


# The published spec writes "one of these objects" as a tuple-form ``items`` list with no ``type``,
# which JSON Schema applies to arrays only: as written it accepts any channel or user object.
# Patch it to the variant we return (public/private channel; non-enterprise user) so the test checks.
def _strict() -> dict:
    d = _swagger("slack")["definitions"]
    return {
        "definitions.objs_conversation": d["objs_conversation"]["items"][0],
        "definitions.objs_user": d["objs_user"]["items"][0],
    }


def _with_metadata() -> dict:
    """Message metadata (chat.postMessage ``metadata``, 2022) postdates the spec's objs_message,
    whose additionalProperties:false would refuse the field Slack now returns."""
    msg = dict(_swagger("slack")["definitions"]["objs_message"])
    msg["properties"] = {**msg["properties"], "metadata": {"type": "object"}}
    return {**_strict(), "definitions.objs_message": msg}


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api(sandbox, method: str, token: str | None = TOKEN, **args) -> httpx.Response:
    """A raw form-encoded Web API call, as a curl user would make it."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(sandbox.urls["slack"] + method, data=args, headers=headers, timeout=30)


@pytest.fixture
def chat(sandbox) -> SlackChat:
    return connect(TOKEN, base_url=sandbox.urls["slack"])


@pytest.fixture
def channel(chat):
    return chat.ensure_channel(uniq("chan"))


def new_person(sandbox, name: str = "Pat Example") -> tuple[str, str]:
    email = f"{uniq('pat')}@client.example"
    r = httpx.post(sandbox.root + "/_sandbox/slack/users", json={"name": name, "email": email})
    assert r.status_code == 200, r.text
    return r.json()["user"]["id"], email


# --- connect


def test_auth_test_is_the_bot(sandbox, chat):
    body = api(sandbox, "auth.test").json()
    validate_swagger("slack", body, "/auth.test", "get")
    assert re.fullmatch(r"U[A-Z0-9]{8,}", body["user_id"]) and re.fullmatch(r"B[A-Z0-9]{8,}", body["bot_id"])
    assert body["team_id"].startswith("T")
    assert chat.bot_user_id() == body["user_id"]


def test_missing_or_empty_token_is_refused_with_http_200(sandbox):
    r = api(sandbox, "auth.test", token=None)
    assert (r.status_code, r.json()) == (200, {"ok": False, "error": "not_authed"})
    r = httpx.post(sandbox.urls["slack"] + "auth.test", headers={"Authorization": "Basic eDp5"})
    assert r.json() == {"ok": False, "error": "invalid_auth"}
    assert httpx.post(sandbox.urls["slack"] + "auth.test", data={"token": ""}).json()["error"] == "invalid_auth"
    # the token may come as a form field instead of the header
    assert httpx.post(sandbox.urls["slack"] + "auth.test", data={"token": "xoxb-1"}).json()["ok"] is True
    r = api(sandbox, "nope.method")
    assert r.status_code == 404 and r.json()["error"] == "unknown_method"


# --- operations


def test_users_lookup_info_and_list(sandbox, chat):
    admin = chat.user_id_by_email(ADMIN)
    assert admin and admin.startswith("U")
    assert chat.user_id_by_email(ADMIN.upper()) == admin  # emails match case-insensitively
    assert chat.user_id_by_email("nobody@nowhere.example") is None

    body = api(sandbox, "users.lookupByEmail", email=ADMIN).json()
    validate_swagger("slack", body, "/users.lookupByEmail", "get", patch=_strict())
    assert body["user"]["profile"]["email"] == ADMIN and body["user"]["real_name"] == "Sandbox Admin"
    assert api(sandbox, "users.lookupByEmail", email="x@y.example").json() == {"ok": False, "error": "users_not_found"}

    body = api(sandbox, "users.info", user=admin).json()
    validate_swagger("slack", body, "/users.info", "get", patch=_strict())
    assert api(sandbox, "users.info", user="U0NOSUCH00").json()["error"] == "user_not_found"

    body = api(sandbox, "users.list").json()
    validate_swagger("slack", body, "/users.list", "get", patch=_strict())
    bots = [u for u in body["members"] if u["is_bot"]]
    assert chat.bot_user_id() in {u["id"] for u in bots}
    assert admin in {u["id"] for u in body["members"]}


def test_someone_joins_the_workspace(sandbox, chat):
    uid, email = new_person(sandbox, "Zoë Brontë")
    assert chat.user_id_by_email(email) == uid
    # joining again with the same email is the same person
    again = httpx.post(sandbox.root + "/_sandbox/slack/users", json={"name": "Z", "email": email}).json()
    assert again["user"]["id"] == uid


@pytest.mark.parametrize(
    ("raw", "suffix", "expected"),
    [
        ("Acme Corp", "", "acme-corp"),
        ("Café Müller & Söhne GmbH", "", "cafe-muller-and-sohne-gmbh"),
        ("  --Ørsted  A/S--  ", "ext", "orsted-a-s-ext"),
        ("O'Brien_Partners, L.L.C.", "", "o-brien-partners-l-l-c"),
    ],
)
def test_channel_name_examples(raw, suffix, expected):
    assert channel_name(raw, suffix) == expected


def test_channel_name_never_empty_and_fits():
    assert re.fullmatch(r"client-[0-9a-f]{8}", channel_name("株式会社"))
    assert channel_name("株式会社") != channel_name("有限会社")  # different clients, different channels
    assert channel_name("!!!").startswith("client-")
    long = channel_name("Very Long Client Name " * 10, "onboarding")
    assert len(long) <= 80 and long.endswith("-onboarding") and "--" not in long


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(max_size=30))
def test_channel_name_is_always_valid(raw, suffix):
    name = channel_name(raw, suffix)
    assert re.fullmatch(r"[a-z0-9_-]{1,80}", name) and any(c.isalnum() for c in name)


def test_generated_names_are_accepted_by_slack(chat):
    for raw in ("Ünïcödé Ltd.", "日本の会社", "x" * 200):
        name = channel_name(raw + uuid.uuid4().hex[:6], "client")
        assert chat.ensure_channel(name).name == name


def test_create_response_matches_spec_and_name_taken(sandbox, chat):
    name = uniq("spec")
    body = api(sandbox, "conversations.create", name=name, is_private="1").json()
    validate_swagger("slack", body, "/conversations.create", patch=_strict())
    ch = body["channel"]
    assert re.fullmatch(r"C[A-Z0-9]{8,}", ch["id"]) and ch["name"] == name and ch["is_private"] is True
    assert ch["creator"] == chat.bot_user_id() and ch["is_archived"] is False
    assert api(sandbox, "conversations.create", name=name).json() == {"ok": False, "error": "name_taken"}
    name80 = "a" * 72 + uuid.uuid4().hex[:8]
    assert api(sandbox, "conversations.create", name=name80).json()["ok"] is True


def test_channel_info_and_not_found(sandbox, chat, channel):
    assert chat.channel_info(channel.id) == channel
    body = api(sandbox, "conversations.info", channel=channel.id).json()
    validate_swagger("slack", body, "/conversations.info", "get", patch=_strict())
    with pytest.raises(NotFound):
        chat.channel_info("C0NOSUCH000")
    assert api(sandbox, "conversations.info", channel="C0NOSUCH000").json()["error"] == "channel_not_found"


def test_topic_and_purpose(sandbox, chat, channel):
    ch = chat.set_topic(channel.id, "Onboarding Acme")
    assert ch.topic == "Onboarding Acme"
    chat.set_topic(channel.id, "Onboarding Acme")  # unchanged: no second call
    chat.set_purpose(channel.id, "Where we onboard Acme")
    info = chat.channel_info(channel.id)
    assert (info.topic, info.purpose) == ("Onboarding Acme", "Where we onboard Acme")
    topic_events = [m for m in chat.history(channel.id) if m.subtype == "channel_topic"]
    assert len(topic_events) == 1

    body = api(sandbox, "conversations.setPurpose", channel=channel.id, purpose="p2").json()
    validate_swagger("slack", body, "/conversations.setPurpose", patch=_strict())
    assert body["channel"]["purpose"]["creator"] == chat.bot_user_id()
    body = api(sandbox, "conversations.setTopic", channel=channel.id, topic="t2").json()
    validate_swagger("slack", body, "/conversations.setTopic", patch=_strict())
    with pytest.raises(InvalidInput, match="too_long"):
        chat.set_topic(channel.id, "x" * 251)
    assert chat.set_topic(channel.id, "y" * 250).topic == "y" * 250


def test_archive(sandbox, chat):
    ch = chat.ensure_channel(uniq("arch"))
    body = api(sandbox, "conversations.archive", channel=ch.id).json()
    validate_swagger("slack", body, "/conversations.archive")
    assert api(sandbox, "conversations.archive", channel=ch.id).json()["error"] == "already_archived"
    chat.archive(ch.id)  # already archived is fine
    assert chat.channel_info(ch.id).is_archived
    with pytest.raises(NotFound, match="is_archived"):
        chat.post(ch.id, "too late")
    with pytest.raises(NotFound):
        chat.archive("C0NOSUCH000")


def test_post_text_and_blocks(sandbox, chat, channel):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Welcome"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Kick-off* on Monday"}},
        {"type": "divider"},
    ]
    msg = chat.post(channel.id, "Welcome, kick-off on Monday", blocks)
    assert re.fullmatch(r"\d{10}\.\d{6}", msg.ts) and msg.channel == channel.id
    assert msg.user == chat.bot_user_id() and msg.bot_id.startswith("B")
    second = chat.post(channel.id, "second")
    assert float(second.ts) > float(msg.ts)
    texts = [m.text for m in chat.history(channel.id) if m.subtype is None]
    assert texts == ["Welcome, kick-off on Monday", "second"]  # oldest first

    r = httpx.post(
        sandbox.urls["slack"] + "chat.postMessage",
        json={"channel": channel.id, "blocks": blocks},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    body = r.json()
    validate_swagger("slack", body, "/chat.postMessage")
    assert body["message"]["blocks"] == blocks and body["channel"] == channel.id


def test_post_to_a_user_opens_a_dm(sandbox, chat):
    uid, email = new_person(sandbox)
    msg = chat.post(uid, "Hi! Your onboarding starts today.")
    assert re.fullmatch(r"D[A-Z0-9]{8,}", msg.channel)
    assert chat.post(uid, "again").channel == msg.channel  # one DM per person
    # the person answers in the DM; the bot reads it back
    reply = {"channel": msg.channel, "email": email, "text": "Thanks!"}
    r = httpx.post(sandbox.root + "/_sandbox/slack/messages", json=reply)
    assert r.status_code == 200
    assert [m.text for m in chat.history(msg.channel)][-1] == "Thanks!"


def test_replies_and_history_window(sandbox, chat, channel):
    _, email = new_person(sandbox, "Client Person")
    question = chat.post(channel.id, "Which date suits you?")
    people = sandbox.root + "/_sandbox/slack/messages"
    r = httpx.post(people, json={"channel": channel.id, "email": email, "text": "Tuesday", "thread_ts": question.ts})
    assert r.status_code == 200 and r.json()["message"]["thread_ts"] == question.ts
    r = httpx.post(people, json={"channel": "#" + channel.name, "email": email, "text": "Also: hello all"})
    top = r.json()["ts"]
    later = chat.history(channel.id, oldest=question.ts)
    assert [m.text for m in later] == ["Also: hello all"]  # oldest is exclusive; replies stay in the thread
    parent = next(m for m in chat.history(channel.id) if m.ts == question.ts)
    assert parent.reply_count == 1 and parent.thread_ts == question.ts
    replies = api(sandbox, "conversations.replies", channel=channel.id, ts=question.ts).json()
    assert [m["text"] for m in replies["messages"]] == ["Which date suits you?", "Tuesday"]
    assert chat.history(channel.id, oldest=top) == []
    body = api(sandbox, "conversations.history", channel=channel.id, limit="2").json()
    assert body["has_more"] is True and body["response_metadata"]["next_cursor"]
    r = httpx.post(people, json={"channel": channel.id, "email": "stranger@x.example", "text": "?"})
    assert r.status_code == 404


def test_inspection_page_shows_channels_and_messages(sandbox, chat, channel):
    chat.post(channel.id, "visible on the page")
    page = httpx.get(sandbox.root + "/").text
    assert "#" + channel.name in page and "visible on the page" in page
    state = sandbox.state()["slack"]
    assert any(c["id"] == channel.id for c in state["channel"])


# --- idempotency


def test_ensure_channel_is_find_or_create(chat):
    name = uniq("acme")
    first = chat.ensure_channel(name)
    again = chat.ensure_channel(name)  # name_taken → the existing channel is adopted
    assert again == first and first.name == name and not first.is_private
    assert first.created and not again.created
    private = chat.ensure_channel(uniq("secret"), is_private=True)
    assert private.is_private and chat.ensure_channel(private.name, is_private=True).id == private.id


def test_ensure_channel_on_an_archived_name_conflicts(chat):
    ch = chat.ensure_channel(uniq("old"))
    chat.archive(ch.id)
    with pytest.raises(Conflict) as info:
        chat.ensure_channel(ch.name)
    assert info.value.existing_id == ch.id


def test_invite_is_idempotent(sandbox, chat, channel):
    a, _ = new_person(sandbox)
    b, _ = new_person(sandbox)
    body = api(sandbox, "conversations.invite", channel=channel.id, users=a).json()
    validate_swagger("slack", body, "/conversations.invite", patch=_strict())
    raw = api(sandbox, "conversations.invite", channel=channel.id, users=f"{a},{b}").json()
    assert raw["error"] == "already_in_channel" and raw["errors"][0]["user"] == a
    chat.invite(channel.id, [a, b])  # a is in already: b still gets invited
    chat.invite(channel.id, [a, b])
    joined = [m.user for m in chat.history(channel.id) if m.subtype == "channel_join"]
    assert joined.count(a) == 1 and joined.count(b) == 1


def test_post_with_dedupe_key_posts_once(sandbox, chat, channel):
    key = uniq("welcome")
    first = chat.post(channel.id, "Welcome!", dedupe_key=key)
    again = chat.post(channel.id, "Welcome!", dedupe_key=key)
    assert again.ts == first.ts and first.dedupe_key == key
    assert [m.text for m in chat.history(channel.id)].count("Welcome!") == 1
    uid, _ = new_person(sandbox)
    dm = chat.post(uid, "Hello", dedupe_key=key)
    assert chat.post(uid, "Hello", dedupe_key=key).ts == dm.ts
    body = api(sandbox, "conversations.history", channel=channel.id, include_all_metadata="true").json()
    validate_swagger("slack", body, "/conversations.history", "get", patch=_with_metadata())
    tagged = [m for m in body["messages"] if "metadata" in m]
    assert tagged[0]["metadata"]["event_payload"] == {"dedupe_key": key}


# --- errors


def slack_error(status: int, body: dict, headers: dict | None = None) -> SlackApiError:
    """The SDK's exception for a Web API answer (HTTP 200 with ``"ok": false``, or a 429/5xx)."""
    response = SlackResponse(client=None, http_verb="POST", api_url="https://slack.com/api/conversations.info",
                             req_args={}, data=body, headers=headers or {}, status_code=status)
    return SlackApiError("The request to the Slack API failed.", response)


def test_translate_maps_status_and_error_code_to_our_errors():
    gone = slack_mod.translate(slack_error(200, {"ok": False, "error": "channel_not_found"}))
    assert isinstance(gone, NotFound) and gone.detail == "channel_not_found"
    taken = slack_mod.translate(slack_error(200, {"ok": False, "error": "name_taken"}))  # Slack's 409
    assert isinstance(taken, Conflict) and taken.detail == "name_taken"
    limited = slack_mod.translate(slack_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0 and limited.status == 429
    down = slack_mod.translate(slack_error(503, {"ok": False, "error": "service_unavailable"}))
    assert isinstance(down, Transient) and down.status == 503
    assert isinstance(slack_mod.translate(slack_error(200, {"ok": False, "error": "internal_error"})), Transient)
    assert isinstance(slack_mod.translate(slack_error(200, {"ok": False, "error": "invalid_blocks"})), InvalidInput)
    assert type(slack_mod.translate(slack_error(200, {"ok": False, "error": "not_authed"}))) is IntegrationError
    assert isinstance(slack_mod.translate(URLError("connection refused")), Transient)
    other = KeyError("not the vendor's")
    assert slack_mod.translate(other) is other


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Acme Corp", "invalid_name_specials"),
        ("ACME", "invalid_name_specials"),  # upper case counts as a special character
        ("acme corp", "invalid_name_specials"),
        ("café", "invalid_name_specials"),
        ("", "invalid_name_required"),
        ("---", "invalid_name_punctuation"),
        ("a" * 81, "invalid_name_maxlength"),
    ],
)
def test_create_validates_names_never_normalises(sandbox, name, error):
    r = api(sandbox, "conversations.create", name=name)
    assert (r.status_code, r.json()) == (200, {"ok": False, "error": error})


def test_acme_corp_through_the_sdk(chat):
    with pytest.raises(SlackApiError) as info:
        chat._client.conversations_create(name="Acme Corp")
    assert info.value.response.status_code == 200 and info.value.response["error"] == "invalid_name_specials"
    with pytest.raises(InvalidInput, match="invalid_name_specials"):
        chat.ensure_channel("Acme Corp")


def test_invite_errors(sandbox, chat, channel):
    with pytest.raises(NotFound, match="user_not_found"):
        chat.invite(channel.id, ["U0NOSUCH000"])
    with pytest.raises(InvalidInput, match="cant_invite_self"):
        chat.invite(channel.id, [chat.bot_user_id()])
    uid, _ = new_person(sandbox)
    with pytest.raises(NotFound, match="channel_not_found"):
        chat.invite("C0NOSUCH000", [uid])
    chat.archive(channel.id)
    assert api(sandbox, "conversations.invite", channel=channel.id, users=uid).json()["error"] == "is_archived"


def test_post_errors(sandbox, chat, channel):
    with pytest.raises(InvalidInput, match="no_text"), pytest.warns(UserWarning, match="`text` argument is missing"):
        chat.post(channel.id, "")
    with pytest.raises(InvalidInput, match="invalid_blocks"):
        chat.post(channel.id, "x", [{"type": "section"}])  # a section needs text or fields
    with pytest.raises(InvalidInput, match="invalid_blocks"):
        chat.post(channel.id, "x", [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}])
    body = api(sandbox, "chat.postMessage", channel=channel.id, blocks='[{"type": "nonsense"}]').json()
    assert body["error"] == "invalid_blocks" and "json-pointer:/blocks/0/type" in body["errors"][0]
    body = api(sandbox, "chat.postMessage", channel=channel.id, blocks="{not json").json()
    assert body["error"] == "invalid_blocks_format"
    with pytest.raises(NotFound, match="channel_not_found"):
        chat.post("C0NOSUCH000", "hello?")


# --- retries and rate limits


def _count_429s(chat: SlackChat, method: str) -> list[int]:
    """Wrap one SDK method of this client to record the 429s it sees."""
    seen: list[int] = []
    inner = getattr(chat._client, method)

    def spy(**kwargs):
        try:
            return inner(**kwargs)
        except SlackApiError as exc:
            seen.append(exc.response.status_code)
            raise

    setattr(chat._client, method, spy)
    return seen


def _count_calls(chat: SlackChat, method: str) -> list[dict]:
    calls: list[dict] = []
    inner = getattr(chat._client, method)

    def spy(**kwargs):
        calls.append(kwargs)
        return inner(**kwargs)

    setattr(chat._client, method, spy)
    return calls


def test_tier_2_burst_waits_and_succeeds(vendor_limits, chat):
    seen = _count_429s(chat, "conversations_create")
    names = [uniq("burst") for _ in range(23)]  # Tier 2: 20 per minute (12 s with the 0.2 scale)
    made = [chat.ensure_channel(n) for n in names]
    assert [c.name for c in made] == names
    assert 429 in seen

    # the raw 429 while the window is still full
    for _ in range(25):
        r = api(vendor_limits, "conversations.create", name=uniq("raw"))
        if r.status_code == 429:
            break
    assert r.status_code == 429 and r.json() == {"ok": False, "error": "ratelimited"}
    assert int(r.headers["Retry-After"]) >= 1


def test_post_message_is_limited_per_channel(vendor_limits, chat):
    # the real 1-per-second window: a 50 ms window is too short to hit reliably on a busy machine
    vendor_limits.configure(rate_limits="vendor", time_scale=1.0)
    ch = chat.ensure_channel(uniq("chatty"))
    other = chat.ensure_channel(uniq("quiet"))
    seen = _count_429s(chat, "chat_postMessage")
    posted = [chat.post(ch.id, f"burst {i}") for i in range(3)]
    assert len({m.ts for m in posted}) == 3 and seen.count(429) >= 1
    for _ in range(10):  # 1 per second per channel
        r = api(vendor_limits, "chat.postMessage", channel=ch.id, text="now")
        if r.status_code == 429:
            break
    assert r.status_code == 429 and r.json() == {"ok": False, "error": "ratelimited"} and "Retry-After" in r.headers
    assert api(vendor_limits, "chat.postMessage", channel=other.id, text="elsewhere").json()["ok"] is True


def test_rate_limited_maps_to_retry_after(sandbox, faults, chat):
    faults("slack", rate_limit=1.0)
    with pytest.raises(RateLimited) as info:
        chat._call(lambda: chat._client.auth_test(), idempotent=True, method="auth.test", attempts=1)
    assert info.value.retry_after == 1.0


def test_server_errors_are_transient_and_only_idempotent_calls_retry(sandbox, faults, chat, channel, monkeypatch):
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)  # keep the retries instant
    info_calls = _count_calls(chat, "conversations_info")
    post_calls = _count_calls(chat, "chat_postMessage")
    faults("slack", server_error=1.0)
    with pytest.raises(Transient) as exc:
        chat.channel_info(channel.id)
    assert exc.value.status == 500 and len(info_calls) == retry.MAX_ATTEMPTS
    with pytest.raises(Transient):
        chat.post(channel.id, "not retried")
    assert len(post_calls) == 1  # a plain create is not re-sent after a 5xx
    faults("slack", unavailable=1.0)
    with pytest.raises(Transient) as exc:
        chat.user_id_by_email(ADMIN)
    assert exc.value.status == 503
    faults("slack", server_error=0.5)  # seeded: intermittent 5xx, the read gets through
    assert chat.channel_info(channel.id).id == channel.id
    faults("slack")
    assert "not retried" not in [m.text for m in chat.history(channel.id)]


# --- pagination


def test_list_pages_with_cursor(sandbox, chat):
    mine = {chat.ensure_channel(uniq("page")).id for _ in range(5)}
    seen, cursor, pages = [], "", 0
    while True:
        body = api(sandbox, "conversations.list", limit="2", cursor=cursor, types="public_channel").json()
        validate_swagger("slack", body, "/conversations.list", "get", patch=_strict())
        assert len(body["channels"]) <= 2
        seen += [c["id"] for c in body["channels"]]
        pages += 1
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages >= 3 and mine <= set(seen) and len(seen) == len(set(seen))
    assert api(sandbox, "conversations.list", cursor="bm90IGEgY3Vyc29y").json()["error"] == "invalid_cursor"
    # exclude_archived and types filter
    gone = chat.ensure_channel(uniq("gone"))
    chat.archive(gone.id)

    def ids(**a):
        return {c["id"] for c in api(sandbox, "conversations.list", limit="1000", **a).json()["channels"]}

    assert gone.id in ids() and gone.id not in ids(exclude_archived="true")
    private = chat.ensure_channel(uniq("priv"), is_private=True)
    assert private.id not in ids() and private.id in ids(types="private_channel")


def test_ensure_channel_finds_existing_past_the_first_page(sandbox):
    small = SlackChat(connect(TOKEN, base_url=sandbox.urls["slack"])._client, page_size=2)
    target = small.ensure_channel(uniq("far"))
    for _ in range(4):  # push the target off the first page(s)
        small.ensure_channel(uniq("filler"))
    assert small.ensure_channel(target.name) == target


def test_history_pages_through_the_sdk(sandbox):
    small = SlackChat(connect(TOKEN, base_url=sandbox.urls["slack"])._client, page_size=2)
    ch = small.ensure_channel(uniq("long"))
    sent = [small.post(ch.id, f"m{i}").text for i in range(5)]
    assert [m.text for m in small.history(ch.id) if m.subtype is None] == sent
