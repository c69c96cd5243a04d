"""A small, honest PDF: the document's text, the signature page Dropbox Sign appends when no fields
are placed, and its audit trail; one page of Helvetica text each (long documents wrap onto more pages).
Not Dropbox Sign's rendering: enough for a reader to open and for a test to read back."""

from __future__ import annotations

import html
import re
import textwrap

LINES_PER_PAGE = 60


def text_of(data: bytes, name: str) -> str:
    """The readable text of an uploaded file: HTML tags stripped, other text as it is."""
    text = data.decode("utf-8", errors="replace")
    if name.lower().endswith((".html", ".htm")):
        text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
        text = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr)>", "\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def build(sections: list[tuple[str, list[str]]]) -> bytes:
    """A PDF of ``sections`` (title, lines), each starting on a new page."""
    pages: list[list[str]] = []
    for title, lines in sections:
        wrapped = [title, ""] + [w for line in lines for w in (textwrap.wrap(line, 95) or [""])]
        pages += [wrapped[i:i + LINES_PER_PAGE] for i in range(0, len(wrapped), LINES_PER_PAGE)]
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 800 Td"] + [f"({_escape(line)}) Tj T*" for line in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1", errors="replace")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode('latin-1')}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1", errors="replace")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _escape(line: str) -> str:
    line = line.encode("latin-1", errors="replace").decode("latin-1")
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
