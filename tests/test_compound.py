"""Compound questions: split into parts, references resolved, answers joined."""

from rag.compound import combine, resolve_reference, split_compound
from rag.types import Answer, Citation


def _answer(question, text, quotes=(), refused=False):
    citations = tuple(Citation(n, f"c{n}", "a", "标题", "2023", "p.txt", q, 0, len(q)) for n, q in quotes)
    return Answer(question=question, text=text, refused=refused, citations=citations)


def test_only_two_real_questions_make_a_compound():
    assert split_compound("面积多大？有几家企业参展？") == ["面积多大？", "有几家企业参展？"]
    # 是吗？ is not a question of its own, and text after the last ？ is not asked.
    assert split_compound("展厅面积是435平方米？是吗？") == ["展厅面积是435平方米？是吗？"]
    assert split_compound("面积多大？有几家企业参展？另外") == ["面积多大？有几家企业参展？另外"]


def test_a_reference_is_read_as_the_earlier_span_or_as_the_bare_noun():
    span = _answer("哪个领域", "数字经济。[1]", [(1, "7家企业全部与数字经济深度融合。")])
    assert resolve_reference("杏花岭区在哪个板块主攻这一领域？", span) == "杏花岭区在哪个板块主攻数字经济？"
    whole = "7家企业全部与数字经济深度融合。"
    sentence = _answer("哪个领域", f"{whole}[1]", [(1, whole)])
    assert resolve_reference("杏花岭区在哪个板块主攻这一领域？", sentence) == "杏花岭区在哪个板块主攻领域？"
    assert resolve_reference("展厅有几家企业？", span) == "展厅有几家企业？"


def test_answers_are_joined_with_their_citations_numbered_on():
    one = _answer("面积多大？", "面积为435平方米。[1]", [(1, "面积435平方米的山西展厅")])
    two = _answer("几家企业？", "有7家。[1][2]", [(1, "其中位于我市的有7家"), (2, "7家企业参展")])
    joined = combine("面积多大？几家企业？", [one, two])
    assert joined.text == "面积为435平方米。[1]\n有7家。[2][3]"
    assert [(c.n, c.quote) for c in joined.citations] == [
        (1, "面积435平方米的山西展厅"),
        (2, "其中位于我市的有7家"),
        (3, "7家企业参展"),
    ]
    refused = combine("面积多大？几家企业？", [one, _answer("几家企业？", "资料中没有", refused=True)])
    assert refused.refused and refused.text == "资料中没有" and not refused.citations
