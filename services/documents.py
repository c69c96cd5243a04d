"""Documents as files: rendered HTML → PDF, for a storage that keeps files rather than Google Docs (Dropbox).

xhtml2pdf (pure Python, on ReportLab; maintained under github.com/xhtml2pdf) renders the templates'
HTML and CSS subset (headings, paragraphs, lists, tables, inline styles) into a PDF without system
libraries, unlike WeasyPrint (Pango) or wkhtmltopdf (a binary); fpdf2's ``write_html`` knows fewer tags
and its core fonts stop at Latin-1 (the documents' "—"). A PDF, not DOCX: the client reads and prints
what was sent, as it was sent.

ReportLab's ``invariant`` mode leaves out the creation time and the random document id, so the same
HTML gives the same bytes: a re-run finds Dropbox's content hash unchanged and uploads nothing.
"""

from __future__ import annotations

import io

from reportlab import rl_config
from xhtml2pdf import pisa

rl_config.invariant = 1  # the same HTML → the same PDF bytes (no timestamp, no random /ID)


class RenderError(RuntimeError):
    """The HTML could not be laid out as a PDF."""


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html`` (a rendered template); identical input gives identical bytes."""
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise RenderError(f"xhtml2pdf could not render the document ({status.err} errors)")
    return out.getvalue()
