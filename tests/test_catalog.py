"""Page names a reader understands: pages.json, header lines, the catalog beside the index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.build import build_pipeline
from rag.catalog import CATALOG_FILE, PageCatalog, format_date, page_label
from rag.embed import HashingEmbedder
from rag.errors import DocumentError
from rag.parse import PageMeta, read_page_meta, read_pages, split_page_header
from rag.pipeline import Pipeline
from rag.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PAGE = "我市举办科技周活动\n\n本报讯 11月4日，市科技周活动在汾河公园开幕，三百名市民参加。\n\n（记者 张三）\n"
OTHER_PAGE = "迎泽公园菊展开幕\n\n本报讯 11月5日，迎泽公园菊展开幕，展出菊花两万余盆。\n\n（记者 李四）\n"


def pipeline_at(tmp_path: Path, seeds: Path = SEEDS) -> Pipeline:
    settings = Settings(index_dir=tmp_path / "index", seeds_dir=seeds, embedding_model="hashing:64")
    return build_pipeline(settings, HashingEmbedder(64))


@pytest.mark.parametrize(
    ("meta", "date", "label"),
    [
        (PageMeta(), "2025-11-05", "太原日报 2025年11月5日"),
        (PageMeta(page=3), "2025-11-05", "太原日报 2025年11月5日 第3版"),
        (
            PageMeta(page=12, title="要闻", paper="太原晚报"),
            "2021-01-09",
            "太原晚报 2021年1月9日 第12版 要闻",
        ),
        (PageMeta(title="区县新闻", date="2022-07-29"), "2000-01-01", "太原日报 2022年7月29日 区县新闻"),
    ],
)
def test_page_label(meta: PageMeta, date: str, label: str) -> None:
    assert page_label(meta, date) == label


def test_format_date_leaves_what_is_no_date() -> None:
    assert format_date("2023-08-30") == "2023年8月30日" and format_date("unknown") == "unknown"


@pytest.mark.parametrize(
    ("text", "meta"),
    [
        (
            "太原日报 2025年11月5日 星期三 第3版 要闻\n\n" + PAGE,
            PageMeta(paper="太原日报", page=3, title="要闻"),
        ),
        ("第十二版：综合新闻\n" + PAGE, PageMeta(page=12, title="综合新闻")),
        ("太原晚报第０３版\n" + PAGE, PageMeta(paper="太原晚报", page=3)),
        # 第3版 inside an article, or below the first lines, is no header.
        ("# 标题\n\n正文里说第3版刊登了通知。\n", PageMeta()),
        (PAGE + "第3版 要闻\n", PageMeta()),
    ],
)
def test_header_lines(text: str, meta: PageMeta) -> None:
    found, rest = split_page_header(text)
    assert found == meta
    # The header line is taken out of the text (it is no article's kicker), nothing else is.
    assert rest == (text if meta == PageMeta() else text.split("\n", 1)[1])


def test_seed_pages_json_names_the_paper_and_leaves_page_numbers_unknown() -> None:
    metas = read_page_meta(SEEDS)
    assert len(metas) == 5
    for meta in metas.values():
        assert meta.paper == "太原日报" and meta.page is None and meta.title == "" and meta.date


@pytest.mark.parametrize(
    "entry", [{"page": 0}, {"page": "3"}, {"page": True}, {"page": 3.5}, {"title": 7}, {"paper": ["x"]}]
)
def test_bad_page_fields_are_refused(tmp_path: Path, entry: dict[str, object]) -> None:
    (tmp_path / "pages.json").write_text(json.dumps({"a.txt": entry}), encoding="utf-8")
    with pytest.raises(DocumentError, match="pages.json"):
        read_page_meta(tmp_path)


def test_every_seed_source_gets_a_readable_distinct_label(tmp_path: Path) -> None:
    pipeline = pipeline_at(tmp_path)
    labels = pipeline.page_labels()
    assert set(labels) == {a.source for a in pipeline.articles()}
    assert labels["000_79f41e49edf8f691.txt"] == "太原日报 2025年11月5日"
    assert len(set(labels.values())) == 5
    assert not any(name in label for name in labels for label in labels.values())
    # Recorded beside the index, so labels survive without the seeds folder.
    recorded = read_page_meta(tmp_path / "index")
    assert {n: m.date for n, m in recorded.items()} == {n: m.date for n, m in read_page_meta(SEEDS).items()}
    infos = pipeline.pages()
    assert [p.date for p in infos] == sorted((p.date for p in infos), reverse=True)
    assert sum(p.articles for p in infos) == len(pipeline.articles())


def test_a_folder_with_page_numbers_and_an_index_without_a_catalog(tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "p.txt").write_text(PAGE, encoding="utf-8")
    (folder / "pages.json").write_text(
        json.dumps({"p.txt": {"date": "2025-11-05", "page": 3, "title": "要闻"}}), encoding="utf-8"
    )
    parsed = read_pages(folder)
    assert parsed.pages["p.txt"] == PageMeta(date="2025-11-05", page=3, title="要闻")
    pipeline = pipeline_at(tmp_path)
    pipeline.index  # noqa: B018 - built from the seeds first
    pipeline.ingest([folder])
    assert pipeline.page_labels()["p.txt"] == "太原日报 2025年11月5日 第3版 要闻"
    # An index built before the catalog existed: the seeds' pages.json still names its pages.
    (tmp_path / "index" / CATALOG_FILE).unlink()
    fresh = pipeline_at(tmp_path)
    assert fresh.page_labels()["000_79f41e49edf8f691.txt"] == "太原日报 2025年11月5日"
    # p.txt lost its number with the catalog and now shares seed 000's date: told apart.
    assert fresh.page_labels()["p.txt"] == "太原日报 2025年11月5日（2）"


def test_uploads_take_the_form_fields_then_the_header_and_a_correction_needs_no_new_article(
    tmp_path: Path,
) -> None:
    pipeline = pipeline_at(tmp_path)
    headed = "太原日报 2025年11月6日 第5版 区县新闻\n\n" + PAGE
    pipeline.ingest_texts([("a.txt", headed), ("b.txt", OTHER_PAGE)], date="2025-11-06")
    labels = pipeline.page_labels()
    assert labels["a.txt"] == "太原日报 2025年11月6日 第5版 区县新闻"
    assert labels["b.txt"] == "太原日报 2025年11月6日"
    # The same page again with its number from the form: no article changes, the label does,
    # and another process reading the same folder sees it.
    report = pipeline.ingest_texts([("b.txt", OTHER_PAGE)], date="2025-11-06", meta=PageMeta(page=2))
    assert report.articles_added == 0
    assert pipeline.page_labels()["b.txt"] == "太原日报 2025年11月6日 第2版"
    assert pipeline_at(tmp_path).page_labels()["b.txt"] == "太原日报 2025年11月6日 第2版"
    # The header line is not an article's kicker.
    assert all("第5版" not in a.kicker + a.title for a in pipeline.articles())


def test_pages_that_would_share_a_label_are_numbered(tmp_path: Path) -> None:
    catalog = PageCatalog(tmp_path)
    labels = catalog.labels({"x.txt": "2025-11-06", "y.txt": "2025-11-06", "z.txt": "2025-11-07"})
    assert labels == {
        "x.txt": "太原日报 2025年11月6日",
        "y.txt": "太原日报 2025年11月6日（2）",
        "z.txt": "太原日报 2025年11月7日",
    }


def test_a_damaged_catalog_costs_labels_not_answers(tmp_path: Path) -> None:
    labels = pipeline_at(tmp_path).page_labels()
    (tmp_path / "index" / CATALOG_FILE).write_text("{broken", encoding="utf-8")
    fresh = pipeline_at(tmp_path)
    # Falls back to the seeds' pages.json, then to the date alone.
    assert fresh.page_labels() == labels
    assert not fresh.ask("第八届进博会山西展厅的面积有多大？").refused
