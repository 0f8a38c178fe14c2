"""Evidence: constraint checks against an article, typed spans in a sentence."""

import re

import pytest

from rag.evidence_match import constraint_met, satisfies
from rag.evidence_spans import typed_spans
from rag.question import analyze
from rag.question_constraints import Constraint
from rag.types import Article


def _article(body, title="标题", date="2023-09-21", kind="news"):
    return Article(id="a", title=title, body=body, source="p.txt", date=date, kind=kind)


def test_editions_years_months_and_days():
    text = "第八届进博会启幕。1至8月浓度下降。"
    assert constraint_met(Constraint("edition", "第八届", 8), text, "2025-11-05")
    assert not constraint_met(Constraint("edition", "第九届", 9), text, "2025-11-05")
    # The page's date gives the year of an article that never prints it.
    assert constraint_met(Constraint("year", "2025年", 2025), text, "2025-11-05")
    assert not constraint_met(Constraint("year", "2024年", 2024), text, "2025-11-05")
    # 1至8月 covers May, not September (although the page is dated in September).
    assert constraint_met(Constraint("month", "5月", 5), text, "2023-09-21")
    assert not constraint_met(Constraint("month", "9月", 9), text, "2023-09-21")
    assert not constraint_met(Constraint("day", "11月6日", "11-6"), "11月4日，晋源区…", "2021-11-08")


def test_names_abbreviate_only_when_short():
    text = "太原钢铁集团与山西财经大学"
    assert constraint_met(Constraint("organisation", "太钢", "太钢"), text, "")
    assert not constraint_met(Constraint("organisation", "山西大学", "山西大学"), text, "")


def test_two_years_are_alternatives():
    analysis = analyze("2021年和2025年这两篇报道，山西展厅面积多大？")
    assert not satisfies(analysis, _article("面积435平方米的山西展厅。", date="2025-11-05"))


def test_roundup_items_are_checked_one_by_one_in_the_generator():
    analysis = analyze("阳曲县负责人11月4日和哪家企业签署了协议？")
    roundup = _article(
        "晋源区\n11月4日，晋源区负责人赴山西建投集团有限公司签署协议。\n阳曲县\n11月2日，阳曲县调研。"
    )
    # The article as a whole names both; the generator checks each item (see test_generate).
    assert not satisfies(analysis, roundup)


def test_typed_spans_hold_the_asked_kind_and_not_the_question_words():
    figure = analyze("第八届进博会山西展厅面积多大？")
    sentence = "本届进博会以“表里山河·晋览未来”为主题，面积435平方米的山西展厅将精彩亮相。"
    assert [sentence[s:e] for s, e in typed_spans(sentence, figure)] == ["435平方米"]
    day = analyze("山西财经大学的应急疏散演练是哪天开展的？")
    sentence = "11月2日，山西财经大学在坞城校区开展2025年应急疏散演练活动。"
    assert "11月2日" in [sentence[s:e] for s, e in typed_spans(sentence, day)]
    person = analyze("在省政府新闻办发布会上介绍农交会情况的是哪位副市长？")
    sentence = "副市长蔡江泽出席并介绍有关情况。"
    assert [sentence[s:e] for s, e in typed_spans(sentence, person)] == ["蔡江泽"]
    org = analyze("晋源区负责人11月4日和哪家企业签署了战略合作框架协议？")
    sentence = "11月4日，晋源区负责人带队赴山西省建设投资集团有限公司，并签署战略合作框架协议。"
    assert [sentence[s:e] for s, e in typed_spans(sentence, org)] == ["山西省建设投资集团有限公司"]


def test_the_city_is_a_constraint_met_by_the_papers_own_names_for_it():
    analysis = analyze("太原地铁2号线全长多少公里？")
    assert ("place", "太原") in {(c.kind, c.value) for c in analysis.constraints}
    elsewhere = _article("北京地铁2号线全长23公里。", date="1998-01-05")
    assert satisfies(analysis, elsewhere)  # a 1998 paragraph about Beijing cannot answer
    district = _article("迎泽区年底前建成20家社区食堂。")
    assert not satisfies(analyze("太原年底前建成多少家社区食堂？"), district)
    assert not satisfies(analyze("省会年底前建成多少家社区食堂？"), _article("我市年底前建成20家社区食堂。"))


def _spans(question, sentence):
    return [sentence[s:e] for s, e in typed_spans(sentence, analyze(question))]


def test_a_which_place_question_is_answered_by_a_place_of_that_kind_with_its_full_address():
    sentence = "9月20日,太原市护路中心、阳曲县委政法委等单位在阳曲县高村乡北白村开展主题宣传活动。"
    assert _spans("主题宣传活动是在哪个村开展的？", sentence) == ["阳曲县高村乡北白村"]
    junction = "汇丰街道新兴社区干部在北中环街文兴路口发现一位老人，4名社区干部上前询问。"
    found = _spans("社区干部是在什么地方发现那位走失老人的？", junction)
    assert "北中环街文兴路口" in found and "名社区" not in found
    venue = "第八届进博会启幕，宛如“四叶草”的国家会展中心（上海）敞开怀抱，山西展厅精彩亮相。"
    assert _spans("太原企业去进博会，展会在哪个场馆举办？", venue) == ["国家会展中心"]
    # 哪个板块 is answered by a …板块, not by a word the tagger misreads as a place (深度).
    sector = "杨家峪板块大力发展数字经济产业。这次参观的7家企业全部与数字经济深度融合。"
    assert _spans("杏花岭区在哪个板块主攻数字经济？", sector) == ["杨家峪板块"]


def test_a_count_is_a_figure_about_the_counted_thing_not_a_label():
    question = "山西财大应急疏散演练时，来了多少老师学生？"
    assert _spans(question, "演练模拟1号至3号学生公寓突发火灾。") == []
    from rag.evidence_counts import about_head

    sentence = "11月2日，山西财经大学开展应急疏散演练活动，4000余名师生参加演练。"
    span = sentence.index("4000余名"), sentence.index("4000余名") + 6
    # 师生 is the paper's contraction of 老师学生.
    assert about_head(sentence, span, analyze(question).head, "number")


def test_compound_event_and_street_names_must_be_printed():
    text = "7月26日,全市工业高质量发展大会召开。经北街全长约5.24公里。"
    event = next(c for c in analyze("全市服务业高质量发展大会是哪天召开的？").constraints if c.kind == "name")
    assert not constraint_met(event, text, "2022-07-27")
    same = next(c for c in analyze("全市工业高质量发展大会是哪天召开的？").constraints if c.kind == "name")
    assert constraint_met(same, text, "2022-07-27")
    street = next(c for c in analyze("机场东路全长多少公里？").constraints if c.kind == "place")
    assert street.value == "机场东路" and not constraint_met(street, text, "2022-07-29")
    # A compound's words printed apart still name it: 省政府新闻办举行新闻发布会.
    press = next(
        c for c in analyze("在省政府新闻办发布会上介绍农交会的是谁？").constraints if c.kind == "name"
    )
    assert constraint_met(press, "9月20日,省政府新闻办举行新闻发布会,副市长蔡江泽出席。", "2023-09-21")
    city = {(c.kind, c.value) for c in analyze("大同市档案馆的查档电话是多少？").constraints}
    assert ("place", "大同市") in city


def test_a_when_question_is_answered_by_a_date_beside_its_event_not_a_dateline():
    dateline = "7月28日,记者在紧邻马练营路的经北街施工现场看到,该街西侧施工的路床已基本成型。"
    assert _spans("经北街预计什么时候建成通车？", dateline) == []
    training = "11月1日，紫林醋业组织全体员工开展安全生产专项培训。"
    assert _spans("紫林醋业的安全生产专项培训是哪天举办的？", training) == ["11月1日"]  # 开展 is 举办
    news = "9月17日消息,太钢供联盛浆纸公司用的不锈钢复合板生产合同完成。"
    assert _spans("太钢首单不锈钢复合板订单完成的消息是哪天发布的？", news) == ["9月17日"]


def test_a_sentence_about_another_district_does_not_answer():
    from rag.evidence_match import about_another_district

    analysis = analyze("清徐县行政审批服务管理局要推动哪些便民举措常态化运行？")
    assert about_another_district("阳曲县行政审批服务管理局局长田艳说,阳曲县要不断强审批。", analysis)
    assert not about_another_district("清徐县行政审批服务管理局推动“跨省通办”常态化运行。", analysis)
    assert not about_another_district("该局推动“跨省通办”常态化运行。", analysis)


def test_a_name_the_tagger_cuts_into_scraps_is_a_constraint():
    names = [
        c.text for c in analyze("去年首次参加进博会的六味斋，董事长是谁？").constraints if c.kind == "name"
    ]
    assert names == ["六味斋"]


def test_a_firm_name_read_as_an_idiom_is_kept_whole():
    sentence = "现决定更换物业公司,解除与山西众诚物业管理有限公司的合作。"
    assert _spans("项目地块二要解除与哪家物业公司的合作？", sentence) == ["山西众诚物业管理有限公司"]


def test_a_compound_counts_as_printed_only_when_its_words_stand_together():
    event = next(c for c in analyze("全市服务业高质量发展大会是哪天召开的？").constraints if c.kind == "name")
    scattered = "全市服务业增加值增长。……7月26日,全市工业高质量发展大会召开。"
    assert not constraint_met(event, scattered, "2022-07-27")


def test_a_round_up_item_is_about_the_district_its_heading_names():
    from rag.evidence_match import about_another_district

    analysis = analyze("综改示范区党工委11月5日开展了什么活动？")
    assert about_another_district("确保党史学习教育有声有色开展。", analysis, "基层进行时中北高新区\n")
    assert not about_another_district("确保党史学习教育有声有色开展。", analysis, "基层进行时综改示范区\n")


def test_a_street_named_once_in_an_article_about_another_street_is_not_its_subject():
    from rag.chunk import SentenceChunker
    from rag.embed import HashingEmbedder
    from rag.evidence import gather
    from rag.evidence_score import LEXICAL_MODEL
    from rag.index import Index
    from rag.types import Passage

    road = _article(
        "本报讯 经北街是我市机场配套路网的一条，全长约5.24公里。我市还将陆续开工建设机场东路。",
        title="经北街建设火热推进",
        date="2022-07-29",
    )
    index = Index(HashingEmbedder(64))
    index.sync_source("p.txt", [road])
    passages = [Passage(c, 1.0, 1) for c in SentenceChunker().run([road])]
    east, _ = gather(analyze("机场东路全长多少公里？"), passages, index, LEXICAL_MODEL)
    assert east == []
    jingbei, _ = gather(analyze("经北街全长多少公里？"), passages, index, LEXICAL_MODEL)
    assert jingbei and jingbei[0].span_text == "约5.24公里"


def test_a_measure_stated_by_the_lead_covers_a_figure_paragraphs_later():
    from rag.evidence import _mentions

    body = (
        "本报讯 9月17日消息,太钢的生产合同完成,这也是太钢的首单不锈钢复合板订单。\n"
        "纸浆塔是造纸用的关键部件。\n"
        "据了解,太钢供联盛浆纸公司用的不锈钢复合板生产合同有408块,共计1159吨。"
    )
    article = _article(body, title="太钢首单不锈钢复合板产品获肯定")
    start = body.index("据了解")
    assert _mentions("订单", article, start, len(body))
    assert not _mentions("特等奖", article, start, len(body))


def test_when_no_noun_of_the_question_is_ever_printed_nothing_ties_a_sentence_to_it():
    from rag.evidence_score import nouns_apart

    class Archive:
        def document_frequency(self, token):
            return 0 if token in ("亲人", "手机软件") else 3

    analysis = analyze("七月半那天想在线上免费追念亲人，该用手机软件里的什么功能？")
    assert nouns_apart(analysis, "有条件的社区开办了儿童课外学堂,免费提供辅导。", "标题", Archive()) == 1.0


def test_a_noun_none_of_the_retrieved_articles_prints_ties_no_sentence_either():
    """Among a large archive 亲人 is printed somewhere; the articles retrieved never print it."""
    from rag.evidence_score import nouns_apart

    class Archive:
        def document_frequency(self, token):
            return 3

    analysis = analyze("七月半那天想在线上免费追念亲人，该用手机软件里的什么功能？")
    sentence = "有条件的社区开办了儿童课外学堂,免费提供辅导。"
    assert nouns_apart(analysis, sentence, "标题", Archive(), printed=["社区开办儿童课外学堂"]) == 1.0
    # Where a retrieved article prints it, the noun says which sentence is about it.
    printing = "打开手机软件里的云祭扫功能。"
    assert nouns_apart(analysis, printing, "标题", Archive(), printed=["打开手机软件里的云祭扫功能"]) == 0.0


def test_an_article_printing_none_of_the_scene_a_leading_clause_sets_is_another_story():
    from rag.evidence_score import nouns_apart

    class Archive:
        def document_frequency(self, token):
            return 3

    analysis = analyze("晋省那所财经类高校搞火灾逃生练习时，来了多少老师学生？")
    sentence = "台上现身说法的是18岁的服刑犯，台下专注听讲的是100多名在校中学生。"
    prison = "在江苏宜兴监狱的水泥操场上，一次法制教育课正在进行。" + sentence
    assert nouns_apart(analysis, sentence, "标题", Archive(), body=prison) == 1.0
    # The drill's own story prints the fire: its sentence counting 师生 is about the asked clause.
    drill = "山西财经大学开展应急疏散演练，4000余名学生参加演练。演练模拟学生公寓突发火灾。"
    assert nouns_apart(analysis, "4000余名学生参加演练。", "标题", Archive(), body=drill) == 0.0


def test_wording_none_of_the_retrieved_articles_prints_does_not_count_against_a_sentence():
    """自称 and 后来 are printed somewhere in a large archive: that tells no article apart."""
    from rag.evidence_score import coverage, term_weights

    class Library:
        def document_frequency(self, token):
            return 3

        def idf(self, token):
            return 4.0

    question = analyze("自称链主企业的那家集团，后来完成的首单订单共计多少吨？")
    sentence = "太钢首单订单共计1159吨。"
    printed = ["太钢首单订单共计1159吨", "链主企业"]
    everywhere = term_weights(question, Library())
    here = term_weights(question, Library(), printed)
    assert everywhere["自称"] > 0 and everywhere["后来"] > 0
    assert here["自称"] < 0 and here["后来"] < 0
    # A noun stays a fact asked about, printed or not: 集团 still counts against the sentence.
    assert here["集团"] > 0
    assert coverage(here, sentence, "") > coverage(everywhere, sentence, "")
    # A pronoun glued to its measure word (那条) and an idiom (从头到尾) are wording too.
    paraphrase = analyze("通往飞机场那条新修马路经北街从头到尾多长？")
    weights = term_weights(paraphrase, Library(), ["经北街全长约5.24公里"])
    assert weights["那条"] < 0 and weights["从头到尾"] < 0 and weights["经北街"] > 0


def test_a_bound_does_not_count_what_a_how_many_question_asks():
    # 超过100项 says more than 100; the count asked (几项) is 89项.
    question = analyze("理工大这回拿到的国家自科资助里，面向年轻学者的那一类批了几项？")
    assert _spans_of(question.text, "太原理工大学是全省唯一获批项目超过100项的单位。") == []
    assert _spans_of(question.text, "其中，重点项目1项、青年科学基金项目89项。") == ["1项", "89项"]


@pytest.mark.parametrize(
    ("question", "sentence", "figure", "other"),
    [
        # A half-year figure does not answer a question about the whole year.
        ("杏花岭区2023年全年规上工业增速是多少？", "今年上半年规上工业增速达到57.9%。", "57.9%", True),
        ("全年增速是多少？", "1—9月，增速达到12%。", "12%", True),
        ("上半年增速是多少？", "杏花岭区今年上半年规上工业增加值的增速达到57.9%。", "57.9%", False),
        ("全年增速是多少？", "全年增速达到8%，其中上半年为5%。", "8%", False),
        # A plan does not answer what was actually done, and is the answer when a plan is asked.
        ("2021年底迎泽区实际建成了多少家社区食堂？", "年底前，迎泽区将建成20家社区食堂。", "20家", True),
        ("迎泽区已经建成多少家社区食堂？", "迎泽区计划建成20家社区食堂。", "20家", True),
        ("迎泽区将建成多少家社区食堂？", "年底前，迎泽区将建成20家社区食堂。", "20家", False),
        ("迎泽区实际建成了多少家社区食堂？", "迎泽区已建成12家社区食堂，年底前将建成20家。", "12家", False),
    ],
)
def test_a_figure_for_another_period_or_a_plan_does_not_answer(question, sentence, figure, other):
    from rag.evidence_match import reports_another_period

    assert reports_another_period(question, sentence, sentence.index(figure)) is other


def test_an_edition_must_be_of_the_event_the_question_names():
    question = analyze("第八届进博会期间，太原特色产品展销区集中展示了多少种农产品？")
    fair = _article("第八届中国（太原）特色农产品交易博览会开幕。太原将设立特色产品展销区。")
    expo = _article("第八届中国国际进口博览会开幕。太原特色产品亮相。")
    assert [c.text for c in satisfies(question, fair)] == ["第八届"]
    assert satisfies(question, expo) == []  # 进博会 written out as 进口博览会
    # A question naming no event after the edition keeps the plain edition check.
    assert satisfies(analyze("第八届的主题是什么？"), fair) == []


@pytest.mark.parametrize(
    ("sentence", "head", "counts_it"),
    [
        ("今年打造绿色工厂4家、绿色产品2种。", "智能工厂", False),  # another kind of 工厂
        ("今年打造绿色工厂4家、绿色产品2种。", "绿色工厂", True),
        ("今年打造智能工厂3家。", "智能工厂", True),
        (
            "包含全省26家优质企业，其中位于我市的有7家。",
            "太原企业",
            True,
        ),  # a place is left to its constraint
        ("建设14个街道级社区养老服务中心。", "社区养老服务中心", True),
    ],
)
def test_a_count_of_another_kind_of_thing_does_not_answer(sentence, head, counts_it):
    from rag.evidence_counts import about_head

    figure = next(m for m in re.finditer(r"\d+[家个]", sentence))
    assert about_head(sentence, figure.span(), head, "count:家") is counts_it


def test_a_figure_beats_a_bound_of_it_in_the_same_article():
    from rag.evidence import gather
    from rag.evidence_score import LEXICAL_MODEL
    from rag.types import Chunk, Passage

    body = (
        "太原理工大学青年科学基金项目立项数首次突破80项。"
        "其中，重点项目1项、面上项目44项、太原理工大学青年科学基金项目89项、专项项目1项。"
    )
    article = _article(body)
    chunk = Chunk("a:0", "a", body, 0, len(body), article.title, article.date, article.source)
    question = analyze("太原理工大学青年科学基金项目获批多少项？")
    candidates, _ = gather(question, [Passage(chunk, 1.0, 1)], None, LEXICAL_MODEL)
    assert "89项" in candidates[0].text  # 突破80项 states a bound, not the figure


def test_in_a_run_of_items_the_item_naming_the_asked_thing_gives_the_figure():
    from dataclasses import replace

    from rag.compose_typed import typed_answer
    from rag.evidence import Candidate
    from rag.types import Chunk, Passage

    sentence = "其中，重点项目1项、面上项目44项、青年科学基金项目89项、专项项目1项。"
    article = _article(sentence)
    chunk = Chunk("a:0", "a", sentence, 0, len(sentence), article.title, article.date, article.source)
    question = analyze("太原理工大学青年科学基金项目获批多少项？")
    candidate = Candidate(Passage(chunk, 1.0, 1), article, 0, len(sentence), sentence, 1.0, 1.0)
    candidate = replace(candidate, spans=tuple(typed_spans(sentence, question)))
    text, _ = typed_answer(question, candidate)
    assert "89项" in text and "1项" not in text.replace("89项", "")


@pytest.mark.parametrize(
    ("question", "body", "fails"),
    [
        ("山西省图书馆自习室座无虚席的照片是哪天拍的？", "11月4日，太原市图书馆自习室座无虚席。", True),
        ("省图书馆有多少个座位？", "市图书馆自习室有500个座位。", True),
        ("太原市图书馆自习室座无虚席的照片是哪天拍的？", "11月4日，太原市图书馆自习室座无虚席。", False),
        # The own level printed too, or no level at all: left to the other checks.
        ("山西省图书馆有多少个座位？", "省图书馆和市图书馆共有900个座位。", False),
        ("山西省图书馆有多少个座位？", "图书馆自习室有500个座位。", False),
        ("省科技厅方面认为创新驱动是什么？", "省科技厅负责人表示，创新驱动就是人才驱动。", False),
    ],
)
def test_an_institution_of_the_other_level_is_another_institution(question, body, fails):
    assert bool(satisfies(analyze(question), _article(body))) is fails


def test_a_festival_is_a_constraint():
    zhongyuan = _article("发布2023年中元节祭扫工作实施方案。市民可通过“我的太原”App预约祭扫服务。")
    assert satisfies(analyze("中元节期间市民可以通过哪个App预约祭扫？"), zhongyuan) == []
    failed = satisfies(analyze("清明节期间市民可以通过哪个App预约祭扫？"), zhongyuan)
    assert [c.text for c in failed] == ["清明节"]


def test_a_sentence_is_about_the_edition_it_prints_or_last_named():
    from rag.evidence_match import editions_in_force

    body = "第八届进博会开幕。第七届时展厅300平方米。当时有5家企业。本届展厅435平方米。第六届和第八届都有。"
    then = body.index("当时")
    assert editions_in_force(body, then, body.index("。", then) + 1) == {7}  # the last one named
    this = body.index("本届")
    assert editions_in_force(body, this, body.index("。", this) + 1) == {8}  # the lead's
    lead = body.index("第八届")
    assert editions_in_force(body, lead, body.index("。") + 1) == {8}
    last = body.index("第六届")
    assert editions_in_force(body, last, len(body)) == {6, 8}
    assert editions_in_force("山西展厅面积435平方米。", 0, 12) == set()


def test_an_edition_named_as_the_time_before_is_not_the_one_a_sentence_reports():
    from rag.evidence_match import editions_in_force

    body = (
        "中国第38次南极科学考察队出发。"
        "王煜尘将参加历时500多天的考察，这也是他在参加第36次南极考察后第二次登上南极。"
    )
    after = body.index("王煜尘")
    # 第二次登上 counts visits, not editions; 第36次…后 is only the time before.
    assert editions_in_force(body, after, len(body)) == {38}
    alone = "王煜尘在参加第36次南极考察后第二次登上南极。"
    assert editions_in_force(alone, 0, len(alone)) == {0}


def test_a_misprinted_word_and_a_readers_contraction_still_count_as_printed():
    from rag.evidence_match import abbreviates_word, misprinted

    assert misprinted("二氧化碳", "将二元化碳产率从30%降至1%以下")
    # A changed first character, or a changed name, is another thing.
    assert not misprinted("间接经费", "直接经费5111.5万元")
    assert not misprinted("中南大学", "中北大学的学生")
    assert abbreviates_word("自科", "国家自然科学基金委公布了评审结果")
    assert not abbreviates_word("大同", "大力推动共同富裕")


def test_a_phone_number_answers_only_for_the_office_the_question_names():
    sentence = "五市分别公布了查档电话,太原市档案馆查档电话为0351-2366977;"
    asked = analyze("太原市档案馆的查档电话是多少？")
    assert [sentence[s:e] for s, e in typed_spans(sentence, asked)] == ["0351-2366977"]
    assert typed_spans(sentence, analyze("太原市不动产登记中心的查档电话是多少？")) == []
    # A leading clause sets the scene; the city it names must still be the number's.
    scene = "五市分别公布了查档电话,太原市档案馆查档电话为0351-2366977,晋中市档案馆查档电话为0354-3036293。"
    found = typed_spans(scene, analyze("省会存档机构要查资料，该拨哪个号码？"))
    assert [scene[s:e] for s, e in found] == ["0351-2366977"]


def _counted(question, sentence):
    """The typed spans of ``sentence`` that count what ``question`` asks, in the city asked."""
    from rag.evidence_counts import about_head, about_wider_area

    analysis = analyze(question)
    return [
        sentence[s:e]
        for s, e in typed_spans(sentence, analysis)
        if about_head(sentence, (s, e), analysis.head, analysis.expectation.kind, analysis.text)
        and not about_wider_area(sentence, (s, e), analysis)
    ]


def test_a_city_count_is_not_the_provinces_and_a_qizhong_clause_counts_the_same_thing():
    sentence = "面积435平方米的山西展厅将精彩亮相，包含全省26家优质企业，涉及多个板块，其中位于我市的有7家。"

    assert _counted("太原有几家企业参展？", sentence) == ["7家"]
    assert _counted("山西展厅包含全省多少家企业？", sentence) == ["26家", "7家"]


def test_a_figure_printed_with_its_year_answers_only_for_that_year():
    from rag.evidence_match import reports_another_period

    sentence = "PM2.5浓度由2017年的60微克/立方米下降至2022年的44微克/立方米。"
    old, new = sentence.index("60"), sentence.index("44")
    assert reports_another_period("2022年太原的PM2.5浓度是多少？", sentence, old)
    assert not reports_another_period("2022年太原的PM2.5浓度是多少？", sentence, new)
    assert reports_another_period("2023年太原的PM2.5浓度是多少？", sentence, new)
    assert not reports_another_period("太原的PM2.5浓度是多少？", sentence, old)
    # 今年/去年 are read against the year the article was printed (2023).
    assert reports_another_period("太原今年PM2.5浓度是多少？", sentence, old, 2023)
    assert reports_another_period("太原今年PM2.5浓度是多少？", sentence, new, 2023)
    assert not reports_another_period("太原去年PM2.5浓度是多少？", sentence, new, 2023)


def test_nouns_of_a_leading_clause_set_the_scene_and_need_not_be_in_the_answering_sentence():
    from rag.evidence_score import nouns_apart

    sentence = "第八届进博会启幕，宛如“四叶草”的国家会展中心（上海）敞开怀抱。"
    scene = analyze("太原企业去进博会，展会在哪个场馆举办？")
    assert nouns_apart(scene, sentence, "进阶攀高向新行") == 0.0
    # Without the comma the nouns are part of what is asked.
    asked = analyze("太原企业参加的进博会在哪个场馆举办？")
    assert nouns_apart(asked, sentence, "进阶攀高向新行") > 0.0


def test_a_group_answers_who_only_when_it_acts():
    from rag.evidence_spans import typed_spans

    def groups(question, sentence):
        return [sentence[s:e] for s, e in typed_spans(sentence, analyze(question))]

    # Not a run of characters before the group noun, not a group that is acted upon.
    assert (
        groups(
            "新源小区的“板凳议事”是谁发起的？",
            "小区党支部工作人员认真将居民的诉求记录在册,随后在支委会上讨论解决方法。",
        )
        == []
    )
    assert (
        groups("新源小区的“板凳议事”是谁发起的？", "共召开“板凳议事会”40余次,解决居民“急难愁盼”问题50余件。")
        == []
    )
    assert groups("谁表示山西醋是山西的名片？", "企业负责人表示：“山西醋不仅是调味品。”") == ["企业负责人"]
    assert groups("是为了丰富谁的购物选择？", "引进的全球各地好物丰富我市居民的购物选择。") == ["我市居民"]


def test_which_day_is_answered_by_a_day_of_the_event_asked():
    from rag.evidence_spans import typed_spans

    def days(question, sentence):
        return [sentence[s:e] for s, e in typed_spans(sentence, analyze(question))]

    # 今年 is no day; 找到 and 发现 name the same event.
    assert days("走失老人是在哪天被找到的？", "今年以来，社区让老人、孩子都能在社区找到自己的乐趣。") == []
    assert days("走失老人是在哪天被找到的？", "11月5日晚，社区干部在北中环街文兴路口发现一位老人。") == [
        "11月5日"
    ]


def test_the_event_named_before_the_time_asked_must_be_printed():
    from rag.evidence_spans import typed_spans

    dateline = "9月17日消息,太钢供联盛浆纸公司用的不锈钢复合板生产合同完成,这也是太钢的首单不锈钢复合板订单。"
    # 交货时间: the dateline is when the news came, not when anything was delivered.
    assert typed_spans(dateline, analyze("太钢不锈钢复合板订单的交货时间是什么时候？")) == []
    deadline = "市工信局拟定于9月1日至15日举办2023年“创客中国”市级比赛，报名截止日期为8月30日。"
    assert typed_spans(deadline, analyze("“创客中国”市级比赛的报名截止时间是什么时候？"))


def test_a_venue_is_where_something_is_held_not_any_place_named():
    from rag.evidence_spans import typed_spans

    def places(question, sentence):
        return [sentence[s:e] for s, e in typed_spans(sentence, analyze(question))]

    asked = "全市工业高质量发展大会在哪里召开？"
    # The organiser before 召开, people the tagger reads as a place, a place named in passing.
    assert places(asked, "7月27日,市政协党组召开扩大会议暨理论学习中心组学习会。") == []
    assert places(asked, "7月26日,全市工业高质量发展大会召开,令广大干部群众备受鼓舞。") == []
    assert places(asked, "传达全市工业高质量发展大会精神,听取太原市圈建设峰会情况汇报。") == []
    held = "“公民道德宣传日”主题活动,在龙潭公园大鼎广场举行。"
    assert places("“公民道德宣传日”主题活动在哪里举行？", held) == ["龙潭公园大鼎广场"]


def test_a_date_whose_clause_opens_with_another_event_dates_that_event():
    from rag.evidence_spans import typed_spans

    sentence = "志愿者培训于8月27日进行，由共青团山西省委指导、山西省青年志愿者协会共同举办。"
    assert typed_spans(sentence, analyze("太原论坛什么时候举办？")) == []
    assert typed_spans(sentence, analyze("“太原论坛”志愿者培训是哪天进行的？"))


def test_a_place_the_question_names_still_starts_an_organisations_name():
    from rag.evidence_spans import typed_spans

    sentence = "太原理工大学、太原科技大学等高校“牵手”中车太原机车车辆有限公司、中国电子科技集团公司。"
    analysis = analyze("中车太原机车车辆有限公司和哪所高校签约了？")
    assert analysis.expectation is not None and analysis.expectation.kind == "organisation"
    found = [sentence[s:e] for s, e in typed_spans(sentence, analysis)]
    assert "太原科技大学" in found and "科技大学" not in found


def test_which_numbered_unit_is_answered_by_one_of_that_unit():
    from rag.evidence_spans import typed_spans

    sentence = "在第三届论坛上，专家称赞云冈石窟第12窟积木式等比例复制是成功案例。"
    spans = typed_spans(sentence, analyze("云冈石窟第几窟被等比例复制了？"))
    assert [sentence[s:e] for s, e in spans] == ["第12窟"]
    assert [sentence[s:e] for s, e in typed_spans(sentence, analyze("论坛是第几届？"))] == ["第三届"]


def test_a_one_character_aside_does_not_hide_a_word():
    from rag.evidence_match import without_asides
    from rag.evidence_score import coverage

    assert "返并" in without_asides("5地返(抵)并人员要主动报备")
    assert "返抵并" in without_asides("5地返(抵)并人员要主动报备")
    assert coverage({"返并": 1.0}, "7天内有国内疫情风险地区的返(抵)并人员", "") == 1.0


def test_a_name_inside_a_quoted_title_is_no_person():
    from rag.evidence_spans import typed_spans

    sentence = "签约方分别就“煤业煤研石基材料覆岩离层空间绿色充填关键技术研究”等科研项目展开合作。"
    assert typed_spans(sentence, analyze("揭榜挂帅项目的揭榜方是谁？")) == []


def _spans_of(question, sentence):
    from rag.evidence_spans import typed_spans

    return [sentence[s:e] for s, e in typed_spans(sentence, analyze(question))]


def test_a_pavilion_the_tagger_reads_as_a_name_is_no_person():
    # Among 5,000 People's Daily paragraphs this sentence outranked the one naming 薛永生.
    sentence = "嘉节苑小区党支部在小区内打造了连心亭、设置了膝邻长板凳,社区干部每日下午3时准时赴约。"
    assert "连心亭" not in _spans_of("嘉节社区的社区党委副书记是谁？", sentence)
    assert _spans_of("嘉节社区的社区党委副书记是谁？", "社区党委副书记薛永生都会如期赴约。") == ["薛永生"]


def test_where_an_institution_is_is_not_a_place_it_merely_names():
    # 晋中市 starts another archive's name; 五市 counts places; 深度 is the tagger's noise.
    assert _spans_of("太原市档案馆在哪里？", "晋中市档案馆查档电话为0354-3036293。") == []
    assert _spans_of("太原市档案馆在哪里？", "五市分别公布了查档电话。") == []
    assert _spans_of("太原市档案馆在哪里？", "深度融入山西中部城市群高质量发展大局。") == []
    # A labelled place answers (节点一:马练营路节点…).
    node = "经北街共有三个主要节点,节点一:马练营路节点为经北街全断面下穿马练营路。"
    assert _spans_of("经北街的节点一在哪里？", node)[:1] == ["马练营路"]
    # 哪个区 asks for a district, not a 社区.
    sentence = "8月28日，记者在晋源区采访发现，义井街道华都社区将党员教育管理与服务社区建设紧密结合。"
    assert "服务社区" not in _spans_of("华都社区在太原哪个区？", sentence)
    assert "晋源区" in _spans_of("华都社区在太原哪个区？", sentence)


def test_a_price_is_money_a_weekday_is_a_day_of_the_week_and_a_venue_no_firm():
    assert _spans_of("太钢复合板订单价格是多少？", "合同共有408块，总重1159吨。") == []
    weekly = "社区干部每日下午3时准时赴约，每周四上午开会。"
    assert _spans_of("嘉节社区“每周唠嗑”是每周几？", weekly) == ["每周四"]
    went = "11月6日，上海，雷蕾匆匆奔赴国家会展中心。"
    assert _spans_of("雷蕾是哪家公司的？", went) == []


def test_a_change_asked_is_answered_by_a_figure_printed_as_a_change():
    hall = "本届进博会，面积435平方米的山西展厅将精彩亮相。"
    assert _spans_of("山西展厅面积比去年大了多少？", hall) == []
    grew = "直接促成美特好超市进口水果总量增长20%。"
    assert _spans_of("美特好超市进口水果总量增长了多少？", grew) == ["20%"]


def test_a_common_word_is_no_contraction_of_a_name():
    from rag.evidence import _mentions
    from rag.types import Article

    body = "经北街共有三个主要节点,节点一:马练营路节点为经北街全断面下穿马练营路。"
    article = Article("a", "进出机场再添主干路", body, "p.txt", "2022-07-29", "news")
    assert not _mentions("马路", article, 0, len(body))
    assert _mentions("太钢", Article("b", "t", "太原钢铁集团签约。", "p", "2021-11-08", "news"), 0, 9)


def test_a_firms_whole_name_and_a_citys_name_answer():
    firm = "马进也是其中之一，她所在的山西优鲜多歌供应链有限公司去年首次参会。"
    assert _spans_of("马进是哪家公司的？", firm) == ["山西优鲜多歌供应链有限公司"]
    cities = "将太原定位为国家区域中心城市,将大同定位为国家区域重点城市。"
    assert "中心城市" not in _spans_of("国家区域重点城市是哪个城市？", cities)


def test_the_latest_edition_asked_is_the_one_the_article_reports():
    from rag.evidence_match import reported_edition

    body = "11月5日，第八届进博会启幕。第六届进博会上，以“相约浦江 共享未来”为主题的“山西之夜”精彩绽放。"
    assert reported_edition(body) == 8
    assert reported_edition("在参加第36次南极考察后，他又参加了第38次南极科考。") == 38


def test_who_said_a_quoted_phrase_is_the_speaker_beside_it():
    from rag.evidence import _beside

    body = "省委书记韦韬在会议上讲话。清徐县工信局局长王涛表示,清徐县将建集群。全力打造“精致清徐”。"
    waves = body.index("省委"), body.index("。") + 1
    wang = body.index("清徐县工信局"), body.index("建集群。") + 4
    assert not _beside("精致清徐", body, *waves)
    assert _beside("精致清徐", body, *wang)


def test_the_asked_category_prefers_only_a_sentence_about_the_question():
    from rag.evidence import _preference

    analysis = analyze("进博会“新面孔”山西晋悦诚贸易有限公司的展台展出的是什么产品？")
    colleague = "商务经理贺婷婷介绍，将全力借助进博会平台展示文创产品。"
    assert _preference(analysis, colleague, (), 0.0, apart=0.0) >= 0.5
    assert _preference(analysis, colleague, (), 0.0, apart=0.67) < 0.5


def test_a_name_printed_elsewhere_but_not_in_the_article_points_at_another_story():
    from rag.evidence_score import missing_nouns
    from rag.types import Article

    class Archive:
        """An archive that prints 西安 somewhere (as a larger archive always does)."""

        def document_frequency(self, word):
            return 3

    article = Article("a", "考察", "合肥新能源整车相关产业的本地配套率达到了35%。", "p", "2021-11-08", "news")
    analysis = analyze("西安新能源整车相关产业的本地配套率达到了多少？")
    assert "西安" in analysis.nouns
    missing, unseen, names = missing_nouns(analysis, article, Archive())
    assert names > 0


def test_a_noun_only_an_unrelated_story_prints_points_at_no_story_at_hand():
    from rag.evidence_score import missing_nouns
    from rag.types import Article

    class Archive:
        """An archive of 20,000 stories: 元素 is printed somewhere."""

        def document_frequency(self, word):
            return 12

    article = Article(
        "a", "进博会", "步入展厅，还有各类悟空文创产品，吸引观众体验游戏经典场景。", "p", "2025-11-05", "news"
    )
    analysis = analyze("山西展厅借用了哪款游戏的元素吸引观众？")
    assert "元素" in analysis.nouns
    # Measured against the whole archive, 元素 points at another story…
    assert missing_nouns(analysis, article, Archive())[0] == 1.0
    # …but no retrieved story prints it: it is the reader's word, not another story's.
    printed = ["步入展厅还有各类悟空文创产品吸引观众体验游戏经典场景", "山西展厅再次刷新观众期待"]
    assert missing_nouns(analysis, article, Archive(), printed)[0] == 0.0
    # Printed by another retrieved story, it still does.
    assert missing_nouns(analysis, article, Archive(), [*printed, "设计元素"])[0] == 1.0


def test_the_day_news_came_is_not_the_day_of_the_event():
    sentence = "太原理工大学11月7日传来喜讯，中国第38次南极科学考察队近日从上海出发。"
    assert _spans_of("中国第38次南极科考队什么时候出发的？", sentence) == []


def test_a_date_of_one_persons_departure_is_not_the_teams():
    sentence = "此外，太原理工大学青年教师寇立伟博士将于11月中旬出发前往南极。"
    assert _spans_of("中国第38次南极科考队什么时候出发的？", sentence) == []
    assert _spans_of("寇立伟什么时候出发前往南极？", sentence) == ["11月中旬"]


def test_where_from_is_what_lies_between_cong_and_the_verb():
    sentence = "中国第38次南极科学考察队近日从位于上海的中国极地考察国内基地码头出发，前往南极中山站。"
    assert _spans_of("雪龙号从哪里出发？", sentence) == ["上海的中国极地考察国内基地码头"]


def test_where_a_firm_is_from_is_the_place_heading_its_name():
    named = "作为山西锦波生物医药股份有限公司国际销售部总经理，她深知这个舞台的魅力。"
    assert _spans_of("锦波生物是哪里的企业？", named) == ["山西"]
    # 我市 is a pronoun, 嘉宾 the tagger's noise: neither says where a firm is from.
    assert _spans_of("美特好集团是哪里的企业？", "丰富我市居民的购物选择，活跃我市零售市场。") == []
    assert _spans_of("锦波生物是哪里的企业？", "锦波生物的展台前嘉宾云集。") == []


def test_a_count_is_of_the_noun_printed_with_it_and_not_per_unit():

    plan = (
        "建设1所区级老年医养照护中心,在全区14个街道各设立1至2所街道级社区养老服务中心,"
        "每个村(社区)建设1所日间照料中心。"
    )
    built = (
        "目前,已建成28所社区养老服务中心(在建和已建成的社区养老幸福工程9个,数量居全省第一)、"
        "45所社区日间照料中心。"
    )

    assert _counted("万柏林区有多少所日间照料中心？", plan) == []
    assert _counted("万柏林区有多少所日间照料中心？", built) == ["45所"]
    assert _counted("万柏林区建成了多少所社区养老服务中心？", built) == ["28所"]
    assert _counted("万柏林区有多少个社区养老服务中心？", plan + built) == []
    # Asked per unit, the figure per unit answers.
    assert _counted("万柏林区每个村建设几所日间照料中心？", plan) == ["1所"]


def test_which_time_is_the_ordinal_the_asked_verb_follows():
    sentence = "这也是王煜尘在参加第36次南极考察后第二次登上南极大陆。"
    assert _spans_of("王煜尘是第几次登上南极大陆？", sentence) == ["第二次"]
    assert "第36次" in _spans_of("王煜尘参加过第几次南极考察？", sentence)


def test_the_asked_category_prefers_a_sentence_naming_the_subject_the_article_prints():
    from rag.evidence import _preference

    analysis = analyze("太原理工大学极地科考团队长期从事什么工作？")
    colleague = "青年教师寇立伟博士将随船开展冰海两用浮标的测试与投放等工作。"
    team = "太原理工大学极地科考团队长期从事南北极科考装备的研发。"
    assert _preference(analysis, colleague, (), body=colleague + team) < 0.5
    assert _preference(analysis, colleague, (), body=colleague) >= 0.5


def test_under_whose_guidance_is_who_the_phrase_names():
    sentence = (
        "古交市邢家社乡积极响应，在古交市农业农村局的指导下，组织全乡党员干部和青年志愿者组成助农服务队。"
    )
    assert _spans_of("邢家社乡助农服务队是在谁的指导下组建的？", sentence) == ["古交市农业农村局"]


def test_a_date_set_by_an_act_is_not_the_day_of_the_act():
    sentence = "7月28日下午,市领导小组办公室发布第10号调度令,明确7月29日0时至7月31日24时,加严管控措施。"
    assert _spans_of("第10号调度令是哪天发布的？", sentence)[:1] == ["7月28日"]
    assert "7月29日0时至7月31日24时" not in _spans_of("第10号调度令是哪天发布的？", sentence)
    # 第10号 is a label, not the tenth of a month.
    assert "10号" not in _spans_of("调度令什么时候发布？", sentence)


def test_a_share_of_another_whole_does_not_answer():
    from rag.evidence import _another_scope

    sentence = "太原外贸总量占全省的80%左右,对全省开放发展具有重要牵引作用。"
    assert _another_scope(sentence, "全国")
    assert not _another_scope(sentence, "全省")
    assert not _another_scope("我省外贸总量占全国的3%。", "全国")


def test_a_word_the_index_never_saw_counts_only_where_it_is_printed():
    from rag.evidence_score import coverage, term_weights

    class Library:
        """An archive whose tokenizer kept 谭姝淘 whole: 谭姝 was never seen as a token."""

        def document_frequency(self, token):
            return 0 if token in ("谭姝", "淘", "几岁") else 3

        def idf(self, token):
            return 2.0

    weights = term_weights(analyze("谭姝淘几岁？"), Library())
    assert weights["谭姝"] < 0 and "淘" not in weights
    assert coverage(weights, "6岁的谭姝淘举着一袋子垃圾向爸爸展示。", "") == 1.0
    assert coverage(weights, "29岁的米广荣说。", "") == 0.0
    # Printed nowhere, it does not sink a sentence holding the seen words.
    assert coverage({"从未": -2.0, "合唱团": 1.0}, "社区组建银发合唱团。", "") == 1.0


def test_a_numbered_cave_is_a_hard_constraint():
    article = Article(
        "a", "山西文物数字化", "像云冈石窟第12窟积木式等比例复制就是一项成功案例。", "p", "2022-07-29", "news"
    )
    # satisfies() lists the constraints an article fails.
    assert satisfies(analyze("云冈石窟第13窟是怎么复制的？"), article)
    assert not satisfies(analyze("云冈石窟第十二窟是怎么复制的？"), article)


def test_a_figure_rose_to_is_the_one_after_dao_and_this_years_is_not_last_years():
    from rag.evidence_match import reports_another_period

    sentence = "杏花岭区今年上半年规模以上工业企业由47户增加到51户。"
    assert _spans_of("杏花岭区今年上半年规上工业企业增加到多少户？", sentence) == ["51户"]
    assert _spans_of("杏花岭区今年上半年规上工业企业有多少户？", sentence) == ["51户"]
    assert _spans_of("杏花岭区上半年规上工业企业原来有多少户？", sentence) == ["47户", "51户"]
    at = sentence.index("51户")
    assert reports_another_period("杏花岭区去年上半年规上工业企业有多少户？", sentence, at, 2023)
    assert not reports_another_period("杏花岭区今年上半年规上工业企业有多少户？", sentence, at, 2023)
    assert not reports_another_period("杏花岭区2023年上半年规上工业企业有多少户？", sentence, at, 2023)


def test_a_title_and_an_affiliation_are_what_is_printed_before_the_name():
    assert _spans_of("侯森是什么职务？", "在合肥市考察学习后，杏花岭区委书记侯森感触很大。") == [
        "杏花岭区委书记"
    ]
    assert _spans_of("侯森是什么职务？", "对于此次考察，侯森谈了三点特别的感受。") == []
    experts = (
        "研讨会上,上海大学文化遗产保护基础科学研究院院长黄继忠,"
        "复旦大学文物与博物馆学系教授王金华等专家学者分别发言。"
    )
    assert "上海大学" in _spans_of("黄继忠是哪所大学的？", experts)
    assert "复旦大学" not in _spans_of("黄继忠是哪所大学的？", experts)
    assert "复旦大学" in _spans_of("王金华是哪所大学的？", experts)


def test_who_holds_an_office_is_the_name_printed_with_that_office():
    sentence = "阳曲县行政审批服务管理局局长田艳说,阳曲县要全力打造一流营商环境。"
    assert _spans_of("阳曲县工信局局长是谁？", sentence) == []
    assert _spans_of("阳曲县行政审批服务管理局局长是谁？", sentence) == ["田艳"]
    # The name ends before 说; a bare title and a praised 专家 still answer.
    assert _spans_of("太钢集团总经理是谁？", "太钢集团总经理李华说:“太钢将围绕强龙头。”") == ["李华"]
    assert _spans_of("市政协主席是谁？", "市政协主席操学诚主持会议。") == ["操学诚"]
    expert = "浙江大学文化遗产研究院副院长李志荣的一席话,让山西文物工作者引以为傲。"
    assert _spans_of("称赞复制是成功案例的专家是谁？", expert) == ["李志荣"]
    # Another title is another person: the team's 负责人 is not a 博士生 of the university.
    assert _spans_of("极地科考团队的负责人是谁？", "电气与动力工程学院博士生王煜尘作为第一批队员出征。") == []


def test_a_firm_asked_beside_a_person_is_not_only_the_persons_own():
    sentence = "杏花岭区工信局局长张鸿说:“大力推进太原原酒厂有限责任公司整体搬迁转型升级。”"
    spans = _spans_of("杏花岭区工信局局长张鸿提到要推进哪个企业整体搬迁？", sentence)
    assert "太原原酒厂有限责任公司" in spans


def test_a_figure_in_a_list_counts_the_nouns_printed_before_it():

    sentence = "社区党总支不定期召开“板凳会”，累计调解邻里纠纷23件、物业纠纷14件。"

    assert analyze("华都社区累计调解物业纠纷多少件？").head == "物业纠纷"
    assert _counted("华都社区累计调解物业纠纷多少件？", sentence) == ["14件"]


def test_a_numbered_unit_ties_the_article_not_the_sentence():
    from rag.evidence_score import nouns_apart

    analysis = analyze("称赞云冈石窟第12窟积木式等比例复制是成功案例的专家是谁？")
    assert nouns_apart(analysis, "专家李志荣称赞积木式复制是成功案例。", "") == 0.0


def test_a_span_of_the_asked_kind_stands_for_the_kind_word():
    from rag.evidence import gather
    from rag.evidence_score import LEXICAL_MODEL
    from rag.types import Chunk, Passage

    body = "山西中部城市群五市分别公布了查档电话，太原市档案馆查档电话为0351-2366977。"
    article = _article(body)
    chunk = Chunk("a:0", "a", body, 0, len(body), article.title, article.date, article.source)
    passage = Passage(chunk, 1.0, 1)
    # 号码 is never printed: the phone number the sentence holds is one.
    asked = gather(analyze("太原市档案馆查档该拨哪个号码？"), [passage], None, LEXICAL_MODEL)[0]
    bare = gather(analyze("太原市档案馆查档该拨哪个？"), [passage], None, LEXICAL_MODEL)[0]
    assert asked[0].spans and asked[0].coverage >= bare[0].coverage


@pytest.mark.parametrize("question", ["太原理工大学的校长是谁？", "太原理工大学的党委书记是谁？"])
def test_a_sentence_printing_no_holder_of_the_office_asked_names_none(question):
    # 王煜尘 is printed as a doctoral student, or with no title at all: neither is the 校长 or 书记.
    assert _spans_of(question, "太原理工大学博士研究生王煜尘将参加南极中山站的越冬考察任务。") == []
    assert _spans_of(question, "本次考察中，王煜尘主要承担空间物理观测等多个项目。") == []


def test_the_holder_of_the_office_asked_is_named_where_the_office_is_printed():
    assert _spans_of("嘉节社区的社区党委副书记是谁？", "社区党委副书记薛永生介绍，每周四是约会时间。") == [
        "薛永生"
    ]
    assert _spans_of("太原理工大学的校长是谁？", "太原理工大学校长黄庆学出席仪式。") == ["黄庆学"]


def test_the_holder_of_another_firms_office_is_not_the_one_asked():
    sentence = "去年首次参展的山西澳意芦荟生物科技有限公司，七成产品售出，董事长王国庆笑着说：“好。”"
    assert _spans_of("水塔醋业的董事长是谁？", sentence) == []
    assert _spans_of("山西澳意芦荟生物科技有限公司的董事长是谁？", sentence) == ["王国庆"]


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("中国第38次南极科考队的领队是谁？", "太原理工大学博士生王煜尘作为第一批队员搭乘雪龙号出征。"),
        ("进博会山西展厅的设计者是谁？", "在去年的第七届进博会山西展厅，山西工美产业联盟展位前客流不断。"),
    ],
)
def test_a_sentence_printing_nothing_of_the_role_asked_names_no_holder(question, sentence):
    # Neither 领队 nor 设计 is printed: the student and the alliance are someone else.
    assert _spans_of(question, sentence) == []
    assert _spans_of("中国第38次南极科考队的领队是谁？", "科考队领队张三介绍了航线。") == ["张三"]


def test_a_hometown_is_where_someone_is_from_not_where_the_sentence_sends_them():
    assert _spans_of("王煜尘是哪里人？", "本次考察中，王煜尘主要承担南极陆地机器人等项目。") == []
    assert _spans_of("走失的老人是哪里人？", "老人今年90岁，临汾人，被家人接走。") == ["临汾"]
    assert _spans_of("王煜尘是哪里人？", "王煜尘来自大同，是太原理工大学博士生。") == ["大同"]


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("山西展厅是谁设计的？", "在去年的第七届进博会山西展厅，山西工美产业联盟展位前客流不断。"),
        ("太原理工大学是哪一年成立的？", "太原理工大学获批2023年度国家自然科学基金项目135个。"),
        ("进博会山西展厅由谁主办？", "在去年的第七届进博会山西展厅，山西工美产业联盟展位前客流不断。"),
    ],
)
def test_who_did_it_or_when_needs_the_sentence_to_print_the_deed(question, sentence):
    # Nothing was designed or founded in these sentences: their names and years answer nothing.
    assert _spans_of(question, sentence) == []


def test_the_deed_printed_lets_its_doer_answer():
    assert _spans_of("山西展厅是谁设计的？", "山西展厅由山西工美产业联盟设计，面积435平方米。") == [
        "山西工美产业联盟"
    ]


def test_the_verb_that_picks_out_the_one_asked_must_be_printed():
    dismissed = "现决定更换物业公司,解除与山西众诚物业管理有限公司的合作。"
    assert _spans_of("太原广场项目地块二新聘请的物业公司是哪家？", dismissed) == []
    assert _spans_of("太原广场项目地块二解除合作的物业公司是哪家？", dismissed) == [
        "山西众诚物业管理有限公司"
    ]
    hired = "小区新聘请的物业公司为山西众诚物业管理有限公司。"
    assert _spans_of("太原广场项目地块二新聘请的物业公司是哪家？", hired) == ["山西众诚物业管理有限公司"]


def test_a_name_is_not_grown_into_the_word_after_it():
    # jieba cuts 王煜|尘作为 short, and 侯森|感触 right: only the first grows.
    assert _spans_of("杏花岭区委书记是谁？", "在合肥市考察学习后，杏花岭区委书记侯森感触很大。") == ["侯森"]
    sentence = "太原理工大学电气与动力工程学院博士生王煜尘作为第一批队员出征。"
    assert _spans_of("参加南极科考的太原理工大学博士生是谁？", sentence) == ["王煜尘"]


def test_a_venue_is_where_the_asked_event_is_held_in_the_same_clause():
    from rag.evidence_places import place_spans

    question = analyze("山西之夜在哪里举办？")
    elsewhere = "我市还将举办品牌推介活动和特色文化展演,吸引各界朋友走进太原。"
    assert place_spans(elsewhere, question) == []
    held = "“山西之夜”活动在上海国家会展中心举办。"
    assert [held[s:e] for s, e in place_spans(held, question)] == ["上海国家会展中心"]
    # 中国(山西)… is the head of the fair's name, not where it is held.
    fair = "近期还计划在中国(山西)第八届农交会、北京大学和广州等地举办3场品牌推介活动。"
    assert "中国" not in [fair[s:e] for s, e in place_spans(fair, analyze("第八届农交会在哪里举办？"))]
    # A sentence not naming the fair says where other events were held.
    others = "今年以来，先后在太原、上海、广州等地举办了4场特优农产品品牌推介活动。"
    assert place_spans(others, analyze("第八届农交会在哪里举办？")) == []


def test_the_edition_of_a_figure_is_the_one_printed_with_it():
    question = "山西展厅面积435平方米是第几届进博会？"
    assert _spans_of(question, "在去年的第七届进博会山西展厅，山西工美产业联盟展位前客流不断。") == []
    assert _spans_of(question, "第八届进博会上，面积435平方米的山西展厅将精彩亮相。") == ["第八届"]
