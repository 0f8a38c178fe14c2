"""Hard constraints of a question: what any answering article must be about.

:func:`extract_constraints` finds, in a question's main clause, the editions (第N届), years,
months and days, the named people, organisations, places and events, the figures and the
quoted terms.  An article that does not satisfy every one of them cannot answer the question
(:func:`rag.evidence_match.satisfies` checks them), however many of its other words it shares.

Names come from jieba's part-of-speech tagger with the archive's user dictionary
(``nr`` people, ``ns`` places, ``nt`` organisations, ``nz``/``eng`` other names), filtered
by shape (a person's name starts with a surname; a place ends in 区/县/街道…) because
the tagger also tags ordinary words as names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from rag.text import normalize_for_match, zh_to_int

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


_NUMERAL = r"[0-9０-９]+|[一二三四五六七八九十百零〇两]+"
_EDITION = re.compile(rf"第\s*({_NUMERAL})\s*(?:届|号|期|次(?=南极|北极|科考|党代会|会议|[）)]))")
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
HOME = frozenset({"太原", "太原市", "我市", "本市", "山西", "山西省", "我省", "并州", "龙城", "全省", "全市"})


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


def plain_noun(word: str) -> bool:
    """Whether jieba reads ``word`` as one common noun (场馆, 基金), not a verb scrap (天开 of 哪天开的)."""
    return bool(word) and [flag for _, flag in tag(word)] == ["n"]


def dictionary_frequency(word: str) -> int:
    """How often jieba's dictionary (with the archive's user words) counts ``word``: 0 when unknown."""
    from rag.bm25 import jieba_tokenizer

    frequency: int = jieba_tokenizer().dt.FREQ.get(word, 0)
    return frequency


def _common_word(word: str) -> bool:
    """Whether jieba's dictionary knows ``word`` as a frequent word (师生 is tagged nr, but is no name)."""
    return dictionary_frequency(word) >= 200


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
        kind: ConstraintKind | None = (
            "organisation" if _ORG_SUFFIX.search(word) else "place" if _PLACE_SUFFIX.search(word) else None
        )
        if kind is None or not flag.startswith(_NOMINAL):
            continue  # 承办 ends like 办 (an office) but is a verb
        j = k
        firm = _FIRM_SUFFIX.search(word) is not None
        # A firm's name is whatever stands before 集团/纸业 (平遥/牛肉/集团, 晨鸣/纸业): the
        # tagger reads such names as adjectives or common nouns.
        allowed = (*_NOMINAL, "a", "ng") if firm else _NOMINAL
        while j > 0 and (words[j - 1][1].startswith(allowed) or words[j - 1][0] in HOME):
            j -= 1
        # Another name starts with a proper noun or the city (太原/科技/大学), not 进博会/山西展厅.
        while not firm and j < k and not (words[j][1] in _PROPER or words[j][0] in HOME):
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
            while j > 0 and words[j - 1][1].startswith(("n", "vn", "j", "b")) and words[j - 1][0] not in HOME:
                j -= 1
            name = "".join(w for w, _ in words[j : k + 1])
            if k - j >= 2 and 6 <= len(name) <= 16:
                found.append(Constraint("name", name, normalize_for_match(name)))
        elif _STREET_SUFFIX.search(word) and flag.startswith(("n", "ns")) and len(word) <= 2 and k > 0:
            before, before_flag = words[k - 1]
            if before_flag.startswith(("n", "ns", "j")) and before not in HOME and len(before) >= 2:
                name = before + word
                found.append(Constraint("place", name, normalize_for_match(name)))
    return found


def _unknown_names(words: tuple[tuple[str, str], ...]) -> list[Constraint]:
    """A name the tagger does not know, cut into scraps (…的六味|斋，): a name the answer must be about.

    Only a short run of scraps that reads as a numeral or a bound morpheme, standing
    between 的 (or the start) and punctuation (or 的), and unknown to jieba as a whole.
    """
    found = []
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
            and dictionary_frequency(name) == 0
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
        if len(norm) < 2 or norm in HOME or word in _GENERIC_NAMES or word in ALIASES:
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


#: Numbered units other than editions (第12窟, 第3批, 第2轮): another number is another unit.
_NUMBERED_UNIT = re.compile(rf"第\s*({_NUMERAL})\s*(窟|批|轮|标段|号楼)")


def _figure_constraints(text: str) -> list[Constraint]:
    """Figures the question states (a 435平方米 展厅, 38次): an answer must be about them."""
    found = [Constraint("name", m.group(0), m.group(0)) for m in _NUMBERED_PART.finditer(text)]
    for m in _NUMBERED_UNIT.finditer(text):
        number = _int(m.group(1))
        if number is not None:  # 云冈石窟第13窟 is not its 第12窟
            found.append(Constraint("name", m.group(0), f"第{number}{m.group(2)}"))
    spans = [m.span() for m in _YEAR.finditer(text)] + [m.span() for m in _MONTH_DAY.finditer(text)]
    spans += [m.span() for m in _EDITION.finditer(text)]
    for m in _FIGURE.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        found.append(Constraint("figure", m.group(0).strip(), m.group(1)))
    return found


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


#: Festivals, by the stem the paper prints (清明 for 清明节, 中秋 for 中秋节).
_FESTIVAL = re.compile(r"(春节|元宵|清明|端午|七夕|中元|中秋|重阳|寒衣|国庆|元旦|除夕)(?:节|假期|期间|当天)?")


def extract_constraints(main: str, words: tuple[tuple[str, str], ...]) -> tuple[Constraint, ...]:
    """The hard constraints of a question's main clause ``main`` (tagged as ``words``), each once.

    Example:
        >>> text = "第八届进博会山西展厅面积多大？"
        >>> [(c.kind, c.value) for c in extract_constraints(text, tag(text))]
        [('edition', 8), ('organisation', '山西展厅')]
    """
    constraints: list[Constraint] = _date_constraints(main)
    constraints += _name_constraints(main, words)
    constraints += _figure_constraints(main)
    for m in _FESTIVAL.finditer(main):
        # 清明节 and 中元节 are different days: an article about one does not answer for the other.
        constraints.append(Constraint("name", m.group(0), normalize_for_match(m.group(1))))
    for m in _QUOTED.finditer(main):
        norm = normalize_for_match(m.group(1))
        if len(norm) >= 2 and norm not in {c.value for c in constraints}:
            constraints.append(Constraint("quoted", m.group(1), norm))
    # A name inside a quoted title is already required by the quote.
    quoted = [str(c.value) for c in constraints if c.kind == "quoted"]
    constraints = [
        c
        for c in constraints
        if c.kind == "quoted"
        or not (isinstance(c.value, str) and any(c.value in q and c.value != q for q in quoted))
    ]
    unique: dict[tuple[str, str | int], Constraint] = {}
    for c in constraints:
        unique.setdefault((c.kind, c.value), c)
    return tuple(unique.values())


__all__ = [
    "ALIASES",
    "HOME",
    "Constraint",
    "ConstraintKind",
    "dictionary_frequency",
    "extract_constraints",
    "plain_noun",
    "tag",
]
