"""Follow-up questions made standalone, without a language model.

In a conversation, 那它的面积有多大？ or 后来呢？ cannot be retrieved on its own: the
thing it is about was named in an earlier turn.  :func:`rewrite_followup` detects such
a follow-up (a pronoun such as 它/其/该/这个, a leading 那/后来/还有, or no specific
term of its own) and prepends the key terms of the previous user question, which is
itself first made standalone, so a chain of follow-ups keeps its subject.

Key terms are runs of nouns found by jieba's part-of-speech tagger (with the
archive's user dictionary, see :mod:`rag.bm25`): 第八届进博会山西展厅, 杏花岭区委书记侯森.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.bm25 import jieba_tokenizer
from rag.types import Turn

#: How many earlier user questions are replayed to find the subject of a follow-up.
MAX_TURNS = 6
#: At most this many key terms are carried into a follow-up.
MAX_CARRIED = 4

# Nouns of any kind, abbreviations (市政协) and Latin words carry the subject.
_NOMINAL = ("n", "j", "eng", "vn")
# Proper names: places, people, organisations, other names, abbreviations.
_PROPER = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz", "j", "eng"})
# Bound morphemes may sit inside a name (杏花岭区/委/书记).
_BRIDGE = frozenset({"zg", "g", "ng", "b", "k", "h"})
# Words that carry no content when a whole question is carried over.
_FUNCTION_FLAGS = ("r", "u", "y", "x", "p", "c", "w", "e", "o", "d")
_INTERROGATIVE = frozenset(
    {"多少", "几", "几个", "多", "哪", "怎么", "怎样", "如何", "为何", "为什么", "是", "有"}
)
# Words that open a continuation (那它…, 后来呢, 还有…).
_LEADING = ("那", "后来", "然后", "之后", "接着", "还有", "另外", "此外", "那么", "再")
_ANAPHORIC_CHARS = ("它", "他", "她", "其", "该", "此")


@dataclass(frozen=True)
class _Word:
    text: str
    flag: str

    @property
    def nominal(self) -> bool:
        return self.flag.startswith(_NOMINAL) or _is_ordinal(self)

    @property
    def proper(self) -> bool:
        return self.flag in _PROPER or _is_ordinal(self)


def _is_ordinal(word: _Word) -> bool:
    # 第八届, 第21个: an edition number names which event is meant.
    return word.flag == "m" and word.text.startswith("第") and len(word.text) > 1


def _tag(text: str) -> list[_Word]:
    import jieba.posseg as pseg

    jieba_tokenizer()  # loads the archive's user dictionary into jieba's shared tokenizer
    return [_Word(w.word, w.flag) for w in pseg.cut(text) if w.word.strip()]


def _spans(words: Sequence[_Word]) -> list[list[_Word]]:
    """Maximal runs of nominal words, allowing one bound morpheme between two of them."""
    spans: list[list[_Word]] = []
    current: list[_Word] = []
    for i, word in enumerate(words):
        bridges = word.flag in _BRIDGE and current and i + 1 < len(words) and words[i + 1].nominal
        if word.nominal or bridges:
            current.append(word)
        elif current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    return spans


def _specific(span: Sequence[_Word]) -> bool:
    """A name, a compound (山西展厅 主题) or a long word; 面积 or 会议 alone is too generic."""
    nominal = [w for w in span if w.nominal]
    return any(w.proper for w in span) or len(nominal) >= 2 or any(len(w.text) >= 3 for w in nominal)


def _key_terms(words: Sequence[_Word]) -> list[str]:
    """The specific noun runs of a question, or all of them when none is specific.

    A run's trailing measure word (山西展厅**面积**) is what the earlier question asked, not its
    subject: carried into 那它有多少家企业？ it would make the follow-up ask for an area again.
    """
    from rag.answer_types import ASKING_WORDS

    spans = _spans(words)
    chosen = [s for s in spans if _specific(s)] or spans
    terms = []
    for span in chosen:
        kept = list(span)
        while len(kept) > 1 and kept[-1].text in ASKING_WORDS:
            kept.pop()
        terms.append("".join(w.text for w in kept))
    return terms


def _content(words: Sequence[_Word]) -> list[str]:
    """Runs of content words: the whole question minus its question words (for 后来呢？)."""
    runs: list[str] = []
    current = ""
    for w in words:
        if w.flag.startswith(_FUNCTION_FLAGS) or w.text in _INTERROGATIVE or w.text in _LEADING:
            if current:
                runs.append(current)
            current = ""
        else:
            current += w.text
    if current:
        runs.append(current)
    return runs


#: Characters from which a question without a pronoun is read as standalone.
_STANDALONE_LENGTH = 10


def _is_followup(question: str, words: Sequence[_Word]) -> bool:
    if question.lstrip().startswith(_LEADING):
        return True
    anaphor = any(
        w.flag == "r" and (any(c in w.text for c in _ANAPHORIC_CHARS) or w.text.startswith(("这", "那")))
        for w in words
    )
    if anaphor:
        return True
    # 走失老人是在哪天被找到的: a question this long says what it is about, although none of
    # its nouns is a name; only short ones (面积多大？ 会议由谁主持？) lean on the last question.
    return len(re.sub(r"\W", "", question)) < _STANDALONE_LENGTH and not any(
        _specific(s) for s in _spans(words)
    )


def _standalone(question: str, previous: str | None) -> str:
    """``question`` with the subject of the (already standalone) ``previous`` question if it needs one."""
    if not previous:
        return question
    words = _tag(question)
    if not _is_followup(question, words):
        return question
    before = _tag(previous)
    if any(w.nominal for w in words):
        carried = _key_terms(before)
    else:
        # Pure ellipsis (后来呢？ 为什么？): the whole previous question is the topic.
        carried = _content(before)
    carried = [t for t in dict.fromkeys(carried) if t not in question][:MAX_CARRIED]
    if not carried:
        return question
    return f"{' '.join(carried)} {question}"


def rewrite_followup(question: str, history: Sequence[Turn]) -> str:
    """Return ``question`` made standalone from the user turns of ``history``.

    A question that names its own subject comes back unchanged; a follow-up gets the
    key terms of the previous user question (itself made standalone) prepended.

    Example:
        >>> history = [Turn("user", "第八届进博会山西展厅的主题是什么？"), Turn("assistant", "…")]
        >>> rewrite_followup("那它的面积有多大？", history)
        '第八届进博会山西展厅 那它的面积有多大？'
    """
    questions = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
    context: str | None = None
    for earlier in questions[-MAX_TURNS:]:
        context = _standalone(earlier, context)
    return _standalone(question, context)


__all__ = ["rewrite_followup", "MAX_TURNS", "MAX_CARRIED"]
