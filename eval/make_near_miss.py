"""Build the near-miss question set ``eval/qa_near_miss.jsonl`` from the dev set and the seeds.

A near miss takes an answerable dev question (``eval/qa_dev.jsonl``) and changes exactly
one hard constraint (a year, an edition, a place, a person, an organisation, the metric
asked for, a figure, a date, or the entity itself) so that the seed pages no longer answer
it.  The substitutions are a hand-written table (:data:`VARIANTS`); each variant is one
``str.replace`` of a span of the source question, so nothing else in the question moves.

Every variant is checked against the seeds by :func:`check_variant`, and the script fails
(exit status 1, listing the problems) if any variant could be answered from a page:

* the pages are cut into articles (:data:`ARTICLE_STARTS`, one news piece or one district
  item of a round-up each);
* each source question has hand-written key terms (:data:`KEYS`, alternatives split by
  ``|``); the terms must occur in the source question and together in one article of its
  source page, so they really locate the fact;
* the keys still named by the variant (those the substitution did not remove) select the
  articles that could state the fact; none of them may mention the new value.  "Mention"
  depends on the kind: a year counts when printed, when it is a range end point or inside
  a range, as 今年/去年/前年/明年 relative to the page date, as the page's own year
  (every article is news of its year), or as the year of a 第N届 进博会 (first in 2018);
  an edition counts when printed or when its 进博会 year is mentioned; a date counts when
  printed or inside a printed range (``9月1日至15日``, ``1至8月``, 上半年);
* a new person's name or a new entity must occur nowhere in the seeds at all.

The check is lexical and errs on the side of rejecting: a variant is dropped from the table
when an article that holds its keys mentions the new value at all, even about something
else.

Usage::

    .venv/bin/python eval/make_near_miss.py            # writes eval/qa_near_miss.jsonl
    .venv/bin/python eval/make_near_miss.py --out /tmp/x.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_PATH = ROOT / "eval" / "qa_dev.jsonl"
SEEDS_DIR = ROOT / "seeds"
OUT_PATH = ROOT / "eval" / "qa_near_miss.jsonl"

#: The kinds of change, in the order the counts are printed.
CHANGED_KINDS: tuple[str, ...] = (
    "year",
    "edition",
    "place",
    "person",
    "organisation",
    "metric",
    "figure",
    "date",
    "entity",
)
#: Kinds whose new value must occur nowhere in the seeds (not only not near the keys).
CORPUS_WIDE: frozenset[str] = frozenset({"person", "entity"})
#: The first 进博会 was held in 2018, so the N-th edition is in 2017 + N.
EXPO_FIRST_YEAR = 2018
EXPO_WORDS = ("进博会", "进口博览会")

# --------------------------------------------------------------------------- the seed pages

#: Lines that open a new article, per page (a line opens one when it starts with the
#: marker; each marker must match exactly one line).  Text before the first marker is the
#: page's first article.  Sub-headings inside an article (扬开放之帆, ### “党建+引领”) do
#: not open one, so an article is the whole news piece.  The district round-up on page 002
#: is cut into its district items, and the six 省政府新闻办 pieces on page 003 apart.
ARTICLE_STARTS: dict[str, tuple[str, ...]] = {
    "000_79f41e49edf8f691.txt": (
        "并州论坛 |",
        "尖草坪区创新涉农审批服务",
        "志愿助农抢收确保颗粒归仓",
        "11月4日，太原市图书馆自习室座无虚席",
        "紫林醋业举办安全生产培训",
        "山西财大开展应急疏散演练",
        "党建引领绘就“老青小”幸福底色",
    ),
    "001_867f14aa76f89740.txt": (
        "### 【并州论坛】",
        "## “太原论坛”志愿者分批次上岗服务",
        "## “创客中国”市级比赛9月1日启幕",
        "## 绿色过中元 文明寄哀思",
        "## 理工大获批国家自然科学基金项目135个",
        "## 五个揭榜挂帅项目科技成果转化签约",
        "在中国人民抗日战争胜利纪念日到来之际",
        "### 华都社区",
    ),
    "002_c8ae31b64c1052c2.txt": (
        "太原理工大学两人参加中国第38次南极科考",
        "社区干部巡查 发现走失老人",
        "转型发展蹚新路 基层进行时",
        "小店区",
        "尖草坪区",
        "古交市",
        "娄烦县",
        "迎泽区",
        "万柏林区",
        "清徐县",
        "综改示范区",
        "杏花岭区",
        "晋源区",
        "阳曲县",
        "中北高新区",
    ),
    "003_030953ef5e0be5b6.txt": (
        "我市全力保障农交会顺利举办",
        "继液氧液氮之后又生产出液氩",
        "价格低品质优 太钢首单不锈钢复合板产品获肯定",
        "唱响中国经济“光明论”",
        "三个维度支持太原制造",
        "全力保障太原科技创新",
        "支持太原建设开放高地",
        "9月20日,太原市护路中心",
        "品牌战略助推特优农业发展",
        "省市联动提升空气质量",
        "擦亮锦绣太原文旅品牌",
        "自抓党建促基层治理能力提升专项行动以来",
    ),
    "004_6d3b14249bc8cb53.txt": (
        "# 以更加饱满的精神状态",
        "## 应对天气快速升温",
        "7月28日,山西大学美术学院内",
        "## 进出机场再添主干路",
        "## 市疫情防控办提示",
        "## 山西文物数字化探索",
        "## 山西中部城市群档案服务打开新格局",
        "### 万柏林区",
        "通告 亲贤村",
    ),
}


def fold(text: str) -> str:
    """NFKC, lower case, no whitespace: column breaks and full-width digits stop mattering."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


@dataclass(frozen=True)
class Article:
    """One news piece of a seed page, with the page's year."""

    page: str
    index: int
    title: str
    text: str  # folded (see :func:`fold`)
    year: int


@dataclass(frozen=True)
class Corpus:
    """The seed pages cut into articles."""

    articles: tuple[Article, ...]

    def of_pages(self, pages: Iterable[str]) -> list[Article]:
        """The articles of the named pages."""
        wanted = set(pages)
        return [a for a in self.articles if a.page in wanted]


def split_articles(name: str, text: str, year: int, starts: Sequence[str]) -> list[Article]:
    """Cut one page at the lines that start with ``starts`` (each must match exactly one line)."""
    lines = text.splitlines()
    cuts = [0]
    for marker in starts:
        hits = [i for i, line in enumerate(lines) if line.strip().startswith(marker)]
        if len(hits) != 1:
            raise ValueError(f"{name}: article marker {marker!r} matches {len(hits)} lines")
        cuts.append(hits[0])
    if cuts != sorted(cuts) or len(set(cuts)) != len(cuts):
        raise ValueError(f"{name}: article markers out of page order")
    bounds = [*cuts, len(lines)]
    articles = []
    for index, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        body = "\n".join(lines[lo:hi])
        title = next((ln.strip() for ln in lines[lo:hi] if ln.strip()), "")
        articles.append(Article(name, index, title[:30], fold(body), year))
    return articles


def load_corpus(seeds_dir: Path = SEEDS_DIR) -> Corpus:
    """Read ``seeds/*.txt`` with the page dates of ``seeds/pages.json``, cut into articles."""
    meta = json.loads((seeds_dir / "pages.json").read_text(encoding="utf-8"))
    articles: list[Article] = []
    for path in sorted(seeds_dir.glob("*.txt")):
        year = int(meta[path.name]["date"][:4])
        text = path.read_text(encoding="utf-8")
        articles += split_articles(path.name, text, year, ARTICLE_STARTS[path.name])
    return Corpus(tuple(articles))


def load_dev(path: Path = DEV_PATH) -> dict[str, dict]:
    """The dev questions by id."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def sources_of(row: Mapping) -> list[str]:
    """The source page(s) of a dev question as a list."""
    source = row.get("source")
    if not source:
        return []
    return [source] if isinstance(source, str) else list(source)


# --------------------------------------------------------------------------- numbers, years, dates

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "〇零一二两三四五六七八九十"


def cn_small(n: int) -> str:
    """Chinese numeral for 0 < n < 100: 9 → 九, 12 → 十二, 38 → 三十八."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def cn_value(text: str) -> int | None:
    """Value of a small Chinese numeral (三十八 → 38, 二〇二一 → 2021), or None."""
    if not text or any(c not in _CN_NUM for c in text):
        return None
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def number_value(text: str) -> int | None:
    """Value of an Arabic or small Chinese numeral."""
    return int(text) if text.isdigit() else cn_value(text)


def _bounded(literal: str) -> str:
    """Regex for a folded literal that may not continue a longer number on either side."""
    pattern = re.escape(fold(literal))
    if literal[:1].isdigit():
        pattern = r"(?<!\d)(?<!\d\.)" + pattern
    if literal[-1:].isdigit():
        pattern += r"(?!\d)(?!\.\d)"
    return pattern


def spellings(literal: str) -> list[str]:
    """``literal`` and, when it holds numbers below 100, its Chinese-numeral spelling."""
    out = [literal]
    if re.search(r"\d", literal) and all(int(m) < 100 for m in re.findall(r"\d+", literal)):
        out.append(re.sub(r"\d+", lambda m: cn_small(int(m.group())), literal))
    return out


def mentions(text: str, literal: str) -> bool:
    """Whether folded ``text`` holds ``literal`` (or its Chinese-numeral spelling) as a whole number."""
    return any(re.search(_bounded(s), text) for s in spellings(literal))


def is_expo_article(article: Article) -> bool:
    """Whether the article is about the 进博会 (its editions map to years)."""
    return any(w in article.text for w in EXPO_WORDS)


_RELATIVE_YEARS = {"今年": 0, "本年": 0, "去年": -1, "前年": -2, "明年": 1}


def years_in(article: Article) -> set[int]:
    """Years an article speaks of: printed, in ranges, relative to its page, its own year, 进博会 editions."""
    text = article.text
    years = {article.year}
    years |= {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)(?!\d)", text)}
    for a, b in re.findall(r"(?<!\d)((?:19|20)\d\d)年?[—–\-~至到]((?:19|20)\d\d)(?!\d)", text):
        years |= set(range(int(a), int(b) + 1))
    for numeral in re.findall(r"[〇零一二三四五六七八九]{4}(?=年)", text):
        years.add(cn_value(numeral) or 0)
    years |= {article.year + delta for word, delta in _RELATIVE_YEARS.items() if word in text}
    if is_expo_article(article):
        for n in re.findall(rf"第(\d+|[{_CN_NUM}]+)届", text):
            if (value := number_value(n)) is not None:
                years.add(EXPO_FIRST_YEAR - 1 + value)
    return years


def editions_in(article: Article, counter: str) -> set[int]:
    """Numbers N of "第N届/次/号" printed in an article, plus the 进博会 editions of its years."""
    found = {number_value(n) for n in re.findall(rf"第(\d+|[{_CN_NUM}]+){counter}", article.text)}
    if counter == "届" and is_expo_article(article):
        found |= {y - EXPO_FIRST_YEAR + 1 for y in years_in(article)}
    return {n for n in found if n is not None}


_DATE = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")
_DATE_RANGE = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日(?:\d{1,2}时)?[至到—–~-](?:(\d{1,2})月)?(\d{1,2})日")
_UNTIL = re.compile(r"(?:持续|延续|截至|直至)至?(\d{1,2})月(\d{1,2})日")
_MONTH = re.compile(r"(?<!\d)(\d{1,2})月")
_MONTH_RANGE = re.compile(r"(?<!\d)(\d{1,2})月?[至到—–~-](\d{1,2})月")


def dates_in(article: Article) -> set[tuple[int, int]]:
    """(month, day) pairs an article names, ranges filled in; "持续至D" runs from its first date."""
    text = article.text
    dates = {(int(m), int(d)) for m, d in _DATE.findall(text)}
    for m1, d1, m2, d2 in _DATE_RANGE.findall(text):
        start, end = (int(m1), int(d1)), (int(m2 or m1), int(d2))
        dates |= {(m, d) for m in range(start[0], end[0] + 1) for d in range(1, 32) if start <= (m, d) <= end}
    for m, d in _UNTIL.findall(text):
        end = (int(m), int(d))
        earlier = [x for x in dates if x[0] == end[0] and x <= end]
        if earlier:
            dates |= {(end[0], day) for day in range(min(earlier)[1], end[1] + 1)}
    return dates


def months_in(article: Article) -> set[int]:
    """Months an article names: printed, in ranges (1至8月), in dates, 上半年/下半年."""
    text = article.text
    months = {int(m) for m in _MONTH.findall(text)} | {m for m, _ in dates_in(article)}
    for a, b in _MONTH_RANGE.findall(text):
        months |= set(range(int(a), int(b) + 1))
    if "上半年" in text:
        months |= set(range(1, 7))
    if "下半年" in text:
        months |= set(range(7, 13))
    return {m for m in months if 1 <= m <= 12}


# --------------------------------------------------------------------------- the table

#: Key terms of each source question: groups of alternatives split by "|", the first as
#: the question words it, the others as the pages print it.  A variant keeps the groups
#: whose first alternative it still contains; those select the articles to check.
KEYS: dict[str, tuple[str, ...]] = {
    "q001": ("展厅", "主题"),
    "q002": ("展厅", "面积|平方米"),
    "q003": ("展厅", "企业"),
    "q004": ("展厅", "太原|我市"),
    "q005": ("山西工美产业联盟|工美", "展陈部主任|展陈部"),
    "q006": ("澳意芦荟", "董事长"),
    "q007": ("澳意芦荟", "卖出|售出"),
    "q008": ("山西之夜", "梧桐公寓", "美食|菜品"),
    "q010": ("推介会", "主题"),
    "q011": ("山西之夜", "醋"),
    "q012": ("展厅", "板块"),
    "q014": ("费托合成", "期刊|《科学》"),
    "q015": ("费托合成", "产率"),
    "q016": ("重点实验室", "全省"),
    "q019": ("拖拉机", "时限"),
    "q020": ("行政审批服务管理局", "常态化"),
    "q021": ("行政审批服务管理局", "涉农审批"),
    "q022": ("抢收", "志愿者"),
    "q023": ("图书馆", "自习室"),
    "q024": ("安全生产", "培训"),
    "q025": ("安全生产", "培训"),
    "q026": ("应急疏散演练", "师生"),
    "q027": ("应急疏散演练", "校区"),
    "q029": ("西华苑东社区", "街道"),
    "q030": ("西华苑东社区", "儿童互动活动|儿童"),
    "q031": ("张桂兰", "公益课"),
    "q033": ("圆桌派", "读书沙龙"),
    "q034": ("展厅", "游戏"),
    "q037": ("进博会|进口博览会", "主题"),
    "q038": ("山西工美产业联盟|工美", "卖光|售罄"),
    "q039": ("侯森", "考察学习|考察"),
    "q040": ("侯森", "合肥", "考察", "企业"),
    "q041": ("合肥", "40多个", "落户"),
    "q042": ("合肥", "本地配套率|配套率"),
    "q043": ("上半年", "杏花岭区", "规上工业增加值", "增速"),
    "q044": ("杏花岭区", "两大板块"),
    "q045": ("侯森", "合肥", "感受"),
    "q046": ("国家卫生城市", "推进会"),
    "q048": ("太原能源低碳发展论坛|太原论坛", "志愿者", "培训"),
    "q050": ("太原论坛", "志愿者", "服务地点"),
    "q051": ("太原论坛", "志愿者", "签到"),
    "q053": ("创客中国", "报名"),
    "q054": ("创客中国", "比赛"),
    "q055": ("创客中国", "奖金"),
    "q057": ("中元节", "祭扫", "App"),
    "q058": ("太原理工大学", "国家自然科学基金"),
    "q059": ("太原理工大学", "国家自然科学基金", "直接经费"),
    "q060": ("科技成果对接",),
    "q061": ("太原市", "科技成果对接", "落地转化"),
    "q062": ("老军营街道", "主题活动"),
    "q063": ("华都社区", "党员中心户"),
    "q064": ("今年上半年|上半年", "华都社区", "议事会", "解决"),
    "q067": ("雷蕾", "瑞士", "意向合作"),
    "q068": ("美特好", "进口水果", "增长"),
    "q069": ("山西辰涵数字科技股份有限公司|辰涵", "商务经理"),
    "q071": ("南极", "博士生"),
    "q072": ("王煜尘", "中山站", "越冬"),
    "q073": ("寇立伟", "南大洋"),
    "q074": ("太原理工大学", "极地科考团队", "人次"),
    "q075": ("走失", "未接来电"),
    "q076": ("新兴社区", "老人"),
    "q078": ("迎泽区", "社区食堂"),
    "q079": ("上海", "招商推介会", "签约"),
    "q080": ("推介会", "投资项目", "意向投资金额"),
    "q081": ("晋源区", "11月4日", "战略合作框架协议"),
    "q082": ("清徐县", "南部新城"),
    "q083": ("娄烦县", "11月2日", "调研"),
    "q084": ("古交市", "农房", "推进会"),
    "q086": ("中北高新区", "党工委", "11月5日"),
    "q087": ("第四届", "太原", "采购商"),
    "q089": ("第四届", "锦波生物|锦波", "参会"),
    "q091": ("公民道德宣传日", "主题活动"),
    "q092": ("公民道德宣传日", "专区"),
    "q093": ("第八届", "农交会", "展销区"),
    "q094": ("省政府新闻办", "农交会", "副市长"),
    "q095": ("太化新材料", "液氧", "液氮"),
    "q096": ("太钢", "联盛浆纸", "不锈钢复合板", "合同"),
    "q097": ("太钢", "不锈钢复合板"),
    "q101": ("今年", "绿色工厂"),
    "q102": ("1至8月", "太原", "PM2.5|PM_{2.5}", "同比"),
    "q105": ("太原", "今年以来", "品牌推介活动"),
    "q106": ("嘉节社区", "党委副书记"),
    "q107": ("新源小区", "板凳议事"),
    "q111": ("太原电视台", "微视频"),
    "q112": ("2021年", "国务院", "太原", "定位"),
    "q114": ("市政协", "党组扩大会议|扩大会议"),
    "q115": ("市政协", "党组扩大会议|扩大会议"),
    "q116": ("工业高质量发展大会", "召开"),
    "q118": ("马兰镇", "党委副书记"),
    "q119": ("调度令", "管控"),
    "q120": ("调度令", "建筑工地", "喷淋洒水"),
    "q121": ("经北街", "全长"),
    "q122": ("经北街", "太榆路", "桥梁"),
    "q124": ("7月27日", "无症状感染者"),
    "q125": ("云冈石窟", "等比例复制"),
    "q127": ("档案馆", "查档电话"),
    "q129": ("万柏林区", "社区养老服务中心"),
    "q130": ("万柏林区", "帮办代办员"),
    "q132": ("亲贤村", "地块二", "物业"),
    "q134": ("山西大学美术学院|美术学院", "彩塑妆金", "资助"),
    "q135": ("太钢集团", "2021年", "经营业绩"),
    "q144": ("太钢", "复合钢板|不锈钢复合板"),
    "q157": ("侯森", "7家", "企业", "深度融合"),
}


@dataclass(frozen=True)
class Variant:
    """One near miss: replace ``old`` by ``new`` in question ``source``."""

    source: str
    changed: str
    old: str
    new: str
    reason: str
    #: Literal spellings of the new value to look for (place, person, organisation,
    #: metric, figure, entity); empty means the kind's default (see :func:`probes_of`).
    probes: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """Why the pages do not answer the variant (written to the ``note`` field)."""
        return f"{self.new} instead of {self.old}; {self.reason}"


def V(source: str, changed: str, old: str, new: str, reason: str, *probes: str) -> Variant:
    """Shorthand for a table row."""
    return Variant(source, changed, old, new, reason, tuple(probes))


_EXPO_PAGES = "the 进博会 pages cover the 4th (2021) and, looking back from 2025, the 5th to 8th editions"

#: The hand-written substitutions, in output order.
VARIANTS: tuple[Variant, ...] = (
    # ----------------------------------------------------------- page 000 (2025-11)
    V("q001", "edition", "第八届", "第九届", f"{_EXPO_PAGES}; none mentions a 9th"),
    V("q001", "year", "第八届进博会上", "2020年进博会上", "no page speaks of the 2020 (3rd) 山西展厅"),
    V(
        "q001",
        "figure",
        "第八届进博会上，山西展厅",
        "面积2000平方米的山西展厅",
        "the halls are 435平方米 (2025) and 数百平方米 (2022)",
    ),
    V("q002", "edition", "第八届", "第九届", "only the 2025 (8th) hall area is printed"),
    V("q002", "year", "第八届", "2026年", "the latest page is of 2025; no 2026 expo"),
    V(
        "q002",
        "metric",
        "面积有多大",
        "有多高",
        "the article gives the area, never a height",
        "层高",
        "米高",
        "挑高",
        "高度为",
        "高度达",
    ),
    V("q003", "edition", "第八届", "第四届", "the 2021 (4th) report names no 山西展厅 or its firms"),
    V(
        "q003",
        "figure",
        "第八届进博会山西展厅",
        "面积超过1000平方米的山西展厅",
        "the halls are 435平方米 and 数百平方米",
    ),
    V(
        "q003",
        "metric",
        "汇集了全省多少家企业",
        "接待了多少人次的观众",
        "visitor numbers are never given",
        "人次",
        "名观众",
        "万观众",
    ),
    V("q004", "year", "今年", "2021年", "the 2021 report names no 山西展厅"),
    V("q004", "place", "太原", "大同", "the 2025 article counts only the firms from 太原 (7家)"),
    V(
        "q004",
        "figure",
        "今年进博会山西展厅的参展企业里",
        "汇集了30家企业的山西展厅里",
        "the 2025 hall holds 26家; no hall of 30",
    ),
    V(
        "q005",
        "organisation",
        "山西工美产业联盟",
        "山西文博产业联盟",
        "only 山西工美产业联盟 has a 展陈部主任 on the page",
    ),
    V(
        "q006",
        "organisation",
        "山西澳意芦荟生物科技有限公司",
        "六味斋",
        "六味斋 is named nowhere in the pages",
    ),
    V(
        "q007",
        "organisation",
        "山西澳意芦荟生物科技有限公司",
        "太原双合成",
        "双合成 is named nowhere in the pages",
    ),
    V("q008", "figure", "最后", "从100多个菜品中", "the page says 从80多个菜品中", "100"),
    V(
        "q010",
        "edition",
        "第六届",
        "第三届",
        "the 2021 page's 推介会 belongs to the 4th edition; no 3rd-edition 推介会",
    ),
    V("q010", "year", "第六届", "2019年", "no page reports the 2019 expo"),
    V("q011", "place", "太原企业", "晋中企业", "the only vinegar firm at 山西之夜 is from 太原"),
    V("q012", "edition", "第八届", "第四届", "the 2021 report names no 山西展厅 or its 板块"),
    V("q012", "year", "第八届", "2019年", "no page reports the 2019 expo"),
    V("q014", "entity", "费托合成", "钙钛矿电池", "钙钛矿 is named nowhere in the pages", "钙钛矿"),
    V(
        "q015",
        "metric",
        "二氧化碳",
        "甲烷",
        "the commentary gives the CO2 rate and the 烯烃 share only",
        "甲烷",
    ),
    V("q016", "place", "太原", "大同", "the 88% share is 太原's; 大同 is not in the commentary"),
    V(
        "q016",
        "metric",
        "国家级重点实验室",
        "国家级科技企业孵化器",
        "the commentary gives 重点实验室 and 高新技术企业 shares only",
        "孵化器",
    ),
    V("q019", "place", "尖草坪区", "阳曲县", "the 2个工作日 limit is reported for 尖草坪区 only"),
    V("q020", "place", "尖草坪区", "清徐县", "the brief is about 尖草坪区's 行政审批服务管理局 only"),
    V("q021", "place", "尖草坪区", "小店区", "草坪易办 belongs to 尖草坪区; 小店区's item is about 数字经济"),
    V("q022", "place", "古交市", "娄烦县", "the 抢收 brief is about 古交市邢家社乡"),
    V("q023", "organisation", "太原市图书馆", "山西省图书馆", "the photo shows 太原市图书馆"),
    V(
        "q024",
        "organisation",
        "紫林醋业",
        "水塔醋业",
        "水塔醋业 appears only at 山西之夜, not with a 安全生产培训",
    ),
    V("q025", "organisation", "紫林醋业", "美特好集团", "the only 安全生产培训 on the pages is 紫林醋业's"),
    V("q026", "year", "2025年", "2024年", "the page reports the 2025 drill only"),
    V(
        "q026",
        "organisation",
        "山西财经大学",
        "山西大学",
        "the drill is 山西财经大学's; 山西大学 appears elsewhere",
    ),
    V("q026", "date", "2025年", "11月5日的", "the drill was held on 11月2日", "11月5日"),
    V("q027", "organisation", "山西财经大学", "太原理工大学", "no 太原理工大学 drill is reported"),
    V("q029", "place", "西华苑东社区", "西华苑西社区", "西华苑西社区 is named nowhere in the pages"),
    V("q030", "year", "今年以来", "2024年", "the article counts this year (2025) only"),
    V(
        "q030",
        "place",
        "西华苑东社区",
        "华都社区",
        "华都社区's article (2023) gives no children's activity count",
    ),
    V("q031", "person", "张桂兰", "李秀英", "李秀英 is named nowhere in the pages"),
    V("q031", "figure", "71岁", "65岁", "the article quotes residents of 71, 63, 29 and 6"),
    V("q033", "place", "西华苑东社区", "嘉节社区", "嘉节社区's article mentions no 圆桌派 or 读书沙龙"),
    V("q034", "edition", "去年的第七届", "第四届", "the 2021 (4th) report names no 山西展厅 or game"),
    V("q034", "year", "去年的第七届", "2021年的", "the 2021 report names no 山西展厅 or game"),
    V("q037", "year", "2025年", "2019年", "no page reports the 2019 expo"),
    V("q038", "organisation", "山西工美产业联盟", "平遥牛肉集团", "平遥牛肉 is named nowhere in the pages"),
    # ----------------------------------------------------------- page 001 (2023-08)
    V("q039", "person", "侯森", "王志刚", "the 杏花岭区委书记 on the page is 侯森; 王志刚 is named nowhere"),
    V("q040", "person", "侯森", "赵建军", "赵建军 is named nowhere in the pages"),
    V("q040", "place", "合肥", "深圳", "侯森's trip went to 合肥; 深圳 is named nowhere"),
    V("q041", "figure", "40多个", "60多个", "京东方 brought 40多个 projects"),
    V("q041", "place", "合肥", "武汉", "the interview is about 合肥; 武汉 is named nowhere"),
    V("q042", "place", "合肥", "西安", "the 35% is 合肥's; 西安 is named nowhere"),
    V(
        "q042",
        "metric",
        "本地配套率",
        "产值",
        "the interview gives a 配套率, never an output value",
        "产值",
        "亿元",
    ),
    V("q043", "year", "今年上半年", "2022年上半年", "the interview gives the first half of 2023 only"),
    V("q043", "place", "杏花岭区", "尖草坪区", "the 57.9% is 杏花岭区's"),
    V("q043", "date", "今年上半年", "今年7月", "the interview gives the first half of the year only"),
    V(
        "q043",
        "metric",
        "规上工业增加值增速",
        "地区生产总值",
        "the interview gives industrial growth, not GDP",
        "地区生产总值",
        "生产总值",
        "gdp",
    ),
    V("q044", "place", "杏花岭区", "小店区", "the 两大板块 are 杏花岭区's"),
    V("q157", "figure", "7家", "9家", "侯森's group visited 7家 firms"),
    V("q045", "person", "侯森", "王建国", "王建国 is named nowhere in the pages"),
    V(
        "q046",
        "entity",
        "国家卫生城市",
        "全国文明城市",
        "no 全国文明城市 meeting is reported",
        "全国文明城市",
        "文明城市",
    ),
    V("q048", "year", "2023年", "2022年", "the page reports the 2023 论坛 only"),
    V("q048", "year", "2023年", "2024年", "the page reports the 2023 论坛 only"),
    V("q050", "entity", "“太原论坛”", "“煤博会”", "no 煤博会 is reported", "煤博会", "煤炭交易"),
    V("q051", "entity", "“太原论坛”", "“太原马拉松”", "no 马拉松 is reported", "马拉松"),
    V("q053", "year", "2023年", "2022年", "the page reports the 2023 比赛 only"),
    V("q053", "year", "2023年", "2024年", "the page reports the 2023 比赛 only"),
    V("q054", "year", "2023年", "2021年", "the page reports the 2023 比赛 only"),
    V("q055", "metric", "一等奖", "特等奖", "the prizes are 一、二、三等奖 and 优胜奖", "特等奖"),
    V("q057", "entity", "中元节", "清明节", "清明 is named nowhere in the pages", "清明"),
    V("q058", "year", "2023年", "2022年", "the page reports the 2023年度 results only"),
    V(
        "q058",
        "organisation",
        "太原理工大学",
        "太原科技大学",
        "太原科技大学 appears only in the 成果对接 reports",
    ),
    V("q058", "organisation", "太原理工大学", "中北大学", "中北大学 is named nowhere in the pages"),
    V("q059", "organisation", "太原理工大学", "山西大学", "the 5111.5万元 is 太原理工大学's"),
    V("q059", "metric", "直接经费", "间接经费", "only the 直接经费 is reported", "间接经费"),
    V(
        "q059",
        "figure",
        "这批国家自然科学基金项目获批直接经费多少",
        "获批的150项国家自然科学基金项目直接经费是多少",
        "the university won 135 projects",
        "150",
    ),
    V("q060", "date", "8月29日", "9月5日", "the 对接 was held on 8月29日"),
    V("q060", "date", "8月29日", "8月30日", "the 对接 was held on 8月29日"),
    V("q061", "place", "太原市", "晋中市", "the 对接 is 太原市's; 晋中 is not in those reports"),
    V("q062", "date", "8月29日", "9月3日", "the photo's event was on 8月29日"),
    V("q062", "place", "老军营街道", "南寒街道", "南寒街道 appears only in the 2025 西华苑东社区 article"),
    V("q063", "place", "华都社区", "西华苑东社区", "西华苑东社区's article gives no 党员中心户"),
    V("q064", "year", "今年上半年", "2021年上半年", "the article counts the first half of 2023 only"),
    V("q064", "date", "今年上半年", "今年7月", "the article counts the first half of the year only"),
    V("q064", "place", "华都社区", "西华苑东社区", "西华苑东社区's article has no 议事会 count"),
    # ----------------------------------------------------------- page 002 (2021-11)
    V("q067", "edition", "第四届", "第五届", "雷蕾 appears only in the 2021 (4th) report"),
    V("q067", "place", "瑞士", "德国", "the deal was with a Swiss firm"),
    V("q067", "person", "雷蕾", "王丽娜", "王丽娜 is named nowhere in the pages"),
    V("q068", "metric", "进口水果", "进口牛肉", "only 进口水果 growth is given", "牛肉"),
    V("q068", "organisation", "美特好超市", "沃尔玛", "沃尔玛 is named nowhere in the pages"),
    V(
        "q069",
        "organisation",
        "山西辰涵数字科技股份有限公司",
        "山西云时代技术有限公司",
        "云时代 is named nowhere",
    ),
    V("q071", "edition", "第38次", "第39次", "the page reports the 38th (and mentions the 36th) expedition"),
    V("q071", "organisation", "太原理工大学", "中北大学", "中北大学 is named nowhere in the pages"),
    V("q072", "place", "中山站", "长城站", "the 越冬 task is at 中山站"),
    V("q072", "person", "王煜尘", "陈宇航", "陈宇航 is named nowhere in the pages"),
    V("q073", "person", "寇立伟", "李明轩", "李明轩 is named nowhere in the pages"),
    V("q073", "place", "南大洋", "北冰洋", "北冰洋 is named nowhere in the pages"),
    V("q074", "organisation", "太原理工大学", "山西大学", "the 8人次 are 太原理工大学's team"),
    V(
        "q075",
        "metric",
        "有多少个未接来电",
        "有多少条微信消息",
        "only 未读短信 and 未接来电 are counted",
        "微信",
    ),
    V("q076", "place", "新兴社区", "新华社区", "新华社区 is named nowhere in the pages"),
    V("q078", "place", "迎泽区", "小店区", "the 20家 plan is 迎泽区's; 小店区's item is about 数字经济"),
    V("q078", "place", "迎泽区", "杏花岭区", "杏花岭区's item is about 疫情防控 and 森林防火"),
    V("q079", "place", "上海", "深圳", "the 推介会 was in 上海"),
    V("q080", "metric", "意向投资金额", "预计年产值", "only the 意向投资金额 is given", "产值"),
    V("q081", "date", "11月4日", "11月6日", "晋源区's item is dated 11月4日"),
    V("q081", "place", "晋源区", "阳曲县", "阳曲县's item is a 专题学习会议"),
    V("q082", "place", "清徐县", "娄烦县", "南部新城 is 清徐县's"),
    V("q083", "date", "11月2日", "11月3日", "娄烦县's visit is dated 11月2日"),
    V("q083", "place", "娄烦县", "阳曲县", "阳曲县's item reports no visit to towns"),
    V("q084", "place", "古交市", "娄烦县", "the 农房 meeting is 古交市's"),
    V("q086", "date", "11月5日", "11月8日", "the 读书班 is dated 11月5日"),
    V("q086", "place", "中北高新区", "综改示范区", "综改示范区's item is about its 推介会"),
    V("q087", "edition", "2021年第四届", "2025年第八届", "the 2025 report gives no 采购商 count"),
    V("q087", "place", "太原", "大同", "the report is about 太原's buyers"),
    V("q089", "edition", "第四届", "第八届", "锦波生物 appears only in the 2021 (4th) report"),
    # ----------------------------------------------------------- page 003 (2023-09)
    V("q091", "entity", "“公民道德宣传日”", "“全国科普日”", "no 科普日 is reported", "科普日"),
    V("q092", "year", "今年", "2022年", "the page reports the 2023 (21st) 宣传日 only"),
    V("q093", "edition", "第八届", "第七届", "the page reports the 8th 农交会 only"),
    V("q093", "place", "太原", "晋中", "the 展销区 is 太原's"),
    V("q094", "edition", "第八届", "第九届", "the page reports the 8th 农交会 only"),
    V("q094", "place", "太原", "大同", "大同 appears only in the 区域中心城市 piece"),
    V("q095", "organisation", "太化新材料公司", "太钢", "the 液氩 news is 太化新材料's"),
    V("q096", "organisation", "联盛浆纸公司", "晨鸣纸业", "晨鸣 is named nowhere in the pages", "晨鸣"),
    V(
        "q096",
        "figure",
        "为联盛浆纸公司生产的不锈钢复合板合同共有",
        "那份重2000吨的不锈钢复合板合同一共有",
        "the contract is 1159吨",
        "2000",
    ),
    V("q097", "organisation", "太钢", "宝钢", "宝钢 is named nowhere in the pages"),
    V("q101", "year", "今年", "2022年", "the piece gives this year's (2023) 绿色工厂 only"),
    V("q101", "metric", "绿色工厂", "智能工厂", "only 绿色工厂 and 绿色产品 are counted", "智能工厂"),
    V("q102", "year", "今年", "2021年", "the piece gives 2017, 2022 and this year's (2023) figures"),
    V("q102", "place", "太原", "晋中", "the figures are 太原's"),
    V("q102", "metric", "PM2.5", "臭氧", "the piece gives PM2.5 only", "臭氧"),
    V("q102", "date", "1至8月", "9月", "the piece covers 1至8月 only"),
    V(
        "q102",
        "metric",
        "1至8月太原PM2.5浓度同比下降了多少",
        "太原的地区生产总值是多少",
        "no page gives a GDP figure",
        "地区生产总值",
        "生产总值",
        "gdp",
    ),
    V("q105", "year", "今年以来", "2021年", "the piece counts this year's (2023) events only"),
    V("q105", "place", "太原", "大同", "the 4场 are 太原's"),
    V("q106", "place", "嘉节社区", "华都社区", "华都社区's article names no 党委副书记"),
    V(
        "q107",
        "place",
        "新源小区",
        "铁北小区",
        "铁北小区 appears only in the 万柏林区 article, without 板凳议事",
    ),
    V("q111", "organisation", "太原电视台", "山西电视台", "the 百品荟 videos are made with 太原电视台"),
    V("q112", "year", "2021年", "2019年", "the 意见 is of 2021"),
    V("q144", "figure", "那批复合钢板", "那批500块复合钢板", "the contract is 408块", "500"),
    # ----------------------------------------------------------- page 004 (2022-07)
    V("q114", "organisation", "市政协", "市人大常委会", "the pages report no 人大 meeting", "人大"),
    V(
        "q116",
        "entity",
        "工业高质量发展大会",
        "服务业高质量发展大会",
        "no such meeting is reported",
        "服务业高质量发展大会",
    ),
    V("q118", "place", "马兰镇", "河口镇", "河口镇 is named nowhere in the pages"),
    V("q119", "edition", "第10号", "第11号", "the page reports order no. 10 only"),
    V(
        "q120",
        "metric",
        "每次喷淋洒水不少于多长时间",
        "每天用水量不少于多少吨",
        "no water volume is set",
        "吨",
        "用水量",
    ),
    V("q121", "metric", "全长多少公里", "总投资多少", "the report gives no cost", "投资", "亿元", "万元"),
    V("q121", "entity", "经北街全长多少公里", "地铁2号线什么时候开通", "no page mentions a 地铁", "地铁"),
    V("q121", "entity", "经北街", "太原地铁2号线", "no page mentions a 地铁", "地铁"),
    V("q122", "place", "太榆路", "滨河东路", "the bridge crosses 太榆路"),
    V("q122", "figure", "经北街上跨太榆路的", "经北街上那座30孔的", "the bridge has 27孔", "30"),
    V("q124", "date", "7月27日", "7月26日", "the figures are for 7月27日 only"),
    V("q125", "place", "云冈石窟第12窟", "龙门石窟", "龙门 is named nowhere in the pages", "龙门"),
    V("q127", "place", "太原市", "大同市", "the 查档电话 are for 太原、晋中、忻州、吕梁、阳泉"),
    V("q127", "place", "太原市", "长治市", "the 查档电话 are for 太原、晋中、忻州、吕梁、阳泉"),
    V("q127", "entity", "档案馆", "不动产登记中心", "no 不动产登记中心 is named", "不动产"),
    V("q129", "place", "万柏林区", "小店区", "the 28所 are 万柏林区's"),
    V("q129", "year", "目前", "2020年底", "the article gives the 2022 count only"),
    V("q130", "place", "万柏林区", "晋源区", "the 2381名 are 万柏林区's"),
    V("q132", "place", "地块二", "地块三", "the notice concerns 地块二 only", "地块三", "地块3"),
    V("q134", "organisation", "山西大学", "太原理工大学", "the exhibition is at 山西大学美术学院"),
    V("q134", "entity", "彩塑妆金工艺", "琉璃烧制工艺", "琉璃 is named nowhere in the pages", "琉璃"),
    V("q135", "year", "2021年", "2020年", "the article gives the 2021 result only"),
    V("q135", "organisation", "太钢集团", "太重集团", "太重 is named nowhere in the pages", "太重"),
)

# --------------------------------------------------------------------------- the check

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_EDITION = re.compile(rf"第(\d+|[{_CN_NUM}]+)(届|次|号)")
_NEW_DATE = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})日")
_NEW_MONTHS = re.compile(r"(?<!\d)(\d{1,2})(?:月?[至到](\d{1,2}))?月")
_SUFFIXES = ("街道", "社区", "小区", "区", "县", "市", "镇", "乡")


def key_groups(source: str) -> list[list[str]]:
    """The key-term groups of a source question (alternatives split by ``|``)."""
    return [group.split("|") for group in KEYS.get(source, ())]


def remaining_keys(variant: Variant, question: str) -> list[list[str]]:
    """The key groups the variant still names (first alternative still in its question)."""
    return [g for g in key_groups(variant.source) if fold(g[0]) in fold(question)]


def has_keys(article: Article, groups: Sequence[Sequence[str]]) -> bool:
    """Whether every group has an alternative in the article."""
    return all(any(fold(alt) in article.text for alt in group) for group in groups)


def probes_of(variant: Variant) -> list[str]:
    """Literal spellings of a variant's new value (for the kinds that compare literals)."""
    if variant.probes:
        return list(variant.probes)
    if variant.changed == "figure":
        return re.findall(r"\d+", variant.new)
    probes = [variant.new.strip("“”")]
    if variant.changed == "place":
        for suffix in _SUFFIXES:
            stem = probes[0].removesuffix(suffix)
            if stem != probes[0] and len(stem) >= 2:
                probes.append(stem)
                break
    return probes


#: Round figures in words, and the values they may stand for ("数百平方米" may be 600).
_APPROX: dict[str, tuple[int, int]] = {
    "数十": (20, 99),
    "几十": (20, 99),
    "近百": (70, 100),
    "上百": (100, 999),
    "数百": (200, 999),
    "几百": (200, 999),
    "近千": (700, 1000),
    "上千": (1000, 9999),
    "千余": (1000, 1999),
    "数千": (2000, 9999),
    "几千": (2000, 9999),
}


def approximate_figure(text: str, number: str, new: str) -> str | None:
    """A round figure in words in folded ``text`` that could be ``number`` with its unit in ``new``."""
    m = re.search(rf"(?<!\d){number}(?!\d)[多余]?(平方米|平方公里|万元|亿元|公里|.)", new)
    if not m:
        return None
    unit, value = m.group(1), int(number)
    for word, (lo, hi) in _APPROX.items():
        if lo <= value <= hi and re.search(re.escape(word) + "[余多]?" + re.escape(fold(unit)), text):
            return word + unit
    return None


def new_value_in(variant: Variant, article: Article) -> str | None:
    """How ``article`` mentions the variant's new value, or None when it does not."""
    kind, new = variant.changed, variant.new
    if kind == "year":
        year = int(_YEAR.search(new).group(1))  # type: ignore[union-attr]
        return f"year {year}" if year in years_in(article) else None
    if kind == "edition":
        number, counter = _EDITION.search(new).groups()  # type: ignore[union-attr]
        value = number_value(number)
        return f"第{value}{counter}" if value in editions_in(article, counter) else None
    if kind == "date":
        if m := _NEW_DATE.search(new):
            date = (int(m.group(1)), int(m.group(2)))
            return f"date {date[0]}月{date[1]}日" if date in dates_in(article) else None
        m = _NEW_MONTHS.search(new)
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))  # type: ignore[union-attr]
        hit = set(range(first, last + 1)) & months_in(article)
        return f"month {sorted(hit)}" if hit else None
    for probe in probes_of(variant):
        if mentions(article.text, probe):
            return probe
        if kind == "figure" and probe.isdigit() and (hit := approximate_figure(article.text, probe, new)):
            return hit
    return None


def check_variant(variant: Variant, corpus: Corpus, dev: Mapping[str, Mapping]) -> list[str]:
    """Problems with a variant; empty when it is well formed and no seed article answers it."""
    where = f"{variant.source} {variant.changed} {variant.old}→{variant.new}"
    row = dev.get(variant.source)
    if row is None or not row.get("answerable"):
        return [f"{where}: {variant.source} is not an answerable dev question"]
    if variant.changed not in CHANGED_KINDS:
        return [f"{where}: unknown kind {variant.changed!r}"]
    original = row["question"]
    if original.count(variant.old) != 1:
        return [f"{where}: {variant.old!r} must occur once in {original!r}"]
    if variant.new in variant.old or variant.old in variant.new:
        return [f"{where}: the new value must not contain the old one or be part of it"]
    question = original.replace(variant.old, variant.new)
    problems = []
    if question in {r["question"] for r in dev.values()}:
        problems.append(f"{where}: {question!r} is already a dev question")
    if variant.changed == "year" and not _YEAR.search(variant.new):
        problems.append(f"{where}: a year change needs a year (2024) in the new value")
    if variant.changed == "edition" and not _EDITION.search(variant.new):
        problems.append(f"{where}: an edition change needs 第N届/次/号 in the new value")
    if variant.changed == "date" and not (_NEW_DATE.search(variant.new) or _NEW_MONTHS.search(variant.new)):
        problems.append(f"{where}: a date change needs M月D日 or a month in the new value")
    if variant.changed == "metric" and not variant.probes:
        problems.append(f"{where}: a metric change needs explicit probes")
    if problems:
        return problems

    groups = key_groups(variant.source)
    if not groups:
        return [f"{where}: no KEYS for {variant.source}"]
    for group in groups:
        if fold(group[0]) not in fold(original):
            problems.append(f"{where}: key {group[0]!r} is not in the source question")
    source_articles = corpus.of_pages(sources_of(row))
    if not any(has_keys(a, groups) for a in source_articles):
        problems.append(f"{where}: the keys {groups} never occur together in one source article")
    kept = remaining_keys(variant, question)
    if not kept and variant.changed not in CORPUS_WIDE:
        problems.append(f"{where}: the substitution removes every key term")
    if problems:
        return problems

    scope = (
        corpus.articles
        if variant.changed in CORPUS_WIDE
        else [a for a in corpus.articles if has_keys(a, kept)]
    )
    for article in scope:
        hit = new_value_in(variant, article)
        if hit is not None:
            problems.append(
                f"{where}: {article.page} article {article.index} ({article.title}) mentions {hit}"
                + ("" if variant.changed in CORPUS_WIDE else f" next to {[g[0] for g in kept]}")
            )
    return problems


def question_of(variant: Variant, dev: Mapping[str, Mapping]) -> str:
    """The variant's question text."""
    return dev[variant.source]["question"].replace(variant.old, variant.new)


def build_rows(
    variants: Sequence[Variant], corpus: Corpus, dev: Mapping[str, Mapping]
) -> tuple[list[dict], list[str]]:
    """Rows in the QA format for the variants that pass :func:`check_variant`, and all problems."""
    rows: list[dict] = []
    problems: list[str] = []
    seen: set[str] = set()
    for variant in variants:
        found = check_variant(variant, corpus, dev)
        if found:
            problems += found
            continue
        question = question_of(variant, dev)
        if question in seen:
            problems.append(f"{variant.source}: duplicate question {question!r}")
            continue
        seen.add(question)
        rows.append(
            {
                "id": f"n{len(rows) + 1:03d}",
                "question": question,
                "answers": [],
                "evidence": [],
                "answerable": False,
                "type": "unanswerable",
                "source": None,
                "near_miss_of": variant.source,
                "changed": variant.changed,
                "note": variant.note,
            }
        )
    return rows, problems


def write_jsonl(rows: Iterable[dict], path: Path) -> None:
    """Write rows as UTF-8 JSON Lines with unescaped Chinese."""
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Build, check and write the near-miss set; print counts per kind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_PATH, help="output file (default: %(default)s)")
    parser.add_argument("--dev", type=Path, default=DEV_PATH, help="dev QA set (default: %(default)s)")
    parser.add_argument("--seeds", type=Path, default=SEEDS_DIR, help="seed pages (default: %(default)s)")
    args = parser.parse_args(argv)

    corpus = load_corpus(args.seeds)
    dev = load_dev(args.dev)
    rows, problems = build_rows(VARIANTS, corpus, dev)
    if problems:
        print(f"{len(problems)} variant(s) fail the seed check; nothing written:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    write_jsonl(rows, args.out)
    counts = Counter(row["changed"] for row in rows)
    sources = len({row["near_miss_of"] for row in rows})
    print(f"wrote {len(rows)} near misses of {sources} dev questions to {args.out}")
    for kind in CHANGED_KINDS:
        print(f"  {kind:<13}{counts[kind]:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
