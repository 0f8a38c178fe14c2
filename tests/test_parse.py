"""Tests of page segmentation: the five seed pages pinned, and the rules on small pages."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import pytest

from rag.errors import DocumentError
from rag.parse import (
    MAX_PAGE_BYTES,
    PageMeta,
    article_id,
    derive_title,
    infer_page_date,
    load_pages,
    parse_page,
    parse_text,
    read_page_meta,
)
from rag.text import ends_sentence
from rag.types import ARTICLE_KINDS, Article

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
P0, P1, P2, P3, P4 = (
    "000_79f41e49edf8f691.txt",
    "001_867f14aa76f89740.txt",
    "002_c8ae31b64c1052c2.txt",
    "003_030953ef5e0be5b6.txt",
    "004_6d3b14249bc8cb53.txt",
)

TITLES: dict[str, list[str]] = {
    P0: [
        "进阶攀高向新行",
        "科研创新是引擎更是号角",
        "尖草坪区创新涉农审批服务",
        "志愿助农抢收确保颗粒归仓",
        "太原市图书馆自习室座无虚席",
        "紫林醋业举办安全生产培训",
        "山西财大开展应急疏散演练",
        "党建引领绘就“老青小”幸福底色",
    ],
    P1: [
        "借鉴成功经验 举全区之力推动高质量发展",
        "画好创卫最大‘同心圆’",
        "“太原论坛”志愿者分批次上岗服务",
        "“创客中国”市级比赛9月1日启幕",
        "绿色过中元 文明寄哀思",
        "理工大获批国家自然科学基金项目135个",
        "五个揭榜挂帅项目科技成果转化签约",
        "老军营街道举办“讲红色故事，传红色基因”主题活动",
        "“党建+”托起居民幸福感",
    ],
    P2: [
        "走进上海，赴一场“世界之约”",
        "太原理工大学两人参加中国第38次南极科考",
        "社区干部巡查 发现走失老人",
        "转型发展蹚新路 基层进行时",
    ],
    P3: [
        "我市举行“公民道德宣传日”主题活动",
        "我市全力保障农交会顺利举办",
        "继液氧液氮之后又生产出液氩 太化新材料“育新”产业获新突破",
        "价格低品质优 太钢首单不锈钢复合板产品获肯定",
        "太原要在全省更好发挥龙头带动作用",
        "三个维度支持太原制造",
        "全力保障太原科技创新",
        "支持太原建设开放高地",
        "“关注平安铁路 共享美好生活”主题宣传活动",
        "品牌战略助推特优农业发展",
        "省市联动提升空气质量",
        "擦亮锦绣太原文旅品牌",
        "龙城街道两社区 基层治理有妙招",
    ],
    P4: [
        "市政协党组召开扩大会议暨理论学习中心组学习会",
        "以更加饱满的精神状态 狠抓工业高质量发展",
        "应对天气快速升温 我市加严空气质量管控措施",
        "“传统彩塑妆金(拔金)工艺的传承与创新人才培养”项目实践成果展",
        "进出机场再添主干路 经北街建设火热推进",
        "市疫情防控办提示 五地返(抵)并人员要主动报备",
        "山西文物数字化探索「走在前」 专家学者认为",
        "山西中部城市群档案服务打开新格局 五市民生档案可一站通查",
        "守护“一老一小” 彰显民生温度",
        "太原绿城房地产开发有限公司通告",
    ],
}

KINDS: dict[str, list[str]] = {
    P0: ["news", "commentary", "news", "news", "photo", "brief", "brief", "news"],
    P1: ["news", "commentary", "brief", "brief", "news", "news", "news", "photo", "news"],
    P2: ["news", "news", "news", "roundup"],
    P3: [
        "news",
        "brief",
        "news",
        "news",
        "news",
        "brief",
        "news",
        "brief",
        "photo",
        "news",
        "news",
        "brief",
        "news",
    ],
    P4: ["news", "news", "news", "photo", "brief", "brief", "news", "news", "news", "notice"],
}

DATES = {P0: "2025-11-05", P1: "2023-08-30", P2: "2021-11-08", P3: "2023-09-21", P4: "2022-07-29"}

_BYLINE_AT_END = re.compile(r"(?:[（(][\u4e00-\u9fff、\s]{2,20}[)）]|记者\s*[\u4e00-\u9fff\s]{2,30}|\s摄)$")


@pytest.fixture(scope="module")
def pages() -> dict[str, list[Article]]:
    return {name: parse_page(SEEDS / name) for name in TITLES}


def by_title(articles: list[Article], title: str) -> Article:
    (article,) = [a for a in articles if a.title == title]
    return article


def show(articles: list[Article]) -> str:
    """The table read by eye while tuning the heuristics (printed on failure)."""
    return "\n".join(f"{a.id} {a.date} {a.kind:10} {len(a.body):5} {a.title}" for a in articles)


# --------------------------------------------------------------------------- the seed pages


@pytest.mark.parametrize("name", list(TITLES))
def test_titles_and_count_per_page(pages: dict[str, list[Article]], name: str) -> None:
    articles = pages[name]
    assert [a.title for a in articles] == TITLES[name], show(articles)


@pytest.mark.parametrize("name", list(KINDS))
def test_kinds_per_page(pages: dict[str, list[Article]], name: str) -> None:
    assert [a.kind for a in pages[name]] == KINDS[name], show(pages[name])
    assert all(a.kind in ARTICLE_KINDS for a in pages[name])


@pytest.mark.parametrize("name", list(DATES))
def test_dates_per_page(pages: dict[str, list[Article]], name: str) -> None:
    assert {a.date for a in pages[name]} == {DATES[name]}
    assert read_page_meta(SEEDS)[name].date == DATES[name]
    # The inference alone reaches the same dates as the editor's reading in pages.json.
    assert infer_page_date((SEEDS / name).read_text(encoding="utf-8")) == DATES[name]


def test_every_article_is_well_formed(pages: dict[str, list[Article]]) -> None:
    for name, articles in pages.items():
        for a in articles:
            assert a.source == name
            assert a.title and a.body and a.body == a.body.strip()
            assert a.id == article_id(a.title, a.body)
            assert "#" not in a.title + a.kicker + a.subtitle + a.body
            lines = a.body.split("\n")
            for k, line in enumerate(lines):
                assert line == line.strip() and line
                # A byline is kept only as a line of its own (quotable for 记者是谁), at the
                # end, or as a commentary's author line at the top; never glued to a sentence.
                byline_line = (k == len(lines) - 1 or (k == 0 and a.kind == "commentary")) and any(
                    r in line and len(line) <= 40 for r in a.reporters
                )
                assert byline_line or not _BYLINE_AT_END.search(line), (a.title, line)
                # No printed column break is left: a line either ends a sentence or is a
                # section heading / entry label (short) / the notice's closing lines.
                assert ends_sentence(line, extra="：:") or len(line) <= 40, (a.title, line)


def test_ids_are_stable_and_unique(pages: dict[str, list[Article]]) -> None:
    again = load_pages(SEEDS)
    first = [a for name in TITLES for a in pages[name]]
    assert [a.id for a in again] == [a.id for a in first]
    assert again == first
    assert len({a.id for a in first}) == len(first)
    assert all(re.fullmatch(r"[0-9a-f]{12}", a.id) for a in first)


def test_column_breaks_are_repaired(pages: dict[str, list[Article]]) -> None:
    repaired = [
        (P0, "进阶攀高向新行", "丰富我市居民的购物选择，活跃我市零售市场。"),
        (P0, "进阶攀高向新行", "“来，到山西展厅这里打卡悟空！”别开生面"),
        (P0, "党建引领绘就“老青小”幸福底色", "依托新时代文明实践站，"),
        (P2, "走进上海，赴一场“世界之约”", "想到此，她不由加快了脚步。"),
        (P2, "走进上海，赴一场“世界之约”", "太原市民的“果篮子”需求。"),
        (P2, "走进上海，赴一场“世界之约”", "精雕细琢的玻璃艺术品"),
        (P2, "太原理工大学两人参加中国第38次南极科考", "空间物理观测、中高层"),
        (P2, "社区干部巡查 发现走失老人", "北中环街为快速路，车速快"),
        (P3, "太原要在全省更好发挥龙头带动作用", "《关于新时代推动中部地区高质量发展的意见》"),
        (P3, "太原要在全省更好发挥龙头带动作用", "从省会地位和比较优势出发,明确"),
        (P3, "三个维度支持太原制造", "支持清徐老陈醋专业镇聚焦"),
        (P3, "品牌战略助推特优农业发展", "制作“百品荟”微视频"),
        (P4, "以更加饱满的精神状态 狠抓工业高质量发展", "推动企业高质量可持续发展。"),
        (P4, "以更加饱满的精神状态 狠抓工业高质量发展", "提供了遵循和指引。”"),
        (P4, "守护“一老一小” 彰显民生温度", "重点呈现困境儿童个案"),
    ]
    for name, title, snippet in repaired:
        body = by_title(pages[name], title).body
        assert snippet.replace("\n", "") in body.replace("\n", ""), (title, snippet)
        assert snippet in body, f"{snippet!r} is split by a line break in {title!r}"


def test_headline_is_never_glued_to_a_body(pages: dict[str, list[Article]]) -> None:
    for name, articles in pages.items():
        for a in articles:
            for title in TITLES[name]:
                assert not a.body.startswith(title), (a.title, title)


def test_spliced_copy_is_dropped_and_interview_reads_on(pages: dict[str, list[Article]]) -> None:
    articles = pages[P1]
    signing = "共同推动5项科研成果落地转化"
    holders = [a.title for a in articles if signing in a.body]
    assert holders == ["五个揭榜挂帅项目科技成果转化签约"]
    interview = by_title(articles, "借鉴成功经验 举全区之力推动高质量发展")
    lines = interview.body.split("\n")
    second = next(i for i, line in enumerate(lines) if line.startswith("第二，数字经济"))
    third = next(i for i, line in enumerate(lines) if line.startswith("第三，集群式"))
    # Only the interview's own section heading stands between its second and third point.
    assert lines[second + 1 : third] == ["借他山之石 掀头脑风暴"]
    assert "科技成果对接" not in interview.body and "侯慧琴" not in interview.body
    assert interview.reporters == ("李杰华",)
    assert interview.subtitle == "——访杏花岭区委书记侯森"
    assert interview.body.endswith("杏花岭篇章努力奋斗。\n记者 李杰华")  # the byline stays quotable
    signing_article = by_title(articles, "五个揭榜挂帅项目科技成果转化签约")
    assert signing_article.reporters == ("侯慧琴", "魏薇")
    assert signing_article.subtitle == "涉及数字经济、高端装备制造等领域"


@pytest.mark.parametrize("name", list(TITLES))
def test_a_page_printed_twice_reads_as_once(name: str) -> None:
    text = (SEEDS / name).read_text(encoding="utf-8")
    once = parse_text(text, name, DATES[name])
    assert parse_text(text + "\n\n" + text, name, DATES[name]) == once


def test_reporters(pages: dict[str, list[Article]]) -> None:
    expected = [
        (P0, "进阶攀高向新行", ("李静",)),
        (P0, "尖草坪区创新涉农审批服务", ("刘志刚",)),
        (P0, "紫林醋业举办安全生产培训", ("司勇",)),
        (P0, "太原市图书馆自习室座无虚席", ("张澍宏",)),
        (P1, "“党建+”托起居民幸福感", ("侯慧琴", "杨润德", "梁月仙")),
        (P1, "老军营街道举办“讲红色故事，传红色基因”主题活动", ("张昊宇", "王娟娟")),
        (P2, "太原理工大学两人参加中国第38次南极科考", ("尹哲",)),
        (P2, "社区干部巡查 发现走失老人", ("韩睿", "高雅慧")),
        (P2, "转型发展蹚新路 基层进行时", ("王勇",)),
        (P3, "“关注平安铁路 共享美好生活”主题宣传活动", ("牛利敏", "陈璟")),
        (P3, "龙城街道两社区 基层治理有妙招", ("王丹", "刘娜", "王亚男")),
        (
            P4,
            "以更加饱满的精神状态 狠抓工业高质量发展",
            ("王勇", "司勇", "李杰华", "阎轶洁", "侯慧琴", "刘志刚"),
        ),
        (P4, "守护“一老一小” 彰显民生温度", ("阎轶洁", "李俾", "张振江")),
        (P4, "太原绿城房地产开发有限公司通告", ()),
    ]
    for name, title, reporters in expected:
        assert by_title(pages[name], title).reporters == reporters, title


def test_group_byline_signs_the_whole_group(pages: dict[str, list[Article]]) -> None:
    signed = [a.title for a in pages[P3] if a.reporters == ("何宝国",)]
    assert signed == [
        "太原要在全省更好发挥龙头带动作用",
        "三个维度支持太原制造",
        "全力保障太原科技创新",
        "支持太原建设开放高地",
        "省市联动提升空气质量",
        "擦亮锦绣太原文旅品牌",
    ]
    assert by_title(pages[P3], "品牌战略助推特优农业发展").reporters == ("周皓",)


def test_commentary_author_is_a_reporter_and_the_first_body_line(pages: dict[str, list[Article]]) -> None:
    for name, title, author in [
        (P0, "科研创新是引擎更是号角", "袁剑锋"),
        (P1, "画好创卫最大‘同心圆’", "梁涛"),
    ]:
        article = by_title(pages[name], title)
        assert article.kind == "commentary" and article.kicker == "并州论坛"
        assert article.reporters == (author,)
        # Kept as the first line so that 作者是谁 is answered with a quote of the printed name.
        assert article.body.split("\n")[0] == author


def test_kickers_subtitles_and_orphan_banners(pages: dict[str, list[Article]]) -> None:
    assert by_title(pages[P0], "进阶攀高向新行").subtitle == "——在进博会上展现太原奋进步伐"
    assert by_title(pages[P0], "党建引领绘就“老青小”幸福底色").kicker == "抓党建促基层治理能力提升"
    assert by_title(pages[P1], "“党建+”托起居民幸福感").kicker == "抓党建促基层治理能力提升 | 华都社区"
    assert (
        by_title(pages[P1], "理工大获批国家自然科学基金项目135个").subtitle == "立项总数达到历史同期最好水平"
    )
    assert by_title(pages[P3], "我市举行“公民道德宣传日”主题活动").kicker == "政务之要"
    assert by_title(pages[P3], "太原要在全省更好发挥龙头带动作用").kicker == (
        "唱响中国经济“光明论” | 省政府新闻办发布会 | 建设国家区域中心城市"
    )
    assert (
        by_title(pages[P4], "以更加饱满的精神状态 狠抓工业高质量发展").subtitle
        == "全市工业高质量发展大会引发热烈反响"
    )
    assert by_title(pages[P4], "守护“一老一小” 彰显民生温度").kicker == (
        "抓党建促基层治理能力提升 党群服务中心架起党群“连心桥” | 万柏林区"
    )


def test_headless_article_takes_the_headline_printed_after_it(pages: dict[str, list[Article]]) -> None:
    article = pages[P3][-1]
    assert article.title == "龙城街道两社区 基层治理有妙招"
    assert article.kicker == "抓党建促基层治理能力提升"
    assert article.body.startswith("自抓党建促基层治理能力提升专项行动以来,龙城街道")
    assert "\n新源小区:“小板凳”发挥大作用\n" in article.body
    assert "\n嘉节社区:“每周唠嗑”显温情\n" in article.body


def test_section_headings_stay_in_the_body(pages: dict[str, list[Article]]) -> None:
    body = by_title(pages[P0], "进阶攀高向新行").body.split("\n")
    assert [line for line in body if len(line) < 10] == [
        "扬开放之帆",
        "架创新之桥",
        "筑奋进之路",
        "记者 李静",
    ]
    body = by_title(pages[P1], "“党建+”托起居民幸福感").body.split("\n")
    assert [line for line in body if len(line) < 10] == ["“党建+引领”", "“党建+服务”", "“党建+联建”"]


def test_roundup_lists_every_district(pages: dict[str, list[Article]]) -> None:
    roundup = by_title(pages[P2], "转型发展蹚新路 基层进行时")
    labels = [line for line in roundup.body.split("\n") if len(line) <= 6]
    assert labels == [
        "小店区", "尖草坪区", "古交市", "娄烦县", "迎泽区", "万柏林区",
        "清徐县", "综改示范区", "杏花岭区", "晋源区", "阳曲县", "中北高新区",
    ]  # fmt: skip
    assert roundup.body.endswith("高标准高质量完成各项工作任务。\n(以上由王勇编辑整理)")


def test_photos_are_their_own_articles(pages: dict[str, list[Article]]) -> None:
    photo = by_title(pages[P0], "太原市图书馆自习室座无虚席")
    assert photo.body == (
        "11月4日，太原市图书馆自习室座无虚席。进入11月，多个专业资格考试将陆续进行，考生们纷纷走进图书馆备考冲刺。"
    )
    # The caption between two articles does not end or split either of them.
    titles = TITLES[P0]
    assert titles.index("太原市图书馆自习室座无虚席") == titles.index("志愿助农抢收确保颗粒归仓") + 1
    photo = by_title(pages[P3], "“关注平安铁路 共享美好生活”主题宣传活动")
    assert photo.body.endswith("营造全民参与铁路治安治理的良好氛围。")


def test_notice(pages: dict[str, list[Article]]) -> None:
    notice = pages[P4][-1]
    assert notice.kind == "notice"
    assert notice.body.split("\n") == [
        "亲贤村城中村改造太原广场项目地块二项目,为提高物业服务品质,现决定更换物业公司,解除与山西众诚物业管理有限公司的合作。",
        "特此通告",
        "太原绿城房地产开发有限公司",
        "2022年7月26日",
    ]


def test_dispatch_leads_are_kept_as_printed(pages: dict[str, list[Article]]) -> None:
    article = by_title(pages[P2], "社区干部巡查 发现走失老人")
    assert article.body.startswith("本报讯(记者 韩睿 通讯员 高雅慧)11月5日晚")


# --------------------------------------------------------------------------- rules on small pages


def test_short_headline_with_comma_is_not_a_column_fragment() -> None:
    text = "走进上海，赴一场盛会\n\n黄浦江畔，世界目光聚集。\n\n记者 李静\n"
    (article,) = parse_text(text, "t.txt", "2021-11-08")
    assert article.title == "走进上海，赴一场盛会"
    assert article.body == "黄浦江畔，世界目光聚集。\n记者 李静"
    assert article.reporters == ("李静",)


def test_section_heading_vs_new_article() -> None:
    text = (
        "长篇报道标题\n\n开头一段。\n\n小标题一\n\n小标题下的内容。\n\n"
        "另一篇短讯\n\n本报讯 3月4日，某事发生。\n\n再一篇\n\n本报讯里没有小标题。\n"
    )
    articles = parse_text(text, "t.txt", "2024-03-05")
    assert [a.title for a in articles] == ["长篇报道标题", "另一篇短讯", "再一篇"]
    assert articles[0].body == "开头一段。\n小标题一\n小标题下的内容。"
    assert [a.kind for a in articles] == ["news", "brief", "brief"]


def test_heading_after_a_dispatch_starts_a_new_article() -> None:
    text = "甲标题\n\n本报讯 一件事。\n\n乙标题\n\n刘某认为，这是另一件事。\n"
    assert [a.title for a in parse_text(text, "t.txt", "2024-01-01")] == ["甲标题", "乙标题"]


def test_photo_credit_on_next_line_and_orphan_banner() -> None:
    text = "某社区办活动\n\n内容一。\n\n(张三)\n\n3月1日,市民在公园赏花。\n李四 王五 摄\n\n系列报道栏目\n"
    articles = parse_text(text, "t.txt", "2024-03-02")
    assert [(a.title, a.kind, a.reporters) for a in articles] == [
        ("某社区办活动", "news", ("张三",)),
        ("市民在公园赏花", "photo", ("李四", "王五")),
    ]
    assert articles[0].kicker == "系列报道栏目"


def test_body_after_a_byline_is_a_headless_article() -> None:
    text = "第一篇\n\n内容。(张三)\n\n11月2日，第二篇没有标题，只有正文。\n"
    articles = parse_text(text, "t.txt", "2024-11-03")
    assert [a.title for a in articles] == ["第一篇", "第二篇没有标题"]


def test_equal_duplicate_paragraph_is_kept_once() -> None:
    para = (
        "这是一段足够长的正文，用来检查同一版面上重复印刷的段落只会保留一份，而不会在两篇文章里各出现一次。"
    )
    text = f"甲标题\n\n{para}\n\n(张三)\n\n乙标题\n\n另一段不同的正文。\n\n{para}\n\n(张三)\n"
    articles = parse_text(text, "t.txt", "2024-01-01")
    assert [a.body for a in articles] == [f"{para}\n(张三)", "另一段不同的正文。"]


def test_derive_title() -> None:
    assert derive_title("7月28日,山西大学美术学院内,师生参观展览。") == "师生参观展览"
    assert derive_title("在国庆到来之际，10月1日，社区举办升旗仪式。") == "社区举办升旗仪式"
    long = "甲单位、乙单位、丙单位、丁单位、戊单位等多家单位在某地某村共同开展了一次规模很大的宣传"
    assert derive_title(long + "。") == long[:29] + "…"


def test_parse_text_without_date_infers_it() -> None:
    text = "标题\n\n本报讯 2024年3月4日，某事。\n"
    assert parse_text(text, "t.txt")[0].date == "2024-03-05"


def test_parse_text_rejects_a_bad_date() -> None:
    with pytest.raises(DocumentError, match="t.txt"):
        parse_text("标题\n\n正文。\n", "t.txt", "5 March")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024年工作。\n本报讯 3月4日，某事。", "2024-03-05"),
        ("第八届进博会开幕。\n本报讯(记者 张三)某大学11月7日传来喜讯。", "2025-11-08"),
        ("全国第21个“公民道德宣传日”。9月20日上午，活动举行。", "2023-09-20"),
        ("2023年计划。9月1日至15日举办比赛，8月29日报名。", "2023-08-29"),
        ("2022年。活动将持续至9月24日。9月20日举行。8月1日起实施。", "2022-09-20"),
        ("三年行动计划（2024—2026年），到2035年。2023年的5月6日。", "2023-05-06"),
        ("2024年。\n## 本报讯 12月31日，跨年。", "2025-01-01"),
        ("2025年1月2日。回顾12月30日的事。", "2025-01-02"),
        ("2030年的规划。", None),
        ("没有年份。本报讯 3月4日，某事。", None),
        ("2024年，只有年份。", None),
    ],
)
def test_infer_page_date(text: str, expected: str | None) -> None:
    assert infer_page_date(text) == expected


# --------------------------------------------------------------------------- files and errors


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    page = tmp_path / P0
    page.write_bytes(
        b"\xef\xbb\xbf" + (SEEDS / P0).read_text(encoding="utf-8").replace("\n", "\r\n").encode()
    )
    articles = parse_page(page, PageMeta(date=DATES[P0]))
    assert [a.title for a in articles] == TITLES[P0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(0x80, 0x100)), "not UTF-8"),  # GBK and the other accepted formats: test_readers.py
        (b"", "empty"),
        (b" \n\r\n\t\n", "empty"),
        ("（司勇）\n".encode(), "no article"),
        (b"abc\x00def", "binary"),
    ],
)
def test_unreadable_pages_raise_document_error(tmp_path: Path, content: bytes, message: str) -> None:
    page = tmp_path / "bad_page.txt"
    page.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as err:
        parse_page(page, PageMeta(date="2024-01-01"))
    assert "bad_page.txt" in str(err.value) and "\n" not in str(err.value)


def test_huge_page_raises_document_error(tmp_path: Path) -> None:
    page = tmp_path / "huge.txt"
    with page.open("wb") as f:
        f.truncate(MAX_PAGE_BYTES + 1)  # sparse: nothing is written or read
    with pytest.raises(DocumentError, match=r"huge\.txt.*too large"):
        parse_page(page)


def test_missing_page_raises_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"nope\.txt.*not found"):
        parse_page(tmp_path / "nope.txt")


def test_pages_json_overrides_and_missing_entries_are_inferred(tmp_path: Path) -> None:
    for name in (P0, P2):
        shutil.copy(SEEDS / name, tmp_path / name)
    (tmp_path / "pages.json").write_text(
        json.dumps({P0: {"date": "2025-11-06", "note": "test"}}), encoding="utf-8"
    )
    articles = load_pages(tmp_path)
    assert {a.source: a.date for a in articles} == {P0: "2025-11-06", P2: DATES[P2]}
    assert {a.date for a in parse_page(tmp_path / P0)} == {"2025-11-06"}
    assert [a.source for a in load_pages([tmp_path / P2])] == [P2] * len(TITLES[P2])


def test_undated_page_falls_back_to_file_date(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    page = tmp_path / "undated.txt"
    page.write_text("标题\n\n没有任何日期的正文。\n", encoding="utf-8")
    os.utime(page, (1_700_000_000, 1_700_000_000))  # 2023-11-14 UTC
    with caplog.at_level(logging.WARNING, logger="rag.parse"):
        (article,) = parse_page(page)
    assert article.date in ("2023-11-14", "2023-11-15")  # local time zone
    assert "undated.txt" in caplog.text


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", json.dumps({P0: "2025-11-05"}), json.dumps({P0: {"date": "2025-13-01"}})],
)
def test_bad_pages_json_raises_document_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "pages.json").write_text(content, encoding="utf-8")
    with pytest.raises(DocumentError, match="pages.json"):
        read_page_meta(tmp_path)


def test_folder_without_pages_raises(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no page files"):
        load_pages(tmp_path)


def test_reprinted_article_on_another_page_is_loaded_once(tmp_path: Path) -> None:
    text = "标题\n\n同一篇文章的正文。\n\n(张三)\n"
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pages.json").write_text(json.dumps({n: {"date": "2024-01-01"} for n in ("a.txt", "b.txt")}))
    assert [a.source for a in load_pages(tmp_path)] == ["a.txt"]
