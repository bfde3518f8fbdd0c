"""Turn a work's bytes into plain text and a title.

Read: plain text, Markdown, reStructuredText, HTML, PDF, CSV/TSV, JSON and JSON
Lines, Word (.docx) and EPUB. The title comes from the document itself when it
has one: Markdown's or reStructuredText's first top-level heading, HTML's
`<title>` (else its first `<h1>`), the PDF, docx or EPUB metadata.

Anything else — binary data, bytes that are not text in a known encoding, a file
that does not parse or has no text layer — is refused with an :class:`AIError`
before it reaches the index, so nothing is ever half-indexed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tantieme.errors import AIError

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "Document",
    "detect_format",
    "extract",
    "extract_text",
    "read",
    "read_document",
]

# format → (media type recorded at registration, file suffixes)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "text": ("text/plain", (".txt", ".text")),
    "markdown": ("text/markdown", (".md", ".markdown")),
    "rst": ("text/x-rst", (".rst",)),
    "html": ("text/html", (".html", ".htm", ".xhtml")),
    "pdf": ("application/pdf", (".pdf",)),
    "csv": ("text/csv", (".csv",)),
    "tsv": ("text/tab-separated-values", (".tsv",)),
    "json": ("application/json", (".json",)),
    "jsonl": ("application/jsonl", (".jsonl", ".ndjson")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)),
    "epub": ("application/epub+zip", (".epub",)),
}
MEDIA_TYPES = {media_type: fmt for fmt, (media_type, _) in FORMATS.items()}
_SUFFIXES = {suffix: fmt for fmt, (_, suffixes) in FORMATS.items() for suffix in suffixes}
_ZIP_FORMATS = ("docx", "epub")

# Control characters other than tab, newline, carriage return and form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKDOWN_H1 = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_SETEXT_H1 = re.compile(r"^(\S[^\n]*)\n=+[ \t]*$", re.MULTILINE)
_RST_TITLE = re.compile(r"^(?:([=\-~^\"'`#*+:.])\1+\n)?(\S[^\n]*)\n([=\-~^\"'`#*+:.])\3+[ \t]*$", re.MULTILINE)
_LONGEST_TITLE = 200


@dataclass(frozen=True)
class Document:
    """A document's plain text, its own title (if it has one) and its format."""

    text: str
    title: str | None
    format: str

    @property
    def media_type(self) -> str:
        return FORMATS[self.format][0]


def detect_format(data: bytes, filename: str | None = None) -> str:
    """One of :data:`FORMATS`, from magic bytes, then the name, then the content."""
    suffix = Path(filename).suffix.lower() if filename else ""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if b"mimetypeapplication/epub+zip" in data[:64] or _SUFFIXES.get(suffix) == "epub":
            return "epub"
        if _SUFFIXES.get(suffix) == "docx":
            return "docx"
        raise AIError(f"{filename or 'the document'} is a ZIP archive, not a document; give its files one by one")
    fmt = _SUFFIXES.get(suffix)
    if fmt is not None and fmt not in _ZIP_FORMATS and fmt != "pdf":
        return fmt
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    return "text"


def _decode_text(data: bytes, what: str) -> str:
    if b"\x00" in data[:8192]:
        raise AIError(f"{what} looks like binary data (it holds NUL bytes), not a document")
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


def _clean_title(title: object) -> str | None:
    text = " ".join(str(title).split()) if title else ""
    return text[:_LONGEST_TITLE] or None


def _html(html: str) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = _clean_title(soup.title.get_text()) if soup.title else None
    if title is None and soup.h1 is not None:
        title = _clean_title(soup.h1.get_text())
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
    return "\n".join(out).strip(), title


def _pdf(data: bytes, what: str) -> tuple[str, str | None]:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise AIError(f"{what} is an encrypted PDF; give an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = _clean_title(reader.metadata.title) if reader.metadata else None
    except AIError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError) as exc:
        raise AIError(f"{what} is not a readable PDF: {exc}") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise AIError(f"{what} is a PDF without a text layer (scanned?); it cannot be indexed")
    return text, title


def _docx(data: bytes, what: str) -> tuple[str, str | None]:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = [p.text for p in document.paragraphs]
        for table in document.tables:
            paragraphs.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
        title = _clean_title(document.core_properties.title)
        if title is None:
            title = next((_clean_title(p.text) for p in document.paragraphs
                          if p.style is not None and p.style.name in ("Title", "Heading 1") and p.text.strip()), None)
    except Exception as exc:  # python-docx raises zip, XML and key errors of many kinds on a damaged file
        raise AIError(f"{what} is not a readable Word document: {exc}") from exc
    return "\n\n".join(p.strip() for p in paragraphs if p.strip()), title


def _epub(data: bytes, what: str) -> tuple[str, str | None]:
    import warnings

    import ebooklib
    from ebooklib import epub

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
        titles = book.get_metadata("DC", "title")
        title = _clean_title(titles[0][0]) if titles else None
        order = [book.get_item_with_id(item_id) for item_id, _ in book.spine]
        items = [i for i in order if i is not None and i.get_type() == ebooklib.ITEM_DOCUMENT]
        chapters = [_html(item.get_content().decode("utf-8", errors="replace"))[0] for item in items]
    except Exception as exc:  # ebooklib raises zip, XML and key errors of many kinds on a damaged file
        raise AIError(f"{what} is not a readable EPUB book: {exc}") from exc
    return "\n\n".join(c for c in chapters if c), title


def _table(text: str, delimiter: str) -> str:
    """Each row as `column: value` pairs, one row per line."""
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]
    if len(rows) < 2:
        return "\n".join(", ".join(row) for row in rows)
    header = rows[0]
    return "\n".join(
        "; ".join(f"{name}: {value}" if name else value for name, value in zip(header, row) if value.strip())
        for row in rows[1:]
    )


def _json_lines(value: object, prefix: str = "") -> list[str]:
    """A JSON value as `key: value` lines (nested keys joined by dots)."""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _json_lines(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value) and value:
            return [line for v in value for line in ("", *_json_lines(v, prefix))][1:]
        return [line for v in value for line in _json_lines(v, prefix)]
    if value is None or value == "":
        return []
    return [f"{prefix.rstrip('.')}: {value}" if prefix else str(value)]


def _json(text: str, what: str, lines: bool) -> str:
    try:
        values = [json.loads(line) for line in text.splitlines() if line.strip()] if lines else [json.loads(text)]
    except ValueError as exc:
        raise AIError(f"{what} is not valid {'JSON Lines' if lines else 'JSON'}: {exc}") from None
    return "\n\n".join("\n".join(_json_lines(v)) for v in values).strip()


def _text_title(text: str, fmt: str) -> str | None:
    if fmt == "markdown":
        found = [m for m in (_MARKDOWN_H1.search(text), _SETEXT_H1.search(text)) if m]
        return _clean_title(min(found, key=lambda m: m.start()).group(1)) if found else None
    if fmt == "rst":
        match = _RST_TITLE.search(text)
        return _clean_title(match.group(2)) if match else None
    return None


def extract(data: bytes, filename: str | None = None) -> Document:
    """A document given as bytes (``filename`` hints the format)."""
    what = filename or "the document"
    fmt = detect_format(data, filename)
    title = None
    if fmt == "pdf":
        text, title = _pdf(data, what)
    elif fmt == "docx":
        text, title = _docx(data, what)
    elif fmt == "epub":
        text, title = _epub(data, what)
    else:
        text = _decode_text(data, what)
        if fmt == "html":
            text, title = _html(text)
        elif fmt in ("csv", "tsv"):
            text = _table(text, "," if fmt == "csv" else "\t")
        elif fmt in ("json", "jsonl"):
            text = _json(text, what, fmt == "jsonl")
        else:
            title = _text_title(text, fmt)
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise AIError(f"{what} holds no text")
    return Document(text=text, title=title, format=fmt)


def extract_text(data: bytes, filename: str | None = None) -> str:
    """Plain text of a document given as bytes (``filename`` only hints the format)."""
    return extract(data, filename).text


def read(path: str | Path) -> Document:
    """A document file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AIError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return extract(data, path.name)


def read_document(path: str | Path) -> str:
    """Plain text of a document file."""
    return read(path).text
