from rag.bm25 import tokenize


def test_tokenize_drops_question_words_and_punctuation():
    tokens = tokenize("第八届进博会山西展厅的面积是多少？")
    assert "进博会" in tokens and "面积" in tokens
    assert "多少" not in tokens and "的" not in tokens and "？" not in tokens


def test_tokenize_folds_full_width_and_case():
    assert tokenize("ＰＭ２.５浓度") == tokenize("pm2.5浓度")
