from rag.chunk import SentenceChunker
from rag.embed import HashingEmbedder
from rag.evidence_score import AnswerabilityModel
from rag.generate import REFUSAL_TEXT, ExtractiveGenerator
from rag.index import Index
from rag.types import Article, Passage

#: Lexical evidence only: the hashing fake's vectors carry no meaning, so dense similarity is
#: switched off and the threshold is the one a coverage-only model needs.
LEXICAL = AnswerabilityModel(dense_weight=0.0, threshold=0.3)

EXPO = Article(
    id="expo",
    title="进阶攀高向新行",
    body=(
        "本报讯 深秋时节，世界目光再次投向黄浦江畔。11月5日，第八届中国国际进口博览会启幕。\n"
        "本届进博会以“表里山河·晋览未来”为主题，面积435平方米的山西展厅将精彩亮相，其中位于我市的有7家。"
    ),
    source="000.txt",
    date="2025-11-05",
    kind="news",
)
VINEGAR = Article(
    id="vinegar",
    title="紫林醋业举办安全生产培训",
    body="本报讯 11月1日，紫林醋业组织全体员工开展安全生产专项培训。",
    source="000.txt",
    date="2025-11-05",
    kind="brief",
)


def _passages(*articles):
    chunks = SentenceChunker().run(articles)
    return [Passage(chunk=c, score=1.0 / (i + 1), rank=i + 1) for i, c in enumerate(chunks)]


def _generator(*articles):
    """An extractive generator reading a real in-memory index of ``articles`` (hashing embedder)."""
    index = Index(HashingEmbedder(64))
    for article in articles:
        index.sync_source(article.source + article.id, [article])
    return ExtractiveGenerator(library=lambda: index, answerability=LEXICAL)


def test_typed_answer_is_one_short_sentence_with_the_span_copied_from_the_quote():
    gen = _generator(EXPO, VINEGAR)
    answer = gen.generate("第八届进博会山西展厅面积多大？", _passages(EXPO, VINEGAR))
    assert not answer.refused
    # The answer leads with the figure; the citation carries the whole supporting sentence.
    assert answer.text.endswith("435平方米。[1]") and len(answer.text) <= 30
    (citation,) = answer.citations
    assert "435平方米" in citation.quote and EXPO.body[citation.start : citation.end] == citation.quote
    assert answer.analysis is not None and answer.analysis["answer_type"] == "area"


def test_a_near_miss_on_any_hard_constraint_is_refused():
    gen = _generator(EXPO, VINEGAR)
    passages = _passages(EXPO, VINEGAR)
    for question in (
        "第九届进博会山西展厅面积多大？",  # edition
        "2024年进博会山西展厅面积多大？",  # year the page does not print
        "大同市图书馆有多少个座位？",  # a place the pages never name
        "紫林醋业11月3日开展了什么培训？",  # another day
    ):
        answer = gen.generate(question, passages)
        assert answer.refused, (question, answer.text)
        assert answer.analysis is not None and answer.analysis["decision"]


def test_a_count_must_be_about_the_thing_asked():
    # 7家 counts Taiyuan's firms, not the hall's visitors.
    answer = _generator(EXPO).generate("山西展厅接待了多少名观众？", _passages(EXPO))
    assert answer.refused


def test_answer_quotes_the_sentence_holding_the_asked_figure_with_exact_spans():
    passages = _passages(EXPO, VINEGAR)
    answer = _generator(EXPO, VINEGAR).generate("第八届进博会山西展厅面积多大？", passages)
    assert not answer.refused
    assert "435平方米" in answer.text and answer.text.rstrip().endswith("]")
    first = answer.citations[0]
    assert first.n == 1 and "[1]" in answer.text
    assert EXPO.body[first.start : first.end] == first.quote
    assert first.article_id == "expo" and first.date == "2025-11-05"


def test_the_paper_lead_is_not_part_of_the_quote():
    answer = _generator(VINEGAR).generate("紫林醋业什么时候开展安全生产培训？", _passages(VINEGAR))
    assert not answer.refused
    assert answer.citations[0].quote.startswith("11月1日")


def test_refuses_when_the_asked_kind_of_answer_is_missing():
    # On topic, but the pages give no count of trainees.
    answer = ExtractiveGenerator().generate("紫林醋业培训有多少名员工参加？", _passages(VINEGAR, EXPO))
    assert answer.refused and answer.text == REFUSAL_TEXT and not answer.citations


def test_refuses_an_edition_the_pages_do_not_mention():
    answer = ExtractiveGenerator().generate("第九届进博会山西展厅面积多大？", _passages(EXPO))
    assert answer.refused


def test_refuses_an_unrelated_question_and_an_empty_retrieval():
    gen = ExtractiveGenerator()
    assert gen.generate("太原地铁2号线什么时候开通？", _passages(VINEGAR)).refused
    assert gen.generate("任何问题", []).refused


def test_wo_shi_reads_as_taiyuan():
    answer = _generator(EXPO).generate("山西展厅里有几家太原企业？", _passages(EXPO))
    assert not answer.refused and "7家" in answer.text


def test_stream_yields_text_then_the_same_answer():
    gen = ExtractiveGenerator()
    items = list(gen.stream("第八届进博会山西展厅面积多大？", _passages(EXPO)))
    *pieces, final = items
    assert "".join(pieces) == final.text
    assert final.citations


def test_a_second_quote_from_another_story_must_add_something():
    other = Article(
        id="gd1998",
        title="广东外贸",
        body="广东外贸总量占全国的40%左右，增长明显。",
        source="pd.txt",
        date="1998-01-05",
        kind="news",
    )
    taiyuan = Article(
        id="ty",
        title="支持太原建设开放高地",
        body="太原外贸总量占全省的80%左右，对全省开放发展具有重要牵引作用。",
        source="003.txt",
        date="2023-09-21",
        kind="brief",
    )
    answer = _generator(taiyuan, other).generate(
        "太原外贸总量占全省的比例是多少？", _passages(taiyuan, other)
    )
    assert not answer.refused and "80%" in answer.text
    assert {c.article_id for c in answer.citations} == {"ty"}


def test_a_frequent_word_the_tagger_reads_as_a_name_is_no_answer_to_who():
    contract = Article(
        id="steel",
        title="太钢首单不锈钢复合板订单完成",
        body="太钢与联盛浆纸公司签订合同。为高效完成合同，各部门多次召开协调会加以周密部署。",
        source="003.txt",
        date="2023-09-21",
        kind="news",
    )
    answer = _generator(contract).generate("太钢和谁签了合同？", _passages(contract))
    assert "周密" not in answer.text
    # 和谁: the counterpart after 与/和/供, not the asker's own 太钢.
    assert not answer.refused and "联盛浆纸公司" in answer.text


def test_what_the_paper_reported_in_a_month_lists_that_months_pages_not_only_the_ranked_ones():
    notice = Article(
        id="notice", title="某公司通告", body="太原广场项目现决定更换物业公司。", source="004.txt",
        date="2022-07-29", kind="notice",
    )  # fmt: skip
    road = Article(
        id="road", title="经北街建设火热推进", body="本报讯 我市经北街施工现场的路床已基本成型。",
        source="004.txt", date="2022-07-29", kind="news",
    )  # fmt: skip
    gen = _generator(EXPO, VINEGAR, notice, road)
    # Retrieval ranked only the notice; the month's news is listed too, news first.
    answer = gen.generate("2022年7月太原发生了什么？", _passages(notice))
    assert not answer.refused
    assert answer.text.index("经北街建设火热推进") < answer.text.index("某公司通告")
    assert "进阶攀高向新行" not in answer.text  # printed in 2025
    assert {c.article_id for c in answer.citations} == {"notice", "road"}


def test_a_list_question_is_refused_when_no_sentence_lists_anything():
    topics = Article(
        id="topics",
        title="紫林醋业举办安全生产培训",
        body="本报讯 11月1日，紫林醋业开展安全生产专项培训。培训讲解了有限空间作业、触电事故防范等内容。",
        source="001.txt",
        date="2025-11-05",
        kind="brief",
    )
    listed = _generator(topics).generate("紫林醋业的安全生产培训讲了哪些内容？", _passages(topics))
    assert not listed.refused and "触电事故防范" in listed.citations[0].quote
    bare = _generator(VINEGAR).generate("紫林醋业的安全生产培训讲了哪些内容？", _passages(VINEGAR))
    assert bare.refused  # the only sentence names the training, not what it covered


ROAD = Article(
    id="road",
    title="经北街建成通车",
    body=(
        "本报讯 经北街是我市为机场改扩建工程实施的配套路网其中的一条,位于龙城大街以南,"
        "西起大昌路,东至鸣谦大街,全长约5.24公里。"
    ),
    source="001.txt",
    date="2023-08-30",
    kind="news",
)


def test_a_restatement_in_the_readers_words_gives_way_to_the_papers_clause():
    """马路 is the reader's word: 经北街马路…约为5.24公里 would put it in the paper's mouth."""
    gen = _generator(ROAD)
    answer = gen.generate("经北街这条马路全长多少公里？", _passages(ROAD))
    assert not answer.refused
    assert answer.text == "全长约5.24公里。[1]"
    (citation,) = answer.citations
    assert citation.quote.startswith("经北街是我市")
    assert ROAD.body[citation.start : citation.end] == citation.quote


FUND = Article(
    id="fund",
    title="彩塑妆金工艺人才培养项目成果展",
    body="本报讯 山西大学美术学院彩塑妆金工艺人才培养项目成果展开幕。该项目由国家艺术基金资助,旨在培养人才。",
    source="002.txt",
    date="2022-07-29",
    kind="news",
)


def test_a_what_question_is_answered_by_the_printed_phrase_ending_in_the_asked_kind():
    answer = _generator(FUND).generate("彩塑妆金工艺人才培养项目由什么基金资助？", _passages(FUND))
    assert answer.text == "彩塑妆金工艺人才培养项目由国家艺术基金资助。[1]"
    # No phrase ending in the kind word: the sentence answers, as before.
    answer = _generator(FUND).generate("彩塑妆金工艺人才培养项目由什么机构资助？", _passages(FUND))
    assert "机构" not in answer.text


def test_the_best_passages_article_is_read_whole():
    """Among many articles the chunk holding the answer falls out of the top five; the lead stays first."""
    filler = "".join(f"杏花岭区第{i}项工作稳步推进，各项任务有序落实。" for i in range(1, 40))
    visit = Article(
        id="visit",
        title="借鉴成功经验 举全区之力推动高质量发展",
        body=f"本报讯 杏花岭区委书记侯森随市委赴合肥考察学习。{filler}这次参观的7家企业全部与数字经济融合。",
        source="003.txt",
        date="2023-08-30",
        kind="news",
    )
    chunks = SentenceChunker().run([visit])
    assert len(chunks) >= 3 and "7家企业" in chunks[-1].text
    lead_only = [Passage(chunk=chunks[0], score=1.0, rank=1)]
    answer = _generator(visit).generate("侯森在合肥考察时参观了几家企业？", lead_only)
    assert not answer.refused and "7家" in answer.text
    (citation,) = answer.citations
    assert citation.quote.startswith("这次参观的7家企业") and citation.chunk_id == chunks[-1].id
