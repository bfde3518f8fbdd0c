import pytest

from tantieme.ai.documents import extract_text, read_document
from tantieme.errors import AIError


def make_pdf(text: str) -> bytes:
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
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
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
