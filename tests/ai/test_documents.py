import io
import json

import pytest

from tantieme.ai.documents import FORMATS, MEDIA_TYPES, extract, extract_text, read, read_document
from tantieme.errors import AIError


def make_pdf(text: str, title: str | None = None) -> bytes:
    """A minimal one-page PDF with a text layer, built by hand (with a valid xref)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    info = b" /Info << /Title (%s) >>" % title.encode() if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


def test_text_and_markdown(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\nSome *text*.\n", encoding="utf-8")
    assert read_document(tmp_path / "a.md") == "# Title\n\nSome *text*."
    assert extract_text("caf\u00e9\r\nok".encode("utf-8"), "a.txt") == "caf\u00e9\nok"


def test_html__drops_markup_scripts_and_styles():
    html = b"<!doctype html><html><head><title>x</title><style>p{}</style></head><body><h1>Bees</h1><p>Four <b>hives</b>.</p><script>evil()</script></body></html>"
    text = extract_text(html, "page.html")
    assert "Bees" in text and "Four" in text and "hives" in text
    assert "evil" not in text and "p{}" not in text and "<" not in text


def test_pdf__text_layer_is_read():
    assert "Four hives on the depot roof" in extract_text(make_pdf("Four hives on the depot roof"), "w.pdf")


def test_pdf__broken__raises():
    data = make_pdf("hello")[:60]
    with pytest.raises(AIError, match="not a readable PDF|without a text layer"):
        extract_text(data, "broken.pdf")


def test_pdf__garbage_after_magic__raises():
    with pytest.raises(AIError, match="PDF"):
        extract_text(b"%PDF-1.7\n" + bytes(range(256)) * 4, "x.pdf")


def test_binary__raises():
    with pytest.raises(AIError, match="binary"):
        extract_text(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "image.png")


def test_undecodable_bytes__raise():
    with pytest.raises(AIError, match="not valid UTF-8"):
        extract_text("d\u00e9j\u00e0 vu".encode("latin-1"), "old.txt")


def test_empty__raises(tmp_path):
    with pytest.raises(AIError, match="no text"):
        extract_text(b"   \n\n ", "empty.txt")
    with pytest.raises(AIError, match="cannot read"):
        read_document(tmp_path / "missing.txt")


def make_docx(title: str | None, heading: str, body: str) -> bytes:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading(heading, level=1)
    document.add_paragraph(body)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "hives", "4"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_epub(title: str, chapters: list[str]) -> bytes:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("id-1")
    book.set_title(title)
    book.set_language("en")
    items = []
    for n, text in enumerate(chapters, start=1):
        chapter = epub.EpubHtml(title=f"Chapter {n}", file_name=f"c{n}.xhtml", lang="en")
        chapter.content = f"<html><body><h1>Chapter {n}</h1><p>{text}</p></body></html>"
        book.add_item(chapter)
        items.append(chapter)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "title"),
    [
        ("a.md", b"Intro line\n\n# Bees Above the Depot\n\ntext", "Bees Above the Depot"),
        ("a.md", b"Bees Above the Depot\n====================\n\ntext", "Bees Above the Depot"),
        ("a.md", b"## Only a subsection\n\ntext", None),
        ("a.rst", b"=====\nBees\n=====\n\nSection\n-------\n\ntext", "Bees"),
        ("a.rst", b"Bees on roofs\n=============\n\ntext", "Bees on roofs"),
        ("a.html", b"<html><head><title> Roof  Bees </title></head><body><h1>Other</h1><p>x</p></body></html>", "Roof Bees"),
        ("a.html", b"<html><body><h1>Roof Bees</h1><p>x</p></body></html>", "Roof Bees"),
        ("a.txt", b"# Not a heading in plain text\n\ntext", None),
    ],
)
def test_title__from_the_document(name, data, title):
    assert extract(data, name).title == title


def test_pdf__title_from_metadata():
    document = extract(make_pdf("Four hives", title="Bees Above the Depot"), "w.pdf")
    assert document.title == "Bees Above the Depot"
    assert document.media_type == "application/pdf"
    assert extract(make_pdf("Four hives"), "w.pdf").title is None


def test_docx__text_tables_and_title():
    document = extract(make_docx("Roof Bees", "Hives", "Four hives fit on the roof."), "w.docx")
    assert "Four hives fit on the roof." in document.text and "hives | 4" in document.text
    assert document.title == "Roof Bees"
    assert extract(make_docx(None, "Hives on Roofs", "x"), "w.docx").title == "Hives on Roofs"


def test_epub__chapters_in_order_and_title():
    document = extract(make_epub("Letters from the Lighthouse", ["The lamp burns.", "The keeper writes."]), "b.epub")
    assert document.title == "Letters from the Lighthouse"
    assert document.text.index("The lamp burns.") < document.text.index("The keeper writes.")
    assert document.format == "epub"


@pytest.mark.parametrize("name", ["w.docx", "b.epub"])
def test_damaged_office_and_ebook_files__clear_error(name):
    data = (make_docx("t", "h", "b") if name.endswith("docx") else make_epub("t", ["b"]))[:300]
    with pytest.raises(AIError, match="not a readable"):
        extract(data, name)


def test_zip_that_is_not_a_document__refused():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(AIError, match="ZIP archive"):
        extract(out.getvalue(), "things.zip")


def test_csv_and_tsv__rows_as_column_value_pairs():
    text = extract_text(b"city,hives\nLyon,4\nGhent,2\n", "roofs.csv")
    assert text == "city: Lyon; hives: 4\ncity: Ghent; hives: 2"
    assert extract_text(b"city\thives\nLyon\t4\n", "roofs.tsv") == "city: Lyon; hives: 4"


def test_json_and_jsonl__keys_and_values():
    data = json.dumps({"title": "Roofs", "facts": [{"q": "How many hives?", "a": "Four"}]}).encode()
    assert extract_text(data, "d.json") == "title: Roofs\nfacts.q: How many hives?\nfacts.a: Four"
    lines = b'{"instruction": "Count hives", "response": "Four"}\n\n{"instruction": "Name the bee", "response": "Apis"}\n'
    assert extract_text(lines, "d.jsonl") == "instruction: Count hives\nresponse: Four\n\ninstruction: Name the bee\nresponse: Apis"
    with pytest.raises(AIError, match="not valid JSON Lines"):
        extract_text(b'{"a": 1}\n{broken\n', "d.jsonl")


def test_every_format_has_a_media_type_and_back(tmp_path):
    assert {MEDIA_TYPES[media_type] for media_type, _ in FORMATS.values()} == set(FORMATS)
    (tmp_path / "notes.rst").write_bytes(b"Notes\n=====\n\nBees.")
    assert read(tmp_path / "notes.rst").media_type == "text/x-rst"
