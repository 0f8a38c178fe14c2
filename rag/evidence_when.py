"""When-questions: whether a sentence prints the event whose date is asked.

培训是哪天举办的 is answered by a date beside 开展培训, not by a report's dateline or a
deadline printed beside other events; verbs of one event (举办, 举行, 开展…) count as the same.
"""

from __future__ import annotations

import re

from rag.answer_types import person_names
from rag.question import QuestionAnalysis
from rag.question_constraints import tag
from rag.text import normalize_for_match

#: Verbs that name the same event for a 哪天 question: 培训是哪天举办的 is answered by 开展培训.
_EVENT_VERBS: tuple[frozenset[str], ...] = (
    frozenset({"举办", "举行", "开展", "召开", "组织", "进行", "启动"}),
    frozenset({"开幕", "启幕", "开展", "开园", "开馆", "揭幕", "开幕式"}),
    frozenset({"开工", "动工", "开建"}),
    frozenset({"通车", "通行", "开通"}),
    frozenset({"找到", "发现", "寻回", "找回"}),
)
#: 交货时间是…, 开业日期为…: the event named before the time asked.
_TIME_OF = re.compile(r"(?P<event>[\u4e00-\u9fff]{2})(?:的)?(?:时间|日期|时候)(?:是|为)?$")
_WHEN = re.compile(r"什么时候|什么时间|哪天|哪一天|何时|几月几日|几号")
_NEWS_VERBS = frozenset({"发布", "报道", "刊发", "刊登", "发表", "公布", "宣布", "消息", "落款", "签发"})


def event_printed(text: str, analysis: QuestionAnalysis) -> bool:
    """Whether ``text`` prints the event a 什么时候 question asks the date of (开业, 通车, 开幕).

    The event is the verb after the interrogative; a date beside other events (a report's
    dateline, a deadline) does not answer it.  Verbs of one event count as the same.
    """
    asked = _WHEN.search(analysis.text)
    if asked is None:
        return True

    tail = re.split(r"[，,。？?！!；;]", analysis.text[asked.end() :])[0]
    verbs = [
        w for w, f in tag(tail) if len(w) >= 2 and f[:1] in ("v", "n") and w not in ("时候", "时间", "日子")
    ]
    named = _TIME_OF.search(analysis.text, 0, asked.start())
    if not verbs and named:
        verbs = [named.group("event")]  # 订单的交货时间是什么时候: the event is 交货
    if not verbs or any(v in _NEWS_VERBS for v in verbs):
        # 消息是哪天发布的: the news is the article; its dateline is when it was published.
        return True
    norm = normalize_for_match(text)
    for verb in verbs:
        group = next((g for g in _EVENT_VERBS if verb in g), frozenset({verb}))
        if any(v in norm for v in group):
            return True
    return False


#: The rest of a date (11月7日, 8月29日上午) and what makes it the day news came.
_DATE_THEN = re.compile(r"[\d一二三四五六七八九十]+月[\d一二三四五六七八九十]+[日号](?:上午|下午|晚)?")
_NEWS_CAME = re.compile(r"传来|获悉|了解到|发布消息|消息|讯")
#: Nouns naming an event of their own: a date whose clause opens with one dates that event.
_EVENT_NOUN = re.compile(r"培训|会议|大会|比赛|演练|仪式|典礼|论坛|峰会|发布会|推介会|签约|活动|展览|开幕式")


#: The act a when-question asks the date of (哪天**发布**的, 什么时候**举办**).
_ASKED_VERB = re.compile(r"(?:哪一?天|什么时候|何时|几月几[日号]|几号)([\u4e00-\u9fff]{2})")


def dates_another_event(text: str, span_start: int, analysis: QuestionAnalysis) -> bool:
    """Whether the date at ``span_start`` dates an event the question does not ask about.

    太原论坛什么时候举办 asked; 志愿者培训于8月27日进行 dates the volunteers' training, whose
    noun (培训) opens the date's clause and is not in the question.
    """
    clause_start = max(text.rfind(p, 0, span_start) for p in "，,；;。：:") + 1
    subject = text[clause_start:span_start]
    question = normalize_for_match(analysis.text)
    if any(m.group(0) not in question for m in _EVENT_NOUN.finditer(subject)):
        return True
    from rag.parse import is_person_name  # the parser imports the answerer's modules

    # 考察队什么时候出发 asked; 青年教师寇立伟博士将于11月中旬出发 dates one person's departure.
    if any(name not in analysis.text and is_person_name(name) for name in person_names(subject)):
        return True
    # 太原理工大学11月7日传来喜讯，…考察队近日从上海出发: the date is when the news came.
    after = _DATE_THEN.match(text, span_start)
    news = after is not None and _NEWS_CAME.match(text, after.end()) is not None
    if news and not any(verb in analysis.text for verb in _NEWS_VERBS):
        return True
    # 调度令是哪天发布的 asked; 7月28日…发布…调度令，明确7月29日0时至…: a date in a clause after
    # the one printing the verb is what the act set (its term), not when it happened.
    asked = _ASKED_VERB.search(analysis.text)
    if asked:
        verb = asked.group(1)
        at = text.find(verb)
        return 0 <= at < clause_start and verb not in text[clause_start:]
    return False


__all__ = ["dates_another_event", "event_printed"]
