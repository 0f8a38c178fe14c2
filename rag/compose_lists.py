"""List answers: the items a question asks for, each cited.

A list is read, in this order, from the sentences defining each part of a quoted list
(“联管、联建、联防”分别指什么: :func:`defined_parts`), from an enumeration (第一，…/一是…:
:func:`enumerated_items`) or the article's section headings, else from the one sentence
that lists the items (:func:`richest_listing`), joined with the sentence carrying its items
when it only announces them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.compose import citation_of, clause_ends, section_headings
from rag.evidence import Candidate, Library
from rag.evidence_places import name_phrases
from rag.question import QuestionAnalysis
from rag.question_constraints import tag
from rag.text import answer_sentences
from rag.types import Article, Chunk, Citation

_ENUM_ITEM = re.compile(
    r"\s*(?:第[一二三四五六七八九十]+[，,、：:]|[一二三四五六七八九十]是|首先|其次|再次|最后|其一|其二|其三)"
)
_ASKS_ASPECTS = re.compile(r"哪几|几个方面|哪些方面|几点|哪[两三四五六七八九十]|分别|[两三四五六七八九十]点")


def asks_for_items(analysis: QuestionAnalysis) -> bool:
    """Whether the question asks for several items or aspects (哪几个方面, 三点感受分别是什么)."""
    return _ASKS_ASPECTS.search(analysis.text) is not None


def enumerated_items(body: str, near: int) -> list[tuple[int, int]]:
    """Sentences of ``body`` that enumerate (第一，…/一是…/首先…) in the run closest to ``near``.

    A run is two or more such sentences with at most two others between them.
    """
    items = [(s, e) for s, e in answer_sentences(body) if _ENUM_ITEM.match(body, s)]
    runs: list[list[tuple[int, int]]] = []
    for item in items:
        if runs and body[runs[-1][-1][1] : item[0]].count("。") <= 6:
            runs[-1].append(item)
        else:
            runs.append([item])
    runs = [r for r in runs if len(r) >= 2]
    if not runs:
        return []
    return min(runs, key=lambda r: min(abs(s - near) for s, _ in r))[:6]


#: Kinds of named things (哪几个城市, 哪些企业): a 第一…第二… run of points does not list them.
_NAMED_KIND = re.compile(r"(?:城市|市|县|区|镇|村|街道|社区|省|国家|企业|公司|单位|学校|高校|医院|人|家)$")
_COUNT_WORDS = "两二三四五六七八九十"
_ASKED_COUNT = re.compile(rf"哪([{_COUNT_WORDS}])|([{_COUNT_WORDS}])(?:大|点|个方面|项|个)")


def asked_count(question: str) -> int | None:
    """How many items the question asks for (哪两个, 三点感受 → 2, 3), or None when it does not say."""
    match = _ASKED_COUNT.search(question)
    if match is None:
        return None
    word = match.group(1) or match.group(2)
    return 2 if word == "两" else _COUNT_WORDS.index(word) + 1


def list_answer(
    analysis: QuestionAnalysis, best: Candidate, library: Library | None
) -> tuple[str, list[Citation]]:
    """The items of a list, each cited: enumerated sentences, section headings, or the listing sentence."""
    body = best.article.body
    chunks = library.chunks_of(best.article.id) if library is not None else [best.passage.chunk]
    defined = defined_parts(analysis, body)
    if len(defined) >= 2:
        return _cited_items(best.article, defined, chunks)
    if _ASKS_ASPECTS.search(analysis.text) and not _NAMED_KIND.search(analysis.category):
        items = enumerated_items(body, best.start)
        if not items and re.search(r"方面|部分", analysis.text):
            items = section_headings(body)
        if len(items) >= 2 and asked_count(analysis.text) in (None, len(items)):
            return _cited_items(best.article, items, chunks)
    return _listing_answer(best, library, chunks, analysis)


def _cited_items(
    article: Article, items: Sequence[tuple[int, int]], chunks: Sequence[Chunk]
) -> tuple[str, list[Citation]]:
    """``item[1]；item[2]。`` with each item quoted from ``article.body``."""
    parts, citations = [], []
    for n, (start, end) in enumerate(items, start=1):
        citations.append(citation_of(n, article, start, end, chunks))
        parts.append(f"{article.body[start:end].rstrip('。；;')}[{n}]")
    return "；".join(parts) + "。", citations


_QUOTED_LIST = re.compile(r"[“\"]([^”\"]{2,40}[、，][^”\"]{1,40})[”\"]")


def defined_parts(analysis: QuestionAnalysis, body: str) -> list[tuple[int, int]]:
    """The sentences that open with each part of a quoted list the question asks about.

    “联管、联建、联防”分别指什么: the article defines each in a sentence of its own
    (联管,省市直接调度…; 联建,…); those sentences, in order, are the answer.
    """
    quoted = _QUOTED_LIST.search(analysis.text)
    if quoted is None:
        return []
    parts = [p for p in re.split(r"[、，,]", quoted.group(1)) if len(p) >= 2]
    spans = answer_sentences(body)
    found = []
    for part in parts:
        opening = next((sp for sp in spans if body[sp[0] : sp[1]].lstrip().startswith(part)), None)
        if opening is not None:
            found.append(opening)
    return found if len(found) == len(parts) else []


#: Separators between the items of an enumeration, and book titles joined by 和.
_ENUMERATES = re.compile(r"[、；;]|一是|》[^，。《]{0,6}和《|”和“")
#: Openings that carry an enumeration on from the sentence before (not 同时/此外: a new point).
_CONTINUES = re.compile(r"\s*(?:二是|三是|其次|分别是|分别为|即|包括|主要有|具体)")


def enumerates(text: str) -> bool:
    """Whether a sentence lists items (丈子头板块…；杨家峪板块…, 《…》和《…》, A、B、C)."""
    return _ENUMERATES.search(text) is not None


#: A list question asking which firms: its items must be firms' names.
_FIRMS_ASKED = re.compile(r"哪几家|哪些(?:企业|公司|单位|厂家|商家)")
#: A firm's name as the paper prints it: 山西水塔醋业股份有限公司, 太钢集团, 紫林醋业 (企业 alone names none:
#: 26家优质企业).
_FIRM_NAME = re.compile(r"[\u4e00-\u9fff]{2,}?(?:公司|集团|醋业|厂|银行|酒店|商场|超市)")


def unlisted(analysis: QuestionAnalysis, citations: Sequence[Citation]) -> bool:
    """Whether a list question's answer quotes one sentence that lists nothing (or no firms, firms asked).

    哪几家太原企业 answered by 涉及特色文创、老字号、生活健康等多个板块: a list, but of sections, not firms.
    """
    if analysis.kind != "list":
        return False
    if _FIRMS_ASKED.search(analysis.text):
        named = {m.group(0) for c in citations for m in _FIRM_NAME.finditer(c.quote)}
        return len(named) < 2
    if titled_kind(analysis):
        # 哪两部著作 answered by 选举于学祥为…；选举薄熙来为…: a list, but of no works.
        return len({m.group(0) for c in citations for m in _TITLE.finditer(c.quote)}) < 2
    return not (len(citations) > 1 or any(names_items(c.quote) for c in citations))


def names_items(text: str) -> bool:
    """Whether a quote names two things or more (A、B; A和B; A与B; “A”“B”): a list can be read from it.

    A 、 inside quotation marks is a slogan's (以“启航新征程、凝聚新力量”为主题), not a list.
    """
    text = re.sub(r"“[^“”]*”", "“”", text)
    return enumerates(text) or re.search(r"\w[和与及]\w|”“", text) is not None


#: A list question ending in 有哪些 asks the items of the noun before it (服务地点有哪些).
_HAS_WHICH = re.compile(r"(?:都|主要|还|分别)?(?:有|包括|包含)哪些[？?]?$")


def _listed_whole(question: str) -> str:
    """The noun whose items a 有哪些 question asks (服务地点有哪些 → 地点), or ''."""
    ends = _HAS_WHICH.search(question)
    words = tag(question[: ends.start()]) if ends else ()
    if not words or not words[-1][1].startswith("n") or len(words[-1][0]) < 2:
        return ""
    return words[-1][0]


def richest_listing(
    candidates: Sequence[Candidate], margin: float = 0.1, analysis: QuestionAnalysis | None = None
) -> Candidate:
    """Among near-ties of one article, the sentence that lists the most items.

    培训讲了哪些内容: the lead names the training with two scenes (…作业、机械操作), the
    next sentence lists the five topics; both match the question almost equally.  Works
    asked (哪两部著作): the sentence of the best article printing two titles in 《》; items of
    a named whole (服务地点有哪些): the near-tie printing its name.
    """
    best = candidates[0]
    if analysis is not None and titled_kind(analysis):
        # Titles are the items: a sentence rich in 、 but naming no work lists something else.
        titled = [
            c for c in candidates[:6] if c.article.id == best.article.id and len(_TITLE.findall(c.text)) >= 2
        ]
        return titled[0] if titled else best
    whole = _listed_whole(analysis.text) if analysis is not None else ""
    if whole and whole not in best.text:
        # 服务地点有哪些: the near-tie printing 服务地点 and naming items lists them, not the one
        # listing the training's topics.
        naming = [
            c
            for c in candidates[1:4]
            if c.article.id == best.article.id
            and c.score >= best.score - margin
            and whole in c.text
            and names_items(c.text)
        ]
        if naming:
            return naming[0]
    if len(_ENUMERATES.findall(best.text)) > 1:
        return best  # it lists three items or more already
    rivals = [
        c
        for c in candidates[1:4]
        if c.article.id == best.article.id
        and c.score >= best.score - margin
        and len(_ENUMERATES.findall(c.text)) >= 3
    ]
    return max(rivals, key=lambda c: c.score, default=best)


def _listing_answer(
    best: Candidate,
    library: Library | None,
    chunks: Sequence[Chunk],
    analysis: QuestionAnalysis,
) -> tuple[str, list[Citation]]:
    """The items, cited to the listing sentence (joined with the sentence carrying its items).

    One quote covers both (六地战略定位。分别是：…): the announcing sentence names no item, so
    cited on its own it would support nothing.  The answer is the items themselves when they
    can be read off (:func:`listed_items`, :func:`items_of_kind`), else the listing clause.
    """
    body = best.article.body
    start, end = best.start, best.end
    if library is not None and (best.text.rstrip().endswith(("：", ":")) or not enumerates(best.text)):
        following = [sp for sp in answer_sentences(body) if sp[0] >= best.end][:1]
        for s, e in following:
            if enumerates(body[s:e]) or _CONTINUES.match(body, s):
                end = e
    # A list cut at ；(丈子头板块…；杨家峪板块…) goes on to the end of its sentence.
    while body[end - 1 : end] in ("；", ";"):
        nxt = [sp for sp in answer_sentences(body) if sp[0] >= end][:1]
        if not nxt or body[end : nxt[0][0]].strip():
            break
        end = nxt[0][1]
    start, end = _listing_clause(body, start, end)
    text = body[start:end].rstrip("，,；;：: ")
    end = start + len(text)
    citation = citation_of(1, best.article, start, end, chunks)
    asked = asked_count(analysis.text)
    items = listed_items(text, asked, analysis.text) or items_of_kind(text, asked, analysis)
    if items:
        return f"{'、'.join(items)}。[1]", [citation]
    if not re.search(r"[。！？!?]$", text):
        text += "。"
    return f"{text}[1]", [citation]


_QUOTED_RUN = re.compile(r"(?:“[^“”、，。]{1,20}”[、和及与]?){2,}")
_ITEM = r"[^、，,。；;：:（）()“”《》\s]{1,24}"
_ITEM_RUN = re.compile(rf"{_ITEM}(?:、{_ITEM})+")
#: What follows the last item of a run: 等…, or the run's size (五市, 两条…道路).
_RUN_TAIL = re.compile(r"(?:等|[两二三四五六七八九十\d]+[个条项市区县家种大类件名所座镇村]).*$")
#: Tags that end an item when reading leftwards from it (涉及, 的, 了, 在…).
_NOT_ITEM_TAGS = ("v", "p", "u", "c", "r", "x", "m")


def listed_items(text: str, asked: int | None = None, question: str = "") -> list[str]:
    """The items a listing sentence enumerates (静游镇、娄烦镇), or [] when none can be read off safely.

    The words before the first item (深入, 涵盖的) and after the last (等多个板块, 五市) are
    trimmed: an item ends where a verb, particle or numeral begins, and the first item is no
    longer than the others by more than two characters.  With ``asked`` (哪两条), only a run
    of that many items is read.

    Example:
        >>> listed_items("11月2日，娄烦县委负责人深入静游镇、娄烦镇，就换届进行调研。")
        ['静游镇', '娄烦镇']
        >>> listed_items("我市还将开工建设机场东路、龙盛街两条进出机场的道路", asked=2)
        ['机场东路', '龙盛街']
    """
    runs: list[tuple[list[str], int]] = []
    for m in _QUOTED_RUN.finditer(text):
        runs.append((re.findall(r"“[^“”]+”", m.group(0)), m.end()))
    if not runs:
        for m in _ITEM_RUN.finditer(re.sub(r"“[^”]*”", lambda q: "“" * len(q.group(0)), text)):
            segments = text[m.start() : m.end()].split("、")
            items, used = _trimmed(segments)
            runs.append((items, m.end() - len(segments[-1]) + used))
    runs = [(r, end) for r, end in runs if _items_alike(r) and (asked is None or len(r) == asked)]
    if len(runs) > 1 and question:
        # 先做景、后建房，…把奥特莱斯、南湖建设作为首要建设任务: the run of the question's kind or words.
        runs = [(r, end) for r, end in runs if _matches_question(text, r, end, question)]
    if len(runs) != 1:
        return []  # no list, or several and nothing says which one is asked for
    items, end = runs[0]
    kind = _kind_after(text, end)
    if question and kind and kind[-1] not in question:
        return []  # 特色文创、老字号…等多个板块 lists 板块; the question asks which 企业
    return items


#: The kind of thing a count question asks for: 哪两部著作 → 著作, “两大板块”是哪两个 → 板块.
_KIND_COUNTED = re.compile(
    rf"(?:哪[{_COUNT_WORDS}几]?[部本项件条个座所种类]?|[{_COUNT_WORDS}]大)([\u4e00-\u9fff]{{2}})"
)
#: Kinds whose items the paper prints as titles in 《》 (《习近平谈治国理政》第四卷).
_TITLED_KINDS = frozenset(
    {"著作", "书籍", "图书", "文件", "作品", "文章", "报告", "读本", "教材", "法规", "条例"}
)
_TITLE = re.compile(r"《[^《》]{1,40}》(?:第[一二三四五六七八九十\d]+[卷册辑部])?")


def titled_kind(analysis: QuestionAnalysis) -> bool:
    """Whether the question counts works the paper names by their titles (哪两部著作, 哪几份文件)."""
    kind = _KIND_COUNTED.search(analysis.text)
    return kind is not None and kind.group(1) in _TITLED_KINDS


def items_of_kind(text: str, asked: int | None, analysis: QuestionAnalysis) -> list[str]:
    """Exactly ``asked`` distinct names of the kind the question counts (丈子头板块、杨家峪板块), or [].

    杨家峪板块大力发展…；丈子头板块着力推动… names the two 板块 as the subjects of two clauses,
    not as a run A、B; 哪两部著作 is answered by the two titles in 《》.  Only an exact count is
    read: two 板块 printed for 哪两个 can be nothing else, three could be a different list.
    """
    kind = _KIND_COUNTED.search(analysis.text)
    if asked is None or kind is None:
        return []
    noun = kind.group(1)
    if noun in _TITLED_KINDS:
        found = [m.group(0) for m in _TITLE.finditer(text)]
    else:
        spans = name_phrases(text, re.compile(re.escape(noun) + "$"), analysis)
        found = [text[s:e] for s, e in spans]
    items = list(dict.fromkeys(found))
    return items if len(items) == asked else []


def _matches_question(text: str, items: list[str], end: int, question: str) -> bool:
    """Whether a run names the question's kind (静游镇、娄烦镇 for 哪几个镇) or is followed by its words."""
    kind = _kind_after(text, end)
    if kind and kind[-1] in question:
        return True
    if len({i[-1] for i in items}) == 1 and items[0][-1] in question:
        return True
    clause = re.split(r"[，,。；;：:]", text[end : end + 12], maxsplit=1)[0]
    return any(len(w) >= 2 and w in question for w, _ in tag(clause))


def _kind_after(text: str, end: int) -> str:
    """The noun naming what a run lists, printed right after it (等多个板块 → 板块, 五市 → 市)."""
    after = re.split(r"[，,。；;：:、]", text[end:], maxsplit=1)[0]
    tail = re.match(r"(?:等|[两二三四五六七八九十\d]+[个条项家种大类件名所座]?)(\w{0,8})", after)
    if tail is None:
        return ""
    words = [w for w, f in tag(tail.group(1)) if f.startswith("n")]
    counted = re.match(r"[两二三四五六七八九十\d]+([市区县镇村])", after)
    return counted.group(1) if counted else (words[-1] if words else "")


def _items_alike(items: list[str]) -> bool:
    """Whether a run reads as items: two or more short names of like length, not clauses.

    在山西中部城市群建设上当龙头、在构建…上当龙头 enumerates clauses; cut down, its first
    "item" would be 龙头, a scrap.
    """
    if len(items) < 2 or not all(items) or max(len(i) for i in items) > 12:
        return False
    return len(items[0]) * 2 >= min(len(i) for i in items[1:])


def _trimmed(items: list[str]) -> tuple[list[str], int]:
    """The run's items with the words before the first and after the last cut off.

    Also returns how many characters of the raw last segment the items take, so the words
    after the run (等多个板块, 两条…道路) can be read.
    """
    consumed, cut = "", None
    words = tag(items[-1])
    for i, (word, flag) in enumerate(words):
        ends = i + 1 == len(words) or words[i + 1][0] == "等" or words[i + 1][1] == "x"
        if word in ("和", "及", "与", "以及") and flag == "c" and cut is None and consumed:
            cut = len(consumed)  # …老字号和生活健康: the conjunction as jieba reads it, not 涉及's 及
        elif word == "等" or (_stops_item(flag) and not (flag.startswith("v") and ends and consumed)):
            break  # a verb ends an item only when more follows it (机械操作等 / 南湖建设作为…)
        consumed += word
    consumed = _RUN_TAIL.sub("", consumed)
    if cut is not None and cut < len(consumed):
        tail = [consumed[:cut], consumed[cut:].lstrip("和及与以")]
    else:
        tail = [consumed]
    others = [*items[1:-1], *tail]
    room = max(len(i) for i in others) + 2
    first = ""
    for word, flag in reversed(tag(items[0])):
        if _stops_item(flag) or flag == "vn":
            break  # 涉及特色文创, 开工建设机场东路: the item starts after the verb
        if len(first) + len(word) > room:
            return ["", *others], len(consumed)  # no verb before it: a cut would leave a scrap
        first = word + first
    return [first, *others], len(consumed)


def _stops_item(flag: str) -> bool:
    """Whether a word of this tag ends an item: verbs (not 建设-like verbal nouns), particles, numerals."""
    return flag != "vn" and flag.startswith(_NOT_ITEM_TAGS)


def _listing_clause(body: str, start: int, end: int, limit: int = 80) -> tuple[int, int]:
    """Within a long sentence, the clause that holds its list (系统讲解了A、B、C、D等知识).

    The clauses around it (引导员工树立…的安全意识，以…的责任感…) are not items; a sentence
    whose items are spread over several clauses is kept whole.
    """
    text = body[start:end]
    if end - start <= limit or "”“" in text:
        return start, end  # short already, or items printed as quoted names (“流动审批车”“视频云勘验”)
    bounds = [0, *clause_ends(text), len(text)]
    clauses = list(zip(bounds, bounds[1:], strict=False))
    # 、 inside quotation marks (“设备无隐患、操作零违章”) joins the words of one slogan.
    counts = [re.sub(r"“[^”]*”", "", text[a:b]).count("、") for a, b in clauses]
    richest = max(range(len(clauses)), key=lambda i: counts[i])
    if counts[richest] < 2 or sum(1 for c in counts if c) > 1:
        return start, end
    a, b = clauses[richest]
    return start + a, start + b


__all__ = [
    "asked_count",
    "asks_for_items",
    "defined_parts",
    "enumerated_items",
    "enumerates",
    "list_answer",
    "items_of_kind",
    "listed_items",
    "names_items",
    "richest_listing",
    "unlisted",
]
