"""Turn a work's bytes into plain text: text, Markdown, HTML and PDF.

Anything else — binary data, bytes that are not text in a known encoding, a PDF
that does not parse or has no text layer — is refused with an :class:`AIError`
before it reaches the index, so nothing is ever half-indexed.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from tantieme.errors import AIError

__all__ = ["SUPPORTED_SUFFIXES", "detect_format", "extract_text", "read_document"]

SUPPORTED_SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def detect_format(data: bytes, filename: str | None = None) -> str:
    """``"text"``, ``"markdown"``, ``"html"`` or ``"pdf"``, from magic bytes then the name."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if filename:
        suffix = Path(filename).suffix.lower()
        if suffix in SUPPORTED_SUFFIXES:
            return SUPPORTED_SUFFIXES[suffix]
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def _decode_text(data: bytes, what: str) -> str:
    if b"\x00" in data[:8192]:
        raise AIError(f"{what} looks like binary data (it holds NUL bytes); give a text, Markdown, HTML or PDF file")
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise AIError(f"{what} is not valid UTF-8 text; convert it to UTF-8 first")
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise AIError(f"{what} looks like binary data ({controls} control characters)")
    return text


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    # Block elements end paragraphs; get_text with a newline separator keeps them apart.
    text = soup.get_text("\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out, blank = [], False
    for line in lines:
        if line:
            out.append(line)
            blank = False
        elif not blank:
            out.append("")
            blank = True
    return "\n".join(out).strip()


def _pdf_text(data: bytes, what: str) -> str:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise AIError(f"{what} is an encrypted PDF; give an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except AIError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as exc:
        raise AIError(f"{what} is not a readable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise AIError(f"{what} is a PDF without a text layer (scanned?); it cannot be indexed")
    return text


def extract_text(data: bytes, filename: str | None = None) -> str:
    """Plain text of a document given as bytes (``filename`` only hints the format)."""
    what = filename or "the document"
    fmt = detect_format(data, filename)
    if fmt == "pdf":
        text = _pdf_text(data, what)
    else:
        text = _decode_text(data, what)
        if fmt == "html":
            text = _html_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise AIError(f"{what} holds no text")
    return text


def read_document(path: str | Path) -> str:
    """Plain text of a document file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AIError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return extract_text(data, path.name)
