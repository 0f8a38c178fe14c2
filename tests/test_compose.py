"""Composition: the question restated as a short statement around the extracted span."""

import pytest

from rag.compose import short_statement
from rag.question import analyze


@pytest.mark.parametrize(
    ("question", "span", "expected"),
    [
        ("第八届进博会山西展厅面积有多大？", "435平方米", "进博会山西展厅面积有435平方米"),
        ("第八届进博会山西展厅一共汇集了全省多少家企业？", "26家", "一共汇集了全省26家企业"),
        ("山西工美产业联盟展陈部主任叫什么名字？", "薛文凯", "联盟展陈部主任叫薛文凯"),
        ("紫林醋业的安全生产专项培训是哪天举办的？", "11月1日", "安全生产专项培训是11月1日举办"),
        ("“太原论坛”志愿者培训是哪天进行的？", "8月27日", "“太原论坛”志愿者培训是8月27日进行"),
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
