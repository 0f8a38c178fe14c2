"""Composition: lead with the answer, then the support, every ``[n]`` on the clause it supports.

* a typed question (how many, when, who, where, which edition…) gets one short sentence
  stating the extracted span in the question's own terms — 山西展厅面积为435平方米。[1] —
  where the span is copied verbatim from the cited sentence;
* who said / what did X say: the speaker and the quoted words;
* a summary: the article's lead and up to three key sentences, each cited;
* "what did the paper report on … / about …": the matching articles' headlines with dates;
* a list: the enumerating sentence(s), each cited;
* other questions (what, why, how): the supporting sentence, cut to the clauses that answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.evidence import Candidate, Library, coverage, local, term_weights
from rag.question import QuestionAnalysis, tag
from rag.text import answer_sentences, normalize_for_match
from rag.types import Article, Chunk, Citation

_ASK = re.compile(
    r"(?:是|为|有)?(?:(?:一共|总共|共)?(?:多少|几)(?:[个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道吨元天]|万元|亿元|平方米|公里|米|金额|钱)?)"
    r"|多大(?:的)?(?:面积|比例)?|多长(?:时间)?|多久|多重|多高|多远|什么时候|何时|哪一?天|哪一?年|几月几[日号]|哪个月"
    r"|第几届|哪一?届|第几次|谁|哪位|哪家(?:企业|公司|单位|机构)?"
    r"|哪(?:一)?(?:个|座|所)?(?:区|县|市|街道|社区|村|乡|镇|校区|场馆|城市)|哪里|什么地方|叫什么名字|叫什么|什么名字"
)
_TRAILING = re.compile(r"[？?！!。.\s]*$")
_PARTICLE = re.compile(r"(?:呢|吗|啊|呀)$")
#: What a named organisation ends with (the question's own 太原企业 after it says nothing more).
_NAMED_BODY = r"(?:公司|集团|企业|单位|机构|学校|大学|医院|协会|联盟|中心|厂)$"
_BARE_MEASURE = re.compile(r"^(?:多大|多长|多久|多重|多高|多远|多少|几)")


#: Counters a figure carries (26家, 一百二十幅): the question's own copy after 多少 is dropped.
_COUNTER_CHARS = frozenset(
    "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道幅棵只头匹株本册首款枚颗栋间层处吨元米天年月周"
)


def _nominal(flag: str) -> bool:
    return flag[:1] == "n" or flag in ("j", "vn", "b", "eng")


#: Tokens after which a restatement may start: punctuation, particles (的), prepositions,
#: conjunctions, time words and pronouns end what came before.
_ENDS_PHRASE = ("u", "p", "c", "t", "r", "x", "w")
#: Tokens a restatement may start with although a noun precedes them: the predicate (一共汇集了…).
_STARTS_PREDICATE = ("d", "v", "p", "a")
_OPENERS, _CLOSERS = "（(“《【", "）)”》】"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _cut_left(left: str, limit: int = 14) -> str:
    """The end of the question before the interrogative: its last clause, at most ``limit`` characters.

    The cut falls only where a phrase ends (after 的, a preposition, a time word, punctuation)
    or the predicate starts, and never inside brackets, a quoted name or a word: 2021年底|迎泽区,
    not 年底迎泽区; （第36次）时|在中山站, not 次）时在中山站.  Nothing is kept when no such cut fits.
    """
    bounds = _clause_ends(left)
    left = left[bounds[-1] :] if bounds else left
    left = left.removeprefix("请问").lstrip("、，,；;：: ")
    if len(left) <= limit and _balanced(left):
        return left
    words = list(tag(left))
    # Located, not summed: the tagger drops spaces (“关注平安铁路 共享美好生活”).
    offsets: list[int] = []
    pos = 0
    for word, _ in words:
        pos = left.find(word, pos)
        offsets.append(pos)
        pos += len(word)
    for i in range(1, len(words)):
        start = offsets[i]
        rest = left[start:]
        word, flag = words[i]
        prev_word, prev_flag = words[i - 1]
        # A quoted name or title is kept whole if that is not much longer than the limit.
        if len(rest) > limit + (8 if word[:1] in "“《" else 0) or not _balanced(rest):
            continue
        if word[:1] not in "“《" and (
            flag[:1] in ("u", "q", "m", "f", "x", "w", "y") or word in ("时", "后", "前", "中", "里", "期间")
        ):
            continue  # 岁的张桂兰, 时在…: a tail of what came before
        if (
            prev_flag[:1] in _ENDS_PHRASE
            or prev_word[-1:] in _CLOSERS
            or flag[:1] in _STARTS_PREDICATE
            or word[:1] in "“《"
        ):
            text = rest.lstrip("、，,；;：: ")
            # 有限公司的商务经理 → 商务经理: the tail of a cut name says nothing on its own.
            tail = re.match(r"(?:股份有限公司|有限公司|公司|集团|联盟|中心)的", text)
            return text[tail.end() :] if tail and len(text) > tail.end() else text
    return ""


_FOLLOW_UP = re.compile(r"^(?P<antecedent>[^\s，,？?]+)\s+(?:那么|那)?(?:它们|它|他们|他|她|其)")


def short_statement(analysis: QuestionAnalysis, span: str) -> str:
    """The question restated as a statement with ``span`` in place of its interrogative.

    Example:
        >>> from rag.question import analyze
        >>> short_statement(analyze("第八届进博会山西展厅面积有多大？"), "435平方米")
        '第八届进博会山西展厅面积有435平方米'
    """
    question = _TRAILING.sub("", analysis.text)
    # A follow-up searched as "山西展厅 那它包含多少家企业": the antecedent takes the pronoun's place.
    question = _FOLLOW_UP.sub(r"\g<antecedent>", question)
    matches = list(_ASK.finditer(question))
    if not matches:
        return span
    m = matches[-1]
    asked = m.group(0)
    left = _cut_left(question[: m.start()])
    right = _PARTICLE.sub("", question[m.end() :])
    right = re.split(r"[，,；;？?]", right)[0]
    if right and span and right[0] == span[-1] and right[0] in _COUNTER_CHARS:
        right = right[1:]  # 多少幅作品 → 一百二十幅作品, not 一百二十幅幅作品
    if analysis.category and right.startswith(analysis.category) and span.endswith(analysis.category[-2:]):
        right = right[len(analysis.category) :]  # 哪家物业公司的合作 → 山西众诚物业管理有限公司的合作
    if len(right) > 12 or (re.search(_NAMED_BODY, span) and re.fullmatch(rf"\w{{0,6}}{_NAMED_BODY}", right)):
        right = ""  # 哪家太原企业 → 水塔醋业股份有限公司, not …有限公司太原企业
    if asked.startswith(("是", "为", "有")):
        joiner = asked[0]
    elif asked.startswith("叫"):
        joiner = "叫"
    elif (
        _BARE_MEASURE.match(asked)
        and not re.search(r"[是为有达了在到]$", left)
        and asked[-1] not in "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道天年月周吨元米"
        and not (left and tag(left)[-1][1].startswith(("v", "p")))  # 持续147天, 不少于20分钟
        and not left.endswith(("历时", "耗时", "用时", "为期"))  # 历时500多天, not 历时为500多天
    ):
        joiner = "为"
    else:
        joiner = ""
    # A follow-up searched as 山西展厅 那它有多少家企业: the pronoun names what precedes it.
    left = re.sub(r"\s*(?:那么|那)?(?:它们|它|他们|他|她|其)(?=[有是在的为]|$)", "", left).strip()
    # 每周 + 每周三: the span repeats the end of the question's words.
    for size in range(min(len(left), len(span)), 0, -1):
        if left.endswith(span[:size]):
            left = left[:-size]
            break
    # The counter is in the span already (26家): 多少家企业 → 26家企业.
    statement = f"{left}{joiner}{span}{right}"
    statement = statement.strip("，, ")
    # 是…的 reads as a sentence (是11月4日拍的); a bare trailing 的 elsewhere is a cut phrase.
    if statement.endswith("的") and not (right.endswith("的") and "是" in f"{left}{joiner}{right}"):
        statement = statement.rstrip("的")
    return statement


def citation_of(n: int, article: Article, start: int, end: int, chunks: Sequence[Chunk]) -> Citation:
    """Citation ``[n]`` quoting ``article.body[start:end]``, attributed to the chunk that holds it."""
    chunk = next((c for c in chunks if c.start <= start < c.end), chunks[0] if chunks else None)
    return Citation(
        n=n,
        chunk_id=chunk.id if chunk is not None else f"{article.id}:0",
        article_id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        quote=article.body[start:end],
        start=start,
        end=end,
    )


def candidate_citation(n: int, candidate: Candidate) -> Citation:
    """Citation ``[n]`` quoting a candidate sentence whole."""
    chunk = candidate.passage.chunk
    return Citation(
        n=n,
        chunk_id=chunk.id,
        article_id=candidate.article.id,
        title=candidate.article.title,
        date=candidate.article.date,
        source=candidate.article.source,
        quote=candidate.text,
        start=candidate.start,
        end=candidate.end,
    )


def _best_span(candidate: Candidate, analysis: QuestionAnalysis) -> str:
    """The typed span of the candidate closest to the question's words (the clause that answers)."""
    text = candidate.text
    terms = [local(normalize_for_match(t)) for t in analysis.terms]
    # The words just before the interrogative say what is asked of the subject (报名截止到哪天):
    # the span whose clause prints them answers, not the one beside the subject's name.
    asked = list(_ASK.finditer(analysis.text))
    predicate = (
        local(normalize_for_match(analysis.text[max(0, asked[-1].start() - 6) : asked[-1].start()]))
        if asked
        else ""
    )
    best, best_score = candidate.spans[0], -1.0
    for s, e in candidate.spans:
        lo = max(text.rfind(p, 0, s) for p in "，,；;。") + 1
        his = [i for p in "，,；;。" if (i := text.find(p, e)) >= 0]
        hi = min(his) if his else len(text)
        clause = local(normalize_for_match(text[lo:hi]))
        before = local(normalize_for_match(text[max(lo - 30, 0) : hi]))
        # The span's own clause decides (举办 beside 9月1日至15日, not 报名截止日期为8月30日);
        # the words just before it only break ties (a subject stated in the previous clause).
        score = sum((3.0 if t in predicate else 1.0) for t in terms if t and t in clause) + sum(
            0.25 for t in terms if t and t in before
        )
        span = text[s:e]
        if (
            analysis.answer_type in ("date", "year")
            and analysis.expectation
            and analysis.expectation.kind == "date"
        ):
            # The most specific date answers 哪天: 8月29日 rather than 2023年 in the same sentence.
            score += 10 * bool(re.search(r"[日号]", span)) + 5 * ("月" in span)
        if re.search(r"(?:降至|降到|增至|增长到|达到|提升至|升至|为|达)$", text[max(0, s - 3) : s]):
            score += 0.5
        if re.search(r"[和与跟同给为向]谁", analysis.text) and text[max(0, s - 1) : s] in "与和跟同给为向供":
            score += 2.0  # 和谁签了合同: the counterpart, not the subject
        counter = re.search(r"(?:多少|几)\s*([^\s的])", analysis.text)
        if counter and span.endswith(counter.group(1)):
            score += 1.0  # 多少道美食 → 24道, not 80多个
        if analysis.head and analysis.head[:2] in text[e : e + 6]:
            score += 1.0
        if score > best_score:
            best, best_score = (s, e), score
    return text[best[0] : best[1]]


def asks_several(analysis: QuestionAnalysis) -> bool:
    """Whether the question asks two things at once (哪个区、哪个街道; 2017年和2022年分别是多少).

    One extracted span cannot answer it: the supporting sentence does.
    """
    question = _TRAILING.sub("", analysis.text)
    return "分别" in question or len(_ASK.findall(question)) > 1


def restates_unprinted(analysis: QuestionAnalysis, statement: str, article: Article) -> bool:
    """Whether ``statement`` repeats a noun of the question that ``article`` does not print.

    A restatement is in the paper's voice: every noun it takes from the question must be
    in the cited article (its headline or body), or the citation would not support it.
    """
    printed = local(normalize_for_match(article.title + article.body))
    said = local(normalize_for_match(statement))
    # Nouns, and the question's other nominal words (智能 of 智能工厂, 清明节): a verb of the
    # question (挑出, 属于) may be the reader's own and still say what the paper says.
    nominal = [t for t in analysis.terms if any(flag[:1] in ("n", "t") for _, flag in tag(t))]
    for noun in (*analysis.nouns, *nominal):
        norm = local(normalize_for_match(noun))
        if len(norm) >= 2 and norm in said and norm not in printed:
            return True
    return False


def typed_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]]:
    """One short sentence stating the span, cited to the sentence it was copied from."""
    if asks_several(analysis):
        return sentence_answer(analysis, best)
    span = _best_span(best, analysis)
    return f"{short_statement(analysis, span)}。[1]", [candidate_citation(1, best)]


_QUOTE = re.compile(r"“([^”]{4,200})”")


def said_answer(
    analysis: QuestionAnalysis, candidates: Sequence[Candidate]
) -> tuple[str, list[Citation]] | None:
    """``speaker表示：“…”`` from the best sentence quoting the speaker, or None."""
    speaker = analysis.speaker
    for cand in candidates[:5]:
        quote = _QUOTE.search(cand.text)
        if quote and (
            not speaker
            or speaker in cand.text
            or speaker in cand.article.body[max(0, cand.start - 60) : cand.start]
        ):
            who = speaker or "报道"
            return f"{who}表示：“{quote.group(1)}”[1]", [candidate_citation(1, cand)]
    return None


def _clauses_answer(text: str, analysis: QuestionAnalysis, limit: int = 80) -> tuple[int, int]:
    """The part of a long sentence that answers: the first clause with a question word, and the next."""
    if len(text) <= limit:
        return 0, len(text)
    terms = [local(normalize_for_match(t)) for t in analysis.terms]
    bounds = [0] + _clause_ends(text) + [len(text)]
    clauses = list(zip(bounds, bounds[1:], strict=False))
    hits = [
        i
        for i, (s, e) in enumerate(clauses)
        if any(t and t in local(normalize_for_match(text[s:e])) for t in terms)
    ]
    if not hits:
        return 0, len(text)
    first = hits[0]
    last = min(len(clauses) - 1, max(first + 1, hits[-1]))
    while last > first and clauses[last][1] - clauses[first][0] > limit:
        last -= 1
    return clauses[first][0], clauses[last][1]


def _clause_ends(text: str) -> list[int]:
    """Offsets just after each clause separator (，；：) that is not inside quotes or a title."""
    depth, ends = 0, []
    for i, ch in enumerate(text):
        if ch in "“《（(「『":
            depth += 1
        elif ch in "”》）)」』":
            depth = max(0, depth - 1)
        elif ch in "，,；;：:" and depth == 0:
            ends.append(i + 1)
    return ends


#: A question asking for a name the paper prints in quotation marks (什么主题, 哪个App, 品牌叫什么).
_NAMED_ASKED = re.compile(
    r"(?:什么|哪个|哪款|哪一个|哪本|哪份)\w{0,2}?(?P<a>主题|品牌|App|APP|app|口号|理念|系列|栏目|平台|小程序|公众号|期刊|杂志)"
    r"|(?P<b>主题|品牌|App|APP|名称|口号|理念|系列|栏目|活动|平台)(?:是什么|叫什么(?:名字)?)"
    r"|以什么为(?P<c>主题)"
)
_QUOTED = re.compile(r"“([^“”]{2,30})”|《([^《》]{2,30})》")
_INTERROGATIVE = re.compile(r"什么|哪一个|哪个|哪款|哪本|哪份")


def named_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]] | None:
    """``…以“表里山河·晋览未来”为主题`` for a question asking a printed name (主题, App, 品牌…), or None.

    The name is the quoted term printed next to the asked word (“志愿汇”App, “草坪易办”品牌
    建设); without such a term beside it the sentence answers instead.
    """
    question = _TRAILING.sub("", analysis.text)
    asked = _NAMED_ASKED.search(question)
    if asked is None or asks_several(analysis):
        return None
    word = asked.group("a") or asked.group("b") or asked.group("c")
    text = best.text
    near = [m.start() for m in re.finditer(re.escape(word), text)]
    best_quote, best_gap = None, 9
    for quote in _QUOTED.finditer(text):
        for at in near:
            gap = at - quote.end() if at >= quote.end() else quote.start() - (at + len(word))
            if 0 <= gap < best_gap:
                best_quote, best_gap = quote.group(0), gap
    if best_quote is None:
        return None
    interrogatives = list(_INTERROGATIVE.finditer(question))
    at = interrogatives[-1]
    statement = question[: at.start()] + best_quote + question[at.end() :]
    statement = re.sub(r"(叫“[^”]+”)名字$", r"\1", statement)
    statement = re.sub(r"(?:呢|吗)$", "", statement)
    return f"{statement}。[1]", [candidate_citation(1, best)]


_REFERS_BACK = re.compile(r"\s*这(?:是|也是|一|些|种|项|款)")


def _with_antecedent(body: str, start: int, end: int) -> tuple[int, int]:
    """Extend a sentence that opens with 这是… back over the sentence it refers to.

    这是该公司继液氧、液氮之后生产出的又一款产品 echoes the question but names nothing:
    the product (液氩) is in the sentence before, so the quote must hold both.
    """
    if not _REFERS_BACK.match(body, start):
        return start, end
    previous = [sp for sp in answer_sentences(body) if sp[1] <= start]
    if not previous or body[previous[-1][1] : start].count("\n"):
        return start, end
    return previous[-1][0], end


def sentence_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]]:
    """The supporting sentence (cut to the clauses that answer, never past its typed spans), cited."""
    s, e = _clauses_answer(best.text, analysis)
    if best.spans and not any(s <= a and b <= e for a, b in best.spans):
        s, e = 0, len(best.text)  # the clauses echoing the question do not hold the figure
    part = best.text[s:e].rstrip("，,；;：: ")
    citation = candidate_citation(1, best)
    if (s, e) != (0, len(best.text)):
        start = best.start + s
        end = best.start + s + len(part)
        citation = Citation(
            **{**citation.to_dict(), "quote": best.article.body[start:end], "start": start, "end": end}
        )
    elif (joined := _with_antecedent(best.article.body, best.start, best.end)) != (best.start, best.end):
        start, end = joined
        part = best.article.body[start:end]
        citation = Citation(**{**citation.to_dict(), "quote": part, "start": start, "end": end})
    if not re.search(r"[。！？!?]$", part):
        part += "。"
    return f"{part}[1]", [citation]


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


def section_headings(body: str) -> list[tuple[int, int]]:
    """Short heading lines inside a body (扬开放之帆 / 架创新之桥…): spans of lines without punctuation."""
    spans, pos = [], 0
    for line in body.split("\n"):
        stripped = line.strip()
        if 2 <= len(stripped) <= 12 and not re.search(r"[，。、；：,.;:（(）)]", stripped) and pos > 0:
            if not re.match(r"(?:记者|通讯员|本报)", stripped):
                start = pos + line.find(stripped)
                spans.append((start, start + len(stripped)))
        pos += len(line) + 1
    return spans


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
    if _ASKS_ASPECTS.search(analysis.text):
        items = enumerated_items(body, best.start)
        if not items and re.search(r"方面|部分", analysis.text):
            items = section_headings(body)
        if len(items) >= 2 and asked_count(analysis.text) in (None, len(items)):
            return _cited_items(best.article, items, chunks)
    return _listing_answer(best, library, chunks)


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


def names_items(text: str) -> bool:
    """Whether a quote names two things or more (A、B; A和B; A与B; “A”“B”): a list can be read from it."""
    return enumerates(text) or re.search(r"\w[和与及]\w|”“", text) is not None


def richest_listing(candidates: Sequence[Candidate], margin: float = 0.1) -> Candidate:
    """Among near-ties of one article, the sentence that lists the most items.

    培训讲了哪些内容: the lead names the training with two scenes (…作业、机械操作), the
    next sentence lists the five topics; both match the question almost equally.
    """
    best = candidates[0]
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
    best: Candidate, library: Library | None, chunks: Sequence[Chunk]
) -> tuple[str, list[Citation]]:
    """The listing sentence, joined with the sentence that carries its items when it only announces them.

    One quote covers both (六地战略定位。分别是：…): the announcing sentence names no item, so
    cited on its own it would support nothing.
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
    if not re.search(r"[。！？!?]$", text):
        text += "。"
    return f"{text}[1]", [citation_of(1, best.article, start, end, chunks)]


def _listing_clause(body: str, start: int, end: int, limit: int = 80) -> tuple[int, int]:
    """Within a long sentence, the clause that holds its list (系统讲解了A、B、C、D等知识).

    The clauses around it (引导员工树立…的安全意识，以…的责任感…) are not items; a sentence
    whose items are spread over several clauses is kept whole.
    """
    text = body[start:end]
    if end - start <= limit or "”“" in text:
        return start, end  # short already, or items printed as quoted names (“流动审批车”“视频云勘验”)
    bounds = [0, *_clause_ends(text), len(text)]
    clauses = list(zip(bounds, bounds[1:], strict=False))
    # 、 inside quotation marks (“设备无隐患、操作零违章”) joins the words of one slogan.
    counts = [re.sub(r"“[^”]*”", "", text[a:b]).count("、") for a, b in clauses]
    richest = max(range(len(clauses)), key=lambda i: counts[i])
    if counts[richest] < 2 or sum(1 for c in counts if c) > 1:
        return start, end
    a, b = clauses[richest]
    return start + a, start + b


def summary_answer(
    analysis: QuestionAnalysis, best: Candidate, library: Library | None
) -> tuple[str, list[Citation]]:
    """The article's lead and up to three more of its sentences that best match the question."""
    article = best.article
    spans = answer_sentences(article.body)
    if not spans:
        return sentence_answer(analysis, best)
    weights = term_weights(analysis, library)
    context = local(normalize_for_match(article.title))
    body = article.body

    def weight(span: tuple[int, int]) -> float:
        # A sentence with a figure states what was done (建成28所); at equal coverage it wins
        # over a sentence that only frames the section.
        text = body[span[0] : span[1]]
        return coverage(weights, text, context) + (0.05 if re.search(r"[0-9０-９]", text) else 0.0)

    sections = _section_bounds(body)
    if len(sections) >= 2:
        # An article in sections (托起幸福“夕阳红” / 编织成长“新摇篮”…) is summarised by its
        # lead and the best sentence of each of its first three sections, never a quoted remark.
        picks = []
        for lo, hi in sections[:3]:
            inside = [sp for sp in spans[1:] if lo <= sp[0] < hi and not _quoted_remark(body, sp)]
            if inside:
                picks.append(max(inside, key=weight))
        chosen = sorted({spans[0], *picks})
    else:
        ranked = sorted(spans[1:], key=lambda sp: -weight(sp))
        chosen = sorted([spans[0], *ranked[:3]])
    chunks = library.chunks_of(article.id) if library is not None else [best.passage.chunk]
    parts, citations = [], []
    for n, (start, end) in enumerate(chosen, start=1):
        citations.append(citation_of(n, article, start, end, chunks))
        parts.append(f"{article.body[start:end]}[{n}]")
    return "".join(parts), citations


def _section_bounds(body: str) -> list[tuple[int, int]]:
    """The text spans under each section heading of ``body``, in order."""
    heads = section_headings(body)
    return [(end, heads[i + 1][0] if i + 1 < len(heads) else len(body)) for i, (_, end) in enumerate(heads)]


def _quoted_remark(body: str, span: tuple[int, int]) -> bool:
    """Whether the sentence is someone's remark in quotation marks (“平时我们工作都很忙…”)."""
    return body[span[0]] in '“"「'


def report_answer(
    articles: Sequence[Article], library: Library | None, fallback_chunks: dict[str, Chunk]
) -> tuple[str, list[Citation]]:
    """The matching articles' headlines with dates, each cited to its lead sentence."""
    lines, citations = [], []
    for article in articles:
        spans = answer_sentences(article.body)
        if not spans:
            continue
        n = len(citations) + 1
        start, end = spans[0]
        chunks = library.chunks_of(article.id) if library is not None else [fallback_chunks[article.id]]
        citations.append(citation_of(n, article, start, end, chunks))
        lines.append(f"《{article.title}》（{article.date}）[{n}]")
        if len(citations) >= 8:
            break
    if not lines:
        return "", []
    return "报道有：" + "；".join(lines) + "。", citations


__all__ = [
    "asked_count",
    "asks_several",
    "candidate_citation",
    "enumerates",
    "citation_of",
    "defined_parts",
    "list_answer",
    "named_answer",
    "names_items",
    "report_answer",
    "richest_listing",
    "restates_unprinted",
    "said_answer",
    "sentence_answer",
    "short_statement",
    "summary_answer",
    "typed_answer",
]
