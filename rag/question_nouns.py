"""What a question is about besides its constraints: its nouns, the measured focus, the counted head.

* :func:`content_nouns`: the nouns an answering article should print (甲烷产率 asked, only
  二氧化碳产率 printed, is a near miss);
* :func:`measured_focus`: what a figure must measure (**间接经费**多少);
* :func:`asked_category`: the kind of thing asked for (有什么**感受**, 哪个**村**);
* :func:`head_noun`: the thing counted (多少家**企业**).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.answer_types import ASKING_WORDS
from rag.question_constraints import ALIASES, HOME, Constraint, dictionary_frequency, tag
from rag.text import normalize_for_match

#: Nouns that name the measure rather than the thing counted (多少金额, 多少数量).
_MEASURE_NOUNS = frozenset("金额 数量 人数 数目 总数 总量 规模 面积 长度 比例".split())
#: Nouns that say what kind of thing is asked, not which one (they rarely appear as printed).
_GENERIC_NOUNS = frozenset(
    """问题 情况 方面 内容 事情 东西 时间 时候 地方 名字 名称 原因 结果 方式 办法 措施 作用 意义 目的 经过
    报道 新闻 消息 文章 报纸 版面 记者 作者 这篇 那篇 期间 当天 今年 去年 明年 目前 主题 项目 活动
    工作""".split()
)


_ASKS_FOR = frozenset(
    "哪个 哪家 哪所 哪位 哪种 哪类 哪款 哪项 哪座 哪条 哪些 哪几 什么 多少 几 何种 哪".split()
)


def _oov(word: str) -> bool:
    """Whether jieba's dictionary lacks ``word`` (its tagger guessed it: often a name, 六味斋)."""
    return len(word) >= 2 and dictionary_frequency(word) == 0 and bool(re.search(r"[\u4e00-\u9fff]", word))


def content_nouns(words: tuple[tuple[str, str], ...], constraints: Iterable[Constraint]) -> tuple[str, ...]:
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
        if norm in HOME or norm in _GENERIC_NOUNS or word in ASKING_WORDS or norm in taken:
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


def measured_focus(words: tuple[tuple[str, str], ...], constraints: Iterable[Constraint]) -> tuple[str, ...]:
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
    while (
        j > 0
        and k - j < 3
        and (
            words[j - 1][1] in ("n", "nz", "j", "eng", "b", "vn")
            # 面上项目: a two-character locative before the noun names a kind of it, as 青年 does.
            or (words[j - 1][1] == "f" and len(words[j - 1][0]) >= 2)
            or words[j - 1][0] in ("青年", "少年", "老年", "中年", "成年")
        )
    ):
        j -= 1
    phrase = []
    for word, _ in words[j : k + 1]:
        norm = normalize_for_match(word)
        if len(norm) < 2 or word in ASKING_WORDS or word in _MEASURE_NOUNS:
            continue
        if norm in HOME or norm in _GENERIC_NOUNS or any(norm in t for t in taken):
            continue
        if any(t.endswith(_KIND_OF_NAME.get(norm, ("\0",))) for t in taken):
            continue  # 马路经北街…多长: 马路 is the kind of thing 经北街 is, not another measure
        phrase.append(norm)
    return tuple(phrase)


#: Reader's words for the kind of thing a constrained name is (马路 for 经北街, 高校 for …大学).
_KIND_OF_NAME: dict[str, tuple[str, ...]] = {
    "马路": ("街", "路", "大道"),
    "道路": ("街", "路", "大道"),
    "公路": ("路", "大道", "高速"),
    "高校": ("大学", "学院"),
    "学校": ("大学", "学院", "中学", "小学", "学校"),
    "企业": ("公司", "集团", "厂"),
    "公司": ("公司", "集团"),
}


def asked_category(words: tuple[tuple[str, str], ...]) -> str:
    """The first noun after the interrogative (什么**感受**, 哪个**街道**), or ''."""
    at = next((k for k, (w, _) in enumerate(words) if _INTERROGATIVE.match(w)), None)
    if at is None:
        return ""
    if words[at][0] in ("哪里", "哪儿", "何地") and words[at + 1 : at + 2] == (("的", "uj"),):
        return ""  # 哪里的企业 asks where the firm is from: any place, not a kind of firm
    for word, flag in words[at + 1 : at + 3]:
        # 哪个村 asks for a 村: a one-character place word is a category too.
        if (flag.startswith(("n", "v")) and len(word) >= 2) or word in _PLACE_WORDS:
            return normalize_for_match(word)
    return ""


#: One-character words that name a kind of place (哪个**村**, 哪个**区**).
_PLACE_WORDS = frozenset("村镇乡县区市省街路站馆")


def head_noun(phrase: str) -> str:
    """The thing counted: the first noun run of ``phrase`` (太原企业 in 几家太原企业)."""
    # A Chinese noun phrase ends in its head: 国家自然科学基金**项目**.
    run: list[str] = []
    words = list(tag(phrase))
    if words and words[0][0] in ("是", "为"):
        words = words[1:]  # 有几家是太原的: the copula before the counted thing
    for k, (word, flag) in enumerate(words):
        # 日间|照料中心: a time word qualifies the noun after it, 今年|参加 names nothing counted.
        qualifies = flag == "t" and k + 1 < len(words) and words[k + 1][1].startswith("n")
        if flag.startswith("n") or flag in ("j", "vn") or qualifies:
            run.append(word)
        else:
            break  # 多少人次参加南极科考: a verb first, so nothing counted is named
    heads = [w for w in run if len(w) >= 2 and w not in _MEASURE_NOUNS]
    return "".join(heads)


def head_before(phrase: str) -> str:
    """The thing counted when it is printed before 多少: the last noun run of ``phrase`` (物业纠纷).

    Only a run of two nouns or more: one noun (企业有多少家) may be the subject, not what
    each figure counts.
    """
    run: list[str] = []
    for word, flag in reversed(tag(phrase)):
        if flag.startswith("n") and not flag.startswith(("nr", "ns")) and word not in _MEASURE_NOUNS:
            run.insert(0, word)
        else:
            break
    return "".join(run) if len(run) >= 2 else ""


__all__ = ["asked_category", "content_nouns", "head_before", "head_noun", "measured_focus"]
