"""Question analysis: kinds, answer types and hard constraints, from the question alone."""

import pytest

from rag.question import analyze, to_simplified


def _constraints(question):
    return {(c.kind, c.value) for c in analyze(question).constraints}


@pytest.mark.parametrize(
    ("question", "kind", "answer_type"),
    [
        ("第八届进博会山西展厅面积多大？", "quantity", "area"),
        ("紫林醋业的安全生产专项培训是哪天举办的？", "when", "date"),
        ("山西工美产业联盟展陈部主任叫什么名字？", "who", "person"),
        ("“山西之夜”第一次在进博会上亮相是第几届？", "edition", "edition"),
        ("晋源区负责人11月4日和哪家企业签署了战略合作框架协议？", "which", "organisation"),
        ("古交市哪个乡组织党员干部帮农户抢收秋粮？", "where", "place"),
        ("杏花岭区委书记侯森随市委考察学习去的是哪座城市？", "where", "place"),
        ("并州论坛《科研创新是引擎更是号角》的作者是谁？", "byline", "person"),
        ("这篇报道的记者是谁？", "byline", "person"),
        ("讲讲新兴社区干部帮九旬老人找到家人的经过。", "summary", None),
        ("2022年7月太原发生了什么？", "report", None),
        ("万柏林区民政局围绕“一老一小”都做了哪些工作？", "summary", None),
        ("紫林醋业的安全生产培训讲了哪些内容？", "list", None),
        ("太原要在哪五个方面当好龙头？", "list", None),
        ("侯森说了什么？", "said", None),
        ("2025年最近一届进博会的主题是什么？", "what", None),
    ],
)
def test_kind_and_answer_type(question, kind, answer_type):
    analysis = analyze(question)
    assert (analysis.kind, analysis.answer_type) == (kind, answer_type)


def test_hard_constraints_are_editions_years_days_names_figures_and_quotes():
    assert ("edition", 8) in _constraints("第八届进博会山西展厅面积多大？")
    assert ("edition", 38) in _constraints("参加中国第38次南极科考的博士生是谁？")
    assert {("year", 2021), ("edition", 4)} <= _constraints("2021年第四届进博会，太原有多少采购商组团参加？")
    assert ("day", "11-4") in _constraints("晋源区负责人11月4日和哪家企业签署了协议？")
    assert ("person", "侯森") in _constraints("侯森在合肥考察时参观了几家企业？")
    assert ("place", "大同") in _constraints("今年进博会山西展厅的参展企业里，有几家是大同的？")
    assert ("organisation", "太原科技大学") in _constraints(
        "2023年太原科技大学获批国家自然科学基金项目多少个？"
    )
    assert ("figure", "100") in _constraints("梧桐公寓从100多个菜品中挑出了多少道美食？")
    assert ("quoted", "太原论坛") in _constraints("“太原论坛”志愿者培训是哪天进行的？")
    assert "创客中国" in {v for _, v in _constraints("“创客中国”市级比赛一等奖奖金是多少？")}
    # The paper's own city is one constraint, whatever name it is asked by (太原, 省会).
    assert ("place", "太原") in _constraints("太原今年打造了几家绿色工厂？")
    assert ("place", "太原") in _constraints("省会今年打造了几家绿色工厂？")


def test_a_bridge_description_does_not_constrain_the_answering_article():
    question = "2021年派博士生参加第38次南极科考的那所高校，2023年获批国家自然科学基金项目多少个？"
    kinds = {(c.kind, c.value) for c in analyze(question).constraints}
    assert ("year", 2023) in kinds and ("edition", 38) not in kinds and ("year", 2021) not in kinds


def test_traditional_characters_and_english_ordinals_are_read_as_the_pages_print():
    assert to_simplified("第八屆進博會山西展廳面積多大？") == "第八届进博会山西展厅面积多大？"
    analysis = analyze("第八屆進博會山西展廳面積多大？")
    assert analysis.answer_type == "area" and ("edition", 8) in {
        (c.kind, c.value) for c in analysis.constraints
    }
    assert ("edition", 8) in _constraints("8th进博会山西展厅面积多大？")


def test_nouns_focus_and_head():
    metric = analyze("费托合成技术突破后，甲烷产率降到了多少？")
    assert "甲烷" in metric.nouns and metric.focus == ("甲烷", "产率")
    assert analyze("太原理工大学这批国家自然科学基金项目获批间接经费多少？").focus == ("间接", "经费")
    # 马路 is what 经北街 is: no other thing whose length is asked.
    assert analyze("通往飞机场那条新修马路经北街从头到尾多长？").focus == ()
    # 面上项目 is a kind of 项目: the total of all projects is no answer for it.
    assert analyze("理工大获批的面上项目经费是多少？").focus == ("面上", "经费")
    assert analyze("理工大获批的面上项目有多少项？").focus == ("面上",)
    assert analyze("2023年太原理工大学获批的青年科学基金项目有多少项？").focus[0] == "青年"
    count = analyze("第八届进博会山西展厅一共汇集了全省多少家企业？")
    assert count.head == "企业"
    # The noun after an interrogative names the kind of answer, not something to find.
    assert "号码" not in analyze("省会存档机构要查资料，该拨哪个号码？").nouns


def test_explain_dict_is_json_ready():
    data = analyze("第九届进博会山西展厅面积多大？").to_dict()
    assert (
        data["kind"] == "quantity"
        and {"kind": "edition", "text": "第九届", "value": 9} in data["constraints"]
    )


def test_markup_in_a_question_is_not_read():
    analysis = analyze('火星基地今年建成了几座温室？<img src=x onerror="window.__xss=3">')
    assert analysis.text == "火星基地今年建成了几座温室？" and not analysis.constraints


def test_scraps_the_tagger_glues_across_words_are_not_nouns_and_numbered_parts_are_constraints():
    analysis = analyze("亲贤村城中村改造太原广场项目地块二要解除与哪家物业公司的合作？")
    assert "二要" not in analysis.nouns
    assert ("name", "地块二") in {(c.kind, c.value) for c in analysis.constraints}
    assert "令加" not in analyze("夏季空气质量保障第10号调度令加严管控的时段是什么？").nouns


def test_a_standing_committee_is_an_organisation_the_answer_must_be_about():
    # 市人大常委会 and 市政协 are different bodies: the one asked must be printed in the article.
    analysis = analyze("市人大常委会党组扩大会议学习了哪两部著作？")
    constraints = {(c.kind, c.value) for c in analysis.constraints}
    assert ("organisation", "人大常委会") in constraints


def test_the_papers_own_name_is_no_place_to_find():
    analysis = analyze("2023年9月21日的太原日报有哪些报道？")
    assert analysis.kind == "report"
    assert [c.kind for c in analysis.constraints] == ["year", "day"]
