"""Page files of the formats newsrooms actually have, read into plain text for :mod:`rag.parse`.

:func:`read_page` is the one entry point, for ``rag ingest`` (a path) and for uploads
(bytes).  What it accepts, checked in this order:

* **PDF** (``%PDF-`` header): the text layer of every page, through ``pypdf``.  A PDF
  without one (a scan) is refused with "no text layer (scanned PDF?)".
* **DOCX** (a ZIP holding ``word/document.xml``): one line per paragraph, an empty
  paragraph a blank line, table cells and text boxes as paragraphs of their own; read
  with the standard library (zipfile + ElementTree), no dependency.
* **Text**: UTF-8 (with or without BOM); else UTF-16 with a byte-order mark; else
  GB18030 (a superset of GBK and GB2312) when it decodes cleanly and reads as Chinese; a
  Big5 page is told from it by which of the two decodings uses the common characters of
  its script.
* **HTML** (a ``.html``/``.htm`` name, or text that starts like an HTML document): the
  text through the standard library's :mod:`html.parser`, without scripts and styles,
  one line per ``<br>``, a blank line between paragraphs, headings and other blocks.

Anything else (random binary, Latin-1, a legacy ``.doc``) raises
:class:`~rag.errors.DocumentError` with a one-line message naming the accepted formats.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path, PurePath
from xml.etree import ElementTree

from rag.errors import DocumentError

log = logging.getLogger(__name__)

#: The formats :func:`read_page` reads, as named in its error messages.
ACCEPTED_FORMATS = "UTF-8, UTF-16 with BOM, GB18030/GBK or Big5 text, HTML, .docx or PDF"
#: File suffixes taken from a folder of page files (other files there are ignored).
PAGE_SUFFIXES = (".txt", ".html", ".htm", ".docx", ".pdf")
HTML_SUFFIXES = (".html", ".htm")
#: Largest ``word/document.xml`` read from a .docx (guards against ZIP bombs).
MAX_DOCX_XML_BYTES = 64 * 1024 * 1024

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 .doc, .xls, .ppt
# Control characters other than tab and line breaks, which text extracted from PDF and
# DOCX files sometimes carries (form feeds between pages, stray NULs).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_page(source: Path | str | bytes, name: str | None = None) -> str:
    """The text of a page file given as a path or as its bytes; ``name`` labels it in errors.

    The name's suffix only matters for HTML (``.html``/``.htm``) and to refuse a
    ``.pdf``/``.docx`` whose bytes are something else; PDF and DOCX are recognised by
    their content whatever the name.

    Raises:
        DocumentError: the file is missing, unreadable, of no accepted format, binary or empty.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        name = name or "page"
    else:
        path = Path(source)
        name = name or path.name
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DocumentError(f"{name}: page file not found") from None
        except IsADirectoryError:
            raise DocumentError(f"{name}: is a folder, not a page file") from None
        except OSError as err:
            raise DocumentError(f"{name}: page file cannot be read ({err.strerror or err})") from None
    suffix = PurePath(name).suffix.lower()
    if raw.startswith(_PDF_MAGIC):
        return _nonempty(pdf_text(raw, name), name)
    if suffix == ".pdf":
        raise DocumentError(f"{name}: not a PDF file (it does not start with %PDF-)")
    if raw.startswith(_ZIP_MAGIC):
        return _nonempty(docx_text(raw, name), name)
    if suffix == ".docx":
        raise DocumentError(f"{name}: not a .docx file (it is not a ZIP archive)")
    if raw.startswith(_OLE_MAGIC):
        raise DocumentError(
            f"{name}: a legacy Office file (.doc); save it as .docx or text; accepted: {ACCEPTED_FORMATS}"
        )
    text, encoding = decode_text(raw, name)
    if "\x00" in text:
        raise DocumentError(f"{name}: page file looks binary (contains NUL characters)")
    if suffix in HTML_SUFFIXES or looks_like_html(text):
        text = html_to_text(text)
        encoding += ", HTML"
    if encoding != "utf-8":
        log.info("%s: read as %s", name, encoding)
    return _nonempty(text, name)


def _nonempty(text: str, name: str) -> str:
    if not text.strip():
        raise DocumentError(f"{name}: page file is empty")
    return text


# --------------------------------------------------------------------------- text encodings


def decode_text(raw: bytes, name: str = "page") -> tuple[str, str]:
    """Decode the bytes of a text file; returns ``(text, encoding)``.

    UTF-8 (a BOM is dropped), else UTF-16 by its BOM, else GB18030 or Big5 when the bytes
    decode cleanly and read as Chinese.

    Raises:
        DocumentError: none of these; the message names the first bad UTF-8 byte and the accepted formats.
    """
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as err:
        utf8_error = err
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise DocumentError(
                f"{name}: page file starts with a UTF-16 byte-order mark but is not UTF-16 "
                f"(bad bytes at offset {err.start})"
            ) from None
    candidates = []
    for encoding, common in (("gb18030", _gb2312_share), ("big5", _big5_level1_share)):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _reads_as_chinese(text):
            candidates.append((common(text), encoding, text))
    if candidates:
        # GB18030 wins unless Big5 is clearly more plausible (ties and near-ties go to GB).
        gb = next((c for c in candidates if c[1] == "gb18030"), None)
        big5 = next((c for c in candidates if c[1] == "big5"), None)
        best = big5 if big5 is not None and (gb is None or big5[0] > gb[0] + 0.2) else gb
        assert best is not None
        return best[2], best[1]
    raise DocumentError(
        f"{name}: page file is not UTF-8 (bad byte at offset {utf8_error.start}) or any other "
        f"accepted format: {ACCEPTED_FORMATS}"
    )


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


def _is_cjk_text(ch: str) -> bool:
    """Han characters and the punctuation, symbols and full-width forms of Chinese text."""
    o = ord(ch)
    return (
        _is_han(ch)
        or 0x3000 <= o <= 0x303F  # CJK punctuation
        or 0xFF00 <= o <= 0xFFEF  # full-width forms
        or 0x2000 <= o <= 0x206F  # “ ” — …
        or 0xFE30 <= o <= 0xFE4F  # vertical forms
        or 0x2150 <= o <= 0x218F  # Ⅰ Ⅱ
        or 0x2460 <= o <= 0x24FF  # ① ⑴
        or 0x25A0 <= o <= 0x25FF  # ■ ○ ◆
        or 0x3200 <= o <= 0x32FF  # ㈠
        or o in (0x00B7, 0x00D7, 0x00B0, 0x00A7, 0x00F7, 0x2605, 0x2606)  # · × ° § ÷ ★ ☆
    )


def _reads_as_chinese(text: str) -> bool:
    """Whether decoded text looks like Chinese: Han characters, and the non-ASCII text is mostly CJK."""
    wide = [ch for ch in text if ord(ch) > 0x7F and not ch.isspace()]
    if not any(_is_han(ch) for ch in wide):
        return False
    return sum(_is_cjk_text(ch) for ch in wide) >= 0.9 * len(wide)


def _share(text: str, common: Callable[[str], bool]) -> float:
    han = [ch for ch in text if _is_han(ch)]
    return sum(common(ch) for ch in han) / len(han) if han else 0.0


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _in_big5_level1(ch: str) -> bool:
    # Big5's 5,401 frequent characters are A440–C67E.
    try:
        code = ch.encode("big5")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xA440 <= int.from_bytes(code, "big") <= 0xC67E


def _gb2312_share(text: str) -> float:
    """Share of the Han characters that are in GB2312 (≈1 for simplified Chinese read right)."""
    return _share(text, _in_gb2312)


def _big5_level1_share(text: str) -> float:
    """Share of the Han characters among Big5's frequent ones (≈1 for traditional Chinese read right)."""
    return _share(text, _in_big5_level1)


# --------------------------------------------------------------------------- HTML

_HTML_START = re.compile(
    r"\A\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|p|div|h[1-6]|article|section)\b",
    re.IGNORECASE | re.DOTALL,
)
# Elements whose text is not part of the page.
_SKIPPED = {"script", "style", "noscript", "template", "title", "svg", "iframe", "object", "select"}
# Elements that stand apart from their neighbours: a blank line before and after.
_BLOCKS = {
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "main", "nav", "ol", "p", "pre", "section", "table", "ul",
}  # fmt: skip
# Elements that only start a new line.
_LINES = {"br", "li", "tr", "option"}
# A line break in the HTML source between two Chinese characters is no space in the text.
_CJK_WRAP = re.compile(r"(?<=[^\x00-\x7f])[ \t\r\f]*\n[ \t\r\n\f]*(?=[^\x00-\x7f])")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def looks_like_html(text: str) -> bool:
    """Whether text is clearly an HTML document or fragment (it starts with a doctype or a typical tag)."""
    return bool(_HTML_START.match(text[:4096]))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping.append(tag)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag in _LINES:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:  # <script/> holds nothing to skip
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = _HTML_SPACE.sub(" ", _CJK_WRAP.sub("", data))
        self.parts.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    """The visible text of an HTML page: no tags, scripts or styles; paragraphs apart by a blank line."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n") + "\n"


# --------------------------------------------------------------------------- DOCX

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"


def _paragraph(p: ElementTree.Element, lines: list[str]) -> None:
    """Append the paragraph's text as one line, then the paragraphs of its text boxes."""
    parts: list[str] = []
    boxes: list[ElementTree.Element] = []

    def walk(el: ElementTree.Element) -> None:
        for child in el:
            tag = child.tag
            if tag == f"{_W}t":
                parts.append(child.text or "")
            elif tag == f"{_W}tab":
                parts.append("\t")
            elif tag in (f"{_W}br", f"{_W}cr"):
                parts.append("\n")
            elif tag == f"{_W}noBreakHyphen":
                parts.append("-")
            elif tag == f"{_W}txbxContent":
                boxes.append(child)
            elif tag != _MC_FALLBACK:  # a drawing's fallback repeats its text box
                walk(child)

    walk(p)
    lines.append("".join(parts))
    for box in boxes:
        _blocks(box, lines)


def _blocks(el: ElementTree.Element, lines: list[str]) -> None:
    """Paragraphs in document order, including those in tables and content controls."""
    for child in el:
        if child.tag == f"{_W}p":
            _paragraph(child, lines)
        elif child.tag != f"{_W}sectPr":
            _blocks(child, lines)


def docx_text(raw: bytes, name: str = "page.docx") -> str:
    """The text of a .docx file: one line per paragraph (an empty paragraph is a blank line).

    Raises:
        DocumentError: not a ZIP archive, no ``word/document.xml``, or malformed XML.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            try:
                info = archive.getinfo("word/document.xml")
            except KeyError:
                raise DocumentError(
                    f"{name}: a ZIP archive but not a .docx (no word/document.xml); "
                    f"accepted: {ACCEPTED_FORMATS}"
                ) from None
            with archive.open(info) as member:
                xml = member.read(MAX_DOCX_XML_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as err:
        raise DocumentError(f"{name}: not a readable .docx ({_one_line(err)})") from None
    if len(xml) > MAX_DOCX_XML_BYTES:
        raise DocumentError(f"{name}: the document is too large (over {MAX_DOCX_XML_BYTES} bytes of XML)")
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml[:4096]:
        raise DocumentError(f"{name}: the .docx declares a DTD, which Word never writes; refused")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as err:
        raise DocumentError(f"{name}: the .docx holds malformed XML ({err})") from None
    body = root.find(f"{_W}body")
    lines: list[str] = []
    if body is not None:
        _blocks(body, lines)
    return _CONTROL.sub("", "\n".join(lines).replace("\x0c", "\n")) + "\n"


# --------------------------------------------------------------------------- PDF


def pdf_text(raw: bytes, name: str = "page.pdf") -> str:
    """The text layer of a PDF, pages apart by a blank line.

    Raises:
        DocumentError: unreadable or encrypted PDF, or no text layer at all (a scan).
    """
    from pypdf import PdfReader  # imported here: only PDF pages need it

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}: the PDF is encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except Exception as err:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise DocumentError(f"{name}: not a readable PDF ({_one_line(err)})") from None
    texts = [t for t in (_CONTROL.sub("", p.replace("\x0c", "\n")).strip("\n") for p in pages) if t.strip()]
    if not texts:
        raise DocumentError(
            f"{name}: the PDF has no text layer (scanned PDF?); run OCR on it or upload its text"
        )
    return "\n\n".join(texts) + "\n"


def _one_line(err: BaseException) -> str:
    message = " ".join(str(err).split())[:200]
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
