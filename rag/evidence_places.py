"""Names and places in a sentence: noun phrases ending in a suffix, and the places a question asks for.

哪个村 is answered by a 村, 在哪里举行 by the place after 在, 哪个板块 by a …板块; a place the
tagger guesses (广大干部), a counted set (五市) or the start of an institution's name (晋中市
档案馆) is no answer.
"""

from __future__ import annotations

import re

from rag.question import QuestionAnalysis
from rag.question_constraints import tag
from rag.text import clause_around, normalize_for_match

#: Where a counterpart follows in a sentence (与/和/供… 太钢): 和谁签了合同 is answered after one.
COUNTERPART_MARKS = frozenset("与和跟同给为向供")
_NOT_A_PLACE_START = "在于到从向对全各该本我每这那其"
#: Counters after a figure (4名社区干部, 26家, 七成): they do not start a place name.
COUNTERS = (
    "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道幅棵只头匹株本册首款枚颗栋间层处"
    "天年月日时分秒吨元米克岁倍成"
)


def outside_question(span: str, analysis: QuestionAnalysis) -> bool:
    """Whether ``span`` is something the question does not already state (an answer, not an echo)."""
    norm = normalize_for_match(span)
    return bool(norm) and norm not in normalize_for_match(analysis.text)


def tagged(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, flag)`` of every word jieba's tagger finds in ``text``."""

    words, pos = [], 0
    for word, flag in tag(text):
        i = text.find(word, pos)
        if i < 0:
            continue
        pos = i + len(word)
        words.append((i, pos, flag))
    return words


NOMINAL_FLAGS = ("n", "j", "b", "eng", "nz", "ns", "nt", "nr", "vn", "g")  # g: 峪 of 杨家峪


def name_phrases(text: str, suffix: re.Pattern[str], analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Noun phrases ending in ``suffix`` (…有限公司, …街道), grown leftwards over nouns and names."""
    words = tagged(text)
    spans = []
    for k, (s, e, flag) in enumerate(words):
        if flag == "r" or not suffix.search(text[s:e]):
            continue  # 我市, 本区, 该村: a pronoun names no place
        j = k
        # A firm's trade name is often read as an adjective or an idiom (山西|众诚|物业管理有限公司).
        flags = (*NOMINAL_FLAGS, "a", "i", "l", "ng", "m") if _FIRM_END.search(text[s:e]) else NOMINAL_FLAGS
        while (
            j > 0
            and words[j - 1][2].startswith(flags)
            and words[j - 1][1] == words[j][0]
            and text[words[j - 1][0] : words[j - 1][1]] not in COUNTERPART_MARKS  # 太钢|供|联盛…
            # 优鲜|多|歌 is part of a firm's name; a figure (26家|企业) never is.
            and not (
                words[j - 1][2] == "m"
                and re.search(r"[\d一二三四五六七八九十百千万两几]", text[words[j - 1][0] : words[j - 1][1]])
            )
            # Not the asker's 太钢; a place the question also names still starts a name (太原|科技大学).
            and (
                words[j - 1][2] == "ns" or outside_question(text[words[j - 1][0] : words[j - 1][1]], analysis)
            )
        ):
            j -= 1
        start = words[j][0]
        while start < e and text[start] in _NOT_A_PLACE_START:
            start += 1
        # jieba glues a preposition to the name after it (供联|盛浆纸公司): the name starts after.
        if text[start] in COUNTERPART_MARKS and e - start > 4:
            start += 1
        if e - start >= 3 and outside_question(text[start:e], analysis):
            spans.append((start, e))
    return spans


_PLACE_END = re.compile(r"(?:省|市|区|县|镇|乡|村|街道|社区|小区|街|路|广场|公园|校区|中心|场馆|海域)$")
_FIRM_END = re.compile(r"(?:公司|集团)$")
_SUBPLACE = re.compile(r"[^\W\d_在于到从向对和与及等的了是为、，,]{1,3}?(?:乡|镇|村|街道|社区|路口|交叉口)")
#: What a 哪个 + category question is answered by, when the category is not itself a suffix.
_CATEGORY_PLACES: dict[str, tuple[str, ...]] = {
    "场馆": ("馆", "中心", "场", "宫"),
    "场所": ("馆", "中心", "场", "宫", "广场", "公园"),
    "会场": ("馆", "中心", "场", "宫", "厅"),
    "城市": ("市",),
    "省份": ("省",),
}
#: Categories that ask for any place at all (在什么地方).
_ANY_PLACE = frozenset({"地方", "地点", "位置", "哪里", "方位", "地址"})
ORG_END = re.compile(
    r"(?:公司|集团|大学|学院|医院|银行|协会|联盟|研究院|研究所|实验室|委员会|管理局|局|中心|厂|社|馆|站|团队)$"
)


_PEOPLE_END = re.compile(r"(?:干部|群众|人员|职工|居民|代表|同志|党员|师生|市民)$")
_VENUE_ASKED = re.compile(r"(?:在|于|位于)(?:哪里|哪儿|什么地方|何处|何地)")
_AT_VENUE = re.compile(r"(?:在|于|赴|到|至|来到|走进|位于|[:：])$")
NOT_A_FIRM = re.compile(r"(?:中心|馆|站|局|委员会|大学|学院|医院|政府|街道|社区)$")
_COUNTED_PLACES = re.compile(r"[一二三四五六七八九十两几数多各\d]+个?[省市县区镇乡村]")
_NAME_GOES_ON = re.compile(
    r"[\u4e00-\u9fff]{0,4}?(?:档案馆|图书馆|博物馆|局|委员会|政府|公司|集团|大学|学院|医院|中心)"
)
_NOT_A_DISTRICT = re.compile(r"(?:社区|小区|园区|景区|城区|市区|片区|校区|街区)$")
_HOLDS = re.compile(r"(?:召开|举办|举行|主办|承办|开展|组织)")
_AT = re.compile(r"(?:在|于|到|赴|至)$")
#: 锦波生物是哪里的企业: the place a firm or person is from, printed at the head of its name.
_WHOSE_PLACE = re.compile(r"([\u4e00-\u9fff]{2,}?)是?(?:哪里|哪儿|何地)的")
#: 是哪里人: someone's hometown, printed as 临汾人 or after 来自/籍贯/老家.
_HOMETOWN_ASKED = re.compile(r"(?:哪里|哪儿|什么地方|何地|哪个(?:省|市|县))人")
_FROM_PLACE = re.compile(r"(?:来自|出生于|生于|籍贯|老家|家乡)$")
#: 从哪里出发: the place asked is the one the action starts from, and its verb.
_FROM_ASKED = re.compile(r"从(?:哪里|哪儿|什么地方|何处|何地)([\u4e00-\u9fff]{2})")


def _named_places(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Named places: words the tagger marks as places, or noun phrases ending in 区/村/街道… (not 全乡)."""
    spans = []
    for s, e, flag in tagged(text):
        if flag != "ns" or e - s < 2 or _PEOPLE_END.search(text, 0, e):
            continue  # the tagger reads 广大干部 as a place
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
        if outside_question(text[s:e], analysis):
            spans.append((s, e))
    # Both: overlapping spans are resolved to the longest (北中环街 over 中环).
    spans += name_phrases(text, _PLACE_END, analysis)
    # 晋中市档案馆: a place starting an institution's name is part of that name, not where it is.
    spans = [(s, e) for s, e in spans if not _NAME_GOES_ON.match(text, e)]
    # 五市分别公布了…: a counted set of places is no place.
    spans = [(s, e) for s, e in spans if not _COUNTED_PLACES.fullmatch(text[s:e])]
    # 4名社区干部: a counter after a figure does not start a place name.
    spans = [(s, e) for s, e in spans if not (s > 0 and text[s - 1].isdigit() and text[s] in COUNTERS)]
    # 市政协党组召开扩大会议: a name right before 召开/举办 holds the event, it is not where.
    return [(s, e) for s, e in spans if not (_HOLDS.match(text, e) and not _AT.search(text, 0, s))]


def _clause_prints(text: str, start: int, end: int, word: str) -> bool:
    """Whether the clause of ``text`` holding ``text[start:end]`` prints ``word``."""
    lo, hi = clause_around(text, start, end)
    return word in text[lo:hi]


def place_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Spans of ``text`` answering a where-question: of the kind of place asked, where things happen."""
    spans = _named_places(text, analysis)
    category, happening = analysis.category, ""
    if category and all(f[:1] == "v" and f != "vn" for _, f in tag(category)):
        category, happening = "", category  # 在哪里召开: 召开 says what happens there, not what kind of place
    suffixes = _CATEGORY_PLACES.get(category) or (
        (category,) if category and _PLACE_END.search(category) else ()
    )
    if category and not suffixes and category not in _ANY_PLACE:
        # 哪个板块 is answered by a …板块 (杨家峪板块), never by whatever the tagger reads as a place.
        spans += name_phrases(text, re.compile(re.escape(category) + "$"), analysis)
        suffixes = (category,)
    if category == "城市":
        # 哪个城市: a city's name (大同, 合肥市), not a kind of city (国家区域中心城市).
        spans = [(s, e) for s, e in spans if not text[s:e].endswith("城市")]
        spans = [(s, e) for s, e in spans if text[s:e].endswith("市") or not _PLACE_END.search(text[s:e])]
    elif suffixes:
        # 哪个村 is answered by a 村, 哪个场馆 by a 馆 or 中心, not by the city around it.
        spans = [(s, e) for s, e in spans if text[s:e].endswith(suffixes)]
    if category == "区":
        # 哪个区 asks for a district, not a 社区 or 园区 (服务社区).
        spans = [(s, e) for s, e in spans if not _NOT_A_DISTRICT.search(text[s:e])]
    if _HOMETOWN_ASKED.search(analysis.text):
        # 王煜尘是哪里人: where someone is from (临汾人, 来自大同), not where the sentence sends him (南极).
        return [
            (s, e) for s, e in spans if text.startswith("人", e) or _FROM_PLACE.search(text, max(0, s - 4), s)
        ]
    whose = _WHOSE_PLACE.search(analysis.text)
    if whose:
        # 山西锦波生物医药股份有限公司 says where 锦波生物 is from; 嘉宾 elsewhere in the sentence does not.
        head = whose.group(1)[:2]
        return [(s, e) for s, e in spans if text.startswith(head, e)]
    start = _FROM_ASKED.search(analysis.text)
    if start:
        # 雪龙号从哪里出发: 从位于上海的中国极地考察国内基地码头出发 answers with all that lies
        # between 从 and the verb, not with 中国 at the head of the dock's name.
        return _from_spans(text, start.group(1), analysis)
    if _VENUE_ASKED.search(analysis.text):
        # 大会在哪里召开: the venue is where something is held (在龙潭公园…举行), not any
        # place the sentence names (听取太原市圈建设峰会…).
        spans = [(s, e) for s, e in spans if _AT_VENUE.search(text, max(0, s - 2), s)]
        if happening:
            # 山西之夜在哪里举办: 走进太原 in the clause after 举办…推介活动 is not where anything is held.
            spans = [(s, e) for s, e in spans if _clause_prints(text, s, e, happening)]
        printed = normalize_for_match(text)
        if analysis.nouns and not any(normalize_for_match(n) in printed for n in analysis.nouns):
            return []  # 农交会在哪里举办: 在太原、上海…举办了4场推介活动 is where something else was held
        # 在中国(山西)第八届农交会…举办: a place before a bracket heads an event's name, it is no venue.
        spans = [(s, e) for s, e in spans if text[e : e + 1] not in ("（", "(")]
    return spans


def _from_spans(text: str, verb: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """The places ``text`` says the action ``verb`` starts from (从 X 出发 gives X)."""
    spans = []
    for found in re.finditer(r"从(?:位于)?([^，。！？；,、\s从]{2,24}?)" + re.escape(verb), text):
        s, e = found.span(1)
        if outside_question(text[s:e], analysis):
            spans.append((s, e))
    return spans


__all__ = [
    "COUNTERPART_MARKS",
    "COUNTERS",
    "NOMINAL_FLAGS",
    "NOT_A_FIRM",
    "ORG_END",
    "name_phrases",
    "outside_question",
    "place_spans",
    "tagged",
]
