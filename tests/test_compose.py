"""Composition: the question restated as a short statement around the extracted span."""

import re

import pytest

from rag.compose_typed import short_statement
from rag.question import analyze
from rag.types import Article


@pytest.mark.parametrize(
    ("question", "span", "expected"),
    [
        ("第八届进博会山西展厅面积有多大？", "435平方米", "第八届进博会山西展厅面积有435平方米"),
        ("第八届进博会山西展厅一共汇集了全省多少家企业？", "26家", "汇集了全省26家企业"),
        ("山西工美产业联盟展陈部主任叫什么名字？", "薛文凯", "山西工美产业联盟展陈部主任叫薛文凯"),
        ("紫林醋业的安全生产专项培训是哪天举办的？", "11月1日", "紫林醋业的安全生产专项培训是11月1日举办的"),
        # Cut only where a phrase ends, never inside a word or brackets.
        ("2021年底迎泽区实际建成了多少家社区食堂？", "20家", "2021年底迎泽区实际建成了20家社区食堂"),
        ("王煜尘第一次参加南极考察（第36次）时在中山站待了多少天？", "500多天", "在中山站待了500多天"),
        ("太原双合成首次参展时卖出了多少产品？", "七成", "太原双合成首次参展时卖出了七成产品"),
        ("“太原论坛”志愿者培训是哪天进行的？", "8月27日", "“太原论坛”志愿者培训是8月27日进行的"),
        # 青年 is tagged a time word but qualifies the noun: 科学基金项目 alone would be another count.
        ("太原理工大学青年科学基金项目获批多少项？", "89项", "获批89项"),
        # A follow-up searched with its antecedent: the antecedent, not 它, is the subject.
        ("第八届进博会山西展厅 那它包含多少家企业？", "26家", "第八届进博会山西展厅包含26家企业"),
        # A named organisation is not followed by the question's own 太原企业.
        ("品鉴的是哪家太原企业？", "水塔醋业股份有限公司", "品鉴的是水塔醋业股份有限公司"),
        # The unit after 多少 is in the span already.
        ("建筑工地喷淋洒水每次不低于多少分钟？", "20分钟", "建筑工地喷淋洒水每次不低于20分钟"),
    ],
)
def test_the_span_takes_the_place_of_the_interrogative(question, span, expected):
    assert short_statement(analyze(question), span) == expected


def test_the_statement_does_not_start_inside_a_word_or_repeat_the_span():
    assert (
        short_statement(analyze("西华苑东社区71岁的张桂兰每周哪天去社区上公益课？"), "每周三")
        == "张桂兰每周三去社区上公益课"
    )
    assert (
        short_statement(analyze("山西辰涵数字科技股份有限公司的商务经理是谁？"), "贺婷婷")
        == "商务经理是贺婷婷"
    )
    # A verb takes the figure directly: 持续约147天, not 持续为约147天.
    assert short_statement(analyze("寇立伟在南大洋海域的工作要持续多少天？"), "约147天").endswith(
        "持续约147天"
    )


def test_a_quoted_title_is_never_cut():
    statement = short_statement(analyze("并州论坛《科研创新是引擎更是号角》的作者是谁？"), "袁剑锋")
    assert statement.endswith("袁剑锋") and (
        "《科研创新是引擎更是号角》" in statement or "》" not in statement
    )


def test_the_span_in_the_clause_of_the_asked_predicate_is_the_answer():
    from rag.compose_typed import _best_span
    from rag.evidence import Candidate
    from rag.evidence_spans import typed_spans
    from rag.types import Article, Chunk, Passage

    sentence = "市工信局拟定于9月1日至15日举办2023年“创客中国”市级比赛，报名截止日期为8月30日。"
    article = Article(id="a", title="t", body=sentence, source="p.txt", date="2023-08-30", kind="news")
    chunk = Chunk("a:0", "a", sentence, 0, len(sentence), "t", "2023-08-30", "p.txt")
    passage = Passage(chunk, 1.0, 1)
    for question, expected in [
        ("2023年“创客中国”市级比赛报名截止到哪天？", "8月30日"),
        ("2023年“创客中国”市级比赛的举办时间是什么时候？", "9月1日至15日"),
    ]:
        analysis = analyze(question)
        spans = tuple(typed_spans(sentence, analysis))
        candidate = Candidate(passage, article, 0, len(sentence), sentence, 1.0, 1.0, spans)
        assert _best_span(candidate, analysis) == expected, question


def test_an_ordinal_of_any_unit_takes_the_place_of_its_interrogative():
    assert (
        short_statement(analyze("云冈石窟第几窟被等比例复制了？"), "第12窟") == "云冈石窟第12窟被等比例复制了"
    )


def test_a_follow_up_is_restated_with_the_subject_it_leans_on():
    # Searched with the earlier question's terms; the reader asked 他多大年纪.
    assert short_statement(analyze("走失老人 找到 他多大年纪？"), "90岁") == "走失老人90岁"
    assert (
        short_statement(analyze("第八届进博会山西展厅 面积多大？"), "435平方米")
        == "第八届进博会山西展厅面积为435平方米"
    )
    assert short_statement(analyze("第八届进博会山西展厅 其中太原有几家？"), "7家") == "其中太原有7家"


def test_an_age_is_stated_plainly():
    assert short_statement(analyze("走失老人多大年纪？"), "90岁") == "走失老人90岁"
    assert short_statement(analyze("走失老人今年多少岁？"), "90岁") == "走失老人今年90岁"


def test_the_counter_is_not_repeated_after_the_figure():
    statement = short_statement(analyze("晋祠博物馆古建筑摄影展展出多少幅作品？"), "一百二十幅")
    assert statement.endswith("一百二十幅作品")


def _candidate_for(body: str, sentence: str):
    from rag.evidence import Candidate
    from rag.types import Article, Chunk, Passage

    article = Article(id="a", title="t", body=body, source="p.txt", date="2022-07-29", kind="news")
    chunk = Chunk("a:0", "a", body, 0, len(body), "t", "2022-07-29", "p.txt")
    start = body.index(sentence)
    return Candidate(Passage(chunk, 1.0, 1), article, start, start + len(sentence), sentence, 1.0, 1.0), chunk


class _OneArticle:
    """The slice of the library protocol list answers use: the chunks of an article."""

    def __init__(self, chunk):
        self.chunk = chunk

    def chunks_of(self, article_id):
        return [self.chunk]


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("哪两个？", 2),
        ("三点感受分别是什么？", 3),
        ("哪十个", 10),
        ("从哪几个方面写？", None),
        ("有哪些？", None),
    ],
)
def test_the_number_of_items_asked_is_read_from_the_question(question, count):
    from rag.compose_lists import asked_count

    assert asked_count(question) == count


def test_an_announcing_sentence_is_quoted_together_with_the_items_it_announces():
    from rag.compose_lists import list_answer

    body = "省里明确了“六地”战略定位。分别是:承载地、策源地、目的地。同时,提出五个龙头。"
    best, chunk = _candidate_for(body, "省里明确了“六地”战略定位。")
    text, citations = list_answer(analyze("“六地”战略定位是哪六个？"), best, _OneArticle(chunk))
    assert len(citations) == 1 and text.endswith("[1]")
    assert citations[0].quote == "省里明确了“六地”战略定位。分别是:承载地、策源地、目的地。"
    assert body[citations[0].start : citations[0].end] == citations[0].quote
    assert "龙头" not in text  # 同时… opens a new point: not an item of the list


def test_a_list_cut_at_a_semicolon_goes_on_to_the_end_of_its_sentence_and_a_wrong_count_is_not_used():
    from rag.compose_lists import list_answer

    body = (
        "第一，创新驱动是本质要求。第二，数字经济是关键一招。第三，集群发展是必要途径。"
        "一方面，打造“两大板块”，丈子头板块推动改造升级；杨家峪板块发展数字经济。目前框架已成熟。"
    )
    best, chunk = _candidate_for(body, "一方面，打造“两大板块”，丈子头板块推动改造升级；")
    text, citations = list_answer(analyze("打造的“两大板块”是哪两个？"), best, _OneArticle(chunk))
    assert len(citations) == 1
    assert citations[0].quote.endswith("杨家峪板块发展数字经济。") and "第一" not in text


def test_a_run_of_points_answers_for_points_not_for_named_things():
    from rag.compose_lists import list_answer

    body = "侯森在合肥考察。第一，创新驱动是本质要求。第二，数字经济是关键一招。第三，集群发展是必要途径。"
    best, chunk = _candidate_for(body, "第一，创新驱动是本质要求。")
    points, cited = list_answer(analyze("侯森谈合肥考察的三点感受分别是什么？"), best, _OneArticle(chunk))
    assert len(cited) == 3 and "[3]" in points
    cities, _ = list_answer(analyze("侯森考察了哪几个城市？"), best, _OneArticle(chunk))
    assert "第二" not in cities and "[2]" not in cities


def test_a_sentence_opening_with_zhe_shi_is_quoted_with_the_sentence_it_refers_to():
    from rag.compose import sentence_answer

    body = "该公司合成氩空分装置顺利生产出合格液氩。这是该公司继液氧、液氮之后生产出的又一款液体产品。"
    best, _ = _candidate_for(body, "这是该公司继液氧、液氮之后生产出的又一款液体产品。")
    text, citations = sentence_answer(analyze("继液氧、液氮之后又生产出了哪种液体产品？"), best)
    assert "液氩" in citations[0].quote and citations[0].quote == body
    assert text == body + "[1]"


@pytest.mark.parametrize(
    ("question", "span", "expected"),
    [
        ("南极中山站越冬考察要历时多长时间？", "500多天", "历时500多天"),
        ("喷淋洒水不少于多长时间？", "20分钟", "不少于20分钟"),
        # An approximate figure reads 约为…, not 为约….
        ("经北街全长多少？", "约5.24公里", "经北街全长约为5.24公里"),
    ],
)
def test_no_joiner_follows_a_word_that_takes_the_figure_itself(question, span, expected):
    assert short_statement(analyze(question), span).endswith(expected)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (  # one place of each kind asked is printed: both go in the interrogatives' places
            "8月28日，记者在晋源区采访发现，义井街道华都社区积极发挥“党建+”优势。",
            "华都社区在太原晋源区义井街道。[1]",
        ),
        (  # no 街道 is printed: one span cannot answer both, the sentence stands
            "记者在晋源区采访发现，华都社区一共建立了123个党员中心户。",
            "记者在晋源区采访发现，华都社区一共建立了123个党员中心户。[1]",
        ),
    ],
)
def test_a_question_asking_two_places_needs_one_of_each_kind(body, expected):
    from rag.compose_typed import typed_answer
    from rag.evidence_spans import typed_spans

    best, _ = _candidate_for(body, body)
    analysis = analyze("华都社区在太原哪个区、哪个街道？")
    best = type(best)(**{**best.__dict__, "spans": tuple(typed_spans(body, analysis))})
    text, citations = typed_answer(analysis, best)
    assert text == expected and citations[0].quote == body


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        (
            "山西展厅以什么为主题？",
            "本届进博会以“表里山河·晋览未来”为主题，面积435平方米的山西展厅将精彩亮相。",
            "山西展厅以“表里山河·晋览未来”为主题。[1]",
        ),
        (
            "志愿者服务期间用哪个App签到？",
            "志愿者统一使用“志愿汇”App签到，记录志愿服务时长。",
            "志愿者服务期间用“志愿汇”App签到。[1]",
        ),
        (
            "擦亮的文旅品牌叫什么？",
            "在“好邻居多走动”活动中，擦亮“唐风晋韵·锦绣太原”文旅品牌。",
            "擦亮的文旅品牌叫“唐风晋韵·锦绣太原”。[1]",
        ),
    ],
)
def test_a_printed_name_is_stated_from_the_quoted_term_beside_the_asked_word(question, sentence, expected):
    from rag.compose_named import named_answer

    best, _ = _candidate_for(sentence, sentence)
    text, citations = named_answer(analyze(question), best)
    assert text == expected and citations[0].quote == sentence


def test_no_name_is_stated_when_no_quoted_term_stands_beside_the_asked_word():
    from rag.compose_named import named_answer

    sentence = "“百品荟”活动期间，与太原电视台联合制作微视频50多个。"
    best, _ = _candidate_for(sentence, sentence)
    assert named_answer(analyze("联合制作的微视频系列叫什么名字？"), best) is None


def test_when_the_asked_word_is_not_printed_the_noun_before_it_finds_the_name():
    from rag.compose_named import named_answer

    sentence = "与太原电视台联合制作“百品荟”微视频50多个。"
    best, _ = _candidate_for(sentence, sentence)
    text, _ = named_answer(analyze("联合制作的微视频系列叫什么名字？"), best)
    assert text == "联合制作的微视频系列叫“百品荟”。[1]"


def test_a_restatement_may_repeat_only_nouns_the_cited_article_prints():
    from rag.compose_typed import restates_unprinted
    from rag.types import Article

    article = Article(
        id="a",
        title="费托合成取得突破",
        body="联合在费托合成上取得突破性成果，并在国际权威期刊《科学》上刊发。",
        source="p.txt",
        date="2025-11-05",
        kind="news",
    )
    near_miss = analyze("钙钛矿电池的突破性成果发表在哪本国际期刊上？")
    asked = analyze("费托合成的突破性成果发表在哪本国际期刊上？")
    assert restates_unprinted(near_miss, "钙钛矿电池的突破性成果发表在《科学》国际期刊上", article)
    assert not restates_unprinted(asked, "费托合成的突破性成果发表在《科学》国际期刊上", article)
    # The paper's short form of a name it prints in full is the paper's word too.
    body = "借力第四届中国国际进口博览会平台，推介会在上海举行。"
    expo = Article("b", "推介会", body, "p.txt", "2021-11-05", "news")
    assert not restates_unprinted(analyze("推介会借力的是第几届进博会？"), "推介会借力的是第四届进博会", expo)


def test_the_parts_of_a_quoted_list_are_answered_by_the_sentences_defining_them():
    from rag.compose_lists import list_answer

    body = (
        "省市联动创新建立省市联管、联建、联防联控机制。联管,省市直接调度指挥重点工业园区;"
        "联建,有机整合现有空气质量监测站点;联防,统一区域重污染天气预警标准。"
    )
    best, chunk = _candidate_for(body, "省市联动创新建立省市联管、联建、联防联控机制。")
    text, citations = list_answer(analyze("“联管、联建、联防”分别指什么？"), best, _OneArticle(chunk))
    assert [c.quote[:2] for c in citations] == ["联管", "联建", "联防"]
    assert text.startswith("联管,") and "[3]" in text


def test_a_near_tie_listing_more_items_is_preferred_to_a_sentence_listing_two():
    from rag.compose_lists import richest_listing
    from rag.evidence import Candidate

    body = "醋业结合作业、操作等场景开展培训。此次培训讲解了作业安全、触电防范、机械伤害防范、应急等知识。"
    lead, _ = _candidate_for(body, "醋业结合作业、操作等场景开展培训。")
    topics, _ = _candidate_for(body, "此次培训讲解了作业安全、触电防范、机械伤害防范、应急等知识。")
    lead = Candidate(**{**lead.__dict__, "score": 0.87})
    topics = Candidate(**{**topics.__dict__, "score": 0.83})
    assert richest_listing([lead, topics]) is topics
    far_behind = Candidate(**{**topics.__dict__, "score": 0.6})
    assert richest_listing([lead, far_behind]) is lead


def test_a_long_listing_sentence_is_cut_to_the_clause_that_holds_its_items():
    from rag.compose_lists import list_answer

    sentence = (
        "此次培训紧扣企业生产特性，系统讲解了有限空间作业安全要求、触电事故防范、机械伤害事故防范等知识，"
        "引导员工树立“设备无隐患、操作零违章”的安全意识，坚决防范各类生产安全事故的发生。"
    )
    best, chunk = _candidate_for(sentence, sentence)
    text, citations = list_answer(analyze("培训讲了哪些内容？"), best, _OneArticle(chunk))
    assert citations[0].quote == "系统讲解了有限空间作业安全要求、触电事故防范、机械伤害事故防范等知识"
    assert sentence[citations[0].start : citations[0].end] == citations[0].quote
    assert text == citations[0].quote + "。[1]"


def test_a_restatement_may_not_repeat_a_nominal_word_the_article_lacks_but_may_reword_a_verb():
    from rag.compose_typed import restates_unprinted
    from rag.types import Article

    article = Article(
        "a", "支持太原制造", "今年打造绿色工厂4家、绿色产品2种。", "p.txt", "2023-09-21", "news"
    )
    assert restates_unprinted(analyze("今年打造了几家智能工厂？"), "今年打造了4家智能工厂", article)
    assert not restates_unprinted(analyze("今年挑出了几家绿色工厂？"), "今年挑出了4家绿色工厂", article)


def test_a_sentence_answer_keeps_the_clause_that_holds_the_typed_span():
    from rag.compose import sentence_answer
    from rag.evidence import Candidate

    sentence = (
        "11月5日，第八届中国国际进口博览会启幕，宛如“四叶草”的国家会展中心敞开怀抱，"
        "汇五洲佳品，聚四海宾朋，共享开放机遇，进博会的“朋友圈”越来越大，开幕的消息传遍黄浦江畔。"
    )
    best, _ = _candidate_for(sentence, sentence)
    best = Candidate(**{**best.__dict__, "spans": ((0, 5),)})
    _, citations = sentence_answer(analyze("进博会是哪天开幕的？"), best)
    assert "11月5日" in citations[0].quote


class _EvenIdf(_OneArticle):
    """One article, every printed word equally rare: coverage counts words, not their rarity."""

    def document_frequency(self, token):
        return int(token in self.chunk.text)

    def idf(self, token):
        return 1.0


def test_a_summary_of_an_article_in_sections_takes_a_fact_from_each_section_not_a_remark():
    from rag.compose import summary_answer

    body = (
        "万柏林区民政局聚焦“一老一小”特殊群体，尽心尽力为民办实事。\n"
        "托起幸福夕阳红\n"
        "“平时我们工作都很忙，母亲在家急需有人照料。”\n"
        "今年，万柏林区加快构建“1+14+N”养老服务体系。\n"
        "编织成长新摇篮\n"
        "万柏林区是全市唯一争创示范区的县。今年年初，万柏林区实现14个街道未保站全覆盖。\n"
        "方便居民零距离\n"
        "居民们都说好。万柏林区2381名干部成为了便民帮办代办员。"
    )
    candidate, chunk = _candidate_for(body, "万柏林区民政局聚焦“一老一小”特殊群体，尽心尽力为民办实事。")
    text, citations = summary_answer(
        analyze("万柏林区民政局围绕“一老一小”都做了哪些工作？"), candidate, _EvenIdf(chunk)
    )
    quotes = [c.quote for c in citations]
    assert quotes[0].startswith("万柏林区民政局聚焦")  # the lead first
    assert any("1+14+N" in q for q in quotes)
    assert any("未保站" in q for q in quotes)  # the sentence with the figure, not the framing one
    assert any("2381名" in q for q in quotes)
    assert not any(q.startswith("“") for q in quotes)  # a resident's remark summarises nothing
    assert len(citations) == 4 and text.count("[") == 4


@pytest.mark.parametrize(
    ("quote", "lists"),
    [
        ("推介会以“启航新征程、凝聚新力量”为主题，详细解读了综改区发展新优势。", False),  # a slogan
        ("培训讲了有限空间作业、机械操作等内容。", True),
        ("推出了“追思小屋”“云祭扫”两项服务。", True),
        ("发布了《报告》和《指南》。", True),
    ],
)
def test_a_list_is_read_outside_quotation_marks(quote, lists):
    from rag.compose_lists import names_items

    assert names_items(quote) is lists


@pytest.mark.parametrize(
    ("sentence", "asked", "question", "items"),
    [
        ("涉及特色文创、老字号、生活健康等板块", None, "哪些板块", ["特色文创", "老字号", "生活健康"]),
        ("涵盖的太原、晋中、忻州、吕梁五市,8月1日起", 4, "是哪几个市？", ["太原", "晋中", "忻州", "吕梁"]),
        ("系统讲解了有限空间作业、机械操作等知识", None, "", ["有限空间作业", "机械操作"]),
        ("推动“流动审批车”“视频云勘验”等便民举措", None, "", ["“流动审批车”", "“视频云勘验”"]),
        (  # of several runs, the one the question's words follow
            "按照先做景、后建房，先产业、后住宅的思路，把奥特莱斯、南湖建设作为首要建设任务。",
            2,
            "把哪两项建设列为首要建设任务？",
            ["奥特莱斯", "南湖建设"],
        ),
        # 板块 are listed, 企业 asked: not an answer
        ("涉及特色文创、老字号、生活健康等多个板块", None, "7家太原企业是哪几家？", []),
        # three places where two things are asked: not an answer
        ("来到杨家峪高速路口、丈子头东高速路口和杨家峪村，实地督导", 2, "盯的是哪两件事？", []),
        # clauses, not items (在…上当龙头、在…上当龙头)
        ("在山西中部城市群建设上当龙头、在构建现代化产业体系上当龙头", None, "", []),
    ],
)
def test_a_list_answer_reads_the_items_off_the_listing_sentence(sentence, asked, question, items):
    from rag.compose_lists import listed_items

    assert listed_items(sentence, asked, question) == items


@pytest.mark.parametrize(
    ("sentence", "question", "items"),
    [
        (  # the two 板块 open two clauses; the question's own “两大板块” is no item
            "重点打造“两大板块”，丈子头板块着力推动传统产业改造升级；杨家峪板块大力发展数字经济产业。",
            "杏花岭区要举全区之力打造的“两大板块”是哪两个？",
            ["丈子头板块", "杨家峪板块"],
        ),
        (  # works are named by their titles
            "会议强调,《习近平谈治国理政》第四卷和《习近平经济思想学习纲要》两部重要著作的出版发行意义重大。",
            "市政协党组扩大会议学习了哪两部著作？",
            ["《习近平谈治国理政》第四卷", "《习近平经济思想学习纲要》"],
        ),
        # three titles where two are asked: which two is not printed
        ("学习了《甲书》《乙书》和《丙书》。", "学习了哪两部著作？", []),
        # no count asked: nothing says the list is complete
        ("丈子头板块着力推动改造；杨家峪板块大力发展数字经济。", "打造了哪些板块？", []),
    ],
)
def test_a_counted_kind_is_read_as_the_names_ending_in_it(sentence, question, items):
    from rag.compose_lists import asked_count, items_of_kind

    assert items_of_kind(sentence, asked_count(question), analyze(question)) == items


def test_an_answer_after_a_comma_in_the_question_is_anchored_on_the_asking_clause():
    from rag.compose import anchored_clause

    sentence = "社区针对年轻人需求，一方面，依托新时代文明实践站，通过组织“圆桌派”“读书沙龙”等交流活动。"
    s, e = anchored_clause(sentence, "西华苑东社区针对年轻人，依托什么组织“圆桌派”“读书沙龙”等活动？")
    assert sentence[s:e] == "依托新时代文明实践站，"


def test_the_sentence_a_zhe_shi_sentence_refers_to_gives_the_answering_clause():
    from rag.compose import sentence_answer

    body = (
        "9月20日,记者从太化新材料有限公司获悉,该公司合成氩空分装置顺利生产出合格液氩,并已实现装车外售。"
        "这是该公司继液氧、液氮之后,生产出的又一款能够增加效益的液体产品。"
    )
    best, _ = _candidate_for(body, "这是该公司继液氧、液氮之后,生产出的又一款能够增加效益的液体产品。")
    text, citations = sentence_answer(analyze("太化新材料公司继液氧、液氮之后又生产出了哪种液体产品？"), best)
    assert text == "记者从太化新材料有限公司获悉,该公司合成氩空分装置顺利生产出合格液氩。[1]"
    assert citations[0].quote == body  # both sentences: the second ties 液氩 to 液氧、液氮之后


def test_a_year_the_question_pins_stays_in_a_short_answer():
    from rag.compose_typed import typed_answer
    from rag.evidence_spans import typed_spans

    sentence = "PM2.5浓度由2017年的60微克/立方米下降至2022年的44微克/立方米。"
    analysis = analyze("2022年太原的PM2.5浓度是多少？")
    best, _ = _candidate_for(sentence, sentence)
    best = type(best)(**{**best.__dict__, "spans": (tuple(typed_spans(sentence, analysis))[-1],)})
    text, _ = typed_answer(analysis, best)
    assert text.startswith("2022年") and "44微克/立方米" in text


def test_a_what_question_gets_the_clause_that_fills_its_slot():
    from rag.compose import anchored_clause

    sentence = (
        "2021年,党中央、国务院出台《关于新时代推动中部地区高质量发展的意见》,"
        "将太原定位为国家区域中心城市,将大同定位为国家区域重点城市。"
    )
    s, e = anchored_clause(sentence, "2021年党中央、国务院出台的意见把太原定位为什么城市？")
    assert sentence[s:e] == "将太原定位为国家区域中心城市,"
    # Whose view it is stays with the view.
    said = "刘俊义认为,创新驱动实际上就是人才驱动。"
    s, e = anchored_clause(said, "省科技厅方面认为，创新驱动实际上就是什么驱动？")
    assert said[s:e] == said


def test_a_clause_that_only_refers_back_or_qualifies_a_noun_is_not_cut_out():
    from rag.compose import anchored_clause

    # 该项目 names its subject in another sentence: the reader must see the whole one.
    funded = "该项目由国家艺术基金资助,旨在继承和发扬中华民族传统彩塑妆金技艺。"
    assert anchored_clause(funded, "美术学院的琉璃烧制工艺人才培养项目由什么基金资助？") is None
    # …生产出的又一款产品: the words qualify the asked noun, no answer follows them.
    recap = "这是该公司继液氧、液氮之后,生产出的又一款能够增加效益的液体产品。"
    assert anchored_clause(recap, "太化新材料公司又生产出了哪种液体产品？") is None
    # 该公司… keeps the clause before, which names the company.
    lead = "9月20日,记者从太化新材料有限公司获悉,该公司合成氩空分装置顺利生产出合格液氩,并已实现装车外售。"
    s, e = anchored_clause(lead, "太化新材料公司又生产出了哪种液体产品？")
    assert lead[s:e] == "记者从太化新材料有限公司获悉,该公司合成氩空分装置顺利生产出合格液氩,"
    assert anchored_clause(lead, "太化新材料公司开了什么会？") is None


def test_the_words_before_time_asked_pick_the_date():
    from rag.compose_typed import _best_span

    sentence = "市工信局拟定于9月1日至15日举办2023年“创客中国”市级比赛，报名截止日期为8月30日。"
    best, _ = _candidate_for(sentence, sentence)
    analysis = analyze("2023年“创客中国”市级比赛的报名截止时间是什么时候？")
    spans = tuple((m.start(), m.end()) for m in re.finditer(r"9月1日至15日|8月30日", sentence))
    best = type(best)(**{**best.__dict__, "spans": spans})
    assert _best_span(best, analysis) == "8月30日"


def test_a_name_asked_for_must_be_stated_by_the_quote():
    from rag.compose_named import asked_name_missing

    asked = analyze("第七届进博会山西展厅的主题是什么？")
    assert asked_name_missing(asked, ["在去年的第七届进博会山西展厅，山西工美产业联盟展位前客流不断。"])
    assert not asked_name_missing(asked, ["本届进博会以“表里山河·晋览未来”为主题。"])
    assert not asked_name_missing(analyze("山西展厅面积多大？"), ["展位前客流不断。"])
    # A journal is named by its title; printing the word 期刊 names none.
    journal = analyze("钙钛矿电池的突破性成果发表在哪本国际期刊上？")
    assert asked_name_missing(journal, ["学术期刊普遍与国际通行学术规范接轨，论文必须有所突破。"])
    assert not asked_name_missing(journal, ["相关成果发表在国际期刊《科学》上。"])


def test_a_title_and_a_university_are_restated():
    assert short_statement(analyze("侯森是什么职务？"), "杏花岭区委书记") == "侯森是杏花岭区委书记"
    assert short_statement(analyze("李志荣担任什么职务？"), "副院长") == "李志荣担任副院长"
    assert short_statement(analyze("黄继忠是哪所大学的？"), "上海大学") == "黄继忠是上海大学的"


def test_a_term_glued_to_a_verb_is_no_unprinted_noun():
    from rag.compose_typed import restates_unprinted

    article = Article("a", "工业大会", "太钢集团总经理李华说:“太钢将围绕强龙头。”", "p", "2022-07-29", "news")
    analysis = analyze("李华是哪家企业的总经理？")
    assert not restates_unprinted(analysis, "李华是太钢集团的总经理", article)
    # A noun of the question the article never prints is still caught.
    assert restates_unprinted(analyze("李华是哪家企业的董事长？"), "李华是太钢集团的董事长", article)


def _quoting(text):
    from rag.types import Citation

    return [Citation(1, "c", "a", "标题", "2025-11-05", "000.txt", text, 0, len(text))]


def test_a_list_of_firms_asked_must_name_firms():
    from rag.compose_lists import unlisted

    question = analyze("第八届进博会山西展厅里的7家太原企业具体是哪几家？")
    sections = "包含全省26家优质企业，涉及特色文创、老字号、生活健康等多个板块，其中位于我市的有7家。"
    assert unlisted(question, _quoting(sections))
    firms = "山西水塔醋业股份有限公司、紫林醋业和太钢集团在展厅亮相。"
    assert not unlisted(question, _quoting(firms))
    # Other lists are read as before: two items named are a list.
    books = analyze("市政协党组扩大会议学习了哪两部著作？")
    assert not unlisted(books, _quoting("学习了《甲》和《乙》两部著作。"))


def test_works_asked_are_listed_only_by_titles():
    from rag.compose_lists import richest_listing, unlisted

    analysis = analyze("市政协党组扩大会议学习了哪两部著作？")
    # 选举…；选举…: a run of clauses, but no work is named.
    assert unlisted(analysis, _quoting("选举于学祥为市人大常委会主任；选举薄熙来为大连市市长。"))
    assert not unlisted(analysis, _quoting("学习《习近平谈治国理政》第四卷和《习近平经济思想学习纲要》。"))
    body = (
        "会议强调,《习近平谈治国理政》第四卷和《习近平经济思想学习纲要》两部重要著作的出版发行意义重大。"
        "要把学好用好两部重要著作作为重要政治任务,引导党员干部读原著、学原文、悟原理。"
    )
    # The sentence rich in 、 scores a little higher; the one naming the works is the list.
    titled, rich = _scored_sentences(body, 1.0, 1.5)
    assert richest_listing([rich, titled], analysis=analysis) is titled


def _scored_sentences(body: str, *scores: float) -> list:
    """The candidates for each sentence of ``body``, with these scores."""
    sentences = [part + "。" for part in body.split("。") if part]
    found = [_candidate_for(body, sentence)[0] for sentence in sentences]
    return [type(c)(**{**c.__dict__, "score": score}) for c, score in zip(found, scores, strict=True)]


def test_items_of_a_named_whole_come_from_the_sentence_printing_its_name():
    from rag.compose_lists import richest_listing

    analysis = analyze("“太原论坛”志愿者的服务地点有哪些？")
    body = (
        "通过四大板块的培训，志愿者掌握了“太原论坛”基本情况、志愿服务基础知识、志愿服务应急技能和礼仪等内容。"
        "服务地点包括山西潇河国际会议中心、机场、高铁站等区域。"
    )
    topics, places = _scored_sentences(body, 0.96, 0.92)
    assert richest_listing([topics, places], analysis=analysis) is places
    # Far behind, it is another answer, not a near tie.
    topics, places = _scored_sentences(body, 0.96, 0.5)
    assert richest_listing([topics, places], analysis=analysis) is topics


class _PagedLibrary:
    """Pages of four articles each, one page a day; counts the articles read."""

    def __init__(self, days: int) -> None:
        self.read: list[str] = []
        self._pages = {f"p{d:02d}.txt": f"2023-01-{d:02d}" for d in range(1, days + 1)}

    def pages(self) -> dict[str, tuple[str, int]]:
        return {source: (date, 4) for source, date in reversed(self._pages.items())}

    def held_by(self, source: str) -> list[str]:
        return [f"{source}#{i}" for i in range(4)]

    def article(self, article_id: str) -> Article:
        self.read.append(article_id)
        source = article_id.split("#")[0]
        kind = "notice" if article_id.endswith("#0") else "news"
        return Article(
            id=article_id, title="t", body="太原。", source=source, date=self._pages[source], kind=kind
        )


def test_a_dates_pages_are_read_in_date_order_only_until_the_report_is_full():
    from rag.compose import REPORT_LINES, articles_on_pages

    library = _PagedLibrary(days=30)
    january = articles_on_pages(library, lambda d: d.startswith("2023-01"), lambda a: True, {"p01.txt#1"})
    # Three news articles a page: the first three pages give eight, the others are never read.
    assert {a.source for a in january} == {"p01.txt", "p02.txt", "p03.txt"}
    assert sum(a.kind != "notice" for a in january) >= REPORT_LINES and len(library.read) == 11
    assert "p01.txt#1" not in {a.id for a in january}  # already listed
    dates = [a.date for a in january if a.kind != "notice"]
    assert dates == sorted(dates) and january[0].date == "2023-01-01"
    library.read.clear()
    tenth = articles_on_pages(library, lambda d: d == "2023-01-10", lambda a: a.kind == "news", set())
    assert [a.id for a in tenth] == ["p10.txt#1", "p10.txt#2", "p10.txt#3"] and len(library.read) == 4
    assert articles_on_pages(object(), lambda d: True, lambda a: True, set()) == []  # type: ignore[arg-type]
