"""The default generator: an extractive answerer that quotes the best sentences, with citations.

It needs no language model: it scores every sentence of the retrieved passages
against the question, quotes the best one or two verbatim with ``[n]`` markers, and
refuses (资料中没有找到…) when no sentence covers the question's specific terms well
enough.  The quoted spans are exact slices of the article bodies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.bm25 import tokenize
from rag.text import normalize_for_match, split_sentences
from rag.types import Answer, Citation, Passage, Turn

REFUSAL_TEXT = "资料中没有找到与该问题直接相关的内容。"

# A lead such as "本报讯(记者 尹哲)" or "本报讯 " is the paper's boilerplate, not part of
# the fact being quoted.
_LEAD = re.compile(r"^\s*本报讯\s*(?:[（(][^）)]{0,30}[）)])?\s*")
_DIGITS = re.compile(r"[0-9０-９一二三四五六七八九十百千万亿两]+")
_NUMERIC_Q = re.compile(r"多少|几|多大|多长|多高|多重|面积|金额|比例|数量|人数|规模|百分|增长|下降")
_DATE_Q = re.compile(r"何时|什么时候|哪天|哪一天|几月|哪年|哪一年|日期|时间|几号")
_DATE_A = re.compile(r"\d{1,4}\s*[年月日]|[一二三四五六七八九十]+月|今年|去年|明年")


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence: where it is, and how well it answers."""

    passage: Passage
    start: int  # offsets into the article body
    end: int
    text: str
    score: float
    coverage: float


def citation_for(n: int, sentence: ScoredSentence) -> Citation:
    """The :class:`Citation` ``[n]`` quoting ``sentence`` (an exact span of its article body)."""
    chunk = sentence.passage.chunk
    return Citation(
        n=n,
        chunk_id=chunk.id,
        article_id=chunk.article_id,
        title=chunk.title,
        date=chunk.date,
        source=chunk.source,
        quote=sentence.text,
        start=sentence.start,
        end=sentence.end,
    )


class ExtractiveGenerator:
    """Answers by quoting the retrieved sentences that best cover the question.

    Args:
        idf: weight of a question term (e.g. ``Index.idf``); rarer terms matter more
            both for picking sentences and for deciding to refuse.
        max_sentences: how many sentences an answer quotes at most.
        refusal_threshold: minimum weighted coverage of the question's terms by the
            best sentence (with its article as context) below which the answer is a refusal.

    Example:
        >>> gen = ExtractiveGenerator()
        >>> gen.generate("问题", []).refused
        True
    """

    name = "extractive"

    def __init__(
        self,
        idf: Callable[[str], float] | None = None,
        *,
        max_sentences: int = 2,
        refusal_threshold: float = 0.35,
    ) -> None:
        self._idf = idf
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold

    # -- scoring ---------------------------------------------------------------------

    def _weights(self, question: str) -> dict[str, float]:
        terms = {t for t in tokenize(question) if len(normalize_for_match(t)) > 0}
        # Drop a term already contained in a longer one (jieba's search mode yields both
        # 进博会 and 博会): counting both would double their weight.
        terms = {t for t in terms if not any(t != o and t in o for o in terms)}
        weights = {}
        for term in terms:
            idf = self._idf(term) if self._idf else 1.0
            # Single characters carry little meaning on their own in Chinese.
            weights[normalize_for_match(term)] = max(idf, 0.1) * (0.5 if len(term) == 1 else 1.0)
        return weights

    def _candidates(self, question: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        weights = self._weights(question)
        total = sum(weights.values()) or 1.0
        wants_number = bool(_NUMERIC_Q.search(question))
        wants_date = bool(_DATE_Q.search(question))
        candidates: list[ScoredSentence] = []
        for passage in passages:
            chunk = passage.chunk
            context = normalize_for_match(chunk.title + chunk.text)
            for s_start, s_end in split_sentences(chunk.text):
                raw = chunk.text[s_start:s_end]
                lead = _LEAD.match(raw)
                if lead:
                    s_start += lead.end()
                # Trim whitespace so the quote is exactly the sentence.
                while s_start < s_end and chunk.text[s_start].isspace():
                    s_start += 1
                while s_end > s_start and chunk.text[s_end - 1].isspace():
                    s_end -= 1
                text = chunk.text[s_start:s_end]
                norm = normalize_for_match(text)
                if len(norm) < 6:
                    continue
                in_sentence = sum(w for t, w in weights.items() if t in norm)
                in_context = sum(w for t, w in weights.items() if t not in norm and t in context)
                coverage = (in_sentence + 0.6 * in_context) / total
                score = coverage + 0.3 * (in_sentence / total)
                if wants_number and _DIGITS.search(text):
                    score += 0.1
                if wants_date and _DATE_A.search(text):
                    score += 0.1
                # Prefer higher-ranked passages and sentences of moderate length.
                score += 0.05 / passage.rank
                score -= 0.05 * max(0.0, math.log(len(norm) / 120)) if len(norm) > 120 else 0.0
                candidates.append(
                    ScoredSentence(
                        passage=passage,
                        start=chunk.start + s_start,
                        end=chunk.start + s_end,
                        text=text,
                        score=score,
                        coverage=coverage,
                    )
                )
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def rank_sentences(self, text: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        """Every usable sentence of ``passages``, best support for ``text`` first (cites LLM claims)."""
        return self._candidates(text, passages)

    def _select(self, candidates: list[ScoredSentence]) -> list[ScoredSentence]:
        if not candidates:
            return []
        best = candidates[0]
        chosen = [best]
        for cand in candidates[1:]:
            if len(chosen) >= self.max_sentences:
                break
            overlaps = any(
                cand.passage.chunk.article_id == c.passage.chunk.article_id and cand.start < c.end and c.start < cand.end
                for c in chosen
            )
            same_text = any(normalize_for_match(cand.text) == normalize_for_match(c.text) for c in chosen)
            if overlaps or same_text or cand.score < 0.8 * best.score:
                continue
            chosen.append(cand)
        # Quote in reading order when both come from the same article.
        chosen.sort(key=lambda c: (c.passage.rank, c.start))
        return chosen

    # -- answering -------------------------------------------------------------------

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        """Compose the answer (or a refusal) for ``question`` from ``passages``."""
        candidates = self._candidates(question, passages)
        if not candidates or candidates[0].coverage < self.refusal_threshold:
            return Answer(
                question=question, text=REFUSAL_TEXT, refused=True, passages=tuple(passages), generator=self.name
            )
        chosen = self._select(candidates)
        citations: list[Citation] = []
        parts: list[str] = []
        for n, cand in enumerate(chosen, start=1):
            citations.append(citation_for(n, cand))
            parts.append(f"{cand.text}[{n}]")
        return Answer(
            question=question,
            text="".join(parts),
            refused=False,
            citations=tuple(citations),
            passages=tuple(passages),
            generator=self.name,
        )

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        """Yield the answer text in small pieces, then the final :class:`Answer`."""
        answer = self.generate(question, passages, history)
        for piece in re.findall(r".{1,8}", answer.text, flags=re.S):
            yield piece
        yield answer
