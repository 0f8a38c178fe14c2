import numpy as np

from rag.bm25 import BM25Index, tokenize


def test_tokenize_drops_question_words_and_punctuation():
    tokens = tokenize("第八届进博会山西展厅的面积是多少？")
    assert "进博会" in tokens and "面积" in tokens
    assert "多少" not in tokens and "的" not in tokens and "？" not in tokens


def test_tokenize_folds_full_width_and_case():
    assert tokenize("ＰＭ２.５浓度") == tokenize("pm2.5浓度")


def test_rare_matching_term_ranks_first():
    bm25 = BM25Index()
    texts = ["太原市召开会议研究工作", "太原理工大学南极科考", "太原市图书馆自习室座无虚席"]
    docs = [tokenize(t) for t in texts]
    bm25.add([0, 1, 2], docs)
    scores, positions = bm25.search(tokenize("南极科考"), k=3)
    assert positions.tolist() == [1]
    assert scores[0] > 0


def test_remove_leaves_gap_and_mask_filters():
    bm25 = BM25Index()
    bm25.add([0, 1, 2], [["太原", "醋"], ["太原", "醋", "醋"], ["太原"]])
    bm25.remove([1])
    assert len(bm25) == 2
    assert bm25.search(["醋"], k=5)[1].tolist() == [0]
    mask = np.array([False, True, True])
    assert bm25.search(["醋"], k=5, mask=mask)[1].tolist() == []
    assert bm25.tokens(1) == []


def test_idf_is_higher_for_rarer_terms():
    bm25 = BM25Index()
    bm25.add([0, 1, 2], [["太原", "醋"], ["太原"], ["太原"]])
    assert bm25.idf("醋") > bm25.idf("太原") >= 0
