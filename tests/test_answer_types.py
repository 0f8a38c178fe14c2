import pytest

from rag.answer_types import expectation, specific_terms


@pytest.mark.parametrize(
    ("question", "kind", "good", "bad"),
    [
        ("山西展厅面积有多大？", "area", "面积435平方米的山西展厅", "包含全省26家优质企业"),
        ("走失的老人多大年纪？", "age", "老人今年90岁，临汾人", "老人被家人接走"),
        ("培训是哪天举办的？", "date", "11月1日，紫林醋业组织培训", "紫林醋业组织全体员工培训"),
        ("经北街全长多少公里？", "length", "全长约5.24公里", "共有三个主要节点"),
        ("订单一共多少吨？", "weight", "共计1159吨", "合同有408块"),
        ("演练用时多少分钟？", "minutes", "演练持续20分钟", "开展2025年应急疏散演练"),
        ("原来的办理时限是多久？", "duration", "由法定的2个工作日优化为即办", "开展2025年演练"),
        ("与瑞士企业达成了多少金额的合作？", "money", "达成300万元的意向合作", "接待了8拨客人"),
        ("有多少名师生参加？", "people", "4000余名师生参加演练", "在坞城校区开展演练"),
        ("获批了多少个项目？", "count:个", "获得的135个项目", "重点项目1项"),
        ("山西之夜首秀是第几届？", "ordinal", "第六届进博会上", "进博会上的首秀"),
        ("省发改委主任是谁？", "person", "省发改委主任王利波表示", "省发改委主任表示，将支持"),
        ("档案馆的查档电话是多少？", "phone", "查档电话为0351-2366977", "共2366户居民"),
        ("考察历时多久？", "duration", "历时500多天的越冬考察", "11月出发"),
        ("调度令加严管控的时段是什么？", "date", "明确7月29日0时至7月31日24时", "加严空气质量管控措施"),
    ],
)
def test_expected_answer_kind_and_matching(question, kind, good, bad):
    expected = expectation(question)
    assert expected is not None and expected.kind == kind
    assert expected.matches(good, question)
    assert not expected.matches(bad, question)


def test_open_and_list_questions_expect_nothing_special():
    assert expectation("山西展厅以什么为主题？") is None
    assert expectation("志愿者的服务地点有哪些？") is None
    assert expectation("娄烦县委负责人到哪几个镇调研？") is None


def test_a_person_named_in_the_question_is_not_an_answer():
    expected = expectation("薛文凯是谁？")
    assert not expected.matches("主任薛文凯笑意盈盈", "薛文凯是谁？")


def test_specific_terms_pin_editions_and_years():
    assert specific_terms(["第九届", "进博会", "2024", "面积"]) == ["第九届", "2024"]
    assert specific_terms(["一届", "最近"]) == []


def test_person_names_use_the_user_dictionary_whatever_was_imported_first() -> None:
    import subprocess
    import sys

    # A fresh process where nothing has loaded the user dictionary yet: 阳泉 and 娄烦县 are
    # places in it, but jieba's own dictionary tags them as names.
    code = "from rag.answer_types import person_names as n; print(n('阳泉开幕'), n('娄烦县开幕'))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.split() == ["()", "()"]
