"""Question analysis: what a question asks for, and what any answer must be about.

:func:`analyze` reads a Chinese question on its own (no index, no passages) and returns a
:class:`QuestionAnalysis`:

* its **kind** (who, when, how many, why, list, summary, "what did the paper report"…);
* the **answer type** it expects (a person, an organisation, a place, a date, a quantity
  with its unit, an edition…), as an :class:`~rag.answer_types.Expectation` that a
  sentence can be tested against;
* its **hard constraints**: the named people, organisations and places, the years, months
  and dates, the editions (第N届), figures and quoted terms that an answer must be about.
  An article that does not satisfy every one of them cannot answer the question, however
  many of its other words it shares (2024 asked, only 2023 printed: a refusal).

The constraints are found by :mod:`rag.question_constraints` (jieba's part-of-speech
tagger with the archive's user dictionary, names filtered by shape), the nouns, focus and
counted head by :mod:`rag.question_nouns`.  Traditional characters are converted to
simplified ones first (OpenCC), so 第八屆進博會 is read as 第八届进博会.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

from rag.answer_types import ASKING_WORDS, Expectation, expectation
from rag.question_constraints import Constraint, extract_constraints, tag
from rag.question_nouns import asked_category, content_nouns, head_before, head_noun, measured_focus

QuestionKind = Literal[
    "who",
    "which",
    "where",
    "when",
    "quantity",
    "edition",
    "why",
    "how",
    "yesno",
    "list",
    "summary",
    "report",
    "byline",
    "said",
    "what",
]


@dataclass(frozen=True)
class QuestionAnalysis:
    """What :func:`analyze` found in one question."""

    question: str
    #: The question in simplified characters, as analysed.
    text: str
    kind: QuestionKind
    #: The expected answer type (``person``, ``date``, ``count:家``…), None when any sentence may answer.
    answer_type: str | None
    constraints: tuple[Constraint, ...] = ()
    #: Content words of the question (jieba tokens without the asking words), for coverage.
    terms: tuple[str, ...] = ()
    #: The noun a count or amount is about (多少家**企业** → 企业), when the question names one.
    head: str = ""
    #: A person whose words are asked for (侯森说了什么 → 侯森).
    speaker: str = ""
    #: Nouns of the question (things, metrics, names) that an answering article should print:
    #: 甲烷产率 asked, only 二氧化碳产率 printed, is a near miss.
    nouns: tuple[str, ...] = ()
    #: What a figure must measure: the words of the noun phrase before the interrogative
    #: (**间接经费**多少); an answering sentence prints each of them.
    focus: tuple[str, ...] = ()
    #: The noun right after the interrogative (有什么**感受**): the kind of thing asked for.
    category: str = ""
    expectation: Expectation | None = field(default=None, compare=False)

    @property
    def typed(self) -> bool:
        """Whether the question asks for a short typed span (a figure, date, name, place…)."""
        return self.answer_type is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``rag ask --explain`` and ``analysis`` in ``--json``)."""
        return {
            "question": self.question,
            "text": self.text,
            "kind": self.kind,
            "answer_type": self.answer_type,
            "constraints": [c.to_dict() for c in self.constraints],
            "terms": list(self.terms),
            "head": self.head,
            "speaker": self.speaker,
            "nouns": list(self.nouns),
            "focus": list(self.focus),
            "category": self.category,
        }


# --------------------------------------------------------------------------- conversion


class _Converter(Protocol):
    """OpenCC's converter, as used here."""

    def convert(self, text: str) -> str:
        """``text`` converted."""
        ...


@lru_cache(maxsize=1)
def _t2s() -> _Converter | None:
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency; degrade to no conversion
        return None
    converter: _Converter = opencc.OpenCC("t2s")
    return converter


def to_simplified(text: str) -> str:
    """``text`` with traditional characters converted to simplified ones (OpenCC ``t2s``).

    Example:
        >>> to_simplified("第八屆進博會山西展廳面積多大？")
        '第八届进博会山西展厅面积多大？'
    """
    converter = _t2s()
    return converter.convert(text) if converter is not None else text


_MARKUP = re.compile(r"<[^<>]{0,300}>")
_ENGLISH_ORDINAL = re.compile(r"(?<![A-Za-z0-9])(\d{1,3})(?:st|nd|rd|th)(?![A-Za-z])", re.I)


def _normalise_question(question: str) -> str:
    """Simplified characters; an English ordinal before 届/edition read as 第N届."""
    # Markup pasted into a question (<img …>, <b>) carries no meaning a page could print.
    text = to_simplified(_MARKUP.sub("", question).strip())
    # "8th进博会" / "the 8th 进博会": readers mix scripts.
    text = _ENGLISH_ORDINAL.sub(lambda m: f"第{m.group(1)}届", text)
    return text


# --------------------------------------------------------------------------- kinds

_BYLINE = re.compile(
    r"(?:记者|作者|撰稿人|通讯员|摄影师?|编辑)(?:是|叫|为)?(?:谁|哪位|哪些人|姓名|叫什么)|谁(?:写|采写|撰写|拍摄|摄|编辑)"
)
_SUMMARY = re.compile(
    r"讲讲|讲了什么|说了什么事|主要内容|内容是什么|概括|总结|介绍一下|简要介绍|说说|经过|怎么回事|讲的是什么|写了什么|(?:做|干|开展)了?(?:哪些|什么|啥)(?:工作|事情|事|努力)|报道了(?:什么|啥)内容"
)
_REPORT = re.compile(
    r"(?:报道|报|刊登|刊发|登)了?(?:哪些|什么|啥)(?:新闻|消息|内容|事)?|发生了(?:什么|哪些|啥)|有(?:什么|哪些)(?:新闻|报道|文章)"
)
_SAID = re.compile(
    r"(说|表示|谈到|指出|认为|强调)了?(?:什么|些什么|哪些)|怎么说|如何评价|怎样评价|有何评价|怎么看"
)
_WHY = re.compile(r"为什么|为何|原因|什么原因|因为什么|何故|目的是|为了什么")
_HOW = re.compile(r"怎么|如何|怎样|通过什么方式|采取了?什么|哪些措施|什么办法|什么举措")
_YESNO = re.compile(r"是否|是不是|有没有|能不能|会不会|可不可以|(?<![什怎])[吗么][？?]?$")
_LIST = re.compile(
    r"哪些|哪几|哪[两二三四五六七八九十]+[个项条种家所位部处]?|分别|有什么(?:内容|项目|活动|措施|产品)"
)
_WHICH_ORG = re.compile(
    r"哪(?:一)?(?:家|个|所)(?:单位|公司|企业|部门|机构|学校|高校|大学|医院|团队|组织|银行|平台)|哪家"
    r"|什么(?:单位|公司|企业|机构|部门)"
)
_WHERE = re.compile(
    r"哪里|哪儿|在哪(?=[个座家所处？?，,]|$)|什么地方|何地|何处|地点|哪(?:一)?[个座](?:区|县|市|省|街道|社区|村|乡|镇|城市|地方|国家|海域)|哪(?:个)?村|位于哪"
)
_WHO = re.compile(r"谁|哪位|哪些人|姓名|叫什么名字|名字叫什么")
_WHAT = re.compile(r"什么|哪个|哪项|哪种|哪一|何种")
_HEAD_BEFORE_COUNT = re.compile(
    r"([\u4e00-\u9fff]{2,12})(?:有|是|为|达|共)?(?:多少|几)\s*[个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名位]\s*[？?]?$"
)
_HEAD_AFTER_COUNT = re.compile(
    r"(?:多少|几)\s*(?:人次|[个家项场件种次所期座块条台户辆份批届支套张篇部例通拨名人位天年吨元]|万|亿)?\s*"
    r"([\u4e00-\u9fff]{2,12})"
)
_SPEAKER = re.compile(r"^(.{2,12}?)(?:说|表示|谈到|指出|认为|强调)")


def _kind(text: str, expected: Expectation | None) -> tuple[QuestionKind, str | None]:
    if _BYLINE.search(text):
        return "byline", "person"
    if _REPORT.search(text) and not _WHO.search(text):
        return "report", None
    if _SUMMARY.search(text):
        return "summary", None
    if expected is not None:
        if expected.kind == "person":
            return "who", "person"
        if expected.kind in ("date", "year"):
            return "when", expected.kind
        if expected.kind == "ordinal":
            return "edition", "edition"
        if expected.kind == "role":
            return "what", "role"
        return "quantity", expected.kind
    if _LIST.search(text):
        return "list", None
    if _WHICH_ORG.search(text):
        return "which", "organisation"
    if _WHERE.search(text):
        return "where", "place"
    if _WHY.search(text):
        return "why", None
    if _SAID.search(text):
        return "said", None
    if _HOW.search(text):
        return "how", None
    if _YESNO.search(text):
        return "yesno", None
    return "what", None


def _paper_dropped(text: str) -> str:
    """``text`` without the paper's own name: 太原日报 is where to look, not a place to find (太原)."""
    from rag.catalog import DEFAULT_PAPER

    return re.sub(rf"(?:{DEFAULT_PAPER}|本报)(?:上|里)?的?", "", text)


@lru_cache(maxsize=256)
def analyze(question: str) -> QuestionAnalysis:
    """Read ``question`` (any script) into a :class:`QuestionAnalysis` (cached: it is immutable, and
    both the retrieval of the named story and the answerer read the same question).

    Example:
        >>> a = analyze("第八届进博会山西展厅面积多大？")
        >>> a.kind, a.answer_type, [(c.kind, c.value) for c in a.constraints]
        ('quantity', 'area', [('edition', 8), ('organisation', '山西展厅')])
    """
    from rag.bm25 import tokenize

    text = _normalise_question(question)
    words = tag(_paper_dropped(_main_clause(text)))
    expected = expectation(text)
    kind, answer_type = _kind(text, expected)
    if kind == "byline":
        expected = Expectation("person")
    elif kind in ("which", "where") and expected is None:
        expected = Expectation(answer_type or "")
    main = _paper_dropped(_main_clause(text))
    constraints = extract_constraints(main, words)
    terms = tuple(dict.fromkeys(t for t in tokenize(text) if t not in ASKING_WORDS))
    head, focus = "", tuple[str, ...]()
    if kind == "quantity":
        m = _HEAD_AFTER_COUNT.search(text)
        if m:
            head = head_noun(m.group(1))
        # A figure must measure what is asked (产值, not 配套率); a counted thing has its head noun.
        focus = () if head else measured_focus(words, constraints)
        before = _HEAD_BEFORE_COUNT.search(text)
        if not head and before:
            # 累计调解物业纠纷多少件: the thing counted is printed before the figure asked.
            head = head_before(before.group(1))
    speaker = ""
    if kind == "said":
        m = _SPEAKER.search(text)
        people = [c.text for c in constraints if c.kind == "person"]
        speaker = people[0] if people else (m.group(1) if m else "")
    nouns = content_nouns(words, constraints)
    return QuestionAnalysis(
        question=question,
        nouns=nouns,
        focus=focus,
        category=asked_category(words),
        text=text,
        kind=kind,
        answer_type=answer_type,
        constraints=constraints,
        terms=terms,
        head=head,
        speaker=speaker,
        expectation=expected,
    )


_BRIDGE = re.compile(
    r"^.{4,}?的(?:(?:那|这)(?:个|所|家|位|条|座|篇|项)?[\u4e00-\u9fff]{1,4}|[区县市镇村]|单位|企业|高校|学校)[，,]"
)


def _main_clause(text: str) -> str:
    """``text`` without a leading description of a bridge entity (…的那所高校，2023年获批…).

    A two-step question names its subject by a fact from another article; only the main
    clause constrains the article that answers it.
    """
    m = _BRIDGE.match(text)
    return text[m.end() :] if m and len(text) - m.end() >= 6 else text


__all__ = ["QuestionAnalysis", "QuestionKind", "analyze", "to_simplified"]
