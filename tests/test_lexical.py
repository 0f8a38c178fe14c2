import math
from collections import Counter

import numpy as np
import pytest

from rag.bm25 import tokenize
from rag.lexical import TantivyLexicalStore
from rag.protocols import Selection
from rag.types import SearchFilters


def _select(*ids):
    return Selection(SearchFilters(source="any"), np.array(ids, dtype="int64"))


def _textbook_bm25(docs, query, k1=1.2, b=0.75):
    """Okapi BM25 written out, to check the engine against."""
    avg = sum(len(d) for d in docs) / len(docs)
    scores = []
    for doc in docs:
        tf = Counter(doc)
        score = 0.0
        for term in query:
            n = sum(term in d for d in docs)
            if not tf[term]:
                continue
            idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(doc) / avg))
        scores.append(score)
    return scores


def test_scores_are_okapi_bm25_over_the_project_tokens():
    texts = ["太原市召开会议研究工作", "太原理工大学南极科考队员出发", "太原市图书馆座无虚席", "南极南极"]
    docs = [tokenize(t) for t in texts]
    store = TantivyLexicalStore()
    store.add(range(len(docs)), docs)
    query = tokenize("南极科考")
    scores, slots = store.search(query, k=4)
    expected = _textbook_bm25(docs, query)
    assert slots.tolist() == sorted((i for i in range(4) if expected[i] > 0), key=lambda i: -expected[i])
    assert scores == pytest.approx([expected[i] for i in slots], rel=0.02)
    assert store.idf("南极") < store.idf("科考") and store.document_frequency("南极") == 2


def test_remove_and_a_selection_restrict_the_hits():
    store = TantivyLexicalStore()
    store.add([0, 1, 2], [["太原", "醋"], ["太原", "醋", "醋"], ["太原"]])
    store.remove([1])
    assert len(store) == 2
    assert store.search(["醋"], k=5)[1].tolist() == [0]
    assert store.search(["醋"], k=5, selection=_select(1, 2))[1].tolist() == []
    assert store.search(["太原"], k=5, selection=_select(2))[1].tolist() == [2]


def test_a_saved_generation_is_never_changed_by_a_copy(tmp_path):
    store = TantivyLexicalStore()
    store.add([0, 1], [["进博会"], ["晋祠"]])
    store.save(tmp_path / "lexical-000001")
    draft = store.copy()
    draft.remove([0])
    draft.add([2], [["进博会", "山西"]])
    draft.save(tmp_path / "lexical-000002")
    old = TantivyLexicalStore.load(tmp_path / "lexical-000001")
    new = TantivyLexicalStore.load(tmp_path / "lexical-000002")
    assert old.search(["进博会"], 5)[1].tolist() == [0] == store.search(["进博会"], 5)[1].tolist()
    assert new.search(["进博会"], 5)[1].tolist() == [2]
    # The draft's working folder became the new generation: nothing is left beside them.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lexical-000001", "lexical-000002"]
