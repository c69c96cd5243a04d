"""Forms v1: create (title only), batchUpdate (createItem/updateFormInfo/updateSettings), get, responses.

Follows discovery forms.v1 (rev 20250422). Forms is a one-platform API: its errors carry
``code``/``message``/``status`` and no legacy ``errors[]`` list.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from vendor_sandbox.core.vendor import VendorError

from .common import ALNUM, HEX, URLSAFE, Api, make_id, page_size, paginate, parse_time, public, rfc3339
from .errors import forms_error, forms_invalid, refused

CHOICE_TYPES = ("RADIO", "CHECKBOX", "DROP_DOWN")
KINDS = ("textQuestion", "choiceQuestion", "scaleQuestion", "dateQuestion", "timeQuestion",
         "fileUploadQuestion", "rowQuestion", "ratingQuestion")
EMAIL_TYPES = ("DO_NOT_COLLECT", "VERIFIED", "RESPONDER_INPUT")


class FormsApi(Api):
    def _form(self, form_id: str) -> dict[str, Any]:
        row = self.db.get("form", form_id)
        if row is None:
            raise forms_error(404, "Requested entity was not found.", "NOT_FOUND")
        return row

    def _bump(self, row: dict[str, Any]) -> None:
        row["revisionId"] = f"{int(row['revisionId']) + 1:08d}"

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        info = body.get("info") or {}
        extra = [k for k in body if k not in ("info",)] + [k for k in info if k not in ("title", "documentTitle")]
        if extra:
            raise forms_invalid("Only info.title and info.document_title may be set in forms.create; "
                          f"use forms.batchUpdate for {extra[0]}.")
        n = self.db.next_int("form", 1)
        form_id = "1" + make_id(f"form-{n}", 43, URLSAFE)
        responder = "1FAIpQLS" + make_id(f"form-responder-{n}", 48, URLSAFE)
        title = info.get("title", "")
        row = {
            "formId": form_id,
            "info": {"title": title, "documentTitle": info.get("documentTitle") or title or "Untitled form"},
            "settings": {"emailCollectionType": "DO_NOT_COLLECT"},
            "revisionId": "00000001",
            "responderUri": f"https://docs.google.com/forms/d/e/{responder}/viewform",
            "items": [],
            # forms created through the API after 30 June 2026 are unpublished until forms.setPublishSettings
            # [doc: developers.google.com/workspace/forms/api/guides/api-changes-to-google-forms]
            "publishSettings": {"publishState": {"isPublished": False, "isAcceptingResponses": False}},
        }
        self.db.put("form", form_id, row)
        return self.render(row)

    @staticmethod
    def render(row: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(public(row))
        if not out["items"]:
            out.pop("items")  # proto3 JSON drops empty lists
        if not out["info"].get("title"):
            out["info"].pop("title", None)
        return out

    def get(self, form_id: str) -> dict[str, Any]:
        return self.render(self._form(form_id))

    def set_publish_settings(self, form_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """forms.setPublishSettings: publishState.isPublished and isAcceptingResponses are required;
        unpublished forces not accepting [doc: .../forms/api/reference/rest/v1/forms/setPublishSettings]."""
        row = self._form(form_id)
        mask = body.get("updateMask") or "*"
        if mask not in ("*", "publishState"):
            raise forms_invalid(f"Invalid field mask: {mask!r} (publishState or *)")
        state = (body.get("publishSettings") or {}).get("publishState")
        if not isinstance(state, dict) or "isPublished" not in state or "isAcceptingResponses" not in state:
            raise forms_invalid("publish_settings.publish_state.is_published and is_accepting_responses are required.")
        published = bool(state["isPublished"])
        row["publishSettings"] = {"publishState": {"isPublished": published,
                                                   "isAcceptingResponses": published and bool(state["isAcceptingResponses"])}}
        self.db.put("form", form_id, row)
        return {"formId": form_id, "publishSettings": copy.deepcopy(row["publishSettings"])}

    def batch_update(self, form_id: str, body: dict[str, Any]) -> dict[str, Any]:
        row = copy.deepcopy(self._form(form_id))
        control = body.get("writeControl") or {}
        if "requiredRevisionId" in control and "targetRevisionId" in control:
            raise forms_invalid("Only one of requiredRevisionId and targetRevisionId may be set.")
        required = control.get("requiredRevisionId")
        if required is not None and required != row["revisionId"]:
            raise forms_error(400, f"The revision ID {required} does not match the form's current revision "
                              f"{row['revisionId']}.", "FAILED_PRECONDITION")
        requests = body.get("requests") or []
        replies = []
        for i, req in enumerate(requests):
            if len(req) != 1:
                raise forms_invalid(f"Invalid requests[{i}]: exactly one kind of request must be set.")
            kind, spec = next(iter(req.items()))
            handler = {"createItem": self._create_item, "updateFormInfo": self._update_info,
                       "updateSettings": self._update_settings}.get(kind)
            if handler is None:
                raise forms_invalid(f"Invalid requests[{i}]: {kind} is not supported by the sandbox.")
            replies.append(handler(row, spec or {}, i))
        if requests:
            self._bump(row)
            self.db.put("form", form_id, row)
        out: dict[str, Any] = {"replies": replies, "writeControl": {"requiredRevisionId": row["revisionId"]}}
        if body.get("includeFormInResponse"):
            out["form"] = self.render(row)
        return out

    def _create_item(self, row: dict[str, Any], spec: dict[str, Any], i: int) -> dict[str, Any]:
        item = copy.deepcopy(spec.get("item") or {})
        location = spec.get("location")
        if location is None or "index" not in location:
            raise forms_invalid(f"Invalid requests[{i}].createItem: location is required.")
        index = location["index"]
        if not isinstance(index, int) or index < 0 or index > len(row["items"]):
            raise forms_invalid(f"Invalid requests[{i}].createItem: index {index} must be between 0 and "
                          f"{len(row['items'])}.")
        question_ids = []
        if "questionItem" in item:
            question = item["questionItem"].get("question") or {}
            self._check_question(question, i)
            question["questionId"] = self._new_hex("question")
            question_ids.append(question["questionId"])
            item["questionItem"]["question"] = question
        elif not any(k in item for k in ("textItem", "pageBreakItem", "imageItem", "videoItem")):
            raise forms_invalid(f"Invalid requests[{i}].createItem: item kind is required.")
        if "itemId" in item:
            raise forms_invalid(f"Invalid requests[{i}].createItem: item.item_id must not be set.")
        item["itemId"] = self._new_hex("item")
        row["items"].insert(index, item)
        reply: dict[str, Any] = {"itemId": item["itemId"]}
        if question_ids:
            reply["questionId"] = question_ids
        return {"createItem": reply}

    def _new_hex(self, counter: str) -> str:
        n = self.db.next_int(counter, 1)
        return make_id(f"forms-{counter}-{n}", 8, HEX)

    @staticmethod
    def _check_question(question: dict[str, Any], i: int) -> None:
        kinds = [k for k in KINDS if k in question]
        if len(kinds) != 1:
            raise forms_invalid(f"Invalid requests[{i}].createItem: exactly one question kind must be set.")
        if "choiceQuestion" in question:
            choice = question["choiceQuestion"]
            if choice.get("type") not in CHOICE_TYPES:
                raise forms_invalid(f"Invalid requests[{i}].createItem: choiceQuestion.type must be one of "
                              f"{', '.join(CHOICE_TYPES)}.")
            options = choice.get("options") or []
            if not options or any(not o.get("value") and not o.get("isOther") for o in options):
                raise forms_invalid(f"Invalid requests[{i}].createItem: choice options must have values.")
            values = [o.get("value") for o in options if not o.get("isOther")]
            if len(values) != len(set(values)):
                raise forms_invalid(f"Invalid requests[{i}].createItem: duplicate choice option values.")
        if "scaleQuestion" in question:
            scale = question["scaleQuestion"]
            low, high = scale.get("low", 0), scale.get("high")
            if low not in (0, 1) or not isinstance(high, int) or not 2 <= high <= 10:
                raise forms_invalid(f"Invalid requests[{i}].createItem: scale low must be 0 or 1 and high 2..10.")

    @staticmethod
    def _mask(spec: dict[str, Any], i: int, kind: str) -> list[str]:
        mask = spec.get("updateMask")
        if not mask:
            raise forms_invalid(f"Invalid requests[{i}].{kind}: update_mask is required.")
        return [m.strip() for m in mask.split(",")]

    def _update_info(self, row: dict[str, Any], spec: dict[str, Any], i: int) -> dict[str, Any]:
        info = spec.get("info") or {}
        for field in self._mask(spec, i, "updateFormInfo"):
            names = ["title", "description"] if field == "*" else [field]
            for name in names:
                if name == "documentTitle":
                    raise forms_invalid(f"Invalid requests[{i}].updateFormInfo: info.document_title is read-only.")
                if name not in ("title", "description"):
                    raise forms_invalid(f"Invalid requests[{i}].updateFormInfo: unknown field {name} in update_mask.")
                if name in info:
                    row["info"][name] = info[name]
                else:
                    row["info"].pop(name, None)
        return {}

    def _update_settings(self, row: dict[str, Any], spec: dict[str, Any], i: int) -> dict[str, Any]:
        settings = spec.get("settings") or {}
        for field in self._mask(spec, i, "updateSettings"):
            if field in ("*", "emailCollectionType"):
                value = settings.get("emailCollectionType", "DO_NOT_COLLECT")
                if value not in EMAIL_TYPES:
                    raise forms_invalid(f"Invalid requests[{i}].updateSettings: emailCollectionType {value}.")
                row["settings"]["emailCollectionType"] = value
            if field in ("*", "quizSettings.isQuiz", "quizSettings"):
                quiz = (settings.get("quizSettings") or {}).get("isQuiz", False)
                row["settings"]["quizSettings"] = {"isQuiz": bool(quiz)} if quiz else {}
                if not quiz:
                    row["settings"].pop("quizSettings")
            if field not in ("*", "emailCollectionType", "quizSettings.isQuiz", "quizSettings"):
                raise forms_invalid(f"Invalid requests[{i}].updateSettings: unknown field {field} in update_mask.")
        return {}

    # --- responses ------------------------------------------------------------------------------

    def questions(self, row: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return [(it.get("title", ""), it["questionItem"]["question"]) for it in row["items"] if "questionItem" in it]

    def submit(self, form_id: str, answers: dict[str, Any], email: str | None) -> dict[str, Any]:
        """A respondent submits the form (people route): answers by question id or title."""
        row = self._form(form_id)
        state = row["publishSettings"]["publishState"]
        if not state.get("isPublished"):  # its link shows the respondent an error page
            raise refused("This form is not published: it cannot be opened by respondents.")
        if not state.get("isAcceptingResponses"):
            raise refused("This form is no longer accepting responses.")
        by_key: dict[str, tuple[str, dict[str, Any]]] = {}
        for title, q in self.questions(row):
            by_key[q["questionId"]] = (title, q)
            by_key.setdefault(title, (title, q))
        out: dict[str, Any] = {}
        for key, value in answers.items():
            if key not in by_key:
                raise refused(f"No question {key!r} on form {form_id}.")
            title, q = by_key[key]
            values = [str(v) for v in (value if isinstance(value, list) else [value])]
            self._check_answer(title, q, values)
            out[q["questionId"]] = {"questionId": q["questionId"],
                                    "textAnswers": {"answers": [{"value": v} for v in values]}}
        missing = [t for t, q in self.questions(row) if q.get("required") and q["questionId"] not in out]
        if missing:
            raise refused(f"Required question(s) unanswered: {', '.join(missing)}")
        collect = row["settings"].get("emailCollectionType", "DO_NOT_COLLECT") != "DO_NOT_COLLECT"
        if collect and not email:
            raise refused("This form collects email addresses: respondentEmail is required.")
        n = self.db.next_int("response", 1)
        now = rfc3339(self.now())
        response = {
            "formId": form_id,
            "responseId": "ACYDBN" + make_id(f"response-{n}", 50, ALNUM + "_-"),
            "createTime": now,
            "lastSubmittedTime": now,
            "answers": out,
        }
        if collect:
            response["respondentEmail"] = email  # only forms that collect emails report it
        self.db.put("form_response", response["responseId"], response)
        return response

    @staticmethod
    def _check_answer(title: str, q: dict[str, Any], values: list[str]) -> None:
        if "choiceQuestion" in q:
            choice = q["choiceQuestion"]
            allowed = {o.get("value") for o in choice.get("options", [])}
            other = any(o.get("isOther") for o in choice.get("options", []))
            if not other and any(v not in allowed for v in values):
                raise refused(f"{title!r}: answer must be one of {sorted(allowed)}.")
            if choice["type"] != "CHECKBOX" and len(values) > 1:
                raise refused(f"{title!r}: only one choice allowed.")
        if "scaleQuestion" in q:
            s = q["scaleQuestion"]
            if len(values) != 1 or not values[0].isdigit() or not s.get("low", 0) <= int(values[0]) <= s["high"]:
                raise refused(f"{title!r}: answer must be in {s.get('low', 0)}..{s['high']}.")

    def list_responses(self, form_id: str, filter_: str | None, size: str | None, token: str | None):
        self._form(form_id)
        rows = [r for r in self.db.list("form_response") if r["formId"] == form_id]
        if filter_:
            m = re.fullmatch(r"\s*timestamp\s*(>=|>)\s*(\S+)\s*", filter_)
            if not m:
                raise forms_invalid(f"Invalid filter: {filter_}. "
                                    "Only 'timestamp > T' or 'timestamp >= T' is supported.")
            since = parse_time(m.group(2), "filter")
            if m.group(1) == ">":
                rows = [r for r in rows if parse_time(r["lastSubmittedTime"], "t") > since]
            else:
                rows = [r for r in rows if parse_time(r["lastSubmittedTime"], "t") >= since]
        try:
            return paginate(rows, token, page_size(size, 5000, 5000, "pageSize"))
        except VendorError:
            raise forms_invalid("Invalid page token or page size.") from None

    def get_response(self, form_id: str, response_id: str) -> dict[str, Any]:
        self._form(form_id)
        row = self.db.get("form_response", response_id)
        if row is None or row["formId"] != form_id:
            raise forms_error(404, "Requested entity was not found.", "NOT_FOUND")
        return row
