"""Passages meeting the question's hard constraints, read past the top few."""

from rag.constrained import constrained_top
from rag.types import Article, Chunk, Passage

_BODIES = {
    "pd1": "合肥市多渠道解困，4万多名下岗职工得以安排，企业生产兴旺。",
    "pd2": "呼市政府确定13家企业搞股份制试点，项目陆续落户。",
    "pd3": "在广阔的安徽大地，一颗颗高新机械产业之星正在熠熠闪光。",
    "hou": "杏花岭区委书记侯森说，仅京东方一户企业，就带动40多个项目落户合肥。",
}
_ARTICLES = {
    k: Article(id=k, title="t", body=b, source=f"{k}.txt", date="2023-08-30", kind="news")
    for k, b in _BODIES.items()
}


def _passages(order: list[str]) -> list[Passage]:
    return [
        Passage(Chunk(f"{k}:0", k, _BODIES[k], 0, len(_BODIES[k]), "t", "2023-08-30", f"{k}.txt"), 1.0 / n, n)
        for n, k in enumerate(order, start=1)
    ]


def test_a_deeper_passage_meeting_the_constraints_replaces_the_lowest_failing_one():
    deep = _passages(["pd1", "pd2", "pd3", "hou"])
    top = constrained_top("侯森提到，合肥仅靠哪一户企业就带动了40多个项目落户？", deep, _ARTICLES.get, 2)
    assert [p.chunk.article_id for p in top] == ["pd1", "hou"]
    assert [p.rank for p in top] == [1, 2]


def test_without_constraints_or_anything_deeper_meeting_them_the_top_stays():
    deep = _passages(["pd1", "pd2", "pd3", "hou"])
    # No name, place, edition or figure to meet: retrieval's order is kept.
    plain = constrained_top("哪一户企业带动了项目落户？", deep, _ARTICLES.get, 2)
    assert [p.chunk.article_id for p in plain] == ["pd1", "pd2"]
    # 王五 is printed nowhere: nothing deeper is better.
    unmet = constrained_top("王五提到哪一户企业带动了项目落户？", deep, _ARTICLES.get, 2)
    assert [p.chunk.article_id for p in unmet] == ["pd1", "pd2"]


def test_an_article_deleted_since_the_search_meets_nothing_and_raises_nothing():
    from rag.errors import NotFoundError

    def article_of(article_id: str) -> Article:
        if article_id == "pd2":
            raise NotFoundError(f"no article with id {article_id!r}")
        return _ARTICLES[article_id]

    deep = _passages(["pd1", "pd2", "pd3", "hou"])
    top = constrained_top("侯森提到，合肥仅靠哪一户企业就带动了40多个项目落户？", deep, article_of, 2)
    assert [p.chunk.article_id for p in top] == ["pd1", "hou"]
