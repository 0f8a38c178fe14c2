"""Answer spans: where a sentence holds the kind of answer a question expects.

:func:`typed_spans` finds the figures with their units, dates, names of people,
organisations and places, and editions in a sentence that the question does not already
state; :mod:`rag.evidence_counts` decides whose figure a span is.
"""

from __future__ import annotations

import re

from rag.answer_types import PHONE, person_names
from rag.evidence_match import abbreviates, local
from rag.evidence_places import (
    COUNTERPART_MARKS,
    COUNTERS,
    NOMINAL_FLAGS,
    NOT_A_FIRM,
    ORG_END,
    name_phrases,
    outside_question,
    place_spans,
    tagged,
)
from rag.evidence_when import dates_another_event, event_printed
from rag.question import QuestionAnalysis
from rag.question_constraints import dictionary_frequency, tag
from rag.text import clause_around, normalize_for_match

#: A question asking by how much something changed, and the words printing a change before a figure.
_CHANGE_ASKED = re.compile(
    r"比[^，,。？?]{0,8}?[大多高长少小低快慢]了?(?:多少|几)|(?:增长|增加|减少|下降|提高|扩大|降低)了?(?:多少|几)"
)
_CHANGE_PRINTED = re.compile(
    r"比|增长|增加|减少|下降|提高|提升|扩大|降低|降至|降到|增至|同比|较|多出|少了|多了"
)
#: A figure with its unit: 435平方米, 5111.5万元, 57.9%, 2381名, 七成, 0351-4040236.
_NUMBER_SPAN = re.compile(
    r"\d{3,4}-\d{7,8}"
    r"|(?:约|近|超过|逾|达)?(?:\d+(?:[.,]\d+)*|[一二两三四五六七八九十百千]+)(?:\s*[万亿千百])*\s*(?:余|多)?\s*"
    rf"(?:%|％|‰|万元|亿元|美元|平方米|平方公里|公里|千米|公顷|人次|小时|分钟|个月|个工作日|微克/立方米|微克|[{COUNTERS}])"
    r"(?:以上|以下|左右|之多)?"
    r"|\d+(?:\.\d+)?"
)
_DATE_SPAN = re.compile(
    r"(?:(?:\d{4}|[二〇一九零]{4})年)?\d{1,2}月\d{1,2}[日号](?:\d{1,2}时)?(?:(?:至|到|—|-|~)(?:\d{1,2}月)?\d{1,2}[日号](?:\d{1,2}时)?)?"
    r"|(?:\d{4}年)?\d{1,2}月(?:[上中下]旬|底|初)?|\d{4}年(?:[上下]半年|底|初)?|(?<![第\d])\d{1,2}[日号]"
    r"|(?:每周|周|星期)[一二三四五六日天](?:(?:和|、|至)(?:周|星期)?[一二三四五六日天])*"
    r"|[今去明前]年|上午|下午|晚上|当晚|当天"
)
_ROLE_BEFORE_NAME = re.compile(
    r"(?:主任|书记|局长|市长|厅长|主席|经理|董事长|教授|院长|部长|记者|通讯员|(?:博士|硕士)?研究生|博士生?|硕士生"
    r"|校长|县长|区长|镇长|站长|社长|负责人|专家|老师|教师|研究员)"
)


#: The figure a change started from is asked (原来有多少, 由多少增加到…).
_START_ASKED = re.compile(r"原来|原有|此前|之前|以前|起初|[由从](?:多少|几)")
#: 在谁的指导下组建: the answer is whoever 在…的指导下 names.
_UNDER_WHOM = re.compile(r"在谁的([\u4e00-\u9fff]{2})下")
_ORDINAL_SPAN = re.compile(r"第\s*[一二三四五六七八九十百零\d]+\s*[届次期窟批轮号名位站]")
_PEOPLE_SPAN = re.compile(r"居民|市民|群众|游客|负责人|消费者|客商|老人|学生|师生|志愿者|村民|家长|孩子")
#: Before a group noun, a word making it an object (将居民的诉求, 让居民): no one acting.
_GOVERNED = re.compile(r"(?:将|把|对|为|给|向|让|被|与|和|跟|同|从|帮|替|使|令|请|组织|带领|引导)$")
_AFTER_NAME = "说表示等在和与为的了是也都介绍认为指出带领出席作笑一同及、"


#: Last characters of words the tagger reads as names that are not people: 高端化, 连心亭, 望湖楼.
_NOT_NAME_ENDS = "化性型式率度们者亭阁楼馆桥站街路厅室场塔寺庙"


def _frequent(word: str) -> bool:
    return dictionary_frequency(word) >= 100


def _person_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    from rag.parse import is_person_name

    spans = []
    for name in person_names(text):
        # The tagger also reads 高端化, 周密… as names, and places built or visited (打造了连心亭):
        # a name ends in no such suffix and is no frequent dictionary word.
        if name[-1] in _NOT_NAME_ENDS or not is_person_name(name) or _frequent(name):
            continue
        if outside_question(name, analysis):
            i = text.find(name)
            e = i + len(name)
            # jieba cuts some three-character names short (王煜|尘作为).
            # 侯森|感触很大 is not: the next word is whole without the character after the name.
            if (
                len(name) == 2
                and e < len(text)
                and "\u4e00" <= text[e] <= "\u9fff"
                and text[e] not in _AFTER_NAME
                and len(tag(text[e : e + 4])[0][0]) == 1
            ):
                e += 1
            spans.append((i, e))
    for m in _ROLE_BEFORE_NAME.finditer(text):
        after = re.match(
            r"\s*([\u4e00-\u9fff]{2,3}?)(?=[，,、。：:“（(\s]|表示|说|介绍|认为|笑|指出|出席|主持|参加|陪同|带队|一行|等"
            r"|都|也|还|就|在|将|已|正|和|与|同|对|向|从|为|是|的|作|带|到|来|去|$)",
            text[m.end() :],
        )
        if not after or not outside_question(after.group(1), analysis):
            continue
        name = after.group(1)
        # A title, a name and a verb of office (主席操学诚主持) frame a name even when its
        # surname is a rare one; before a comma the surname must be a common one.
        framed = re.match(r"主持|出席|表示|介绍|指出|强调|讲话|带队|陪同", text[m.end() + after.end(1) :])
        if framed or is_person_name(name):
            s = m.end() + after.start(1)
            spans.append((s, s + len(name)))
    return spans


def _group_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Groups of people acting in ``text`` (我市居民, 企业负责人): a group noun with the noun before it.

    The modifier is one whole word the tagger reads as a noun or place (企业, 我市), never a run
    of characters (工作人员认真将|居民); a group governed by 将/让… or owning something
    (居民的诉求) is not who did anything.
    """
    words = tagged(text)
    spans = []
    for m in _PEOPLE_SPAN.finditer(text):
        start, end = m.span()
        before = next((w for w in words if w[1] == start), None)
        if before is not None and before[2][:1] in ("v", "p") and before[2] != "vn":
            continue  # 解决居民“急难愁盼”问题: the object of a verb
        if before is not None and (before[2][:1] in ("n", "r", "j") or before[2] in NOMINAL_FLAGS):
            start = before[0]
        owner_asked = "谁的" in analysis.text  # 丰富谁的购物选择: 我市居民的 answers
        if _GOVERNED.search(text, 0, start) or (text.startswith("的", end) and not owner_asked):
            continue
        if outside_question(text[start:end], analysis):
            spans.append((start, end))
    return spans


def _quoted(text: str) -> list[tuple[int, int]]:
    """Spans inside quotation marks or title marks (a project's or a book's name)."""
    return [m.span() for m in re.finditer(r"“[^“”]*”|《[^《》]*》", text)]


#: Words making the figure after them a bound (超过100项, 突破80项), not a count.
_BOUND_BEFORE = re.compile(r"(?:超过|突破|逾|超)(?=\d|$)")


def typed_spans(text: str, analysis: QuestionAnalysis) -> list[tuple[int, int]]:
    """Spans of ``text`` holding the kind of answer ``analysis`` expects, not stated by the question."""
    expected = analysis.expectation
    if expected is None:
        return []
    kind = expected.kind
    spans: list[tuple[int, int]] = []
    under = _UNDER_WHOM.search(analysis.text)
    if kind == "person" and under:
        # 在谁的指导下: the one 在…的指导下 names (古交市农业农村局), whoever else acts in the sentence.
        pattern = r"在([^，。！？；,在]{2,24}?)的" + re.escape(under.group(1)) + "下"
        return [m.span(1) for m in re.finditer(pattern, text) if outside_question(m.group(1), analysis)]
    if kind == "person":
        # …煤研石基材料覆岩…” is a project's name, not 石基材 the person.
        quoted = _quoted(text)
        spans = [
            (s, e) for s, e in _person_spans(text, analysis) if not any(a < s and e < b for a, b in quoted)
        ]
        role = _asked_role(analysis.text)
        if role:
            # 阳曲县工信局局长是谁: not 田艳, printed as 阳曲县行政审批服务管理局局长.
            spans = [(s, e) for s, e in spans if not _another_office(role, _item_before(text, s))]
            office = _ROLE_BEFORE_NAME.search(role)
            if office and office.group(0) in _OFFICES and office.group(0) not in text:
                spans = []  # 太原理工大学的党委书记是谁: a sentence printing no 书记 names none
            owners = [
                local(normalize_for_match(str(c.value)))
                for c in analysis.constraints
                if c.kind == "organisation"
            ]
            printed = local(normalize_for_match(text))
            if owners and not any(o in printed for o in owners) and name_phrases(text, ORG_END, analysis):
                spans = []  # 水塔醋业的董事长: 董事长王国庆 of the 芦荟 firm this sentence names instead

        if not spans and "谁" in analysis.text and not _ROLE_BEFORE_NAME.search(analysis.text):
            # 谁 may be an organisation or a group of people (我市居民, 企业负责人).
            spans = _group_spans(text, analysis) + name_phrases(text, ORG_END, analysis)
        holder = _asked_holder(analysis.text)
        if (
            holder
            and holder not in _ANY_TITLE
            and holder not in text
            and not (len(holder) > 2 and holder[:-1] in text)
        ):
            spans = []  # 科考队的领队是谁, 展厅的设计者是谁: a sentence printing no 领队 or 设计 names none
    elif kind == "organisation":
        spans = name_phrases(text, ORG_END, analysis)
        spans += [(s, e) for s, e, f in tagged(text) if f == "nt" and outside_question(text[s:e], analysis)]
        people = [str(c.value) for c in analysis.constraints if c.kind == "person"]
        asks_affiliation = any(re.search(re.escape(p) + r"是(?:哪|什么)", analysis.text) for p in people)
        items = _role_spans(text, analysis, titled=False) if asks_affiliation else []
        if items:
            # 黄继忠是哪所大学的: 上海大学…院长黄继忠, not 复旦大学 of the next name in the list.
            spans = [(s, e) for s, e in spans if any(a <= s and e <= b for a, b in items)]
        if analysis.category in ("公司", "企业"):
            # 哪家公司 is not answered by the venue someone went to (奔赴国家会展中心).
            spans = [(s, e) for s, e in spans if not NOT_A_FIRM.search(text[s:e])]
    elif kind == "role":
        spans = _role_spans(text, analysis)
    elif kind == "ordinal":
        spans = [m.span() for m in _ORDINAL_SPAN.finditer(text) if outside_question(m.group(0), analysis)]
        # 第几窟 is answered by a 第N窟, 第几届 (or 哪届) by a 第N届/次/期.
        unit = re.search(r"第几(\S)", analysis.text)
        units = unit.group(1) if unit and unit.group(1) not in "届次期" else "届次期"
        spans = [(s, e) for s, e in spans if text[e - 1] in units]
        figures = [str(c.value) for c in analysis.constraints if c.kind == "figure"]
        if any(f not in normalize_for_match(text) for f in figures):
            spans = []  # 面积435平方米是第几届: 第七届 in a sentence without 435 is another edition's
        then = re.search(r"第几\S([\u4e00-\u9fff]{2})", analysis.text)
        if then and then.group(1) in text:
            # 第几次登上南极大陆: 参加第36次南极考察后第二次登上… is answered by the 第二次 that 登上 follows.
            spans = [(s, e) for s, e in spans if then.group(1) in text[e : e + 3]]
    elif kind == "place":
        spans = place_spans(text, analysis)
    elif kind == "phone":
        # A page lists several numbers (五市分别公布了查档电话): the clause printing one must
        # name whose it is, as the question does (太原市档案馆, not 不动产登记中心).
        spans = [
            m.span()
            for m in PHONE.finditer(text)
            if outside_question(m.group(0), analysis) and _names_owner(text, m.span(), analysis)
        ]
    elif kind in ("date", "year"):
        spans = [m.span() for m in _DATE_SPAN.finditer(text) if outside_question(m.group(0), analysis)]
        if kind == "year":
            spans = [s for s in spans if "年" in text[s[0] : s[1]]]
        elif re.search(r"(?:周|星期|礼拜)几", analysis.text):
            # 每周几 is answered by a day of the week (每周三), not by 下午.
            spans = [s for s in spans if re.search(r"(?:周|星期)[一二三四五六日天]", text[s[0] : s[1]])]
        elif re.search(r"哪一?天|几月几[日号]|几号", analysis.text):
            # 哪天 is answered by a day (8月1日, 当天, 周三), never by 今年 or 上午 alone.
            spans = [s for s in spans if re.search(r"[日号天]|周|星期", text[s[0] : s[1]])]
        if not event_printed(text, analysis):
            # 什么时候建成通车 asked; the sentence's date is the day a reporter visited the site.
            spans = []
        spans = [s for s in spans if not dates_another_event(text, s[0], analysis)]
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
                if outside_question(text[s:e], analysis):
                    spans.append((s, e))
        if _CHANGE_ASKED.search(analysis.text):
            # 比去年大了多少: a change is answered by a figure printed as one (增长20%, 比…多), not
            # by the size itself (面积435平方米).
            spans = [(s, e) for s, e in spans if _CHANGE_PRINTED.search(text, max(0, s - 12), s)]
        if kind.startswith("count") and "几" in analysis.text:
            # 批了几项: 获批项目超过100项 says more than 100, not how many; the count is elsewhere.
            spans = [
                (s, e)
                for s, e in spans
                if not (_BOUND_BEFORE.search(text, max(0, s - 2), s) or _BOUND_BEFORE.match(text, s, s + 2))
            ]
        if not _START_ASKED.search(analysis.text):
            # 增加到多少户, 有多少户: 由47户增加到51户 is answered by where it rose to, not from.
            ends = [s for s, _ in spans if text[max(0, s - 1) : s] in ("到", "至")]
            spans = [
                (s, e)
                for s, e in spans
                if not (text[max(0, s - 1) : s] in ("由", "从") and any(t > s for t in ends))
            ]
    if _deed_unprinted(analysis.text, text):
        return []
    # Longest first among overlapping spans, then in reading order.
    spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
    kept: list[tuple[int, int]] = []
    for s, e in spans:
        if kept and s < kept[-1][1]:
            continue
        kept.append((s, e))
    return kept


def _deed_unprinted(question: str, text: str) -> bool:
    """Whether the deed the question asks about is a verb ``text`` does not print.

    山西展厅是谁设计的: a sentence printing no 设计 says nobody designed it; 新聘请的物业公司是哪家:
    a sentence on the company dismissed prints no 聘请.
    """
    action = _ACTION_ASKED.search(question)
    if action and len(action.group(1)) >= 2 and action.group(1) not in text:
        if all(flag.startswith(("v", "b")) for _, flag in tag(action.group(1))):
            return True
    chosen = _CHOSEN_BY.search(question)
    words = tag(chosen.group(1)) if chosen else []
    return bool(words) and words[-1][1] == "v" and len(words[-1][0]) >= 2 and words[-1][0] not in text


#: The verb that picks out what is asked (新聘请的物业公司是哪家 → …聘请).
_CHOSEN_BY = re.compile(r"(\w{1,6})的\w{2,8}?是(?:哪家|哪个|哪位|谁)")
#: Who did it / which year it happened (是谁设计的, 是哪一年成立的): the action asked about.
_ACTION_ASKED = re.compile(r"(?:是(?:谁|哪一?年|哪位|哪家\w{0,2}?)|[由被]谁)(\w{2,3}?)的?[？?]?$")


def _asked_holder(question: str) -> str:
    """The noun a who-question asks the holder of (科考队的领队是谁 → 领队), or ''."""
    subject = re.split(r"是谁|叫什么名字|是哪位", question)[0]
    if subject == question:
        return ""
    words = tag(subject)
    if not words or not words[-1][1].startswith("n") or len(words[-1][0]) < 2:
        return ""
    return words[-1][0]


def _asked_role(question: str) -> str:
    """The office a who-question names with the 3 characters before it (工信局局长), or ''."""
    subject = re.split(r"是谁|叫什么|是哪位|姓什么", question)[0]
    roles = list(_ROLE_BEFORE_NAME.finditer(subject))
    if len(subject) == len(question) or not roles or roles[-1].end() != len(subject):
        return ""
    return subject[max(0, roles[-1].start() - 3) :]


#: Offices a sentence must print to name their holder (not 负责人, 专家: any title may fill those).
_OFFICES = frozenset(
    "主任 书记 局长 市长 厅长 主席 经理 董事长 院长 部长 校长 县长 区长 镇长 站长 社长".split()
)
#: Roles any titled person may fill (the 专家 who praised it is the 副院长 the paper names).
_ANY_TITLE = frozenset({"专家", "记者", "通讯员"})


def _another_office(role: str, item: str) -> bool:
    """Whether a name's printed title holds the asked role of another office of the same kind.

    工信局局长 asked, 行政审批服务管理局局长 printed: both a 局 and not the same one; 负责人
    asked, 博士生 printed: another title.  A bare title (主席操学诚) says nothing against it.
    """
    asked = _ROLE_BEFORE_NAME.search(role)
    printed = [m for m in _ROLE_BEFORE_NAME.finditer(item) if m.end() == len(item)]
    if asked is None or not printed:
        return False
    if printed[-1].group(0) != asked.group(0):
        # 极地科考团队的负责人 asked, 博士生王煜尘 printed: he holds another title.
        return asked.group(0) not in _ANY_TITLE
    mine, theirs = role[: asked.start()], item[: printed[-1].start()][-3:]
    return len(mine) == 3 and len(theirs) == 3 and mine[-1] == theirs[-1] and mine != theirs


def _item_before(text: str, start: int) -> str:
    """The part of ``text``'s list item or clause before ``start`` (its title, for a name)."""
    return text[max(text.rfind(p, 0, start) for p in "，,、；;。：:（(“”") + 1 : start]


def _role_spans(text: str, analysis: QuestionAnalysis, titled: bool = True) -> list[tuple[int, int]]:
    """What is printed right before the asked person's name in its list item (杏花岭区委书记|侯森).

    With ``titled``, only an item ending in a title (书记, 院长…) counts.
    """
    spans = []
    for person in (str(c.value) for c in analysis.constraints if c.kind == "person"):
        for found in re.finditer(re.escape(person), text):
            title = _item_before(text, found.start())
            if len(title) >= 2 and (not titled or _ROLE_BEFORE_NAME.search(title[-4:])):
                spans.append((found.start() - len(title), found.start()))
    return spans


def _names_owner(text: str, span: tuple[int, int], analysis: QuestionAnalysis) -> bool:
    """Whether the clause around ``span`` prints every noun of the question (whose number it is)."""
    start, end = clause_around(text, *span)
    clause = local(normalize_for_match(text[start:end]))
    # 省会存档机构要查资料，该拨哪个号码: a leading clause sets the scene; its names still count.
    asked = local(normalize_for_match(re.split(r"[，,；;]", analysis.text)[-1]))
    nouns = [n for n in analysis.nouns if local(n) in asked]
    names = [str(c.value) for c in analysis.constraints if c.kind in ("place", "organisation", "name")]
    return all(local(n) in clause or abbreviates(local(n), clause) for n in (*nouns, *names))


__all__ = ["COUNTERPART_MARKS", "outside_question", "typed_spans"]
