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

Names come from jieba's part-of-speech tagger with the archive's user dictionary
(``nr`` people, ``ns`` places, ``nt`` organisations, ``nz``/``eng`` other names), filtered
by shape (a person's name starts with a surname; a place ends in 区/县/街道…) because
the tagger also tags ordinary words as names.  Traditional characters are converted to
simplified ones first (OpenCC), so 第八屆進博會 is read as 第八届进博会.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from rag.answer_types import ASKING_WORDS, Expectation, expectation
from rag.text import normalize_for_match, zh_to_int

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
ConstraintKind = Literal[
    "edition", "year", "month", "day", "person", "organisation", "place", "name", "figure", "quoted"
]


@dataclass(frozen=True)
class Constraint:
    """Something an answering article must contain: 第八届, 2021年, 侯森, “一老一小”…

    ``value`` is the comparable form: an int for editions, years, months; ``"M-D"`` for
    days; the normalised text (:func:`rag.text.normalize_for_match`) otherwise.
    """

    kind: ConstraintKind
    text: str
    value: str | int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``rag ask --explain``)."""
        return {"kind": self.kind, "text": self.text, "value": self.value}


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


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency; degrade to no conversion
        return None
    return opencc.OpenCC("t2s")


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


# --------------------------------------------------------------------------- constraints

_NUMERAL = r"[0-9０-９]+|[一二三四五六七八九十百零〇两]+"
_EDITION = re.compile(rf"第\s*({_NUMERAL})\s*(?:届|号|期|次(?=南极|北极|科考|党代会|会议))")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年|([一二三四五六七八九〇零]{4})\s*年")
_MONTH_DAY = re.compile(rf"({_NUMERAL})\s*月(?:\s*({_NUMERAL})\s*[日号])?")
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{2,30})[”\"」』》]")
_FIGURE = re.compile(
    r"(?<![第\d.A-Za-z])(\d+(?:\.\d+)?)\s*(?:多|余)?\s*(%|％|万元|亿元|平方米|公里|孔|[个家项名人位场次种件块吨元米岁天所户期例])"
)
#: Places whose names end like this are real place names (the tagger also tags 深度 as ns).
_PLACE_SUFFIX = re.compile(
    r"(?:省|市|区|县|镇|乡|村|街道|社区|街|路|大道|广场|公园|新城|园区|开发区|示范区)$"
)
_ORG_SUFFIX = re.compile(
    r"(?:公司|集团|大学|学院|学校|中学|小学|医院|银行|协会|学会|联盟|研究院|研究所|实验室|中心|委员会|委|局|厅|办|"
    r"政府|法院|检察院|政协|人大|常委会|管委会|站|所|馆|社|厂|团队|电视台|电台|报社|纸业|醋业|酒业|药业|超市|商场|酒店)$"
)
#: Words tagged as names that name no one in particular (the tagger cuts 山西辰涵…有限公司 apart).
_GENERIC_NAMES = frozenset(
    """有限公司 股份有限公司 有限责任公司 公司 集团 中心 委员会 大学 学校 新闻办 党工委 政府
    研究院 实验室""".split()
)
#: The paper's own city and province: every page is about them, so naming them constrains little.
_HOME = frozenset(
    {"太原", "太原市", "我市", "本市", "山西", "山西省", "我省", "并州", "龙城", "全省", "全市"}
)


def _int(numeral: str) -> int | None:
    numeral = numeral.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if numeral.isdigit():
        return int(numeral)
    return zh_to_int(numeral)


def _date_constraints(text: str) -> list[Constraint]:
    found: list[Constraint] = []
    for m in _EDITION.finditer(text):
        value = _int(m.group(1))
        if value is not None:
            found.append(Constraint("edition", m.group(0), value))
    for m in _YEAR.finditer(text):
        raw = m.group(1) or m.group(2)
        value = int(raw) if raw.isdigit() else _int(raw)
        if value is not None:
            found.append(Constraint("year", m.group(0), value))
    for m in _MONTH_DAY.finditer(text):
        month = _int(m.group(1))
        if month is None or not 1 <= month <= 12:
            continue
        day = _int(m.group(2)) if m.group(2) else None
        if day is not None and 1 <= day <= 31:
            found.append(Constraint("day", m.group(0), f"{month}-{day}"))
        else:
            found.append(Constraint("month", m.group(0), month))
    return found


@lru_cache(maxsize=2048)
def tag(text: str) -> tuple[tuple[str, str], ...]:
    """jieba part-of-speech tags of ``text`` with the archive's user dictionary (cached)."""
    import jieba.posseg as pseg

    from rag.bm25 import jieba_tokenizer

    jieba_tokenizer()  # loads the user dictionary into jieba's shared tokenizer first
    return tuple((w.word, w.flag) for w in pseg.cut(text) if w.word.strip())


def _oov(word: str) -> bool:
    """Whether jieba's dictionary lacks ``word`` (its tagger guessed it: often a name, 六味斋)."""
    from rag.bm25 import jieba_tokenizer

    return (
        len(word) >= 2
        and jieba_tokenizer().dt.FREQ.get(word, 0) == 0
        and bool(re.search(r"[\u4e00-\u9fff]", word))
    )


def _common_word(word: str) -> bool:
    """Whether jieba's dictionary knows ``word`` as a frequent word (师生 is tagged nr, but is no name)."""
    from rag.bm25 import jieba_tokenizer

    return jieba_tokenizer().dt.FREQ.get(word, 0) >= 200


_NOMINAL = ("n", "j", "nz", "ns", "nt", "eng")
_PROPER = frozenset({"ns", "nt", "nz", "nr", "nrt", "j", "eng"})
_FIRM_SUFFIX = re.compile(r"(?:公司|集团|纸业|醋业|酒业|药业|钢铁|超市)$")


@lru_cache(maxsize=1)
def _user_words() -> frozenset[str]:
    from rag.bm25 import USER_DICT

    return frozenset(
        line.split()[0] for line in USER_DICT.read_text(encoding="utf-8").splitlines() if line.strip()
    )


def _compound_names(words: tuple[tuple[str, str], ...]) -> list[Constraint]:
    """Names the tagger cut apart (太原/科技/大学, 新华社/区): noun runs ending in an org or place suffix."""
    found = []
    for k, (word, flag) in enumerate(words):
        kind = "organisation" if _ORG_SUFFIX.search(word) else "place" if _PLACE_SUFFIX.search(word) else None
        if kind is None or not flag.startswith(_NOMINAL):
            continue  # 承办 ends like 办 (an office) but is a verb
        j = k
        firm = _FIRM_SUFFIX.search(word) is not None
        # A firm's name is whatever stands before 集团/纸业 (平遥/牛肉/集团, 晨鸣/纸业): the
        # tagger reads such names as adjectives or common nouns.
        allowed = (*_NOMINAL, "a", "ng") if firm else _NOMINAL
        while j > 0 and (words[j - 1][1].startswith(allowed) or words[j - 1][0] in _HOME):
            j -= 1
        # Another name starts with a proper noun or the city (太原/科技/大学), not 进博会/山西展厅.
        while not firm and j < k and not (words[j][1] in _PROPER or words[j][0] in _HOME):
            j += 1
        name = "".join(w for w, _ in words[j : k + 1])
        # 太原/科技/大学, 新华社/区: a bare suffix word or three words; not 晋省/展示区 (a word of its own).
        bare = len(word) <= 2 or (_ORG_SUFFIX.fullmatch(word) or _PLACE_SUFFIX.fullmatch(word)) is not None
        if j < k and 4 <= len(name) <= 12 and (bare or k - j >= 2):
            found.append(Constraint(kind, name, normalize_for_match(name)))
    return found


#: Named events: 工业高质量发展大会 is not 服务业高质量发展大会, whatever else the pages share.
_EVENT_SUFFIX = re.compile(r"(?:大会|论坛|博览会|交易会|推介会|发布会|招商会|洽谈会|运动会|大赛)$")
#: Street names take the word before them: 机场|东路, 经北|街.
_STREET_SUFFIX = re.compile(r"(?:东路|西路|南路|北路|大街|大道|街|路)$")


def _event_and_street_names(words: tuple[tuple[str, str], ...]) -> list[Constraint]:
    """Names the tagger cuts into common words: events (服务业/高质量/发展/大会) and streets (机场/东路)."""
    found = []
    for k, (word, flag) in enumerate(words):
        if _EVENT_SUFFIX.search(word) and flag.startswith("n"):
            j = k
            while (
                j > 0 and words[j - 1][1].startswith(("n", "vn", "j", "b")) and words[j - 1][0] not in _HOME
            ):
                j -= 1
            name = "".join(w for w, _ in words[j : k + 1])
            if k - j >= 2 and 6 <= len(name) <= 16:
                found.append(Constraint("name", name, normalize_for_match(name)))
        elif _STREET_SUFFIX.search(word) and flag.startswith(("n", "ns")) and len(word) <= 2 and k > 0:
            before, before_flag = words[k - 1]
            if before_flag.startswith(("n", "ns", "j")) and before not in _HOME and len(before) >= 2:
                name = before + word
                found.append(Constraint("place", name, normalize_for_match(name)))
    return found


def _unknown_names(words: tuple[tuple[str, str], ...]) -> list[Constraint]:
    """A name the tagger does not know, cut into scraps (…的六味|斋，): a name the answer must be about.

    Only a short run of scraps that reads as a numeral or a bound morpheme, standing
    between 的 (or the start) and punctuation (or 的), and unknown to jieba as a whole.
    """
    from rag.bm25 import jieba_tokenizer

    found = []
    freq = jieba_tokenizer().dt.FREQ
    for k in range(len(words)):
        if k and words[k - 1][0] != "的":
            continue
        j = k
        while j < len(words) and words[j][1] not in ("x", "uj", "w") and len(words[j][0]) <= 2:
            j += 1
        run = words[k:j]
        name = "".join(w for w, _ in run)
        ends = j == len(words) or words[j][1] in ("x", "uj", "w")
        if (
            ends
            and 2 <= len(run) <= 3
            and 3 <= len(name) <= 4
            and any(f in ("m", "ng", "q") for _, f in run)
            and not any(f.startswith("v") for _, f in run)
            and freq.get(name, 0) == 0
            and not re.search(r"\d", name)
        ):
            found.append(Constraint("name", name, normalize_for_match(name)))
    return found


def _name_constraints(text: str, words: tuple[tuple[str, str], ...]) -> list[Constraint]:
    from rag.parse import is_person_name

    found: list[Constraint] = _compound_names(words) + _event_and_street_names(words) + _unknown_names(words)
    for word, flag in words:
        norm = normalize_for_match(word)
        if (norm in ("太原", "太原市") and flag == "ns") or ALIASES.get(word) == "太原":
            # Among other papers' pages (an archive, the haystack) the city matters; the
            # check accepts the paper's own ways of naming it (我市, its districts).
            found.append(Constraint("place", word, "太原"))
            continue
        if len(norm) < 2 or norm in _HOME or word in _GENERIC_NAMES or word in ALIASES:
            continue
        if (
            flag in ("nr", "nrfg", "nrt")
            and is_person_name(word)
            and len(word) <= 3
            and not _common_word(word)
        ):
            found.append(Constraint("person", word, norm))
        elif flag in ("nr", "nrt", "nz") and len(norm) >= 3 and not _common_word(word):
            found.append(Constraint("name", word, norm))  # 沃尔玛: a name, though not a person's
        elif flag == "ns" and (
            (_PLACE_SUFFIX.search(word) and len(word) >= 3) or not _common_word(word) or word in _user_words()
        ):
            found.append(Constraint("place", word, norm))
        elif word[-1:] in "市县区" and word[:-1] in _user_words() and len(word) >= 3:
            # 大同市 is tagged a common noun; 大同 is in the user dictionary as a place.
            found.append(Constraint("place", word, norm))
        elif (flag == "nt" and not _common_word(word)) or (
            flag.startswith("n") and _ORG_SUFFIX.search(word) and len(word) >= 4
        ):
            found.append(Constraint("organisation", word, norm))
        elif flag == "eng" and len(norm) >= 2 and norm not in {"app"}:
            found.append(Constraint("name", word, norm))
    return found


#: Parts numbered in words after their noun: 地块二 is not 地块三.
_NUMBERED_PART = re.compile(r"(?:地块|标段|片区|组团|期|区块|号楼)[一二三四五六七八九十]+")


def _figure_constraints(text: str) -> list[Constraint]:
    """Figures the question states (a 435平方米 展厅, 38次): an answer must be about them."""
    found = [Constraint("name", m.group(0), m.group(0)) for m in _NUMBERED_PART.finditer(text)]
    spans = [m.span() for m in _YEAR.finditer(text)] + [m.span() for m in _MONTH_DAY.finditer(text)]
    spans += [m.span() for m in _EDITION.finditer(text)]
    for m in _FIGURE.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        found.append(Constraint("figure", m.group(0).strip(), m.group(1)))
    return found


# --------------------------------------------------------------------------- kinds

_BYLINE = re.compile(
    r"(?:记者|作者|撰稿人|通讯员|摄影师?|编辑)(?:是|叫|为)?(?:谁|哪位|哪些人|姓名|叫什么)|谁(?:写|采写|撰写|拍摄|摄|编辑)"
)
_SUMMARY = re.compile(
    r"讲讲|讲了什么|说了什么事|主要内容|内容是什么|概括|总结|介绍一下|简要介绍|说说|经过|怎么回事|讲的是什么|写了什么|(?:做|干|开展)了?(?:哪些|什么|啥)(?:工作|事情|事|努力)|报道了(?:什么|啥)内容"
)
_REPORT = re.compile(
    r"(?:报道|报|刊登|刊发|登)了?(?:哪些|什么|啥)(?:新闻|消息|内容|事)?|发生了(?:什么|哪些|啥)|有(?:什么|哪些)新闻"
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
    r"哪(?:一)?(?:家|个)(?:单位|公司|企业|部门|机构|学校|高校|医院|团队|组织|银行|平台)|哪家|什么(?:单位|公司|企业|机构|部门)"
)
_WHERE = re.compile(
    r"哪里|哪儿|在哪(?=[个座家所处？?，,]|$)|什么地方|何地|何处|地点|哪(?:一)?个(?:区|县|市|省|街道|社区|村|乡|镇|城市|地方|国家|海域)|哪(?:个)?村|位于哪"
)
_WHO = re.compile(r"谁|哪位|哪些人|姓名|叫什么名字|名字叫什么")
_WHAT = re.compile(r"什么|哪个|哪项|哪种|哪一|何种")
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


def analyze(question: str) -> QuestionAnalysis:
    """Read ``question`` (any script) into a :class:`QuestionAnalysis`.

    Example:
        >>> a = analyze("第八届进博会山西展厅面积多大？")
        >>> a.kind, a.answer_type, [(c.kind, c.value) for c in a.constraints]
        ('quantity', 'area', [('edition', 8), ('organisation', '山西展厅')])
    """
    from rag.bm25 import tokenize

    text = _normalise_question(question)
    words = tag(_main_clause(text))
    expected = expectation(text)
    kind, answer_type = _kind(text, expected)
    if kind == "byline":
        expected = Expectation("person")
    elif kind in ("which", "where") and expected is None:
        expected = Expectation(answer_type or "")
    main = _main_clause(text)
    constraints: list[Constraint] = _date_constraints(main)
    constraints += _name_constraints(main, words)
    constraints += _figure_constraints(main)
    for m in _QUOTED.finditer(main):
        norm = normalize_for_match(m.group(1))
        if len(norm) >= 2 and norm not in {c.value for c in constraints}:
            constraints.append(Constraint("quoted", m.group(1), norm))
    # A name inside a quoted title is already required by the quote.
    quoted = [c.value for c in constraints if c.kind == "quoted"]
    constraints = [
        c
        for c in constraints
        if c.kind == "quoted"
        or not (isinstance(c.value, str) and any(c.value in q and c.value != q for q in quoted))
    ]
    unique: dict[tuple[str, str | int], Constraint] = {}
    for c in constraints:
        unique.setdefault((c.kind, c.value), c)
    terms = tuple(dict.fromkeys(t for t in tokenize(text) if t not in ASKING_WORDS))
    head = ""
    if kind == "quantity":
        m = _HEAD_AFTER_COUNT.search(text)
        if m:
            head = _head_noun(m.group(1))
    speaker = ""
    if kind == "said":
        m = _SPEAKER.search(text)
        people = [c.text for c in unique.values() if c.kind == "person"]
        speaker = people[0] if people else (m.group(1) if m else "")
    nouns = _content_nouns(words, unique.values())
    return QuestionAnalysis(
        question=question,
        nouns=nouns,
        # A figure must measure what is asked (产值, not 配套率); a counted thing has its head noun.
        focus=_focus(words, unique.values()) if kind == "quantity" and not head else (),
        category=_category(words),
        text=text,
        kind=kind,
        answer_type=answer_type,
        constraints=tuple(unique.values()),
        terms=terms,
        head=head,
        speaker=speaker,
        expectation=expected,
    )


#: Nouns that name the measure rather than the thing counted (多少金额, 多少数量).
_MEASURE_NOUNS = frozenset("金额 数量 人数 数目 总数 总量 规模 面积 长度 比例".split())


#: Other names of the paper's city and province (a reader's 晋省 is the page's 山西).
ALIASES: dict[str, str] = {
    "晋省": "山西",
    "三晋": "山西",
    "晋": "山西",
    "省会": "太原",
    "省城": "太原",
    "并州": "太原",
    "龙城": "太原",
}
#: Nouns that say what kind of thing is asked, not which one (they rarely appear as printed).
_GENERIC_NOUNS = frozenset(
    """问题 情况 方面 内容 事情 东西 时间 时候 地方 名字 名称 原因 结果 方式 办法 措施 作用 意义 目的 经过
    报道 新闻 消息 文章 报纸 版面 记者 作者 这篇 那篇 期间 当天 今年 去年 明年 目前 主题 项目 活动
    工作""".split()
)


_ASKS_FOR = frozenset(
    "哪个 哪家 哪所 哪位 哪种 哪类 哪款 哪项 哪座 哪条 哪些 哪几 什么 多少 几 何种 哪".split()
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


def _content_nouns(words: tuple[tuple[str, str], ...], constraints: Iterable[Constraint]) -> tuple[str, ...]:
    """The question's nouns worth finding in an answering article (not names already constrained).

    The noun right after an interrogative (哪个**场馆**, 什么**功能**) names the kind of answer,
    not something the article must print, so it is left out.
    """
    taken = {str(c.value) for c in constraints}
    nouns: list[str] = []
    for k, (word, flag) in enumerate(words):
        previous = words[k - 1][0] if k else ""
        if (
            previous in _ASKS_FOR
            or previous.startswith(("哪", "多少", "几"))
            or (k >= 2 and words[k - 2][0] in _ASKS_FOR and len(previous) == 1)
        ):
            continue
        norm = normalize_for_match(ALIASES.get(word, word))
        oov = not re.search(r"\d", word) and _oov(word)
        if len(norm) < 2 or not (flag.startswith("n") or flag in ("j", "eng") or oov):
            continue
        if norm in _HOME or norm in _GENERIC_NOUNS or word in ASKING_WORDS or norm in taken:
            continue
        if any(norm in t for t in taken) or _scrap(word):
            continue
        nouns.append(norm)
    return tuple(dict.fromkeys(nouns))


def _scrap(word: str) -> bool:
    """A two-character piece the tagger glued across words (地块二|要解除 → 二要, 调度令|加严 → 令加).

    Unknown to jieba and starting with a numeral or ending in a verb or function character,
    it is no noun the pages could print, and must not count as a name they lack.
    """
    return (
        len(word) == 2
        and _oov(word)
        and (word[0] in "一二三四五六七八九十两几" or word[1] in "要会将加在是有和与的了被把对就才也都还又再")
    )


_INTERROGATIVE = re.compile(r"^(?:多少|几|多大|多长|多久|多重|多高|多远|哪|什么|谁|何时|何地|第几)")


def _focus(words: tuple[tuple[str, str], ...], constraints: Iterable[Constraint]) -> tuple[str, ...]:
    """What a figure must measure: the noun phrase before the interrogative (间接/经费, 进口/牛肉/总量).

    Returns the words an answering sentence must print: names already constrained, the
    paper's home, generic nouns and measure words (面积, 比例: the answer type says those) left out.
    """
    taken = {str(c.value) for c in constraints}
    at = next((k for k, (w, _) in enumerate(words) if _INTERROGATIVE.match(w)), len(words))
    k = at - 1
    while k >= 0 and not (words[k][1] in ("n", "nz", "j", "eng", "vn") and len(words[k][0]) >= 2):
        if words[k][0] in "，,：:；;" or k < at - 4:
            return ()
        k -= 1
    if k < 0:
        return ()
    j = k
    while j > 0 and words[j - 1][1] in ("n", "nz", "j", "eng", "b", "vn") and k - j < 3:
        j -= 1
    phrase = []
    for word, _ in words[j : k + 1]:
        norm = normalize_for_match(word)
        if len(norm) < 2 or word in ASKING_WORDS or word in _MEASURE_NOUNS:
            continue
        if norm in _HOME or norm in _GENERIC_NOUNS or any(norm in t for t in taken):
            continue
        phrase.append(norm)
    return tuple(phrase)


def _category(words: tuple[tuple[str, str], ...]) -> str:
    """The first noun after the interrogative (什么**感受**, 哪个**街道**), or ''."""
    at = next((k for k, (w, _) in enumerate(words) if _INTERROGATIVE.match(w)), None)
    if at is None:
        return ""
    for word, flag in words[at + 1 : at + 3]:
        # 哪个村 asks for a 村: a one-character place word is a category too.
        if (flag.startswith(("n", "v")) and len(word) >= 2) or word in _PLACE_WORDS:
            return normalize_for_match(word)
    return ""


#: One-character words that name a kind of place (哪个**村**, 哪个**区**).
_PLACE_WORDS = frozenset("村镇乡县区市省街路站馆")


def _head_noun(phrase: str) -> str:
    """The thing counted: the first noun run of ``phrase`` (太原企业 in 几家太原企业)."""
    # A Chinese noun phrase ends in its head: 国家自然科学基金**项目**.
    run: list[str] = []
    words = list(tag(phrase))
    if words and words[0][0] in ("是", "为"):
        words = words[1:]  # 有几家是太原的: the copula before the counted thing
    for word, flag in words:
        if flag.startswith("n") or flag in ("j", "vn"):
            run.append(word)
        else:
            break  # 多少人次参加南极科考: a verb first, so nothing counted is named
    heads = [w for w in run if len(w) >= 2 and w not in _MEASURE_NOUNS]
    return "".join(heads)


__all__ = ["Constraint", "QuestionAnalysis", "analyze", "tag", "to_simplified"]
