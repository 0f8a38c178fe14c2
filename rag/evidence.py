"""Evidence: the sentences that may answer an analysed question, and how well each does.

Two tests decide whether a sentence can support an answer at all:

1. its **article satisfies every hard constraint** of the question (:func:`satisfies`):
   the edition, year, month and day, the named people, places and organisations, the
   figures and quoted terms.  An article about 第八届进博会 cannot answer a question about
   第九届, however many other words they share;
2. for a question that asks for a typed answer (a figure with its unit, a date, a name),
   the sentence **holds a span of that type** that the question does not already state
   (:func:`typed_spans`), about the thing counted (多少家**企业**).

Among the sentences that pass, each gets lexical coverage (idf-weighted share of the
question's words found in the sentence and, with less credit, its headline and passage)
and dense similarity (the question's vector against the sentence vector stored in the
index at ingest).  :func:`answerability` combines both into one score whose refusal
threshold is calibrated on data (``eval/calibrate.py``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer_types import person_names
from rag.question import Constraint, QuestionAnalysis
from rag.text import answer_sentences, normalize_for_match, zh_to_int
from rag.types import Article, Chunk, Passage


class Library(Protocol):
    """What answering reads from the index besides the passages (``rag.index.Index`` is one)."""

    def article(self, article_id: str) -> Article:
        """The article with ``article_id``."""
        ...

    def sentences(self, article_id: str):  # type: ignore[no-untyped-def]  # -> SentenceTable | None
        """The article's quotable sentences with their vectors."""
        ...

    def query_vector(self, text: str) -> np.ndarray:
        """The (cached) query embedding of ``text``."""
        ...

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token."""
        ...

    def document_frequency(self, token: str) -> int:
        """Number of chunks holding a token."""
        ...

    def chunks_of(self, article_id: str) -> list[Chunk]:
        """The chunks of an article, in order."""
        ...

    @property
    def articles(self) -> Mapping[str, Article]:
        """Every article by id (what the paper printed on a date is not only what retrieval ranked)."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer: where it is, what it holds, how well it matches."""

    passage: Passage
    article: Article
    start: int  # offsets into the article body
    end: int
    text: str
    coverage: float
    dense: float
    #: Answer spans of the expected type inside ``text`` (offsets into ``text``), best first.
    spans: tuple[tuple[int, int], ...] = ()
    score: float = 0.0
    #: Weighted share of the question's nouns that the article does not print, split into
    #: nouns the archive prints elsewhere and nouns it never prints.
    missing: float = 0.0
    unseen: float = 0.0
    #: Share of never-printed nouns that are names (tagged as places, people, organisations).
    unseen_names: float = 0.0
    #: Share of the question's nouns that neither the sentence nor the headline prints
    #: (甲烷产率 asked, the sentence reports 二氧化碳产率).
    apart: float = 0.0
    #: Fixed preferences added to the score (passage rank, a printed day for 哪天…).
    bonus: float = 0.0

    @property
    def span_text(self) -> str:
        """The best typed span, or '' when the question asks for no type."""
        if not self.spans:
            return ""
        s, e = self.spans[0]
        return self.text[s:e]


def local(norm: str) -> str:
    """Read 我市/本市 as 太原市 (the paper's own way of naming its city)."""
    return norm.replace("我市", "太原市").replace("本市", "太原市")


def article_text(article: Article) -> str:
    """The normalised text an article's names are checked against (headline to byline)."""
    parts = (article.kicker, article.title, article.subtitle, article.body, " ".join(article.reporters))
    return local(normalize_for_match("".join(parts)))


def article_figures_text(article: Article) -> str:
    """The text an article's dates and figures are checked against: widths folded, punctuation kept.

    Punctuation matters there: 1-8月 must not read as 18月.
    """
    text = unicodedata.normalize("NFKC", f"{article.title}\n{article.body}")
    return re.sub(r"[ \t\u3000]+", "", text)


_EDITION_IN_TEXT = re.compile(r"第([0-9]+|[一二三四五六七八九十百零〇两]+)(?:届|次|号|期)")


def _editions(text: str) -> set[int]:
    found = set()
    for m in _EDITION_IN_TEXT.finditer(text):
        raw = m.group(1)
        value = int(raw) if raw.isdigit() else zh_to_int(raw)
        if value is not None:
            found.add(value)
    return found


def _abbreviates(short: str, text: str) -> bool:
    """Whether ``short`` is written out in ``text`` with its characters in order (太钢 → 太原钢铁)."""
    if len(short) < 2:
        return False
    first = short[0]
    start = text.find(first)
    while start >= 0:
        pos, ok = start, True
        for ch in short[1:]:
            pos = text.find(ch, pos + 1, start + 3 * len(short))
            if pos < 0:
                ok = False
                break
        if ok:
            return True
        start = text.find(first, start + 1)
    return False


#: How the paper names its city besides 太原 (我市 reads as 太原市 already): its districts,
#: counties and the city's nicknames.
TAIYUAN_NAMES: tuple[str, ...] = (
    "并州", "龙城", "省城", "省会", "小店", "迎泽", "杏花岭", "尖草坪", "万柏林", "晋源",
    "古交", "清徐", "阳曲", "娄烦", "综改示范区", "中北高新区", "晋阳",
)  # fmt: skip


#: The city's districts and counties (stems): a sentence about one is not about another.
_DISTRICTS: tuple[str, ...] = (
    "小店", "迎泽", "杏花岭", "尖草坪", "万柏林", "晋源", "古交", "清徐", "阳曲", "娄烦", "综改", "中北",
)  # fmt: skip


def _about_another_district(sentence: str, analysis: QuestionAnalysis, title: str = "") -> bool:
    """Whether ``sentence`` names another of the city's districts and not the one the question names.

    A round-up quotes every district's officials; the article names the asked district
    somewhere, but this sentence is about its neighbour.
    """
    named_in_question = [
        str(c.value) for c in analysis.constraints if c.kind in ("place", "organisation", "name")
    ]
    asked = {d for value in (*named_in_question, *analysis.nouns) for d in _DISTRICTS if d in value}
    if not asked:
        return False
    # A sentence naming no district is about the one its headline names (中北高新区党工委…).
    named = {d for d in _DISTRICTS if d in sentence} or {d for d in _DISTRICTS if d in title}
    return bool(named) and not named & asked


def constraint_met(constraint: Constraint, text: str, date: str) -> bool:
    """Whether an article (normalised ``text`` and ISO ``date``) satisfies one constraint."""
    year, month, day = (int(x) for x in date.split("-")) if date and date.count("-") == 2 else (0, 0, 0)
    value = constraint.value
    if constraint.kind == "edition":
        return value in _editions(text)
    if constraint.kind == "year":
        return value == year or re.search(rf"(?<!\d){value}(?!\d)", text) is not None
    if constraint.kind == "month":
        if re.search(rf"(?<!\d){value}月", text):
            return True
        # 1至8月 / 1-8月 covers 5月; a page's own month counts only where no month is printed.
        for lo, hi in re.findall(r"(?<!\d)(\d{1,2})\s*(?:至|到|-|—|~)\s*(\d{1,2})月", text):
            if int(lo) <= int(value) <= int(hi):
                return True
        return value == month and not re.search(r"(?<!\d)\d{1,2}月", text)
    if constraint.kind == "day":
        m, d = (int(x) for x in str(value).split("-"))
        if re.search(rf"(?<!\d){m}月{d}[日号]", text):
            return True
        # A paper reports the day before its date; a page date alone never proves a day.
        return False
    if constraint.kind == "figure":
        return re.search(rf"(?<![\d.]){re.escape(str(value))}(?![\d.])", text) is not None
    norm = local(str(value))
    if norm in text:
        return True
    if constraint.kind == "name" and len(norm) >= 6:
        # A compound the tagger built (省政府新闻办发布会): its words, printed apart, still name it.
        from rag.question import tag

        words = [w for w, _ in tag(norm) if len(w) >= 2]
        if len(words) < 2:
            return False
        # Printed together (省政府新闻办举行新闻发布会), not scattered over the article
        # (服务业 in one paragraph, 高质量发展大会 in another).
        reach = len(norm) + 12
        start = text.find(words[0])
        while start >= 0:
            if all(text.find(w, start, start + reach) >= 0 for w in words[1:]):
                return True
            start = text.find(words[0], start + 1)
        return False
    if constraint.kind == "place" and value == "太原":
        return any(name in text for name in TAIYUAN_NAMES)
    if constraint.kind in ("organisation", "place", "name") and len(norm) <= 3:
        # Only short forms abbreviate (太钢, 理工大); 山西大学 is not 山西财经大学.
        return _abbreviates(norm, text)
    return False


_FIGURE_KINDS = frozenset({"edition", "year", "month", "day", "figure"})


def satisfies(analysis: QuestionAnalysis, article: Article) -> list[Constraint]:
    """The constraints of ``analysis`` that ``article`` fails (empty: it may answer).

    Two values of one kind (2021年和2025年) are alternatives: a question naming both
    compares two articles, so an article needs one of them.
    """
    names, figures = article_text(article), article_figures_text(article)
    by_kind: dict[str, list[Constraint]] = {}
    for c in analysis.constraints:
        by_kind.setdefault(c.kind, []).append(c)
    failed: list[Constraint] = []
    for kind, group in by_kind.items():
        text = figures if kind in _FIGURE_KINDS else names
        misses = [c for c in group if not constraint_met(c, text, article.date)]
        alternatives = kind in ("year", "edition", "month", "day") and len(group) > 1
        if misses and (not alternatives or len(misses) == len(group)):
            failed.extend(misses)
    return failed


# --------------------------------------------------------------------------- typed spans

_UNIT_TAIL = re.compile(r"(?:以上|以下|左右|之多|多)?")
_COUNTERS = (
    "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道幅棵只头匹株本册首款枚颗栋间层处"
    "天年月日时分秒吨元米克岁倍成"
)
#: A figure with its unit: 435平方米, 5111.5万元, 57.9%, 2381名, 七成, 0351-4040236.
_NUMBER_SPAN = re.compile(
    r"\d{3,4}-\d{7,8}"
    r"|(?:约|近|超过|逾|达)?(?:\d+(?:[.,]\d+)*|[一二两三四五六七八九十百千]+)(?:\s*[万亿千百])*\s*(?:余|多)?\s*"
    rf"(?:%|％|‰|万元|亿元|美元|平方米|平方公里|公里|千米|公顷|人次|小时|分钟|个月|个工作日|微克/立方米|微克|[{_COUNTERS}])"
    r"(?:以上|以下|左右|之多)?"
    r"|\d+(?:\.\d+)?"
)
_DATE_SPAN = re.compile(
    r"(?:(?:\d{4}|[二〇一九零]{4})年)?\d{1,2}月\d{1,2}[日号](?:\d{1,2}时)?(?:(?:至|到|—|-|~)(?:\d{1,2}月)?\d{1,2}[日号](?:\d{1,2}时)?)?"
    r"|(?:\d{4}年)?\d{1,2}月(?:[上中下]旬|底|初)?|\d{4}年(?:[上下]半年|底|初)?|\d{1,2}[日号]"
    r"|(?:每周|周|星期)[一二三四五六日天](?:(?:和|、|至)(?:周|星期)?[一二三四五六日天])*"
    r"|[今去明前]年|上午|下午|晚上|当晚|当天"
)
_ORG_SPAN = re.compile(
    r"[\u4e00-\u9fffA-Za-z（）()]{2,24}?(?:股份有限公司|有限责任公司|有限公司|公司|集团|大学|学院|医院|银行|协会|联盟|研究院|研究所|"
    r"实验室|委员会|管理局|局|中心|厂|社|馆|站)"
)
_PLACE_SPAN = re.compile(
    r"[\u4e00-\u9fff]{1,10}?(?:省|市|区|县|镇|乡|村|街道|社区|小区|街|路|广场|公园|校区|会展中心|场馆|海域|站)"
)
_ROLE_BEFORE_NAME = re.compile(
    r"(?:主任|书记|局长|市长|厅长|主席|经理|董事长|教授|院长|部长|记者|通讯员|博士生?|校长|县长|区长|镇长|站长|社长|负责人|专家|老师|教师|研究员)"
)


_ORDINAL_SPAN = re.compile(r"第\s*[一二三四五六七八九十百零\d]+\s*[届次期]")
_PEOPLE_SPAN = re.compile(
    r"[\u4e00-\u9fff]{0,4}?(?:居民|市民|群众|游客|负责人|消费者|客商|老人|学生|师生|志愿者|村民|家长|孩子)"
)
_AFTER_NAME = "说表示等在和与为的了是也都介绍认为指出带领出席作笑一同及、"
_NOT_A_PLACE_START = "在于到从向对全各该本我每这那其"


def _tagged(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, flag)`` of every word jieba's tagger finds in ``text``."""
    from rag.question import tag

    words, pos = [], 0
    for word, flag in tag(text):
        i = text.find(word, pos)
        if i < 0:
            continue
        pos = i + len(word)
        words.append((i, pos, flag))
    return words


_NOMINAL_FLAGS = ("n", "j", "b", "eng", "nz", "ns", "nt", "nr", "vn")


def _name_phrases(text: str, suffix: re.Pattern[str], analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Noun phrases ending in ``suffix`` (…有限公司, …街道), grown leftwards over nouns and names."""
    words = _tagged(text)
    spans = []
    for k, (s, e, _flag) in enumerate(words):
        if not suffix.search(text[s:e]):
            continue
        j = k
        # A firm's trade name is often read as an adjective or an idiom (山西|众诚|物业管理有限公司).
        flags = (*_NOMINAL_FLAGS, "a", "i", "l", "ng") if _FIRM_END.search(text[s:e]) else _NOMINAL_FLAGS
        while (
            j > 0
            and words[j - 1][2].startswith(flags)
            and words[j - 1][1] == words[j][0]
            and text[words[j - 1][0] : words[j - 1][1]] not in _COUNTERPART_MARKS  # 太钢|供|联盛…
            and _outside_question(text[words[j - 1][0] : words[j - 1][1]], analysis)  # not the asker's 太钢
        ):
            j -= 1
        start = words[j][0]
        while start < e and text[start] in _NOT_A_PLACE_START:
            start += 1
        # jieba glues a preposition to the name after it (供联|盛浆纸公司): the name starts after.
        if text[start] in _COUNTERPART_MARKS and e - start > 4:
            start += 1
        if e - start >= 3 and _outside_question(text[start:e], analysis):
            spans.append((start, e))
    return spans


_PLACE_END = re.compile(r"(?:省|市|区|县|镇|乡|村|街道|社区|小区|街|路|广场|公园|校区|中心|场馆|海域)$")
_FIRM_END = re.compile(r"(?:公司|集团)$")
_STREET = re.compile(r"(?:路|街|大道)$")
_SUBPLACE = re.compile(r"[^\W\d_在于到从向对和与及等的了是为、，,]{1,3}?(?:乡|镇|村|街道|社区|路口|交叉口)")
#: What a 哪个 + category question is answered by, when the category is not itself a suffix.
_CATEGORY_PLACES: dict[str, tuple[str, ...]] = {
    "场馆": ("馆", "中心", "场", "宫"),
    "场所": ("馆", "中心", "场", "宫", "广场", "公园"),
    "会场": ("馆", "中心", "场", "宫", "厅"),
    "城市": ("市",),
    "省份": ("省",),
}
_ORG_END = re.compile(
    r"(?:公司|集团|大学|学院|医院|银行|协会|联盟|研究院|研究所|实验室|委员会|管理局|局|中心|厂|社|馆|站|团队)$"
)


def _place_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Named places: words the tagger marks as places, or noun phrases ending in 区/村/街道… (not 全乡)."""
    spans = []
    for s, e, flag in _tagged(text):
        if flag != "ns" or e - s < 2:
            continue
        # 北|中环|街 is one place: a direction before, a street or district suffix after.
        while s > 0 and text[s - 1] in "东西南北":
            s -= 1
        while e < len(text) and text[e] in "街路区县村镇乡":
            e += 1
        # 阳曲县|高村乡|北白村: the smaller places printed after it belong to the same address.
        for _ in range(3):
            more = _SUBPLACE.match(text, e)
            if not more:
                break
            e = more.end()
        if _outside_question(text[s:e], analysis):
            spans.append((s, e))
    # Both: overlapping spans are resolved to the longest (北中环街 over 中环).
    spans += _name_phrases(text, _PLACE_END, analysis)
    # 4名社区干部: a counter after a figure does not start a place name.
    return [(s, e) for s, e in spans if not (s > 0 and text[s - 1].isdigit() and text[s] in _COUNTERS)]


def _frequent(word: str) -> bool:
    from rag.bm25 import jieba_tokenizer

    return jieba_tokenizer().dt.FREQ.get(word, 0) >= 100


def _outside_question(span: str, analysis: QuestionAnalysis) -> bool:
    norm = normalize_for_match(span)
    return bool(norm) and norm not in normalize_for_match(analysis.text)


def _person_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    from rag.parse import is_person_name

    spans = []
    for name in person_names(text):
        # The tagger also reads 高端化, 周密… as names: a name ends in no such suffix and is no
        # frequent dictionary word.
        if name[-1] in "化性型式率度们者" or not is_person_name(name) or _frequent(name):
            continue
        if _outside_question(name, analysis):
            i = text.find(name)
            e = i + len(name)
            # jieba cuts some three-character names short (王煜|尘作为).
            if (
                len(name) == 2
                and e < len(text)
                and "\u4e00" <= text[e] <= "\u9fff"
                and text[e] not in _AFTER_NAME
            ):
                e += 1
            spans.append((i, e))
    for m in _ROLE_BEFORE_NAME.finditer(text):
        after = re.match(
            r"\s*([\u4e00-\u9fff]{2,3})(?=[，,、。：:“（(\s]|表示|说|介绍|认为|笑|指出|出席|主持|参加|陪同|带队|一行|等"
            r"|都|也|还|就|在|将|已|正|和|与|同|对|向|从|为|是|的|作|带|到|来|去|$)",
            text[m.end() :],
        )
        if not after or not _outside_question(after.group(1), analysis):
            continue
        name = after.group(1)
        # A title, a name and a verb of office (主席操学诚主持) frame a name even when its
        # surname is a rare one; before a comma the surname must be a common one.
        framed = re.match(r"主持|出席|表示|介绍|指出|强调|讲话|带队|陪同", text[m.end() + after.end(1) :])
        if framed or is_person_name(name):
            s = m.end() + after.start(1)
            spans.append((s, s + len(name)))
    return spans


def typed_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Spans of ``text`` holding the kind of answer ``analysis`` expects, not stated by the question."""
    expected = analysis.expectation
    if expected is None:
        return []
    kind = expected.kind
    spans: list[tuple[int, int]] = []
    if kind == "person":
        spans = _person_spans(text, analysis)
        if not spans and "谁" in analysis.text and not _ROLE_BEFORE_NAME.search(analysis.text):
            # 谁 may be an organisation or a group of people (我市居民, 企业负责人).
            spans = [m.span() for m in _PEOPLE_SPAN.finditer(text) if _outside_question(m.group(0), analysis)]
            spans += _name_phrases(text, _ORG_END, analysis)
    elif kind == "organisation":
        spans = _name_phrases(text, _ORG_END, analysis)
        spans += [(s, e) for s, e, f in _tagged(text) if f == "nt" and _outside_question(text[s:e], analysis)]
    elif kind == "ordinal":
        spans = [m.span() for m in _ORDINAL_SPAN.finditer(text) if _outside_question(m.group(0), analysis)]
    elif kind == "place":
        spans = _place_spans(text, analysis)
        suffixes = _CATEGORY_PLACES.get(analysis.category) or (
            (analysis.category,) if analysis.category and _PLACE_END.search(analysis.category) else ()
        )
        if suffixes:
            # 哪个村 is answered by a 村, 哪个场馆 by a 馆 or 中心, not by the city around it.
            spans = [(s, e) for s, e in spans if text[s:e].endswith(suffixes)]
    elif kind in ("date", "year"):
        spans = [m.span() for m in _DATE_SPAN.finditer(text) if _outside_question(m.group(0), analysis)]
        if kind == "year":
            spans = [s for s in spans if "年" in text[s[0] : s[1]]]
        if not _event_printed(text, analysis):
            # 什么时候建成通车 asked; the sentence's date is the day a reporter visited the site.
            spans = []
    elif expected.pattern is not None:
        # Whole figures with their units, of the kind asked (the pattern tests the kind).
        for m in _NUMBER_SPAN.finditer(text):
            s, e = m.span()
            if re.fullmatch(r"[一两][^\d]?", m.group(0)) or (
                kind == "number"
                and (
                    re.fullmatch(r"[一二两三四五六七八九十百千]+[个次]", m.group(0))
                    or m.group(0)[-1] in "年月日时分秒"
                    or text[e : e + 1] == "号"
                )
            ):
                # 一个, 两次: words, not answers; 11月 is a date, 1号公寓 a label, not figures.
                continue
            if expected.pattern.search(text[s:e]):
                if _outside_question(text[s:e], analysis):
                    spans.append((s, e))
    # Longest first among overlapping spans, then in reading order.
    spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
    kept: list[tuple[int, int]] = []
    for s, e in spans:
        if kept and s < kept[-1][1]:
            continue
        kept.append((s, e))
    return kept


_HEAD_KINDS = ("count:", "people", "number")

#: Verbs that name the same event for a 哪天 question: 培训是哪天举办的 is answered by 开展培训.
_EVENT_VERBS: tuple[frozenset[str], ...] = (
    frozenset({"举办", "举行", "开展", "召开", "组织", "进行", "启动"}),
    frozenset({"开幕", "启幕", "开展", "开园", "开馆", "揭幕", "开幕式"}),
    frozenset({"开工", "动工", "开建"}),
    frozenset({"通车", "通行", "开通"}),
)
_WHEN = re.compile(r"什么时候|什么时间|哪天|哪一天|何时|几月几日|几号")
_NEWS_VERBS = frozenset({"发布", "报道", "刊发", "刊登", "发表", "公布", "宣布", "消息"})


def _event_printed(text: str, analysis: QuestionAnalysis) -> bool:
    """Whether ``text`` prints the event a 什么时候 question asks the date of (开业, 通车, 开幕).

    The event is the verb after the interrogative; a date beside other events (a report's
    dateline, a deadline) does not answer it.  Verbs of one event count as the same.
    """
    asked = _WHEN.search(analysis.text)
    if asked is None:
        return True
    from rag.question import tag

    tail = re.split(r"[，,。？?！!；;]", analysis.text[asked.end() :])[0]
    verbs = [
        w for w, f in tag(tail) if len(w) >= 2 and f[:1] in ("v", "n") and w not in ("时候", "时间", "日子")
    ]
    if not verbs or any(v in _NEWS_VERBS for v in verbs):
        # 消息是哪天发布的: the news is the article; its dateline is when it was published.
        return True
    norm = normalize_for_match(text)
    for verb in verbs:
        group = next((g for g in _EVENT_VERBS if verb in g), frozenset({verb}))
        if any(v in norm for v in group):
            return True
    return False


def _about_head(text: str, span: tuple[int, int], head: str, kind: str) -> bool:
    """Whether the counted thing (企业 in 多少家企业) is near the figure: same clause."""
    if not head or not kind.startswith(_HEAD_KINDS):
        return True
    clause_start = max(text.rfind(p, 0, span[0]) for p in "，,；;。：:") + 1
    ends = [i for p in "，,；;。" if (i := text.find(p, span[1])) >= 0]
    clause = local(normalize_for_match(text[clause_start : min(ends) if ends else len(text)]))
    from rag.question import tag

    # Any noun of the run will do: 其中位于我市的有7家 counts 太原企业 (企业 understood).
    if any(local(w) in clause for w, _ in tag(head) if len(w) >= 2):
        return True
    # The paper's contraction of a run of nouns counts too: 4000余名师生 for 老师学生.
    return len(tag(head)) > 1 and any(
        len(w) == 2 and _abbreviates(w, head) and w not in head for w, _ in tag(clause)
    )


# --------------------------------------------------------------------------- scoring


def missing_nouns(
    analysis: QuestionAnalysis, article: Article, library: Library | None
) -> tuple[float, float, float]:
    """Shares of the question's nouns that ``article`` does not print: (printed elsewhere, never printed).

    A noun the archive prints elsewhere but not here (大同 asked, 太原 printed) points at
    another story; a noun it never prints (甲烷, 地铁) may be a metric the pages lack, or a
    reader's own word for one they have (马路 for 道路), so the two are weighed apart.
    """
    if not analysis.nouns:
        return 0.0, 0.0, 0.0
    from rag.question import tag

    text = article_text(article)
    missing = unseen = names = 0
    for noun in analysis.nouns:
        # One noun the archive prints elsewhere but this article does not is enough to
        # point at another story (水塔醋业 asked, 紫林醋业 printed): counted once, not diluted.
        norm = local(noun)
        if norm in text or (len(norm) == 3 and _abbreviates(norm, text)):
            continue
        if library is not None and library.document_frequency(noun) == 0:
            if _name_like(noun, tag(noun)):
                names += 1
            else:
                unseen += 1
        else:
            missing += 1
    n = len(analysis.nouns)
    return float(missing > 0), unseen / n, names / n


def _name_like(word: str, tags: tuple[tuple[str, str], ...]) -> bool:
    """Whether a word reads as a name: tagged as one, or unknown to jieba's dictionary (六味斋, 太重)."""
    from rag.bm25 import jieba_tokenizer

    if any(flag in ("ns", "nr", "nt", "nz", "nrt", "eng") for _, flag in tags):
        return True
    return jieba_tokenizer().dt.FREQ.get(word, 0) == 0


def nouns_apart(
    analysis: QuestionAnalysis, sentence: str, title: str, library: Library | None = None
) -> float:
    """Share of the question's nouns and compound names that neither ``sentence`` nor the headline prints.

    The article satisfies the names already; here they say which of its sentences is about
    them (山西产业合作推介会 asked: the sentence on it, not the one on 山西之夜).
    """
    names = [str(c.value) for c in analysis.constraints if c.kind == "name" and len(str(c.value)) >= 4]
    nouns = list(analysis.nouns)
    if library is not None:
        # A noun the archive never prints is the reader's own (外国货, 展示区): it says nothing
        # about which sentence answers.  Constrained names stay: the article prints them.
        nouns = [w for w in nouns if library.document_frequency(w) > 0]
        if analysis.nouns and not nouns and not names:
            return 1.0  # none of the question's nouns is ever printed: nothing ties a sentence to it
    wanted = [*nouns, *names]
    if not wanted:
        return 0.0
    text = local(normalize_for_match(title + sentence))
    return sum(1 for n in wanted if local(n) not in text) / len(wanted)


def term_weights(analysis: QuestionAnalysis, library: Library | None) -> dict[str, float]:
    """idf weight of each question term the archive has printed (unseen words never count against)."""
    terms = [t for t in analysis.terms if normalize_for_match(t)]
    terms = [t for t in terms if not any(t != o and t in o for o in terms)]
    weights: dict[str, float] = {}
    for term in terms:
        if library is not None:
            if library.document_frequency(term) == 0:
                continue
            idf = library.idf(term)
        else:
            idf = 1.0
        weight = max(idf, 0.1) * (0.5 if len(term) == 1 else 1.0)
        if analysis.category and term in analysis.category:
            weight *= 2.0  # 有什么感受: the sentence about the 感受 answers, not the one naming the man
        weights[local(normalize_for_match(term))] = weight
    return weights


def coverage(weights: dict[str, float], sentence: str, context: str) -> float:
    """Weighted share of question terms in ``sentence``, with 0.5 credit for those only in ``context``."""
    total = sum(weights.values())
    if not total:
        return 0.0
    norm = local(normalize_for_match(sentence))
    got = 0.0
    for term, weight in weights.items():
        if term in norm:
            got += weight
        elif term in context:
            got += 0.5 * weight
    return got / total


@dataclass(frozen=True)
class AnswerabilityModel:
    """``score = coverage + dense_weight · max(0, dense − dense_floor)``; refuse below ``threshold``.

    The defaults were fitted on the calibration half of the dev and near-miss sets with the
    default embedding model (``eval/calibrate.py``, result in ``eval/answerability.json``).
    """

    dense_weight: float = 1.0
    dense_floor: float = 0.75
    missing_weight: float = 0.0
    unseen_weight: float = 0.0
    unseen_name_weight: float = 4.0
    apart_weight: float = 0.25
    threshold: float = 0.395

    @classmethod
    def for_embedder(cls, name: str) -> AnswerabilityModel:
        """The model calibrated for embedder ``name``: lexical-only for the hashing test fake.

        Dense similarities mean something only for the model they were calibrated with; the
        hashing fake's are noise, so its model ignores them (``eval/calibrate.py --lexical``).
        """
        if name.startswith("hashing"):
            return LEXICAL_MODEL
        return cls()

    def score(
        self,
        coverage: float,
        dense: float,
        missing: float = 0.0,
        unseen: float = 0.0,
        unseen_names: float = 0.0,
        apart: float = 0.0,
    ) -> float:
        """The answerability of one sentence."""
        return (
            coverage
            + self.dense_weight * max(0.0, dense - self.dense_floor)
            - self.missing_weight * missing
            - self.unseen_weight * unseen
            - self.unseen_name_weight * unseen_names
            - self.apart_weight * apart
        )


#: Calibrated with ``eval/calibrate.py --lexical`` (dense similarity switched off).
LEXICAL_MODEL = AnswerabilityModel(
    dense_weight=0.0,
    missing_weight=0.0,
    unseen_weight=0.0,
    unseen_name_weight=4.0,
    apart_weight=0.0,
    threshold=0.377,
)


_NEW_NAME = re.compile(r"[“《]([^”》]{2,30})[”》]")


def gather(
    analysis: QuestionAnalysis,
    passages: Sequence[Passage],
    library: Library | None,
    model: AnswerabilityModel,
) -> tuple[list[Candidate], dict[str, list[Constraint]]]:
    """Every sentence of ``passages`` that may answer, best first, and the constraints each article failed."""
    weights = term_weights(analysis, library)
    query = library.query_vector(analysis.text) if library is not None else None
    failed: dict[str, list[Constraint]] = {}
    candidates: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    missing_of: dict[str, tuple[float, float, float]] = {}
    for passage in passages:
        chunk = passage.chunk
        article = _article_of(passage, library)
        if article.id not in failed:
            failed[article.id] = satisfies(analysis, article)
        if failed[article.id]:
            continue
        sections = _sections(article) if article.kind == "roundup" else None
        streets = [c for c in analysis.constraints if c.kind == "place" and _STREET.search(str(c.value))]
        # Required even when the archive never prints it: a metric the pages lack (特等奖, 间接经费)
        # is the commonest near miss, and refusing it beats guessing a reader's synonym.
        focus = analysis.focus
        if article.id not in missing_of:
            missing_of[article.id] = missing_nouns(analysis, article, library)
        missing, unseen, unseen_names = missing_of[article.id]
        context = local(normalize_for_match(article.title + chunk.text))
        for start, end, vector in _sentences_in(passage, article, library):
            if (article.id, start) in seen:
                continue
            seen.add((article.id, start))
            text = article.body[start:end]
            if focus and not all(_mentions(word, article, start, end) for word in focus):
                continue  # 产值达到多少 asked; the sentence's figure measures 配套率
            lo, hi = 0, len(article.body)
            if sections is not None:
                lo, hi = next(((a, b) for a, b in sections if a <= start < b), (lo, hi))
            # The headline, or a round-up item's heading (中北高新区), says what a sentence is about.
            about = article.title + (article.body[lo : article.body.find("\n", lo, start) + 1] if lo else "")
            if not all(_mentions(str(c.value), article, start, end) for c in streets):
                continue  # 机场东路 asked; the article names it once, the figure is 经北街's
            if _about_another_district(text, analysis, about):
                continue  # 清徐县…局 asked; the sentence quotes 阳曲县's head of the same office
            if sections is not None:
                # A round-up holds one item per district: the item must satisfy the question.
                item = Article(
                    article.id, article.title, article.body[lo:hi], article.source, article.date, "news"
                )
                if satisfies(analysis, item):
                    continue
            spans: tuple[tuple[int, int], ...] = ()
            if analysis.expectation is not None:
                kind = analysis.expectation.kind
                found = [s for s in typed_spans(text, analysis) if _about_head(text, s, analysis.head, kind)]
                if not found:
                    continue
                spans = tuple(found)
            cov = coverage(weights, text, context)
            dense = float(query[0] @ vector) if query is not None and vector is not None else 0.0
            apart = nouns_apart(analysis, text, article.title, library)
            bonus = _preference(analysis, text, spans) + 0.02 / passage.rank
            score = model.score(cov, dense, missing, unseen, unseen_names, apart) + bonus
            candidates.append(
                Candidate(
                    passage,
                    article,
                    start,
                    end,
                    text,
                    cov,
                    dense,
                    spans,
                    score,
                    missing,
                    unseen,
                    unseen_names,
                    apart,
                    bonus,
                )
            )
    candidates.sort(key=lambda c: -c.score)
    return candidates, failed


_COUNTERPART_ASKED = re.compile(r"[和与跟同给为向]谁|[和与跟同给为向](?:哪家|哪个|哪些)")
_COUNTERPART_MARKS = frozenset("与和跟同给为向供")
_SPEECH = re.compile(r"表示|说|指出|介绍|认为|强调|坦言|感慨")


def _preference(analysis: QuestionAnalysis, text: str, spans: Sequence[tuple[int, int]]) -> float:
    """Small fixed preferences among sentences of the same article (not part of the calibrated model)."""
    bonus = 0.0
    if spans and analysis.expectation is not None and analysis.expectation.kind == "date":
        # 哪天: a sentence printing the day beats one printing only the year.
        bonus += 0.1 * any(re.search(r"[日号]", text[s:e]) for s, e in spans)
    if (
        analysis.category
        and analysis.expectation is None
        and analysis.category in local(normalize_for_match(text))
    ):
        bonus += 0.5  # 有什么感受: the sentence stating the 感受, not the one naming the man
    if spans and _COUNTERPART_ASKED.search(analysis.text):
        # 和谁签了合同: the counterpart follows 与/和/供/为… in the sentence.
        bonus += 0.3 * any(text[max(0, s - 1) : s] in _COUNTERPART_MARKS for s, _ in spans)
    if (
        spans
        and _SPEECH.search(analysis.text)
        and analysis.expectation
        and analysis.expectation.kind == "person"
    ):
        # 表示要打造“精致清徐”的是谁: the one the sentence has speaking, not the one it mentions.
        bonus += 0.2 * any(_SPEECH.match(text, e, e + 4) for _, e in spans)
    if analysis.kind == "what":
        # 哪款游戏 / 什么主题: a sentence introducing a quoted name answers it.
        bonus += 0.1 * any(_outside_question(m.group(1), analysis) for m in _NEW_NAME.finditer(text))
    return bonus


def _mentions(noun: str, article: Article, start: int, end: int) -> bool:
    """Whether the sentence at ``start:end``, the one before it, the headline or the lead prints ``noun``.

    The lead states what the whole article is about (这也是太钢的首单不锈钢复合板订单): a
    figure paragraphs later is still that order's.
    """
    before = article.body.rfind("。", 0, max(start - 1, 0))
    lead_end = article.body.find("。") + 1
    window = article.title + article.body[:lead_end] + article.body[max(before, 0) : end]
    text = local(normalize_for_match(window))
    noun = local(noun)
    return noun in text or (len(noun) <= 3 and _abbreviates(noun, text))


def _sections(article: Article) -> list[tuple[int, int]]:
    """Spans of a round-up's items: each starts at a short label line (小店区, 古交市…)."""
    starts, pos = [0], 0
    for line in article.body.split("\n"):
        if 0 < len(line) <= 8 and not re.search(r"[，。,；]", line):
            starts.append(pos)
        pos += len(line) + 1
    starts = sorted(set(starts))
    return list(zip(starts, [*starts[1:], len(article.body)], strict=True))


def _article_of(passage: Passage, library: Library | None) -> Article:
    chunk = passage.chunk
    if library is not None:
        try:
            return library.article(chunk.article_id)
        except Exception:  # noqa: BLE001 - an index swapped under us: fall back to the chunk
            pass
    # Without an index the chunk stands for its article (offsets shifted to the chunk).
    body = " " * chunk.start + chunk.text
    return Article(chunk.article_id, chunk.title, body, chunk.source, chunk.date, "news")


def _sentences_in(
    passage: Passage, article: Article, library: Library | None
) -> list[tuple[int, int, np.ndarray | None]]:
    """Sentences of ``article`` inside the passage's chunk, with their stored vectors when known."""
    chunk = passage.chunk
    table = library.sentences(article.id) if library is not None else None
    if table is not None and article.body[chunk.start : chunk.end] == chunk.text:
        return [
            (s, e, table.vectors[i])
            for i, (s, e) in enumerate(table.spans)
            if s < chunk.end and e > chunk.start
        ]
    return [(chunk.start + s, chunk.start + e, None) for s, e in answer_sentences(chunk.text)]


__all__ = [
    "AnswerabilityModel",
    "Candidate",
    "Library",
    "article_text",
    "constraint_met",
    "coverage",
    "gather",
    "satisfies",
    "term_weights",
    "typed_spans",
]
