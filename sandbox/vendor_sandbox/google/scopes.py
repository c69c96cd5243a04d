"""The OAuth scopes each emulated Google method accepts, copied from the methods' ``scopes`` in Google's
discovery documents (drive.v3, forms.v1, gmail.v1, calendar.v3, as bundled with
google-api-python-client 2.202.0; tests/integrations/test_google_scopes.py compares the two).
Short names stand for ``https://www.googleapis.com/auth/<name>``."""

from __future__ import annotations

AUTH = "https://www.googleapis.com/auth/"
MAIL = "https://mail.google.com/"

# The scopes docs/live-setup.md has the administrator allow the client (domain-wide delegation)
OFFERED = ("drive", "forms.body", "forms.responses.readonly", "gmail.send", "gmail.readonly", "calendar.events")

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "drive.files.create": ("drive", "drive.appdata", "drive.file"),
    "drive.files.list": ("drive", "drive.appdata", "drive.file", "drive.meet.readonly", "drive.metadata",
                         "drive.metadata.readonly", "drive.photos.readonly", "drive.readonly"),
    "drive.files.get": ("drive", "drive.appdata", "drive.file", "drive.meet.readonly", "drive.metadata",
                        "drive.metadata.readonly", "drive.photos.readonly", "drive.readonly"),
    "drive.files.update": ("drive", "drive.appdata", "drive.file", "drive.metadata", "drive.scripts"),
    "drive.files.export": ("drive", "drive.file", "drive.meet.readonly", "drive.readonly"),
    "drive.permissions.create": ("drive", "drive.file"),
    "drive.permissions.list": ("drive", "drive.file", "drive.meet.readonly", "drive.metadata",
                               "drive.metadata.readonly", "drive.photos.readonly", "drive.readonly"),
    "forms.forms.create": ("drive", "drive.file", "forms.body"),
    "forms.forms.batchUpdate": ("drive", "drive.file", "forms.body"),
    "forms.forms.setPublishSettings": ("drive", "drive.file", "forms.body"),
    "forms.forms.get": ("drive", "drive.file", "drive.readonly", "forms.body", "forms.body.readonly"),
    "forms.forms.responses.list": ("drive", "drive.file", "forms.responses.readonly"),
    "forms.forms.responses.get": ("drive", "drive.file", "forms.responses.readonly"),
    "gmail.users.messages.send": (MAIL, "gmail.addons.current.action.compose", "gmail.compose", "gmail.modify",
                                  "gmail.send"),
    "gmail.users.messages.list": (MAIL, "gmail.metadata", "gmail.modify", "gmail.readonly"),
    "gmail.users.messages.get": (MAIL, "gmail.addons.current.message.action", "gmail.addons.current.message.metadata",
                                 "gmail.addons.current.message.readonly", "gmail.metadata", "gmail.modify",
                                 "gmail.readonly"),
    "gmail.users.settings.sendAs.list": (MAIL, "gmail.modify", "gmail.readonly", "gmail.settings.basic"),
    "calendar.events.insert": ("calendar", "calendar.app.created", "calendar.events", "calendar.events.owned"),
    "calendar.events.list": ("calendar", "calendar.app.created", "calendar.events", "calendar.events.freebusy",
                             "calendar.events.owned", "calendar.events.owned.readonly",
                             "calendar.events.public.readonly", "calendar.events.readonly", "calendar.readonly"),
    "calendar.events.get": ("calendar", "calendar.app.created", "calendar.events", "calendar.events.freebusy",
                            "calendar.events.owned", "calendar.events.owned.readonly",
                            "calendar.events.public.readonly", "calendar.events.readonly", "calendar.readonly"),
    "calendar.events.patch": ("calendar", "calendar.app.created", "calendar.events", "calendar.events.owned"),
    "calendar.events.delete": ("calendar", "calendar.app.created", "calendar.events", "calendar.events.owned"),
}

# (HTTP method, the sandbox's route under /google) -> the discovery method it emulates
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/drive/v3/files"): "drive.files.create",
    ("POST", "/upload/drive/v3/files"): "drive.files.create",
    ("GET", "/drive/v3/files"): "drive.files.list",
    ("GET", "/drive/v3/files/{file_id}"): "drive.files.get",
    ("PATCH", "/drive/v3/files/{file_id}"): "drive.files.update",
    ("PATCH", "/upload/drive/v3/files/{file_id}"): "drive.files.update",
    ("GET", "/drive/v3/files/{file_id}/export"): "drive.files.export",
    ("POST", "/drive/v3/files/{file_id}/permissions"): "drive.permissions.create",
    ("GET", "/drive/v3/files/{file_id}/permissions"): "drive.permissions.list",
    ("POST", "/v1/forms"): "forms.forms.create",
    ("POST", "/v1/forms/{form_id}:batchUpdate"): "forms.forms.batchUpdate",
    ("POST", "/v1/forms/{form_id}:setPublishSettings"): "forms.forms.setPublishSettings",
    ("GET", "/v1/forms/{form_id}"): "forms.forms.get",
    ("GET", "/v1/forms/{form_id}/responses"): "forms.forms.responses.list",
    ("GET", "/v1/forms/{form_id}/responses/{response_id}"): "forms.forms.responses.get",
    ("POST", "/gmail/v1/users/{user_id}/messages/send"): "gmail.users.messages.send",
    ("POST", "/upload/gmail/v1/users/{user_id}/messages/send"): "gmail.users.messages.send",
    ("GET", "/gmail/v1/users/{user_id}/messages"): "gmail.users.messages.list",
    ("GET", "/gmail/v1/users/{user_id}/messages/{msg_id}"): "gmail.users.messages.get",
    ("GET", "/gmail/v1/users/{user_id}/settings/sendAs"): "gmail.users.settings.sendAs.list",
    ("POST", "/calendar/v3/calendars/{calendar_id}/events"): "calendar.events.insert",
    ("GET", "/calendar/v3/calendars/{calendar_id}/events"): "calendar.events.list",
    ("GET", "/calendar/v3/calendars/{calendar_id}/events/{event_id}"): "calendar.events.get",
    ("PATCH", "/calendar/v3/calendars/{calendar_id}/events/{event_id}"): "calendar.events.patch",
    ("DELETE", "/calendar/v3/calendars/{calendar_id}/events/{event_id}"): "calendar.events.delete",
}


def url(scope: str) -> str:
    return scope if scope.startswith("https://") else AUTH + scope
