"""Composition: lead with the answer, then the support, every ``[n]`` on the clause it supports.

What each kind of question gets, and where it is built:

* a typed question (how many, when, who, where, which edition…): one short sentence
  stating the extracted span in the question's own terms — 山西展厅面积为435平方米。[1] —
  where the span is copied verbatim from the cited sentence (:mod:`rag.compose_typed`);
* a list: the enumerating sentence(s), each cited (:mod:`rag.compose_lists`);
* who said / what did X say: the speaker and the quoted words (:func:`said_answer`);
* a summary: the article's lead and up to three key sentences, each cited
  (:func:`summary_answer`);
* "what did the paper report on … / about …": the matching articles' headlines with dates
  (:func:`report_answer`);
* other questions (what, why, how): the supporting sentence, cut to the clauses that answer
  (:func:`sentence_answer`).

This module also holds what the others share: the citations (:func:`citation_of`,
:func:`candidate_citation`) and the clause and section boundaries of a text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.evidence import Candidate, Library
from rag.evidence_match import local
from rag.evidence_score import coverage, term_weights
from rag.question import QuestionAnalysis
from rag.text import answer_sentences, normalize_for_match
from rag.types import Article, Chunk, Citation

#: A report answer (what the paper printed on a date) lists at most this many headlines.
REPORT_LINES = 8

_QUOTE = re.compile(r"“([^”]{4,200})”")


def said_answer(
    analysis: QuestionAnalysis, candidates: Sequence[Candidate]
) -> tuple[str, list[Citation]] | None:
    """``speaker表示：“…”`` from the best sentence quoting the speaker, or None."""
    speaker = analysis.speaker
    for cand in candidates[:5]:
        quote = _QUOTE.search(cand.text)
        if quote and (
            not speaker
            or speaker in cand.text
            or speaker in cand.article.body[max(0, cand.start - 60) : cand.start]
        ):
            who = speaker or "报道"
            return f"{who}表示：“{quote.group(1)}”[1]", [candidate_citation(1, cand)]
    return None


def _clauses_answer(text: str, analysis: QuestionAnalysis, limit: int = 80) -> tuple[int, int]:
    """The part of a long sentence that answers: the first clause with a question word, and the next."""
    if len(text) <= limit:
        return 0, len(text)
    terms = [local(normalize_for_match(t)) for t in analysis.terms]
    bounds = [0] + clause_ends(text) + [len(text)]
    clauses = list(zip(bounds, bounds[1:], strict=False))
    hits = [
        i
        for i, (s, e) in enumerate(clauses)
        if any(t and t in local(normalize_for_match(text[s:e])) for t in terms)
    ]
    if not hits:
        return 0, len(text)
    first = hits[0]
    last = min(len(clauses) - 1, max(first + 1, hits[-1]))
    while last > first and clauses[last][1] - clauses[first][0] > limit:
        last -= 1
    return clauses[first][0], clauses[last][1]


#: What a ``what``/``which`` question asks with: 什么, 哪种, 哪类…
_WHAT = re.compile(r"什么|哪一?[种款座类项部本份家个所]")
#: A clause opening with a reference names its subject in the clause before it (该公司…).
_OPENS_WITH_REFERENCE = re.compile(r"^(?:该|其|这|此|它|他|她)")
#: A clause ending in a verb of saying introduces the next one as someone's words.
_SAYS = re.compile(r"(?:认为|表示|说|指出|介绍|强调|坦言|透露|称)[，,：:]$")


def anchored_clause(text: str, question: str) -> tuple[int, int] | None:
    """The clause of ``text`` that fills the question's slot: its words before 什么/哪种, then the answer.

    太化新材料公司…又生产出了哪种液体产品？ against a 60-character sentence: the clause
    printing 生产出 followed by something else (合格液氩) answers; the other clauses do not.
    A clause opening with 该/其 keeps the clause before it, which names what it refers to (with
    none before it, the sentence is kept whole), as does one after 某某认为.  None when the
    words are not printed, or only a noun they qualify (…生产出的又一款产品) follows them.
    """
    asked = list(_WHAT.finditer(question))
    if not asked:
        return None
    from rag.question_constraints import tag

    words = [w for w, _ in tag(question[: asked[-1].start()])]
    # The anchor is the words of the asking clause only (…针对年轻人，依托什么): a comma is no word.
    stops = [i for i, w in enumerate(words) if re.fullmatch(r"[，,；;：:、“”\s]+", w)]
    words = words[stops[-1] + 1 :] if stops else words
    bounds = [0, *clause_ends(text), len(text)]
    for n in (3, 2, 1):
        anchor = "".join(words[-n:])
        if len(words) < n or len(anchor) < 2:
            continue
        for form in dict.fromkeys((anchor, anchor.removesuffix("了"))):
            at = text.find(form)
            if at < 0 or len(form) < 2:
                continue
            clause = max(i for i, b in enumerate(bounds[:-1]) if b <= at)
            end = bounds[clause + 1]
            slot = text[at + len(form) : end].rstrip("，,；;：:。")
            if len(slot) < 2 or slot.startswith("的"):
                return None  # nothing follows the question's words, or they only qualify a noun
            if _OPENS_WITH_REFERENCE.match(text[bounds[clause] :]):
                if clause == 0:
                    return None  # 该项目由…: what it is about is in another sentence, kept whole
                clause -= 1
            elif clause > 0 and _SAYS.search(text[bounds[clause - 1] : bounds[clause]]):
                clause -= 1  # 刘俊义认为,…: whose view it is stays with it
            return bounds[clause], end
    return None


def clause_ends(text: str) -> list[int]:
    """Offsets just after each clause separator (，；：) that is not inside quotes or a title."""
    depth, ends = 0, []
    for i, ch in enumerate(text):
        if ch in "“《（(「『":
            depth += 1
        elif ch in "”》）)」』":
            depth = max(0, depth - 1)
        elif ch in "，,；;：:" and depth == 0:
            ends.append(i + 1)
    return ends


def citation_of(n: int, article: Article, start: int, end: int, chunks: Sequence[Chunk]) -> Citation:
    """Citation ``[n]`` quoting ``article.body[start:end]``, attributed to the chunk that holds it."""
    chunk = next((c for c in chunks if c.start <= start < c.end), chunks[0] if chunks else None)
    return Citation(
        n=n,
        chunk_id=chunk.id if chunk is not None else f"{article.id}:0",
        article_id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        quote=article.body[start:end],
        start=start,
        end=end,
    )


def candidate_citation(n: int, candidate: Candidate) -> Citation:
    """Citation ``[n]`` quoting a candidate sentence whole."""
    chunk = candidate.passage.chunk
    return Citation(
        n=n,
        chunk_id=chunk.id,
        article_id=candidate.article.id,
        title=candidate.article.title,
        date=candidate.article.date,
        source=candidate.article.source,
        quote=candidate.text,
        start=candidate.start,
        end=candidate.end,
    )


_REFERS_BACK = re.compile(r"\s*这(?:是|也是|一|些|种|项|款)")


def _with_antecedent(body: str, start: int, end: int) -> tuple[int, int]:
    """Extend a sentence that opens with 这是… back over the sentence it refers to.

    这是该公司继液氧、液氮之后生产出的又一款产品 echoes the question but names nothing:
    the product (液氩) is in the sentence before, so the quote must hold both.
    """
    if not _REFERS_BACK.match(body, start):
        return start, end
    previous = [sp for sp in answer_sentences(body) if sp[1] <= start]
    if not previous or body[previous[-1][1] : start].count("\n"):
        return start, end
    return previous[-1][0], end


def sentence_answer(analysis: QuestionAnalysis, best: Candidate) -> tuple[str, list[Citation]]:
    """The supporting sentence (cut to the clauses that answer, never past its typed spans), cited."""
    s, e = anchored_clause(best.text, analysis.text) or _clauses_answer(best.text, analysis)
    if best.spans and not any(s <= a and b <= e for a, b in best.spans):
        s, e = 0, len(best.text)  # the clauses echoing the question do not hold the figure
    part = best.text[s:e].rstrip("，,；;：: ")
    citation = candidate_citation(1, best)
    if (s, e) != (0, len(best.text)):
        start = best.start + s
        end = best.start + s + len(part)
        citation = Citation(
            **{**citation.to_dict(), "quote": best.article.body[start:end], "start": start, "end": end}
        )
    elif (joined := _with_antecedent(best.article.body, best.start, best.end)) != (best.start, best.end):
        start, end = joined
        part = best.article.body[start:end]
        citation = Citation(**{**citation.to_dict(), "quote": part, "start": start, "end": end})
        # 这是…又一款产品 names nothing; the sentence before it holds the slot (生产出合格液氩): that
        # clause answers, the quote keeps both sentences, the second tying it to the question.
        slot = anchored_clause(best.article.body[start : best.start], analysis.text)
        if slot is not None:
            part = best.article.body[start + slot[0] : start + slot[1]].rstrip("，,；;：: ")
    if not re.search(r"[。！？!?]$", part):
        part += "。"
    return f"{part}[1]", [citation]


def section_headings(body: str) -> list[tuple[int, int]]:
    """Short heading lines inside a body (扬开放之帆 / 架创新之桥…): spans of lines without punctuation."""
    spans, pos = [], 0
    for line in body.split("\n"):
        stripped = line.strip()
        if 2 <= len(stripped) <= 12 and not re.search(r"[，。、；：,.;:（(）)]", stripped) and pos > 0:
            if not re.match(r"(?:记者|通讯员|本报)", stripped):
                start = pos + line.find(stripped)
                spans.append((start, start + len(stripped)))
        pos += len(line) + 1
    return spans


def summary_answer(
    analysis: QuestionAnalysis, best: Candidate, library: Library | None
) -> tuple[str, list[Citation]]:
    """The article's lead and up to three more of its sentences that best match the question."""
    article = best.article
    spans = answer_sentences(article.body)
    if not spans:
        return sentence_answer(analysis, best)
    weights = term_weights(analysis, library)
    context = local(normalize_for_match(article.title))
    body = article.body

    def weight(span: tuple[int, int]) -> float:
        # A sentence with a figure states what was done (建成28所); at equal coverage it wins
        # over a sentence that only frames the section.
        text = body[span[0] : span[1]]
        return coverage(weights, text, context) + (0.05 if re.search(r"[0-9０-９]", text) else 0.0)

    sections = _section_bounds(body)
    if len(sections) >= 2:
        # An article in sections (托起幸福“夕阳红” / 编织成长“新摇篮”…) is summarised by its
        # lead and the best sentence of each of its first three sections, never a quoted remark.
        picks = []
        for lo, hi in sections[:3]:
            inside = [sp for sp in spans[1:] if lo <= sp[0] < hi and not _quoted_remark(body, sp)]
            if inside:
                picks.append(max(inside, key=weight))
        chosen = sorted({spans[0], *picks})
    else:
        ranked = sorted(spans[1:], key=lambda sp: -weight(sp))
        chosen = sorted([spans[0], *ranked[:3]])
    chunks = library.chunks_of(article.id) if library is not None else [best.passage.chunk]
    parts, citations = [], []
    for n, (start, end) in enumerate(chosen, start=1):
        citations.append(citation_of(n, article, start, end, chunks))
        parts.append(f"{article.body[start:end]}[{n}]")
    return "".join(parts), citations


def _section_bounds(body: str) -> list[tuple[int, int]]:
    """The text spans under each section heading of ``body``, in order."""
    heads = section_headings(body)
    return [(end, heads[i + 1][0] if i + 1 < len(heads) else len(body)) for i, (_, end) in enumerate(heads)]


def _quoted_remark(body: str, span: tuple[int, int]) -> bool:
    """Whether the sentence is someone's remark in quotation marks (“平时我们工作都很忙…”)."""
    return body[span[0]] in '“"「'


def articles_on_pages(
    library: Library, dated: Callable[[str], bool], matches: Callable[[Article], bool], seen: set[str]
) -> list[Article]:
    """Articles ``matches`` accepts on the pages whose date ``dated`` accepts, by date (notices last).

    Reads the dated pages' articles only, in date order, and stops at the ``REPORT_LINES``-th
    that is not a notice (the answer lists no more, notices after news): a year of an archive,
    or a page of two thousand articles, is not read to list eight.  ``seen`` (ids already
    listed) is not repeated.  A library without pages gives none.
    """
    pages = getattr(library, "pages", None)
    if pages is None:
        return []
    sources = [s for s, (date, _) in sorted(pages().items(), key=lambda item: item[1][0]) if dated(date)]
    held = (a for source in sources for a in library.held_by(source))  # type: ignore[attr-defined]
    found: list[Article] = []
    news = 0
    for article_id in held:  # a page's ids are read when the one before is done
        if news >= REPORT_LINES:
            break
        if article_id not in seen and matches(article := library.article(article_id)):
            seen.add(article_id)
            found.append(article)
            news += article.kind != "notice"
    return sorted(found, key=lambda a: (a.date, a.kind == "notice"))


def report_answer(
    articles: Sequence[Article], library: Library | None, fallback_chunks: dict[str, Chunk]
) -> tuple[str, list[Citation]]:
    """The matching articles' headlines with dates, each cited to its lead sentence."""
    lines: list[str] = []
    citations: list[Citation] = []
    for article in articles:
        spans = answer_sentences(article.body)
        if not spans:
            continue
        n = len(citations) + 1
        start, end = spans[0]
        chunks = library.chunks_of(article.id) if library is not None else [fallback_chunks[article.id]]
        citations.append(citation_of(n, article, start, end, chunks))
        lines.append(f"《{article.title}》（{article.date}）[{n}]")
        if len(citations) >= REPORT_LINES:
            break
    if not lines:
        return "", []
    return "报道有：" + "；".join(lines) + "。", citations


__all__ = [
    "articles_on_pages",
    "candidate_citation",
    "citation_of",
    "clause_ends",
    "report_answer",
    "said_answer",
    "section_headings",
    "sentence_answer",
    "summary_answer",
]
