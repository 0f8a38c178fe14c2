"""Typed answers: the question restated as a statement, the extracted span in place of its interrogative.

第八届进博会山西展厅面积有多大？ with the span 435平方米 from the cited sentence becomes
第八届进博会山西展厅面积有435平方米。[1] (:func:`typed_answer`, :func:`short_statement`); a
question asking for a name the paper prints in quotation marks gets that name
(:func:`named_answer`).  A restatement must not put words in the paper's mouth
(:func:`restates_unprinted`); a question asking two things at once gets the sentence.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.compose import candidate_citation, clause_ends, sentence_answer
from rag.evidence import Candidate
from rag.evidence_match import abbreviates, local, period_of_figure
from rag.evidence_places import place_spans
from rag.question import QuestionAnalysis
from rag.question_constraints import tag
from rag.text import clause_around, normalize_for_match
from rag.types import Article, Citation

#: Punctuation and space a question ends with, dropped before it is restated.
TRAILING = re.compile(r"[？?！!。.\s]*$")
_ASK = re.compile(
    r"(?:是|为|有)?(?:(?:一共|总共|共)?(?:多少|几)(?:[个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道吨元天岁]|万元|亿元|平方米|公里|米|金额|钱)?)"
    r"|多大(?:的)?(?:面积|比例)?|多长(?:时间)?|多久|多重|多高|多远|什么时候|何时|哪一?天|哪一?年|几月几[日号]|哪个月|(?:每)?(?:周|星期|礼拜)几"
    r"|第几[届次窟批期轮号名位站]|哪一?届|谁|哪位|哪家(?:企业|公司|单位|机构)?|哪一?所(?:大学|高校|学校|医院)|哪个单位"
    r"|哪(?:一)?(?:个|座|所)?(?:区|县|市|街道|社区|村|乡|镇|校区|场馆|城市)|哪里|什么地方|叫什么名字|叫什么|什么名字"
    r"|(?:是|为)?(?:哪个|什么)(?:电话|号码|热线)?$|(?:是|为)?什么(?:职务|职位|职称|身份|头衔)"
)
_PARTICLE = re.compile(r"(?:呢|吗|啊|呀)$")
#: What a named organisation ends with (the question's own 太原企业 after it says nothing more).
_NAMED_BODY = r"(?:公司|集团|企业|单位|机构|学校|大学|医院|协会|联盟|中心|厂)$"
_BARE_MEASURE = re.compile(r"^(?:多大|多长|多久|多重|多高|多远|多少|几)")


#: Counters a figure carries (26家, 一百二十幅): the question's own copy after 多少 is dropped.
_COUNTER_CHARS = frozenset(
    "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道幅棵只头匹株本册首款枚颗栋间层处吨元米天年月周岁"
)


#: Tokens after which a restatement may start: punctuation, particles (的), prepositions,
#: conjunctions, time words and pronouns end what came before.
_ENDS_PHRASE = ("u", "p", "c", "t", "r", "x", "w")
#: Tagged as time words but qualifying the noun after them (青年科学基金项目): no phrase ends there.
_AGE_GROUPS = frozenset({"青年", "少年", "老年", "中年", "成年", "童年", "幼年"})
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
    bounds = clause_ends(left)
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
            (prev_flag[:1] in _ENDS_PHRASE and prev_word not in _AGE_GROUPS)
            or prev_word[-1:] in _CLOSERS
            or flag[:1] in _STARTS_PREDICATE
            or word[:1] in "“《"
        ):
            text = rest.lstrip("、，,；;：: ")
            # 有限公司的商务经理 → 商务经理: the tail of a cut name says nothing on its own.
            tail = re.match(r"(?:股份有限公司|有限公司|公司|集团|联盟|中心)的", text)
            return text[tail.end() :] if tail and len(text) > tail.end() else text
    return ""


_PRONOUN = re.compile(r"^(?:那么|那)?(?P<pronoun>它们|它|他们|他|她|其(?![中他余实次]))")


def _standalone_statement(question: str) -> str:
    """A follow-up searched as 走失老人 找到 他多大年纪: the first carried term in the pronoun's place.

    The other carried terms only helped retrieval; the reader asked 他多大年纪.
    """
    if " " not in question:
        return question
    *carried, asked = question.split(" ")
    pronoun = _PRONOUN.match(asked)
    if pronoun is not None:
        return f"{carried[0]}{asked[pronoun.end() :]}"
    if re.match(r"那么|那|其中|还|另外", asked):
        return re.sub(r"^(?:那么|那)", "", asked)  # 其中太原有几家: the subject stays implied
    return f"{carried[0]}{asked}"  # 面积多大 after 第八届进博会山西展厅…: the subject it leaned on


def short_statement(analysis: QuestionAnalysis, span: str) -> str:
    """The question restated as a statement with ``span`` in place of its interrogative.

    Example:
        >>> from rag.question import analyze
        >>> short_statement(analyze("第八届进博会山西展厅面积有多大？"), "435平方米")
        '第八届进博会山西展厅面积有435平方米'
    """
    question = TRAILING.sub("", analysis.text)
    # A follow-up searched as "山西展厅 那它包含多少家企业": the antecedent takes the pronoun's place.
    question = _standalone_statement(question)
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
    unit = re.search(r"(?<=[\d十百千万])[\u4e00-\u9fff]{2,3}$", span)
    if unit and right.startswith(unit.group(0)):
        right = right[len(unit.group(0)) :]  # 多少分钟 → 20分钟, not 20分钟分钟
    if analysis.category and right.startswith(analysis.category) and span.endswith(analysis.category[-2:]):
        right = right[len(analysis.category) :]  # 哪家物业公司的合作 → 山西众诚物业管理有限公司的合作
    if len(right) > 12 or (re.search(_NAMED_BODY, span) and re.fullmatch(rf"\w{{0,6}}{_NAMED_BODY}", right)):
        right = ""  # 哪家太原企业 → 水塔醋业股份有限公司, not …有限公司太原企业
    if span.endswith("岁") and right in ("年纪", "岁数", "年龄"):
        right, asked = "", ""  # 多大年纪 → 90岁, not 为90岁年纪
    if asked.startswith(("是", "为", "有")):
        joiner = asked[0]
    elif asked.startswith("叫"):
        joiner = "叫"
    elif (
        _BARE_MEASURE.match(asked)
        and not re.search(r"[是为有达了在到]$", left)
        and asked[-1] not in "个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位道天年月周吨元米岁"
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
    if joiner == "为" and span.startswith("约"):
        joiner, span = "约为", span[1:]  # 全长约为5.24公里, not 为约5.24公里
    statement = f"{left}{joiner}{span}{right}"
    statement = statement.strip("，, ")
    # 是…的 reads as a sentence (是11月4日拍的); a bare trailing 的 elsewhere is a cut phrase.
    if statement.endswith("的") and not (right.endswith("的") and "是" in f"{left}{joiner}{right}"):
        statement = statement.rstrip("的")
    return statement


_TIME_WORD = re.compile(r"(?:的)?(?:时间|日期|时候)(?:是|为)?$")


def _best_span(candidate: Candidate, analysis: QuestionAnalysis) -> str:
    """The typed span of the candidate closest to the question's words (the clause that answers)."""
    text = candidate.text
    terms = [local(normalize_for_match(t)) for t in analysis.terms]
    # The words just before the interrogative say what is asked of the subject (报名截止到哪天):
    # the span whose clause prints them answers, not the one beside the subject's name.
    asked = list(_ASK.finditer(analysis.text))
    # 报名截止时间是什么时候: 时间是 says nothing; the words before it are the predicate.
    before_ask = _TIME_WORD.sub("", analysis.text[: asked[-1].start()]) if asked else ""
    predicate = local(normalize_for_match(before_ask[-6:]))
    best, best_score = candidate.spans[0], -1.0
    for s, e in candidate.spans:
        lo, hi = clause_around(text, s, e)
        clause = local(normalize_for_match(text[lo:hi]))
        before = local(normalize_for_match(text[max(lo - 30, 0) : hi]))
        # The span's own clause decides (举办 beside 9月1日至15日, not 报名截止日期为8月30日);
        # the words just before it only break ties (a subject stated in the previous clause).
        score = sum((3.0 if t in predicate else 1.0) for t in terms if t and t in clause) + sum(
            0.25 for t in terms if t and t in before
        )
        if "、" in text[lo:hi]:
            # A run of items (重点项目1项、面上项目44项、青年科学基金项目89项): the item naming
            # the asked thing holds its figure.
            item_lo = max(lo, text.rfind("、", 0, s) + 1)
            item_end = text.find("、", e, hi)
            item = local(normalize_for_match(text[item_lo : item_end if item_end >= 0 else hi]))
            score += 2.0 * sum(1 for t in terms if t and t in item)
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
    question = TRAILING.sub("", analysis.text)
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
    # A term the tokenizer glued to a verb (李华是) is not one: only its noun words count.
    nominal = [w for t in analysis.terms for w, flag in tag(t) if flag[:1] in ("n", "t")]
    words = {local(normalize_for_match(w)) for w in (*analysis.nouns, *nominal)}
    # 进博会 is the paper's own short form of 进口博览会; its scrap 博会 goes with it.
    short_forms = {w for w in words if len(w) == 3 and w not in printed and abbreviates(w, printed)}
    for norm in words:
        if len(norm) >= 2 and norm in said and norm not in printed:
            if not any(norm in short for short in short_forms):
                return True
    return False


#: One place asked of several (哪个区、哪个街道): the kind of place each interrogative asks.
_PLACE_ASKED = re.compile(r"哪一?[个座所]?(区|县|市|街道|社区|村|乡|镇)$")


def _several_places(analysis: QuestionAnalysis, best: Candidate) -> str | None:
    """华都社区在太原哪个区、哪个街道 → 华都社区在太原晋源区义井街道, each place read from the sentence.

    None unless every interrogative asks a kind of place and the sentence prints one of each.
    """
    question = TRAILING.sub("", analysis.text)
    asks = list(_ASK.finditer(question))
    kinds = [_PLACE_ASKED.search(m.group(0)) for m in asks]
    if len(asks) < 2 or not all(kinds):
        return None
    places = []
    for kind in kinds:
        assert kind is not None
        spans = place_spans(best.text, replace(analysis, category=kind.group(1)))
        if not spans:
            return None
        places.append(best.text[spans[0][0] : spans[0][1]])
    statement, end = "", 0
    for m, place in zip(asks, places, strict=True):
        between = question[end : m.start()]
        statement += ("" if end and between.strip("、和及与，, ") == "" else between) + place
        end = m.end()
    return statement + question[end:]


def typed_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]]:
    """One short sentence stating the span, cited to the sentence it was copied from."""
    if asks_several(analysis):
        places = _several_places(analysis, best)
        if places is not None:
            return _pinned(analysis, best, places, places)
        return sentence_answer(analysis, best)
    span = _best_span(best, analysis)
    return _pinned(analysis, best, span, short_statement(analysis, span))


def _pinned(
    analysis: QuestionAnalysis, best: Candidate, span: str, statement: str
) -> tuple[str, list[Citation]]:
    """``statement`` as the cited answer line, led by the period or year that makes its figure true."""
    # 2023年…浓度是多少, answered from 1至8月…39微克: the figure's period is part of the answer.
    period = period_of_figure(analysis.text, best.text, best.text.find(span))
    if period and period not in statement:
        statement = f"{period}，{statement}"
    # The year that makes the figure true stays in the answer line when the cut dropped it
    # (2022年太原的PM2.5浓度是多少 → 2022年，PM2.5浓度是44微克/立方米).
    pins = [c.text for c in analysis.constraints if c.kind == "year" and c.text not in statement]
    if pins and not period:
        statement = f"{'、'.join(pins)}，{statement}"
    return f"{statement}。[1]", [candidate_citation(1, best)]


#: The longest clause that answers on its own; a longer one is no shorter than its sentence.
_CLAUSE_LIMIT = 40


def clause_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]]:
    """The clause of the cited sentence that holds the answer's span, in the paper's own words.

    For when a restatement in the question's words would say what the paper does not (马路 asked,
    路 printed): 全长约5.24公里 answers 从头到尾多长 without the reader's words, and is shorter than
    the whole sentence.  The sentence itself when it has no typed span, or when that clause is
    about as long as the sentence.
    """
    if analysis.expectation is None or not best.spans:
        return sentence_answer(analysis, best)
    text = best.text
    span = _best_span(best, analysis)
    start = text.find(span)
    ends = clause_ends(text)
    lo = max((i for i in ends if i <= start), default=0)
    hi = min((i - 1 for i in ends if i - 1 >= start + len(span)), default=len(text))
    clause = text[lo:hi].strip().rstrip("。！？!?；;，,")
    if not clause or len(clause) > _CLAUSE_LIMIT or len(clause) >= len(text.rstrip("。")) - 2:
        return sentence_answer(analysis, best)
    return _pinned(analysis, best, span, clause)


__all__ = [
    "asks_several",
    "restates_unprinted",
    "short_statement",
    "typed_answer",
    "clause_answer",
]
