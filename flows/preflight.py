"""The preflight of the accounts a run uses (`onboard doctor`, and every new-client run before its first
side effect): one check per prerequisite, each failed check with the exact fix. It reads and never
writes (the sandbox's state before and after proves it; tests/app/test_doctor.py).

What it checks, per vendor (docs/live-setup.md says why each matters and how to set it up):
HubSpot the account (portal id, UI domain), the SOP's custom properties and deal pipeline, the
onboarding specialists as owners; Asana the workspace is an Organization, the team of
config/company.yaml, the roster as members; Slack the bot's token, the roster as members (found by
email: the `users:read.email` scope); Google each meeting host's calendar reachable by the delegated
user; Zoom each meeting host a user of the account with a licence long enough for the SOP's meetings;
Keap (when config/company.yaml chooses it) the key, the quota left, and the tag of each SOP stage.
Dropbox Sign (with ``esign: dropbox_sign``) the API key answers and the approving manager has an email.
Dropbox (with ``storage: dropbox``) the access token answers and the clients' folder is found or not yet made.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from integrations.errors import IntegrationError, MissingScope, NotFound
from services import Services
from sop.profile import CompanyProfile, Role
from sop.rules import OnboardingRules
from tasks.dropbox import ROOT as CLIENTS_FOLDER  # where storage: dropbox keeps each client's folder

BASIC_MEETING_LIMIT = 40  # minutes: a Basic (unlicensed) Zoom user's meetings end there [CONTRACTS §6]


@dataclass(frozen=True)
class Check:
    vendor: str
    what: str
    ok: bool
    detail: str = ""
    fix: str = ""  # for a failed check: what to do, exactly
    run_creates: bool = False  # a run creates it itself when missing (`onboard setup` does it ahead)

    def line(self) -> str:
        mark = "✔" if self.ok else "✘"
        text = f"{mark} {self.vendor:<8}{self.what}" + (f": {self.detail}" if self.detail else "")
        return text + (f"\n           fix: {self.fix}" if not self.ok and self.fix else "")


def run_checks(svc: Services) -> list[Check]:
    """Every check; the vendors at the same time (a run's start waits for the slowest, not the sum)."""
    from flows.steps import concurrently

    per_vendor = concurrently(*(lambda f=f: f(svc) for f in
                                (hubspot_checks, asana_checks, slack_checks, google_checks, zoom_checks, keap_checks,
                                 dropbox_sign_checks, dropbox_checks)))
    return [c for checks in per_vendor for c in checks]


def _guard(vendor: str, what: str, fn: Callable[[], Check | list[Check]]) -> list[Check]:
    """One check (or a few): a vendor error becomes a failed check naming it, never a crash."""
    try:
        out = fn()
    except IntegrationError as exc:
        return [Check(vendor, what, False, f"{type(exc).__name__}: {exc}", _fix_for(exc))]
    return out if isinstance(out, list) else [out]


def _fix_for(exc: IntegrationError) -> str:
    text = str(exc).lower()
    if isinstance(exc, MissingScope) and exc.needed:
        return (f"add the scope {' or '.join(exc.needed)} to the {exc.vendor} app (docs/live-setup.md) and "
                "install it again")
    if "scope" in text:
        return "add the missing scope to the app's token (docs/live-setup.md) and install the app again"
    if "auth" in text or "token" in text:
        return "check the credential (environment variable or Prefect Secret block, docs/live-setup.md)"
    return "see docs/live-setup.md"


def _scopes(vendor: str, granted: set[str], needed: dict[str, str | None], fix: str) -> Check:
    """The app's scopes against ``needed`` ({scope: an older name that also does, or None})."""
    missing = [name for name, older in needed.items() if name not in granted and (older is None or older not in granted)]
    short = [m.removeprefix("https://www.googleapis.com/auth/") for m in missing]
    return Check(vendor, "scopes", not missing, f"{len(needed) - len(missing)} of the {len(needed)} the SOP needs"
                 + (f"; missing {', '.join(short)}" if missing else ""), fix.format(missing=", ".join(short)))


def meeting_hosts(profile: CompanyProfile, rules: OnboardingRules) -> dict[str, int]:
    """{email: longest meeting in minutes} of everyone who hosts the SOP's meetings."""
    hosts = {str(p.email): rules.meetings.discovery_minutes for p in profile.people(Role.ONBOARDING_SPECIALIST)}
    for p in profile.people(Role.ACCOUNT_MANAGER):
        hosts[str(p.email)] = max(hosts.get(str(p.email), 0), rules.meetings.kickoff_minutes)
    return hosts


# --------------------------------------------------------------------------------------------- HubSpot


def hubspot_checks(svc: Services) -> list[Check]:
    from integrations.hubspot import SCOPES
    from tasks.hubspot import COMPANY_PROPERTIES, DEAL_PROPERTIES, INVOICE_PROPERTIES, missing_properties

    crm = svc.clients.hubspot

    def scopes() -> list[Check]:
        granted = crm.scopes()
        fix = ("add {missing} to the private app (Settings → Integrations → Private apps → Scopes), "
               "then paste its new token if HubSpot rotated it")
        # Finance's invoices on their own line: drafted at B3.1 and by the engagement, issued once approved
        invoices = _scopes("hubspot", granted, dict.fromkeys(s for s in SCOPES if ".invoices." in s), fix)
        return [_scopes("hubspot", granted, dict.fromkeys(SCOPES), fix),
                Check("hubspot", "invoices", invoices.ok, "the private app may draft and issue invoices"
                      if invoices.ok else invoices.detail.replace("the SOP needs", "invoices need"), invoices.fix)]

    def account() -> Check:
        acct = crm.account()
        return Check("hubspot", "account", True, f"portal {acct.portal_id} ({acct.ui_domain}), {acct.time_zone}")

    def properties() -> Check:
        missing = [n for names in missing_properties(crm).values() for n in names]
        wanted = len(COMPANY_PROPERTIES) + len(DEAL_PROPERTIES) + len(INVOICE_PROPERTIES)
        return Check("hubspot", "custom properties", not missing, f"{wanted - len(missing)} of {wanted} present"
                     + (f"; missing {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}" if missing else ""),
                     "run `onboard setup` (creates them; the token needs crm.schemas.companies.write, "
                     "crm.schemas.deals.write and crm.schemas.invoices.write)", run_creates=True)

    def pipeline() -> Check:
        label = svc.rules.pipeline.label
        found = crm.find_pipeline(label)
        if found is None:
            used, allowed = crm.deal_pipeline_room()
            if used >= allowed:  # HubSpot Free: one deal pipeline, the default one
                return Check("hubspot", f"deal pipeline '{label}'", False,
                             f"not there, and the subscription's {allowed} deal pipeline(s) are all in use",
                             "name an existing pipeline in config/onboarding.yaml (pipeline.label, with its stage "
                             "labels) or move to HubSpot Starter or above, which allows a second pipeline")
            return Check("hubspot", f"deal pipeline '{label}'", False, f"not there ({used} of {allowed} in use)",
                         "run `onboard setup` (creates it)", run_creates=True)
        missing = [s.label for s in svc.rules.pipeline.stages if s.label not in {x.label for x in found.stages}]
        return Check("hubspot", f"deal pipeline '{label}'", not missing,
                     f"{len(found.stages)} stages" + (f"; missing {', '.join(missing)}" if missing else ""),
                     f"add the stages {', '.join(missing)} to '{label}' in HubSpot (Settings → Objects → Deals → Pipelines)")

    def owners() -> list[Check]:
        by_email = {o.email.lower() for o in crm.owners()}
        return [Check("hubspot", f"owner {p.email}", str(p.email).lower() in by_email,
                      "a HubSpot user (can own records)" if str(p.email).lower() in by_email else "not a HubSpot user",
                      f"invite {p.email} in HubSpot (Settings → Users & Teams → Create user)")
                for p in svc.profile.people(Role.ONBOARDING_SPECIALIST)]

    return [*_guard("hubspot", "scopes", scopes), *_guard("hubspot", "account", account),
            *_guard("hubspot", "custom properties", properties),
            *_guard("hubspot", "deal pipeline", pipeline), *_guard("hubspot", "owners", owners)]


# --------------------------------------------------------------------------------------------- Asana


def asana_checks(svc: Services) -> list[Check]:
    projects = svc.clients.asana
    team = svc.profile.asana_team

    def workspace() -> Check:
        ws = projects.workspace()
        return Check("asana", "workspace", bool(ws.get("is_organization")),
                     f"{ws.get('name')} ({ws['gid']}), {'an Organization' if ws.get('is_organization') else 'not an Organization'}",
                     "teams exist only in an Organization: connect the workspace to your company's email domain "
                     "(Asana admin console → Settings → Domains) or set ONBOARD_ASANA_WORKSPACE_GID to the Organization")

    def the_team() -> Check:
        try:
            gid = projects.team_gid(team)
        except NotFound:
            return Check("asana", f"team '{team}'", False, "not in the workspace",
                         f"run `onboard setup` (creates it), or create '{team}' in Asana, or set asana_team in "
                         "config/company.yaml to an existing team")
        return Check("asana", f"team '{team}'", True, gid)

    def members() -> list[Check]:
        known = projects.member_emails()
        return [Check("asana", f"member {p.email}", str(p.email).lower() in known,
                      "" if str(p.email).lower() in known else "not a member of the workspace",
                      f"invite {p.email} to the Asana Organization")
                for p in svc.profile.everyone()]

    return [*_guard("asana", "workspace", workspace), *_guard("asana", f"team '{team}'", the_team),
            *_guard("asana", "members", members)]


# --------------------------------------------------------------------------------------------- Slack


def slack_checks(svc: Services) -> list[Check]:
    from integrations.slack import SCOPES

    chat = svc.clients.slack

    def scopes() -> Check:
        return _scopes("slack", chat.scopes(), dict.fromkeys(SCOPES),
                       "add the bot token scopes {missing} (api.slack.com/apps → the app → OAuth & Permissions), "
                       "then reinstall the app to the workspace")

    def bot() -> Check:
        return Check("slack", "bot token", True, f"bot user {chat.bot_user_id()}")

    def members() -> list[Check]:
        out = []
        for p in svc.profile.everyone():
            found = chat.user_id_by_email(str(p.email))
            out.append(Check("slack", f"member {p.email}", found is not None, found or "not in the workspace",
                             f"invite {p.email} to the Slack workspace"))
        return out

    return [*_guard("slack", "scopes", scopes), *_guard("slack", "bot token", bot),
            *_guard("slack", "members (users:read.email)", members)]


# --------------------------------------------------------------------------------------------- Google


def google_checks(svc: Services) -> list[Check]:
    from integrations.google import SCOPES

    calendar = svc.clients.calendar
    now = datetime.now(UTC)

    def scopes() -> Check:
        return _scopes("google", calendar.granted_scopes(), dict.fromkeys(SCOPES),
                       "allow the client id the scopes {missing} (Admin console → Security → API controls → "
                       "Domain-wide delegation)")

    def calendars() -> list[Check]:
        out = []
        for email in meeting_hosts(svc.profile, svc.rules):
            try:
                calendar.list_events(email, now, now + timedelta(days=1))
                out.append(Check("google", f"calendar {email}", True, "reachable by the delegated user"))
            except NotFound:
                out.append(Check("google", f"calendar {email}", False, "not shared with the delegated user",
                                 f"in Google Calendar, {email} shares the calendar with the delegated user "
                                 "with 'Make changes to events' (docs/live-setup.md)"))
        return out

    def senders() -> list[Check]:
        # not blocking: a sender that is not an alias is the Reply-To of mail from the mailbox
        mailbox, aliases = svc.clients.gmail.identities()
        return [Check("google", f"sender {email}", True,
                      "a send-as alias of the mailbox: mail goes From it" if email.lower() in aliases else
                      f"not a send-as alias: mail goes from {mailbox} with Reply-To {email} (to send From it, "
                      "add it as a verified alias: Gmail settings → Accounts → Send mail as)")
                for email in sorted({str(svc.profile.company.email), *meeting_hosts(svc.profile, svc.rules)})]

    return [*_guard("google", "scopes", scopes), *_guard("google", "calendars", calendars),
            *_guard("google", "senders", senders)]


# --------------------------------------------------------------------------------------------- Zoom


def zoom_checks(svc: Services) -> list[Check]:
    from integrations.zoom import SCOPES

    zoom = svc.clients.zoom

    def scopes() -> Check:
        return _scopes("zoom", zoom.scopes(), SCOPES,
                       "add the scopes {missing} to the Server-to-Server OAuth app (marketplace.zoom.us → "
                       "Manage → the app → Scopes), then activate it again")

    def hosts() -> list[Check]:
        out = []
        for email, minutes in meeting_hosts(svc.profile, svc.rules).items():
            try:
                user = zoom.user(email)
            except NotFound:
                out.append(Check("zoom", f"host {email}", False, "not a user of the Zoom account",
                                 f"add {email} in Zoom (Admin → User Management → Users → Add users)"))
                continue
            licensed = user.get("type") != 1 or minutes <= BASIC_MEETING_LIMIT
            out.append(Check("zoom", f"host {email}", licensed,
                             "licensed" if user.get("type") != 1 else
                             f"Basic: meetings end after {BASIC_MEETING_LIMIT} minutes, the SOP's last {minutes}",
                             f"assign {email} a licence (Zoom Admin → User Management → Users → Edit → Licensed)"))
        return out

    return [*_guard("zoom", "scopes", scopes), *_guard("zoom", "hosts", hosts)]


# --------------------------------------------------------------------------------------------- Keap


def keap_checks(svc: Services) -> list[Check]:
    """With email_marketing.system: keap, the key works (and the quota it has left) and each SOP stage's tag
    exists, so the company's campaigns can start from it (a run creates a missing one itself)."""
    keap, config = svc.clients.keap, svc.profile.email_marketing
    if keap is None or config.system != "keap":
        return []

    def key() -> Check:
        return Check("keap", "key", True, f"reachable; {keap.check().line()}")

    def tags() -> list[Check]:
        out, existing = [], keap.tags()  # one listing, not a call per tag
        for stage, name in config.tags.items():
            found = existing.get(name)
            out.append(Check("keap", f"tag '{name}' ({stage.value})", found is not None,
                             f"tag {found.id}" if found else "not in Keap yet",
                             "run `onboard setup` (creates it), then start the stage's campaign from it in Keap "
                             "(Automation → the campaign → goal 'Tag is applied')", run_creates=True))
        return out

    return [*_guard("keap", "key", key), *_guard("keap", "tags", tags)]


# --------------------------------------------------------------------------------------------- Dropbox Sign


def dropbox_sign_checks(svc: Services) -> list[Check]:
    """With ``esign: dropbox_sign`` only: the API key answers, and the approving manager, who signs second,
    has an email in the team."""
    if svc.rules.esign != "dropbox_sign":
        return []
    name = svc.profile.approving_manager.name
    manager = next((p for p in svc.profile.everyone() if p.name == name), None)
    signer = Check("dropbox_sign", "approving manager", manager is not None,
                   f"{name} <{manager.email}> signs after the client" if manager else f"{name} is not in the team",
                   "add the approving manager of config/company.yaml to a role of its team (their email signs)")
    if svc.clients.esign is None:
        return [signer, Check("dropbox_sign", "API key", False, "no Dropbox Sign client",
                              "set ONBOARD_DROPBOX_SIGN_API_KEY (docs/live-setup.md, Dropbox Sign)")]

    def key() -> Check:
        n = svc.clients.esign.request_count()
        mode = "test mode" if svc.clients.esign.test_mode else "live (legally binding)"
        return Check("dropbox_sign", "API key", True, f"the account sees {n} signature requests; requests in {mode}")

    return [signer, *_guard("dropbox_sign", "API key", key)]


# --------------------------------------------------------------------------------------------- Dropbox


def dropbox_checks(svc: Services) -> list[Check]:
    """With ``storage: dropbox`` only: the access token answers a read of the clients' folder (a run makes the
    folder itself). The write scopes (files.content.write, sharing.write, file_requests.write) show only at
    the first write, which the preflight never makes: docs/live-setup.md lists them."""
    if svc.profile.storage != "dropbox":
        return []
    if svc.clients.dropbox is None:
        return [Check("dropbox", "access token", False, "no Dropbox client",
                      "set ONBOARD_DROPBOX_REFRESH_TOKEN with ONBOARD_DROPBOX_APP_KEY and _APP_SECRET, or "
                      "ONBOARD_DROPBOX_ACCESS_TOKEN (docs/live-setup.md, Dropbox)")]

    def token() -> Check:
        found = svc.clients.dropbox.check(CLIENTS_FOLDER)
        return Check("dropbox", "access token", True,
                     f"{CLIENTS_FOLDER} " + ("found" if found is not None else "not made yet (the first run makes it)"))

    return _guard("dropbox", "access token", token)


# --------------------------------------------------------------------------------------------- before a run


class AccountsNotReady(RuntimeError):
    """A prerequisite a run cannot make itself is missing: the run stops before its first side effect."""


_CACHE: dict[str, tuple[float, list[Check]]] = {}
_CACHE_LOCK = threading.Lock()
# the runs of one worker within five minutes share one preflight (benchmarks set 0: each run its own)
CACHE_SECONDS = float(os.environ.get("ONBOARD_PREFLIGHT_CACHE_SECONDS", "300"))


def blocking_problems(svc: Services) -> list[Check]:
    """The failed checks a run cannot fix itself (cached per account for a few minutes)."""
    key = str(svc.settings.sandbox_url) if svc.settings.mode == "sandbox" else "live"
    with _CACHE_LOCK:  # runs starting together wait for one preflight instead of each making one
        hit = _CACHE.get(key)
        if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
            hit = _CACHE[key] = (time.monotonic(), [c for c in run_checks(svc) if not c.ok and not c.run_creates])
        return hit[1]


def require_ready(svc: Services) -> None:
    problems = blocking_problems(svc)
    if not problems:
        logging.getLogger("flows.journal").info("Preflight: the accounts can carry the run (`onboard doctor`)")
    else:
        with _CACHE_LOCK:  # after fixing the account, a Retry checks again at once
            _CACHE.clear()
        raise AccountsNotReady("the accounts are not ready for a run; nothing was written or sent. Fix, then "
                               "Retry the run (`onboard doctor` checks):\n" + "\n".join(c.line() for c in problems))
