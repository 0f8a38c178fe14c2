"""Bridge questions: what else a story's reporter reported, answered from that person's articles."""

from rag.bridge import Bridge, answer_bridge, byline_names, split_bridge
from rag.types import Answer, Article, Chunk, Citation, Passage


def test_a_reporters_other_story_is_split_into_a_byline_question_and_the_rest():
    assert split_bridge("采写省政府新闻办发布会系列稿件的记者，在2023年8月还报道了哪项市级比赛？") == Bridge(
        "采写省政府新闻办发布会系列稿件的记者是谁？", "在2023年8月还报道了哪项市级比赛？", "记者"
    )
    assert split_bridge("这篇报道的摄影记者还拍了什么") == Bridge(
        "这篇报道的摄影记者是谁？", "还拍了什么？", "摄影记者"
    )
    # A question about the reporter alone, or about a story, is not a bridge.
    assert split_bridge("报道五市民生档案一站通查的记者是谁？") is None
    assert split_bridge("第八届进博会山西展厅的记者还原了什么场景？") is None
    assert split_bridge("山西展厅还有什么展品？") is None


def _quote(n, quote, article="a1"):
    return Citation(n, f"{article}#0", article, "标题", "2023-09-21", "p.txt", quote, 0, len(quote))


def test_byline_names_leave_out_role_words():
    answer = Answer(question="q", text="t", refused=False, citations=(_quote(1, "记者 王丹 通讯员 刘娜"),))
    assert byline_names(answer) == {"王丹", "刘娜"}


ARTICLES = {
    "a1": Article(
        "a1", "档案一站通查", "五市档案一站通查。(弓凤飞)", "p1.txt", "2022-07-29", "news", ("弓凤飞",)
    ),
    "a2": Article(
        "a2", "宣传日活动", "“公民道德宣传日”主题活动举行。", "p2.txt", "2023-09-21", "news", ("弓凤飞",)
    ),
    "a3": Article(
        "a3", "另一个宣传日", "“网络安全宣传日”活动举行。", "p2.txt", "2023-09-21", "news", ("司勇",)
    ),
}


def _passage(article_id, rank):
    article = ARTICLES[article_id]
    chunk = Chunk(
        f"{article_id}#0",
        article_id,
        article.body,
        0,
        len(article.body),
        article.title,
        article.date,
        article.source,
    )
    return Passage(chunk, 1.0 / rank, rank)


def _run(first_answer, ranked=("a3", "a1", "a2")):
    asked: list[tuple[str, list[str]]] = []

    def generate(question, passages):
        asked.append((question, [p.chunk.article_id for p in passages]))
        if question.endswith("是谁？"):
            return first_answer
        return Answer(
            question=question,
            text=f"{passages[0].chunk.text}[1]",
            refused=False,
            citations=(_quote(1, passages[0].chunk.text, passages[0].chunk.article_id),),
        )

    bridge = split_bridge("报道五市民生档案一站通查的记者，还报道了哪个“宣传日”的主题活动？")
    answer = answer_bridge(
        "问",
        bridge,
        lambda q, k: [_passage(a, i + 1) for i, a in enumerate(ranked)],
        generate,
        ARTICLES.__getitem__,
        5,
    )
    return answer, asked


def test_the_second_half_is_answered_only_from_the_reporters_other_articles():
    byline = Answer(
        question="q",
        text="《档案一站通查》的记者是弓凤飞。[1]",
        refused=False,
        citations=(_quote(1, "弓凤飞"),),
    )
    answer, asked = _run(byline)
    # 司勇's article ranked first and the first story itself are both left out.
    assert asked[1] == ("还报道了哪个“宣传日”的主题活动？", ["a2"])
    assert not answer.refused
    assert answer.text == "《档案一站通查》的记者是弓凤飞。[1]\n“公民道德宣传日”主题活动举行。[2]"
    assert [(c.n, c.article_id) for c in answer.citations] == [(1, "a1"), (2, "a2")]


def test_a_bridge_is_refused_when_the_reporter_or_their_other_story_is_not_found():
    refused_first = Answer(question="q", text="资料中没有", refused=True)
    answer, asked = _run(refused_first)
    assert answer.refused and not answer.citations and len(asked) == 1
    byline = Answer(question="q", text="…弓凤飞。[1]", refused=False, citations=(_quote(1, "弓凤飞"),))
    answer, asked = _run(byline, ranked=("a3", "a1"))
    assert answer.refused and not answer.citations
    assert answer.analysis["decision"] == "nothing else by 弓凤飞 answers"
