"""The default generator: an extractive answerer in three steps, with citations.

It needs no language model:

1. **analysis** (:mod:`rag.question`): the question's kind, expected answer type and
   hard constraints (editions, years, dates, names, figures, quoted terms);
2. **evidence** (:mod:`rag.evidence`): sentences of the retrieved passages whose article
   satisfies every constraint and that hold an answer of the expected type, scored by
   lexical coverage and dense similarity (sentence vectors stored in the index); below a
   calibrated threshold the answer is a refusal (资料中没有找到…);
3. **composition** (:mod:`rag.compose` and its parts): a short statement of the answer, then the
   support, every ``[n]`` pointing at an exact slice of an article body.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from rag import compose, compose_lists, compose_named, compose_typed
from rag.answer_types import ASKING_WORDS, expectation, specific_terms
from rag.bm25 import tokenize
from rag.evidence import Candidate, Library, gather_widening
from rag.evidence_match import local, satisfies
from rag.evidence_score import AnswerabilityModel
from rag.question import QuestionAnalysis, analyze
from rag.question_constraints import Constraint
from rag.text import LEAD, normalize_for_match, split_sentences
from rag.types import Answer, Article, Chunk, Citation, Passage, Turn

REFUSAL_TEXT = "资料中没有找到与该问题直接相关的内容。"


def _share(term: str, text: str) -> float:
    """1 when ``term`` occurs in ``text``; else a little credit for the characters it shares.

    Chinese rephrasings often keep one character of a word (开幕/启幕, 参展/展会),
    so a partial match is weak evidence rather than none.
    """
    if term in text:
        return 1.0
    if len(term) < 2:
        return 0.0
    return 0.3 * sum(ch in text for ch in term) / len(term)


@dataclass(frozen=True)
class ScoredSentence:
    """A candidate sentence: where it is, and how well it answers."""

    passage: Passage
    start: int  # offsets into the article body
    end: int
    text: str
    score: float
    coverage: float
    #: Holds the kind of answer asked for (a figure, a date, a name…) and every
    #: edition/year the question pins down.
    answers_type: bool = True


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


def _on_date(constraint: Constraint, date: str) -> bool:
    """Whether a year, month or day constraint matches the page date ``date`` (YYYY-MM-DD)."""
    try:
        year, month, day = (int(x) for x in date.split("-"))
    except ValueError:
        return False
    if constraint.kind == "year":
        return constraint.value == year
    if constraint.kind == "month":
        return constraint.value == month
    m, d = (int(x) for x in str(constraint.value).split("-"))
    return (m, d) == (month, day)


class ExtractiveGenerator:
    """Answers by quoting the retrieved sentences that best cover the question.

    Args:
        idf: weight of a question term (e.g. ``Index.idf``); rarer terms matter more
            both for picking sentences and for deciding to refuse.
        max_sentences: how many sentences an answer quotes at most.
        refusal_threshold: minimum weighted coverage of the question's terms by the
            best sentence (with its article as context) below which the answer is a refusal.
        topic_ratio: an answering sentence must cover at least this share of what the
            best-covering sentence covers.

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
        library: Callable[[], Library] | None = None,
        answerability: AnswerabilityModel | None = None,
        max_sentences: int = 2,
        refusal_threshold: float = 0.25,
        topic_ratio: float = 0.6,
    ) -> None:
        self._idf = idf
        self._library = library
        self.answerability = answerability or AnswerabilityModel()
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold
        self.topic_ratio = topic_ratio

    def _current_library(self) -> Library | None:
        return self._library() if self._library is not None else None

    # -- scoring ---------------------------------------------------------------------

    def _weights(self, question: str) -> dict[str, float]:
        terms = {t for t in tokenize(question) if len(normalize_for_match(t)) > 0 and t not in ASKING_WORDS}
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
        expected = expectation(question)
        # An edition or year the question names (第九届, 2024) must be in some passage:
        # otherwise the pages answer a neighbouring question, not this one.
        pinned = specific_terms(list(weights))
        contexts = "".join(
            local(normalize_for_match(p.chunk.title + p.chunk.text)) + p.chunk.date.replace("-", "")
            for p in passages
        )
        pins_found = all(t in contexts for t in pinned)
        candidates: list[ScoredSentence] = []
        for passage in passages:
            chunk = passage.chunk
            # The paper calls Taiyuan 我市, and a page's year is known from its date even
            # when the text never prints it.
            context = local(normalize_for_match(chunk.title + chunk.text)) + chunk.date.replace("-", "")
            for s_start, s_end in split_sentences(chunk.text):
                s_start, s_end = self._trim(chunk.text, s_start, s_end)
                text = chunk.text[s_start:s_end]
                norm = local(normalize_for_match(text))
                if len(norm) < 6:
                    continue
                in_sentence = sum(w * _share(t, norm) for t, w in weights.items())
                in_context = sum(
                    w * max(_share(t, context) - _share(t, norm), 0.0) for t, w in weights.items()
                )
                coverage = (in_sentence + 0.6 * in_context) / total
                score = coverage + 0.3 * (in_sentence / total)
                typed = expected is None or expected.matches(text, question)
                if expected is not None and typed:
                    score += 0.25
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
                        answers_type=typed and pins_found,
                    )
                )
        candidates.sort(key=lambda c: -c.score)
        return candidates

    @staticmethod
    def _trim(text: str, start: int, end: int) -> tuple[int, int]:
        """Drop a 本报讯 lead and surrounding white space so the quote is the sentence itself."""
        lead = LEAD.match(text, start, end)
        if lead:
            start = lead.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return start, end

    def rank_sentences(self, text: str, passages: Sequence[Passage]) -> list[ScoredSentence]:
        """Every usable sentence of ``passages``, best support for ``text`` first (cites LLM claims)."""
        return self._candidates(text, passages)

    # -- answering -------------------------------------------------------------------

    def analyze(self, question: str) -> QuestionAnalysis:
        """Step 1: the question's kind, answer type and hard constraints."""
        return analyze(question)

    def evidence(
        self, analysis: QuestionAnalysis, passages: Sequence[Passage]
    ) -> tuple[list[Candidate], dict[str, list[Constraint]]]:
        """Step 2: candidate sentences best first, and the constraints each retrieved article failed."""
        return gather_widening(analysis, passages, self._current_library(), self.answerability)

    def answerable(self, candidates: Sequence[Candidate]) -> bool:
        """Whether the best candidate's answerability reaches the calibrated threshold."""
        return self.answerability.answers(candidates)

    def _refusal(
        self, question: str, passages: Sequence[Passage], analysis: QuestionAnalysis, why: str
    ) -> Answer:
        return Answer(
            question=question,
            text=REFUSAL_TEXT,
            refused=True,
            passages=tuple(passages),
            generator=self.name,
            analysis={**analysis.to_dict(), "decision": why},
        )

    def _answered(
        self,
        question: str,
        passages: Sequence[Passage],
        analysis: QuestionAnalysis,
        composed: tuple[str, Sequence[Citation]],
        decision: str,
    ) -> Answer:
        text, citations = composed
        return Answer(
            question=question,
            text=text,
            refused=False,
            citations=tuple(citations),
            passages=tuple(passages),
            generator=self.name,
            analysis={**analysis.to_dict(), "decision": decision},
        )

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Answer:
        """Compose the answer (or a refusal) for ``question`` from ``passages``."""
        analysis = self.analyze(question)
        library = self._current_library()
        if analysis.kind == "report":
            return self._report(question, analysis, passages, library)
        if analysis.kind == "byline" and not analysis.constraints and not analysis.nouns:
            # 这篇报道的记者是谁？ with no article in view: which report is meant is unknown.
            return self._refusal(question, passages, analysis, "the question names no article")
        if analysis.kind == "byline":
            byline = self._byline(question, analysis, passages, library)
            if byline is not None:
                return byline
        if (
            not analysis.constraints
            and not analysis.nouns
            and not any(t not in analysis.category for t in analysis.terms if len(t) > 1)
        ):
            # 他有什么感受？ on its own names nobody: any answer would be about someone we chose.
            return self._refusal(question, passages, analysis, "the question names nothing to look for")
        candidates, failed = self.evidence(analysis, passages)
        if not candidates:
            unmet = sorted({c.text for cs in failed.values() for c in cs})
            why = (
                f"no article satisfies {'、'.join(unmet)}"
                if failed and all(failed.values())
                else "no sentence of the expected type"
            )
            return self._refusal(question, passages, analysis, why)
        best = candidates[0]
        if not self.answerable(candidates):
            return self._refusal(
                question,
                passages,
                analysis,
                f"answerability {best.score:.3f} < {self.answerability.threshold}",
            )
        composed = self.compose(analysis, candidates, library)
        # 培训讲了哪些内容 answered by a sentence that lists nothing: the pages hold no list.
        why = "no sentence lists the items asked for" if compose_lists.unlisted(analysis, composed[1]) else ""
        if compose_named.asked_name_missing(analysis, [c.quote for c in composed[1]]):
            why = "no sentence states the name asked for"  # 主题是什么, answered by a scene
        if why:
            return self._refusal(question, passages, analysis, why)
        return self._answered(question, passages, analysis, composed, f"answerability {best.score:.3f}")

    def compose(
        self, analysis: QuestionAnalysis, candidates: Sequence[Candidate], library: Library | None
    ) -> tuple[str, list[Citation]]:
        """Step 3: the answer text with ``[n]`` markers and its citations, from the best candidate first."""
        best = candidates[0]
        composed: tuple[str, list[Citation]] | None = None
        if analysis.expectation is not None and best.spans:
            composed = compose_typed.typed_answer(analysis, best)
        elif analysis.expectation is None and analysis.kind == "what":
            composed = compose_named.named_answer(analysis, best)
        if composed is not None and compose_typed.restates_unprinted(analysis, composed[0], best.article):
            # The restatement would put a word in the paper's mouth (钙钛矿电池 asked, 费托合成
            # printed): the paper's own clause holding the span, else its sentence.
            composed = compose_typed.clause_answer(analysis, best)
        elif analysis.kind == "said":
            composed = compose.said_answer(analysis, candidates)
        elif analysis.kind == "summary" and not compose_lists.asks_for_items(analysis):
            composed = compose.summary_answer(analysis, best, library)
        elif analysis.kind == "summary":
            composed = compose_lists.list_answer(analysis, best, library)
        elif analysis.kind == "list":
            composed = compose_lists.list_answer(
                analysis, compose_lists.richest_listing(candidates, analysis=analysis), library
            )
        return composed or compose.sentence_answer(analysis, best)

    def _report(
        self, question: str, analysis: QuestionAnalysis, passages: Sequence[Passage], library: Library | None
    ) -> Answer:
        """What the paper reported on a date or about a topic: headlines of matching articles."""
        articles: dict[str, Article] = {}
        chunks: dict[str, Chunk] = {}
        dates = [c for c in analysis.constraints if c.kind in ("year", "month", "day")]
        topic = replace(analysis, constraints=tuple(c for c in analysis.constraints if c not in dates))

        def matches(article: Article) -> bool:  # the page's date, not a date printed inside
            return all(_on_date(c, article.date) for c in dates) and not satisfies(topic, article)

        for passage in passages:
            article = library.article(passage.chunk.article_id) if library is not None else None
            if article is not None and article.id not in articles and matches(article):
                articles[article.id] = article
                chunks[article.id] = passage.chunk
        if dates and library is not None:
            # A date names a set of pages: what they printed, not only what retrieval ranked first,
            # after the ranked ones, in page order (headlines and news before notices).
            on_pages = lambda date: all(_on_date(c, date) for c in dates)  # noqa: E731
            for article in compose.articles_on_pages(library, on_pages, matches, set(articles)):
                articles[article.id] = article
        # Notices (通告) are printed news too, but a reader asking what happened wants the news first.
        ordered = sorted(articles.values(), key=lambda a: a.kind == "notice")
        text, citations = compose.report_answer(ordered, library, chunks)
        if not text:
            return self._refusal(question, passages, analysis, "no article satisfies the constraints")
        return self._answered(
            question, passages, analysis, (text, citations), f"{len(citations)} matching articles"
        )

    def _byline(
        self, question: str, analysis: QuestionAnalysis, passages: Sequence[Passage], library: Library | None
    ) -> Answer | None:
        """记者是谁 / 作者是谁: the reporters of the best matching article, cited to the byline span."""
        if library is None:
            return None
        photo = "编辑" not in analysis.text and re.search(r"摄影|拍摄|谁拍|摄", analysis.text) is not None
        for passage in passages:
            article = library.article(passage.chunk.article_id)
            if satisfies(analysis, article) or not article.reporters:
                continue
            if photo and article.kind != "photo":
                continue  # a report's 记者 and 通讯员 did not take its pictures
            body = article.body
            names = [r for r in article.reporters if r in body]
            if not names:
                continue
            start = min(body.rfind(n) for n in names)
            end = max(body.rfind(n) + len(n) for n in names)
            citation = compose.citation_of(1, article, start, end, library.chunks_of(article.id))
            role = "编辑" if "编辑" in analysis.text else "摄影" if photo else "记者"
            if role == "记者" and ("作者" in analysis.text or article.kind == "commentary"):
                role = "作者"
            text = f"《{article.title}》的{role}是{'、'.join(article.reporters)}。[1]"
            return self._answered(question, passages, analysis, (text, [citation]), "byline")
        # Naming a report's reporters as its photographers would be wrong: no credit, no answer.
        return self._refusal(question, passages, analysis, "no quotable photo credit") if photo else None

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> Iterator[str | Answer]:
        """Yield the answer text in small pieces, then the final :class:`Answer`."""
        answer = self.generate(question, passages, history)
        yield from re.findall(r".{1,8}", answer.text, flags=re.S)
        yield answer
