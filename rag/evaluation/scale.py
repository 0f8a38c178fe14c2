"""``rag bench scale``: an index of N People's Daily chunks on one store engine, measured in one run.

The chunks are the corpus's paragraphs chunked as the product chunks articles, taken in a
seeded order and repeated past the corpus's size with a recorded variation (the title
names the repeat, the date moves by a day per repeat), so every chunk is a distinct text.

Vectors: the first ``embed`` distinct chunk texts are embedded by the configured model
(through the bench cache, so a second run embeds nothing); every other chunk gets the
vector of a model-embedded chunk plus Gaussian noise of width ``sigma`` per dimension,
renormalised (synthetic, as the issue allows where embedding 10^5 texts on a CPU is out of
reach; the result says how many of each).  Answer sentences (stored by the index beside
the chunks) get a fixed pseudo-random unit vector each: their cost on disk and in memory is
the product's, their content is not measured here.

Measured: indexing throughput (chunks/s, the embedding excluded), size on disk, load
time and resident memory of the loaded index in a fresh process (milvus-lite: in this
process, with a new client), retrieval latency p50/p95
(dense, lexical, hybrid; the query vectors computed beforehand), recall@10 of the dense
store against exact inner-product search over the same vectors, and one upload (a copy of
the index, a page of three articles, a save).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from rag.bm25 import tokenize
from rag.chunk import SentenceChunker
from rag.embed import HashingEmbedder, WrappingEmbedder
from rag.evaluation.cache import bench_dir, cached_embedder, chunker_of
from rag.evaluation.corpus import PD_DATE, PD_SOURCE, PD_TITLE, load_corpus, paragraph_article
from rag.index import Index
from rag.protocols import Embedder
from rag.retrieve import Retriever, RetrieverSettings
from rag.settings import Settings
from rag.stores import build_stores
from rag.text import split_sentences
from rag.types import Article

#: Articles per page file (``sync_source`` call) while building.
PAGE_ARTICLES = 2000


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype("float32")


def _seeded(text: str, dimension: int) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(text.encode("utf-8")))


class VariedEmbedder(WrappingEmbedder):
    """Documents: model vectors for the base chunks, noisy copies for their variations, a seeded
    random unit vector for anything else (answer sentences); queries: the model.

    ``name``, ``dimension`` and prompts are the model's, so the index records the model.
    """

    def __init__(
        self, inner: Embedder, base: dict[str, np.ndarray], sigma: float, exact: set[str] | None = None
    ) -> None:
        super().__init__(inner)
        #: Vectors keyed by chunk text (not embed text: a variation differs in its header only).
        self.base = base
        #: Chunk texts whose own vector is in ``base`` (the others borrow one and are varied).
        self.exact = set(base) if exact is None else exact
        self.base_headers = f"{PD_TITLE}（{PD_DATE}）"
        self.sigma = sigma

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """The model's query vectors."""
        return self.inner.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Base, varied or seeded-random vectors (see the class docstring); no model call."""
        out = np.empty((len(texts), self.dimension), dtype="float32")
        for row, text in enumerate(texts):
            header, _, body = text.partition("\n")
            vector = self.base.get(body)
            if vector is None:
                out[row] = _unit(_seeded(text, self.dimension).standard_normal(self.dimension))
            elif header == self.base_headers and body in self.exact:
                out[row] = vector
            else:
                noise = _seeded(text, self.dimension).standard_normal(self.dimension) * self.sigma
                out[row] = _unit(vector + noise)
        return out


@dataclass(frozen=True)
class ScaleResult:
    """What one ``rag bench scale`` run measured."""

    store: str
    chunks: int
    corpus_chunks: int
    model_vectors: int
    synthetic_vectors: int
    sigma: float
    dense_index: dict[str, Any]
    build_seconds: float
    build_cpu_seconds: float
    chunks_per_second: float
    disk_bytes: int
    load: dict[str, float]
    latency_ms: dict[str, dict[str, float]]
    recall_at_10: float
    upload_seconds: float
    queries: int
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def corpus_chunks(seed: int, paragraphs: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(paragraph line id, chunk text) of every distinct chunk of ``paragraphs`` (default: the
    People's Daily corpus), in a seeded order."""
    chunker = SentenceChunker(chunker_of(Settings()))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for line, text in enumerate(load_corpus() if paragraphs is None else paragraphs):
        for chunk in chunker.run([paragraph_article(line, text)]):
            if chunk.text not in seen:
                seen.add(chunk.text)
                out.append((f"pd-{line:05d}", chunk.text))
    random.Random(seed).shuffle(out)
    return out


def scale_articles(texts: Sequence[tuple[str, str]], n: int) -> list[Article]:
    """``n`` one-chunk articles: the corpus chunks in order, then again as repeat 1, 2, … (title
    ``人民日报·重N``, date moved N days), so every article is a distinct text."""
    start = date.fromisoformat(PD_DATE)
    articles = []
    for i in range(n):
        origin, text = texts[i % len(texts)]
        repeat = i // len(texts)
        title = PD_TITLE if repeat == 0 else f"{PD_TITLE}·重{repeat}"
        day = (start + timedelta(days=repeat)).isoformat()
        articles.append(
            Article(
                id=f"{origin}-{i % len(texts)}-r{repeat}",
                title=title,
                body=text,
                source=f"{PD_SOURCE.removesuffix('.txt')}-{i // PAGE_ARTICLES:04d}.txt",
                date=day,
                kind="news",
            )
        )
    return articles


def _query_sentences(texts: Sequence[str], count: int, seed: int) -> list[str]:
    """One sentence of at least 12 characters from each of ``count`` chunks."""
    rng = random.Random(seed)
    queries = []
    for text in rng.sample(list(texts), min(len(texts), count * 3)):
        sentences = [text[a:b] for a, b in split_sentences(text) if b - a >= 12]
        if sentences:
            queries.append(rng.choice(sentences))
        if len(queries) == count:
            break
    return queries


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    values = np.asarray(samples, dtype="float64") * 1000.0
    return {
        "p50": round(float(np.percentile(values, 50)), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
    }


def _timed(calls: Sequence[Any]) -> dict[str, float]:
    """Wall and CPU p50/p95 in ms of calling each of ``calls`` once."""
    wall, cpu = [], []
    for call in calls:
        w, c = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    walls, cpus = _percentiles(wall), _percentiles(cpu)
    return {"p50": walls["p50"], "p95": walls["p95"], "cpu_p50": cpus["p50"], "cpu_p95": cpus["p95"]}


def _disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _NamedHashing(HashingEmbedder):
    """A stand-in embedder with the model's name and width: loading an index embeds nothing."""

    def __init__(self, name: str, dimension: int) -> None:
        super().__init__(dimension)
        self._model_name = name

    @property
    def name(self) -> str:
        """The model's name (the manifest is checked against it)."""
        return self._model_name


def measure_load(path: Path, store: str, model: str, dimension: int) -> dict[str, float]:
    """Load the index at ``path`` (in this process) and report seconds, CPU and resident memory."""

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    settings = Settings(store=store, index_dir=path)
    stores = build_stores(settings)
    before = rss()
    wall, cpu = time.perf_counter(), time.process_time()
    index = Index.load(path, _NamedHashing(model, dimension), chunker_of(settings), stores=stores)
    index.bm25_search(["中国"], 1)  # the first search opens what a load may map lazily
    return {
        "seconds": round(time.perf_counter() - wall, 4),
        "cpu_seconds": round(time.process_time() - cpu, 4),
        "rss_bytes": rss() - before,
        "rss_bytes_per_chunk": round((rss() - before) / max(len(index), 1), 1),
    }


def _load_in_subprocess(path: Path, store: str, model: str, dimension: int) -> dict[str, float]:
    code = (
        "import json, sys; from pathlib import Path; from rag.evaluation.scale import measure_load; "
        "print(json.dumps(measure_load(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), store, model, str(dimension)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"loading the index in a fresh process failed: {proc.stderr.strip()[-1500:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_scale(
    settings: Settings,
    model: Embedder,
    *,
    chunks: int,
    store: str,
    embed: int = 3000,
    queries: int = 100,
    sigma: float = 0.03,
    seed: int = 0,
    paragraphs: Sequence[str] | None = None,
) -> ScaleResult:
    """Build, save, load and query an index of ``chunks`` chunks on ``store`` (see the module docstring);
    ``paragraphs`` replace the corpus (tests)."""
    texts = corpus_chunks(seed, paragraphs)
    articles = scale_articles(texts, chunks)
    base_texts = [t for _, t in texts[: min(embed, len(texts), chunks)]]
    cache = cached_embedder(settings, model)
    base_vectors = cache.encode_documents(
        [f"{a.title}（{a.date}）\n{a.body}" for a in articles[: len(base_texts)]]
    )
    base = dict(zip(base_texts, base_vectors, strict=True))
    embedder = VariedEmbedder(cache, base, sigma, exact=set(base_texts))
    # Chunk texts past the model-embedded ones borrow a model vector (varied): see the module docstring.
    for i, (_, text) in enumerate(texts[len(base_texts) : chunks]):
        base[text] = base_vectors[i % len(base_vectors)]
    synthetic = chunks - len(base_texts)

    path = bench_dir(settings) / f"scale-{store}-{chunks}"
    shutil.rmtree(path, ignore_errors=True)
    stores = build_stores(settings.model_copy(update={"store": store, "index_dir": path}))
    index = Index(embedder, chunker_of(settings), stores=stores)
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(articles), PAGE_ARTICLES):
        page = articles[start : start + PAGE_ARTICLES]
        index.sync_source(page[0].source, page)
    index.save(path)
    build_seconds, build_cpu = time.perf_counter() - wall, time.process_time() - cpu

    # Queries: a sentence of a model-embedded chunk; their vectors computed (and cached) first.
    asked = _query_sentences(base_texts, queries, seed)
    vectors = {q: index.query_vector(q) for q in asked}
    token_lists = {q: tokenize(q) for q in asked}
    retriever = Retriever(index, RetrieverSettings.from_settings(settings))
    latency = {
        "dense": _timed([lambda q=q: index.dense_search(vectors[q], 10) for q in asked]),
        "lexical": _timed([lambda q=q: index.bm25_search(token_lists[q], 10) for q in asked]),
        "hybrid": _timed([lambda q=q: retriever.run(q) for q in asked]),
    }

    # Recall@10 of the dense store against exact search over the same vectors.
    live = index.chunks()
    ids = np.asarray([c.id for c in live], dtype=object)
    matrix = embedder.encode_documents([c.embed_text for c in live])
    hits = 0
    for q in asked:
        exact = set(ids[np.argsort(-(matrix @ vectors[q][0]))[:10]].tolist())
        found = {c.id for c, _ in index.dense_search(vectors[q], 10)}
        hits += len(exact & found)
    recall = hits / (10 * max(len(asked), 1))

    # One upload: copy, a page of three new articles, save.
    upload_page = [
        Article(
            id=f"upload-{i}",
            title="上传",
            body=f"太原市第{i + 1}届读书节开幕，{text}",
            source="upload.txt",
            date="2025-11-05",
            kind="news",
        )
        for i, (_, text) in enumerate(texts[:3])
    ]
    wall = time.perf_counter()
    draft = index.copy()
    draft.sync_source("upload.txt", upload_page)
    draft.save(path)
    upload_seconds = time.perf_counter() - wall

    if store == "milvus":
        # milvus-lite serves a file to one process (until that process ends): loaded here, anew.
        from rag.milvus_collection import close_clients

        close_clients()
        load = measure_load(path, store, model.name, model.dimension)
    else:
        load = _load_in_subprocess(path, store, model.name, model.dimension)

    return ScaleResult(
        store=store,
        chunks=len(index),
        corpus_chunks=len(texts),
        model_vectors=len(base_texts),
        synthetic_vectors=synthetic,
        sigma=sigma,
        dense_index=dict(draft.manifest()["store"]["dense"] or {}),
        build_seconds=round(build_seconds, 1),
        build_cpu_seconds=round(build_cpu, 1),
        chunks_per_second=round(chunks / max(build_seconds, 1e-9), 1),
        disk_bytes=_disk_bytes(path),
        load=load,
        latency_ms=latency,
        recall_at_10=round(recall, 4),
        upload_seconds=round(upload_seconds, 4),
        queries=len(asked),
        context={
            "model": model.name,
            "seed": seed,
            "embed": embed,
            "path": str(path),
            "load_measured_in": "this process, new client" if store == "milvus" else "a fresh process",
        },
    )


def render_scale(result: ScaleResult) -> str:
    """A short text report."""
    mb = 1024 * 1024
    lines = [
        f"rag bench scale: {result.chunks:,} chunks on {result.store} ({result.model_vectors:,} model "
        f"vectors, {result.synthetic_vectors:,} synthetic, sigma {result.sigma})",
        f"dense index        {json.dumps(result.dense_index, ensure_ascii=False)}",
        f"indexing           {result.chunks_per_second:,.0f} chunks/s "
        f"({result.build_seconds} s wall, {result.build_cpu_seconds} s CPU; embedding excluded)",
        f"size on disk       {result.disk_bytes / mb:,.1f} MB",
        f"load               {result.load['seconds']} s wall, {result.load['cpu_seconds']} s CPU, "
        f"+{result.load['rss_bytes'] / mb:,.0f} MB resident "
        f"({result.load['rss_bytes_per_chunk']:,.0f} B/chunk)",
    ]
    for mode, figures in result.latency_ms.items():
        lines.append(
            f"{mode:<8} top-10    p50 {figures['p50']} ms, p95 {figures['p95']} ms "
            f"(CPU p50 {figures['cpu_p50']} ms, p95 {figures['cpu_p95']} ms)"
        )
    lines.append(
        f"recall@10          {result.recall_at_10} (dense store vs exact search, {result.queries} queries)"
    )
    lines.append(f"one upload         {result.upload_seconds} s (copy, 3 articles, save)")
    return "\n".join(lines)


__all__ = ["ScaleResult", "VariedEmbedder", "measure_load", "render_scale", "run_scale"]
