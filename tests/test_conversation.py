"""Follow-ups made standalone from the conversation, without a language model."""

from __future__ import annotations

import pytest

from rag.conversation import MAX_CARRIED, rewrite_followup
from rag.types import Turn

EXPO = "第八届进博会山西展厅的主题是什么？"
HOU = "杏花岭区委书记侯森去哪里考察学习？"


def conversation(*questions: str) -> list[Turn]:
    turns: list[Turn] = []
    for q in questions:
        turns += [Turn("user", q), Turn("assistant", "……[1]")]
    return turns


def test_no_history_leaves_the_question_alone() -> None:
    assert rewrite_followup("那它的面积有多大？", []) == "那它的面积有多大？"


@pytest.mark.parametrize(
    "followup",
    ["那它的面积有多大？", "面积多大？", "其中太原有几家？", "这个展厅有多少家企业？", "该展厅在哪里？"],
)
def test_followup_gets_the_subject_of_the_previous_question(followup: str) -> None:
    rewritten = rewrite_followup(followup, conversation(EXPO))
    assert rewritten.endswith(followup)
    assert "山西展厅" in rewritten and "进博会" in rewritten and "第八届" in rewritten
    # The previous question's own ask (主题, 什么) is not carried: it would pull the wrong passage.
    assert "主题" not in rewritten and "什么" not in rewritten


@pytest.mark.parametrize("followup", ["后来呢？", "为什么？", "还有谁参加了？", "他有什么感受？"])
def test_pure_ellipsis_carries_the_whole_previous_question(followup: str) -> None:
    rewritten = rewrite_followup(followup, conversation(HOU))
    assert rewritten.endswith(followup)
    assert "侯森" in rewritten and "杏花岭区" in rewritten and "考察" in rewritten
    assert "哪里" not in rewritten


@pytest.mark.parametrize(
    "question",
    [
        "市政协党组召开了什么会议？",
        "公民道德宣传日主题活动在哪里举行？",
        "第四届进博会太原有多少采购商参加？",
        # No name among its nouns, but long enough to say what it is about.
        "走失老人是在哪天被找到的？",
    ],
)
def test_a_question_with_its_own_subject_is_unchanged(question: str) -> None:
    assert rewrite_followup(question, conversation(EXPO)) == question


def test_a_chain_of_followups_keeps_the_first_subject() -> None:
    history = conversation(EXPO, "那它的面积有多大？", "后来呢？")
    rewritten = rewrite_followup("其中太原有几家？", history)
    assert "山西展厅" in rewritten


def test_a_new_subject_replaces_the_old_one() -> None:
    history = conversation(EXPO, "市政协党组召开了什么会议？")
    rewritten = rewrite_followup("会议由谁主持？", history)
    assert "市政协" in rewritten
    assert "山西展厅" not in rewritten


def test_assistant_turns_and_blank_questions_are_ignored() -> None:
    history = [Turn("user", "  "), Turn("assistant", "山西展厅面积435平方米[1]")]
    assert rewrite_followup("那它的面积有多大？", history) == "那它的面积有多大？"


def test_terms_already_in_the_question_are_not_repeated() -> None:
    rewritten = rewrite_followup("那山西展厅有多少家企业？", conversation("山西展厅的主题是什么？"))
    assert rewritten.count("山西展厅") == 1


def test_at_most_a_few_terms_are_carried() -> None:
    long = "太原市 晋中市 大同市 长治市 运城市 临汾市 忻州市 吕梁市 的情况如何？"
    rewritten = rewrite_followup("那它呢？", conversation(long))
    carried = rewritten.removesuffix("那它呢？").split()
    assert 0 < len(carried) <= MAX_CARRIED
