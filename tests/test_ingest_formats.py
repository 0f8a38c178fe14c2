"""`rag ingest` (rag.parse.load_pages / parse_page) reads every page format of rag.parse.readers."""

from __future__ import annotations

from pathlib import Path

from test_readers import PAGES, articles, docx_page, html_page, pdf_page, seed

from rag.parse import load_pages, parse_page


def test_ingest_reads_every_format_from_a_folder(tmp_path: Path) -> None:
    names = PAGES[:4]
    (tmp_path / "a_gbk.txt").write_bytes(seed(names[0]).encode("gbk"))
    (tmp_path / "b_utf16.txt").write_bytes(seed(names[1]).encode("utf-16"))
    (tmp_path / "c_page.html").write_text(html_page(seed(names[2])), encoding="utf-8")
    (tmp_path / "d_page.docx").write_bytes(docx_page(seed(names[3])))
    (tmp_path / "notes.md").write_text("不是版面", encoding="utf-8")
    loaded = load_pages(tmp_path)
    assert sorted({a.source for a in loaded}) == ["a_gbk.txt", "b_utf16.txt", "c_page.html", "d_page.docx"]
    for source, name in zip(["a_gbk.txt", "b_utf16.txt", "c_page.html", "d_page.docx"], names, strict=True):
        got = [(a.title, a.body) for a in loaded if a.source == source]
        assert got == [(a.title, a.body) for a in articles(seed(name), name)]


def test_parse_page_reads_a_pdf_file(tmp_path: Path) -> None:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf_page([seed(PAGES[1]).split("\n")]))
    assert [a.body for a in parse_page(path)] == [a.body for a in articles(seed(PAGES[1]))]
