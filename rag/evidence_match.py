"""Whether an article can answer: every hard constraint of the question met.

An article about 第八届进博会 cannot answer a question about 第九届, however many other
words they share.  :func:`satisfies` lists the constraints (:mod:`rag.question_constraints`)
an article fails; :func:`constraint_met` tests one, reading the paper's own ways of writing
a name (我市 for 太原市, 太钢 for 太原钢铁, a district for the city).
"""

from __future__ import annotations

import re
import unicodedata

from rag.question import QuestionAnalysis
from rag.question_constraints import Constraint, tag
from rag.text import normalize_for_match, zh_to_int
from rag.types import Article


def local(norm: str) -> str:
    """Read 我市/本市 as 太原市 (the paper's own way of naming its city)."""
    return norm.replace("我市", "太原市").replace("本市", "太原市")


#: A one-character aside in brackets: 返(抵)并 is how the paper prints 返并 or 抵并.
_ASIDE = re.compile(r"[（(][\u4e00-\u9fff][)）]")


def without_asides(text: str) -> str:
    """``text`` normalised for matching, and again with one-character asides dropped (返(抵)并 → 返并)."""
    norm = local(normalize_for_match(text))
    bare = local(normalize_for_match(_ASIDE.sub("", text))) if _ASIDE.search(text) else ""
    return f"{norm}\n{bare}" if bare else norm


def article_text(article: Article) -> str:
    """The normalised text an article's names are checked against (headline to byline)."""
    parts = (article.kicker, article.title, article.subtitle, article.body, " ".join(article.reporters))
    return without_asides("".join(parts))


def article_figures_text(article: Article) -> str:
    """The text an article's dates and figures are checked against: widths folded, punctuation kept.

    Punctuation matters there: 1-8月 must not read as 18月.
    """
    text = unicodedata.normalize("NFKC", f"{article.title}\n{article.body}")
    return re.sub(r"[ \t\u3000]+", "", text)


_EDITION_IN_TEXT = re.compile(
    r"第([0-9]+|[一二三四五六七八九十百零〇两]+)(?:届|号|期|次(?=南极|北极|科考|考察|科学考察|党代会|会议|全会|代表大会))"
)


#: An edition named as a point in time (在参加第36次南极考察后): the sentence is about what came after.
_RECALLED = re.compile(_EDITION_IN_TEXT.pattern + r"[^，,。；;第]{0,8}?(?:之后|以后|后|以来)")


def _editions(text: str) -> set[int]:
    return {v for m in _EDITION_IN_TEXT.finditer(text) if (v := _edition_value(m)) is not None}


def _edition_value(match: re.Match[str]) -> int | None:
    raw = match.group(1)
    return int(raw) if raw.isdigit() else zh_to_int(raw)


def reported_edition(body: str) -> int | None:
    """The edition an article reports (本届): the first one its body names, not as the time before."""
    first = next((m for m in _EDITION_IN_TEXT.finditer(body) if not _RECALLED.match(body, m.start())), None)
    return _edition_value(first) if first is not None else None


def editions_in_force(body: str, start: int, end: int) -> set[int]:
    """The editions a sentence of ``body`` is about: those it prints, else the last one printed before it.

    An article recalling 第七届 and 第六届 speaks, in a sentence naming none, of the edition it
    last named; a 本届… sentence is about the edition its lead names first.
    """
    sentence = body[start:end]
    own = _editions(_RECALLED.sub("", sentence))
    if own:
        return own
    # 在参加第36次南极考察后…: an edition named as the time before is not the one reported.
    recalled = _editions(sentence)
    before = [m for m in _EDITION_IN_TEXT.finditer(body, 0, start) if not _RECALLED.match(body, m.start())]
    if not before:
        return {0} if recalled else set()
    # 本届 is the edition the article reports, the one its lead names first.
    value = _edition_value(before[0 if "本届" in sentence else -1])
    in_force = {value} - recalled if value is not None else set()
    return in_force or ({0} if recalled else set())


def abbreviates(short: str, text: str) -> bool:
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


def misprinted(word: str, text: str) -> bool:
    """Whether ``text`` prints ``word`` with one inner character wrong (二元化碳 for 二氧化碳).

    Pages carry typesetting errors, and a reader types the right word.  Only a common word
    of four characters or more qualifies, and only an inner character: a changed first or
    last character is usually another thing (间接经费 / 直接经费, 二氧化硫 / 二氧化碳), and a
    name with one character changed is another name (中北大学 / 中南大学).

    >>> misprinted("二氧化碳", "将二元化碳产率从30%降至1%以下")
    True
    >>> misprinted("直接经费", "间接经费为100万元")
    False
    """
    if len(word) < 4 or not all("\u4e00" <= ch <= "\u9fff" for ch in word):
        return False
    if any(flag in ("nt", "ns", "nr", "nrt", "nrfg") for _, flag in tag(word)):
        return False
    return any(
        re.search(re.escape(word[:i]) + "[\u4e00-\u9fff]" + re.escape(word[i + 1 :]), text)
        for i in range(1, len(word) - 1)
    )


def abbreviates_word(short: str, text: str) -> bool:
    """Whether a 2-3 character ``short`` contracts one word of ``text`` (自科 → 国家自然科学基金).

    Stricter than :func:`abbreviates`: the characters must fall, in order, inside a single
    word jieba reads from ``text``, so two unrelated neighbouring words never make one.

    >>> abbreviates_word("自科", "国家自然科学基金委近日公布了评审结果")
    True
    >>> abbreviates_word("大同", "大力推动共同富裕")
    False
    """
    if not 2 <= len(short) <= 3:
        return False
    for word, _ in tag(text):
        if len(word) > len(short):
            pos = -1
            for ch in short:
                pos = word.find(ch, pos + 1)
                if pos < 0:
                    break
            else:
                return True
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


_WHOLE_YEAR = re.compile(r"全年|全年度|一整年")
_PART_OF_YEAR = re.compile(
    r"上半年|下半年|前三季度|[一二三四]季度|第[一二三四]季度|前[一二三四五六七八九十\d]+个?月"
    r"|[1１一][-—－~～至到][0-9０-９一二三四五六七八九十]+月"
)
_ACTUAL = re.compile(r"实际|已经|已(?=[\u4e00-\u9fff])|建成了|完成了")
_PLANNED = re.compile(r"将|计划|预计|力争|拟|目标|争取|规划")


#: A year printed right before its figure: 2017年的60微克, 2022年44微克.
#: A year named relative to when the article was printed.
_RELATIVE_YEARS = {"今年": 0, "去年": 1, "前年": 2}
_YEAR_OF_FIGURE = re.compile(r"((?:19|20)\d\d)\s*年(?:的|为|是|达到?)?\s*$")


def period_of_figure(question: str, sentence: str, span_start: int) -> str:
    """The part of a year the figure before ``span_start`` is for (1至8月), when the question does not say it.

    >>> period_of_figure("2023年太原的PM2.5浓度是多少？", "1至8月,全市PM2.5浓度降低到39微克", 16)
    '1至8月'
    >>> period_of_figure("1至8月太原的PM2.5浓度是多少？", "1至8月,全市PM2.5浓度降低到39微克", 16)
    ''
    """
    clause = sentence[:span_start]
    clause = clause[max(clause.rfind("。"), clause.rfind("；"), clause.rfind(";")) + 1 :]
    found = _PART_OF_YEAR.search(clause)
    return found.group(0) if found and found.group(0) not in question else ""


def reports_another_period(question: str, sentence: str, span_start: int, article_year: int = 0) -> bool:
    """Whether the figure before ``span_start`` in ``sentence`` is for another period or mode than asked.

    全年 asked, 今年上半年…增速达到57.9% printed: the half-year figure is not the year's.
    实际建成 asked, 年底前将建成20家 printed: a plan is not what was built.  今年/去年 asked
    is read against ``article_year``, the year the article was printed.
    """
    clause = sentence[:span_start]
    clause = clause[max(clause.rfind("。"), clause.rfind("；"), clause.rfind(";")) + 1 :]
    asked_years = {int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d\d)\s*年", question)}
    if article_year and not asked_years:
        asked_years = {article_year - back for word, back in _RELATIVE_YEARS.items() if word in question}
    own_year = _YEAR_OF_FIGURE.search(clause)
    if asked_years and own_year and int(own_year.group(1)) not in asked_years:
        return True  # 2023年 asked; 由2017年的60微克/立方米下降至2022年的44微克 prints other years' figures
    relative = [(clause.rfind(word), back) for word, back in _RELATIVE_YEARS.items() if word in clause]
    if asked_years and article_year and not own_year and relative:
        # 去年上半年 asked; 今年上半年…由47户增加到51户 in a 2023 article is 2023's figure.
        if article_year - max(relative)[1] not in asked_years:
            return True
    if _WHOLE_YEAR.search(question) and _PART_OF_YEAR.search(clause) and not _WHOLE_YEAR.search(clause):
        return True
    return bool(_ACTUAL.search(question) and _PLANNED.search(clause) and not _PLANNED.search(question))


def about_another_district(sentence: str, analysis: QuestionAnalysis, title: str = "") -> bool:
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
        return abbreviates(norm, text)
    return False


_FIGURE_KINDS = frozenset({"edition", "year", "month", "day", "figure"})


def edition_event(analysis: QuestionAnalysis, constraint: Constraint) -> str:
    """The event a 第N届 of the question belongs to (第八届进博会 → 进博会), or ``""``."""
    _, found, after = analysis.text.partition(constraint.text)
    if not found:
        return ""
    return next((noun for noun in analysis.nouns if after.startswith(noun)), "")


def _event_printed(event: str, text: str) -> bool:
    # 第八届 of 农交会 does not answer for 第八届进博会: the article must name the event too,
    # in full or written out (进博会 → 中国国际进口博览会).
    if not event:
        return True
    norm = normalize_for_match(event)
    return norm in text or abbreviates(norm, text)


_LEVELLED_BODY = re.compile(
    r"(山西省|山西|太原市|太原|省|市)(图书馆|档案馆|博物馆|美术馆|科技馆|体育馆|人民医院|政府|委员会|发改委|科技厅|教育厅|[^\W\d_]{1,3}局)"
)


def another_level(question: str, text: str) -> list[Constraint]:
    """The province's or city's institutions the question names that ``text`` names at the other level.

    山西省图书馆 asked, an article printing 太原市图书馆 (or 市图书馆) and never 省图书馆:
    the pages speak of another library.  Only a contradiction counts; an article naming the
    institution at no level is left to the other checks.
    """
    failed = []
    for m in _LEVELLED_BODY.finditer(question):
        province = m.group(1).startswith(("山西", "省"))
        body = m.group(2)
        own = ("省", "山西") if province else ("市", "太原")
        other = ("市", "太原") if province else ("省", "山西")
        printed_other = any(f"{p}{body}" in text for p in other)
        printed_own = any(f"{p}{body}" in text for p in own)
        if printed_other and not printed_own:
            failed.append(Constraint("organisation", m.group(0), normalize_for_match(m.group(0))))
    return failed


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
        misses = [
            c
            for c in group
            if not constraint_met(c, text, article.date)
            or (kind == "edition" and not _event_printed(edition_event(analysis, c), names))
        ]
        alternatives = kind in ("year", "edition", "month", "day") and len(group) > 1
        if misses and (not alternatives or len(misses) == len(group)):
            failed.extend(misses)
    failed.extend(another_level(analysis.text, names))
    return failed


__all__ = [
    "TAIYUAN_NAMES",
    "abbreviates",
    "abbreviates_word",
    "another_level",
    "about_another_district",
    "article_figures_text",
    "article_text",
    "constraint_met",
    "edition_event",
    "editions_in_force",
    "local",
    "misprinted",
    "period_of_figure",
    "satisfies",
]
