"""Page files in the formats newsrooms have: every one reads into the articles of the UTF-8 page."""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

import pytest

from rag.errors import DocumentError
from rag.parse import parse_text
from rag.parse.readers import ACCEPTED_FORMATS, decode_text, html_to_text, looks_like_html, read_page
from rag.types import Article

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
PAGES = sorted(p.name for p in SEEDS.glob("*.txt"))
DATE = "2025-11-06"
# A real paragraph of a seed page (000), for the encoding checks.
PARAGRAPH = next(
    line for line in (SEEDS / PAGES[0]).read_text(encoding="utf-8").splitlines() if "山西展厅" in line
)


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def articles(text: str, name: str = "page.txt") -> list[Article]:
    return parse_text(text, source=name, date=DATE)


# -- files made here -----------------------------------------------------------------------


def html_page(text: str) -> str:
    """The page as a web page would hold it: paragraphs, <br> between lines, scripts and styles."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>" for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>太原日报 数字报</title>\n'
        '<style>p { margin: 0 0 1em } .x::after { content: "不该出现" }</style>\n'
        '<script>var injected = "<p>脚本里的文字</p>";</script></head>\n'
        f'<body><div class="page">\n{body}\n</div>\n<script src="a.js"></script>'
        '<script>document.write("脚本里的文字")</script></body></html>\n'
    )


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_page(text: str) -> bytes:
    """A minimal .docx (as Word writes it) with one paragraph per line of ``text``."""
    paragraphs = "".join(
        f'<w:p><w:pPr><w:jc w:val="both"/></w:pPr><w:r><w:rPr><w:sz w:val="21"/></w:rPr>'
        f'<w:t xml:space="preserve">{html.escape(line)}</w:t></w:r></w:p>'
        if line
        else "<w:p/>"
        for line in text.split("\n")
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{_W}"><w:body>{paragraphs}<w:sectPr/></w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def pdf_page(pages: list[list[str]]) -> bytes:
    """A hand-written PDF with a text layer: one line of text per line, in a CID font with a ToUnicode map.

    The font is not embedded (the file would not render its glyphs), but the text layer is
    what a reader extracts, exactly as from a typeset newspaper PDF.
    """
    chars = sorted({c for lines in pages for line in lines for c in line})
    mapping = "\n".join(f"<{ord(c):04X}> <{ord(c):04X}>" for c in chars)
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{len(chars)} beginbfchar\n{mapping}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /STSong-Light /CIDSystemInfo "
        b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 /CIDToGIDMap /Identity >>",
        5: b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    }
    kids = []
    for number, lines in enumerate(pages):
        ops = ["BT", "/F1 10 Tf", "14 TL", "40 800 Td"]
        for line in lines:
            if line:
                ops.append("<" + "".join(f"{ord(c):04X}" for c in line) + "> Tj")
            ops.append("T*")
        content = "\n".join([*ops, "ET"]).encode()
        stream, page = 6 + 2 * number, 7 + 2 * number
        objects[stream] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
        objects[page] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % stream
        )
        kids.append(page)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def scanned_pdf() -> bytes:
    """A PDF whose page holds no text (as a scan's pages hold only an image)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -- text encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-16-be-bom", "utf-8-sig"])
def test_seed_pages_in_other_encodings_give_the_same_articles(name: str, encoding: str) -> None:
    text = seed(name)
    raw = b"\xfe\xff" + text.encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(encoding)
    assert read_page(raw, name) == text
    assert articles(read_page(raw, name), name) == articles(text, name)


def test_a_gbk_paragraph_is_detected_as_gb18030() -> None:
    assert decode_text(PARAGRAPH.encode("gbk")) == (PARAGRAPH, "gb18030")
    assert decode_text(PARAGRAPH.encode("utf-8")) == (PARAGRAPH, "utf-8")
    assert decode_text(b"\xff\xfe" + PARAGRAPH.encode("utf-16-le")) == (PARAGRAPH, "utf-16")


def test_big5_is_told_from_gbk() -> None:
    traditional = (
        "太原市舉行第八屆進博會山西展廳推介會，展廳面積達到四百三十五平方米。"
        "記者從會上獲悉，參展企業數量創歷史新高。"
    )
    assert decode_text(traditional.encode("big5")) == (traditional, "big5")
    assert decode_text(traditional.encode("gbk")) == (traditional, "gb18030")


@pytest.mark.parametrize(
    "raw",
    [
        bytes(range(0x80, 0x100)) * 4,  # high bytes in no order
        "Café olé, naïve résumé".encode("latin-1"),  # a European legacy encoding
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",  # an image
        b"\xff\xfe\x00\xd8a\x00",  # a UTF-16 BOM followed by a lone surrogate
    ],
)
def test_random_binary_is_refused_naming_the_accepted_formats(raw: bytes) -> None:
    with pytest.raises(DocumentError) as err:
        read_page(raw, "bin.txt")
    message = str(err.value)
    assert message.startswith("bin.txt: ") and "\n" not in message
    assert ACCEPTED_FORMATS in message or "binary" in message or "UTF-16" in message


def test_the_non_utf8_error_keeps_its_wording_and_lists_the_formats() -> None:
    with pytest.raises(DocumentError, match=r"not UTF-8 \(bad byte at offset 0\)") as err:
        read_page(bytes(range(0x80, 0x100)), "bin.txt")
    assert "GB18030" in str(err.value) and "PDF" in str(err.value) and ".docx" in str(err.value)


# -- HTML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_html_pages_give_the_same_articles(name: str) -> None:
    page = html_page(seed(name))
    text = read_page(page.encode("utf-8"), name.replace(".txt", ".html"))
    assert "<p" not in text and "<br" not in text
    assert not any(hidden in text for hidden in ("脚本里的文字", "不该出现", "数字报"))
    assert articles(text, name) == articles(seed(name), name)


def test_html_is_recognised_by_content_in_any_encoding() -> None:
    name = PAGES[0]
    page = html_page(seed(name))
    assert looks_like_html(page) and not looks_like_html(seed(name))
    # A .txt upload that is really a GBK web page: decoded, then stripped of its markup.
    assert articles(read_page(page.encode("gbk"), name), name) == articles(seed(name), name)


def test_html_text_keeps_paragraphs_lines_and_entities() -> None:
    page = (
        "<html><body><h1>标题&amp;副题</h1>\n<p>第一段\n  接着写。<br/>第二行&nbsp;结束。</p>"
        "<ul><li>甲</li><li>乙</li></ul><table><tr><td>一</td><td>二</td></tr></table>"
        "<pre>  保留\n  格式</pre><noscript>请启用脚本</noscript></body></html>"
    )
    expected = "标题&副题\n\n第一段接着写。\n第二行 结束。\n\n甲\n乙\n\n一 二\n\n保留\n格式\n"
    assert html_to_text(page) == expected


# -- DOCX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_docx_pages_give_the_same_articles(name: str) -> None:
    docx = docx_page(seed(name))
    assert articles(read_page(docx, name.replace(".txt", ".docx")), name) == articles(seed(name), name)


def test_docx_tables_text_boxes_and_breaks() -> None:
    w = f'xmlns:w="{_W}"'
    document = (
        f"<w:document {w}><w:body>"
        "<w:p><w:r><w:t>标题</w:t></w:r><w:r><w:br/><w:t>第二行</w:t><w:tab/><w:t>制表</w:t></w:r></w:p>"
        "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>单元格</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
        "<w:p><w:r><w:delText>删掉的字</w:delText><w:t>留下的字</w:t></w:r></w:p>"
        "</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", document)
    assert read_page(buffer.getvalue(), "x.docx") == "标题\n第二行\t制表\n单元格\n留下的字\n"


@pytest.mark.parametrize(
    ("raw", "name", "message"),
    [
        (b"PK\x03\x04not really a zip", "x.docx", "not a readable .docx"),
        (b"plain text", "x.docx", "not a .docx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "x.doc", "legacy Office"),
    ],
)
def test_broken_docx_files_are_refused_clearly(raw: bytes, name: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        read_page(raw, name)


def test_a_zip_that_is_no_docx_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DocumentError, match=r"not a \.docx .*accepted: "):
        read_page(buffer.getvalue(), "table.xlsx")


# -- PDF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_pdf_pages_give_the_same_article_bodies(name: str) -> None:
    # A PDF has no blank lines, only distances, so a headline and its subtitle set one under
    # the other read as one heading; the articles and their bodies are the same.
    lines = seed(name).split("\n")
    pdf = pdf_page([lines[: len(lines) // 2], lines[len(lines) // 2 :]])
    from_pdf = articles(read_page(pdf, name.replace(".txt", ".pdf")), name)
    original = articles(seed(name), name)
    assert len(from_pdf) == len(original)
    assert sum(a.body == b.body for a, b in zip(from_pdf, original, strict=True)) >= len(original) - 1
    assert all(b.title in a.title for a, b in zip(from_pdf, original, strict=True))


def test_pdf_of_a_page_without_stacked_headings_gives_the_same_articles() -> None:
    name = PAGES[1]  # every headline of this page stands alone
    pdf = pdf_page([seed(name).split("\n")])
    assert articles(read_page(pdf, "page.pdf"), name) == articles(seed(name), name)


def test_scanned_pdf_has_no_text_layer() -> None:
    with pytest.raises(DocumentError, match=r"scan\.pdf: .*no text layer \(scanned PDF\?\)"):
        read_page(scanned_pdf(), "scan.pdf")


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"%PDF-1.4\ngarbage", "not a readable PDF"), (b"just text", "not a PDF file")],
)
def test_broken_pdf_files_are_refused_clearly(raw: bytes, message: str) -> None:
    with pytest.raises(DocumentError, match=message) as err:
        read_page(raw, "x.pdf")
    assert "\n" not in str(err.value)


# -- files on disk ----------------------------------------------------------------------------


def test_read_page_takes_a_path(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes(PARAGRAPH.encode("gbk"))
    assert read_page(path) == PARAGRAPH
    with pytest.raises(DocumentError, match=r"missing\.txt: page file not found"):
        read_page(tmp_path / "missing.txt")
    with pytest.raises(DocumentError, match="is a folder"):
        read_page(tmp_path)
