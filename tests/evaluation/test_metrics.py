import math

import pytest

from rag.evaluation.bench import ict_scores
from rag.evaluation.metrics import (
    char_f1,
    contains_answer,
    first_sentence,
    hit_at,
    keypoint_recall,
    longest_common_run,
    ndcg_at,
    normalize_answer,
    percentile,
    quote_supports,
    rank_scores,
    reciprocal_rank,
)

# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "variant", ["435平方米", "435㎡", "四百三十五平方米", "４３５平方米", "435 平米", "435m2"]
)
def test_area_spellings_normalise_alike(variant):
    assert normalize_answer(variant) == "435平方米"


def test_chinese_numerals_become_arabic():
    assert normalize_answer("四百三十五") == "435"
    assert normalize_answer("二〇二五年") == "2025年"
    assert normalize_answer("两千三百八十一名") == "2381名"
    assert normalize_answer("第八届") == "第8届"
    assert normalize_answer("十一月") == "11月"
    assert normalize_answer("一万二千") == "12000"


def test_words_made_of_unit_characters_are_left_alone():
    # 万柏林区 is a district and 千余 "over a thousand": no digit, so no number.
    assert normalize_answer("万柏林区") == "万柏林区"
    assert normalize_answer("千余公里") == "千余公里"


def test_scaled_numbers_percent_and_separators():
    assert normalize_answer("5111.5万元") == normalize_answer("51,115,000元") == "51115000元"
    assert normalize_answer("五千一百一十一点五万元") == "51115000元"
    assert normalize_answer("百分之七十") == normalize_answer("70％") == "70%"
    assert normalize_answer("57.9%") == "57.9%"


def test_widths_spaces_punctuation_and_citation_markers_fold():
    assert normalize_answer("“表里山河·晋览未来”[1]") == normalize_answer("表里山河 晋览未来")
    assert normalize_answer("ＰＭ２.５") == "pm2.5"


def test_contains_answer_matches_equivalent_spans_only():
    assert contains_answer("面积四百三十五平方米的山西展厅[1]", ["435㎡"])
    assert contains_answer("七成产品售出", ["70%", "七成"])
    assert not contains_answer("面积4350平方米", ["435平方米"])
    # The decimal point is kept: 57.9% is not 579.
    assert not contains_answer("增长57.9%", ["579"])
    assert not contains_answer("任何回答", [])


def test_char_f1_hand_cases():
    assert char_f1("太原", "太原") == 1.0
    assert char_f1("太原", "晋中") == 0.0
    assert char_f1("太原市", "太原") == pytest.approx(0.8)  # P 2/3, R 1
    # Equal after normalisation, so a perfect score despite different spelling.
    assert char_f1("四百三十五平方米", "435㎡") == 1.0
    assert char_f1("", "太原") == 0.0


def test_keypoint_recall_counts_covered_points():
    answer = "会议要求抓好空气质量调度和扬尘治理。"
    assert keypoint_recall(answer, ["空气质量", "扬尘", "机动车"]) == pytest.approx(2 / 3)
    assert keypoint_recall(answer, []) == 0.0


# --------------------------------------------------------------------------- ranking metrics


def test_hit_at_k():
    ranking = [False, False, True, False]
    assert [hit_at(ranking, k) for k in (1, 2, 3, 10)] == [0.0, 0.0, 1.0, 1.0]
    assert hit_at([], 5) == 0.0


def test_reciprocal_rank_respects_depth():
    assert reciprocal_rank([False, True]) == 0.5
    assert reciprocal_rank([False] * 10 + [True], k=10) == 0.0
    assert reciprocal_rank([False] * 10 + [True], k=11) == pytest.approx(1 / 11)


def test_ndcg_hand_computed():
    ranking = [False, True, False, True]
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg_at(ranking, 10, total_relevant=2) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # A third relevant passage that was not retrieved lowers the score.
    ideal3 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranking, 10, total_relevant=3) == pytest.approx(dcg / ideal3)
    assert ndcg_at([True, False], 10, total_relevant=1) == 1.0
    assert ndcg_at([False, False], 10, total_relevant=0) == 0.0


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([], 50) is None


def test_rank_scores_agree_with_the_per_ranking_metrics():
    rankings = [[False, True], [True], [False] * 10 + [True], [], [False, False, True]]
    ranks = [next((i + 1 for i, rel in enumerate(r) if rel), None) for r in rankings]
    scores = rank_scores(ranks, (1, 3, 5))
    for k in (1, 3, 5):
        assert scores[f"hit@{k}"] == round(sum(hit_at(r, k) for r in rankings) / len(rankings), 4)
    assert scores["mrr@10"] == round(sum(reciprocal_rank(r) for r in rankings) / len(rankings), 4)
    # The benchmarks' R@k and MRR@10 are the same figures under their own names.
    assert ict_scores(ranks, (1, 3, 5)) == {
        k.replace("hit", "R").replace("mrr", "MRR"): v for k, v in scores.items()
    }
    assert rank_scores([], (1,)) == {"hit@1": None, "mrr@10": None}


def test_longest_common_run():
    assert longest_common_run("abcdef", "xxcdex") == 3
    assert longest_common_run("", "abc") == 0
    assert longest_common_run("太原市", "晋中市") == 1


def test_quote_supports_by_gold_span_key_point_or_evidence_overlap():
    evidence = ["面积435平方米的山西展厅将精彩亮相"]
    # The gold span, in another spelling.
    assert quote_supports("展厅共四百三十五平方米。", ["435平方米"], [])
    # A key point of a list question.
    assert quote_supports("涵盖文旅、农产品等板块。", ["文旅", "康养"], [])
    # Eight normalised characters shared with the evidence (punctuation and spaces fold away) …
    assert quote_supports("山西展厅，将 精彩亮相！", ["不相干"], evidence)
    # … but seven are not enough,
    assert not quote_supports("山西展厅将精彩。", ["不相干"], evidence)
    # and a quote from elsewhere in the same chunk does not support the answer.
    assert not quote_supports("本届进博会以“表里山河·晋览未来”为主题。", ["435平方米"], evidence)
    # Evidence shorter than eight characters must be quoted whole.
    assert quote_supports("全省26家优质企业参展。", ["不相干"], ["26家优质"])
    assert not quote_supports("全省26家企业参展。", ["不相干"], ["26家优质"])


def test_first_sentence_drops_markers_and_stops_at_the_first_end_mark():
    assert first_sentence("山西展厅将亮相！[1]面积435平方米。[2]") == "山西展厅将亮相！"
    assert first_sentence("面积435平方米[1]") == "面积435平方米"
    assert first_sentence("  有多大？答：435平方米。") == "有多大？"
