"""What kind of answer a Chinese question asks for, and whether a sentence holds one.

A question such as 签约了多少金额？ is only answered by a sentence that states an
amount of money; 书记叫什么名字？ only by one that names a person.  The extractive
generator uses this to pick the right sentence and, as importantly, to refuse when
the retrieved article is on topic but does not state what was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.bm25 import pos_tags

_NUM = r"(?:[0-9０-９][0-9０-９.,，]*|[一二两三四五六七八九十百千万亿几数半]+)\s*(?:余|多|近|万|亿|千|百)*\s*"


@dataclass(frozen=True)
class Expectation:
    """An answer shape: a name for people reading reports, a pattern a sentence must match."""

    kind: str
    pattern: re.Pattern[str] | None = None

    def matches(self, sentence: str, question: str = "") -> bool:
        """Whether ``sentence`` contains an answer of this kind (a person not named in ``question``)."""
        if self.kind == "person":
            if any(name not in question for name in person_names(sentence)):
                return True
            # jieba's tagger misses many names; a role word followed by two or three
            # characters and a pause (副市长蔡江泽出席) is the paper's own pattern.
            return any(m.group(1) not in question for m in _NAME_AFTER_ROLE.finditer(sentence))
        assert self.pattern is not None
        return bool(self.pattern.search(sentence))


def _quantity(units: str) -> re.Pattern[str]:
    return re.compile(_NUM + f"(?:{units})")


_DATE = re.compile(
    r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{4}\s*年|[一二三四五六七八九十]+月|[今去明前]年|年[初底中]|月[初底中]"
    r"|\d{1,2}\s*[日号]|上午|下午|晚间|当晚|当天|近日|日前|周[一二三四五六日]"
)
_YEAR = re.compile(r"\d{4}\s*年|[今去明前]年")
#: A telephone number as the paper prints it: 0351-2366977, a mobile, or a 1234x hotline.
PHONE = re.compile(r"(?<![\d.])(?:0\d{2,3}\s*[-－—]\s*\d{7,8}|1[3-9]\d{9}|\d{7,8}|12\d{3})(?![\d.%])")

# (question pattern, expectation), first match wins; order matters (年纪 before 多大).
_ROLE = (
    r"主任|书记|局长|市长|厅长|主席|经理|董事长|教授|院长|部长|记者|通讯员|负责人|专家|作者|居民|老人|委员|队员"
    r"|博士生|研究生|教师|校长|社长|站长|镇长|县长|区长|干部|员工|代表"
)
# Titles that the paper prints right before a person's name (主任薛文凯, 副市长蔡江泽).
_TITLE = (
    r"主任|书记|局长|市长|厅长|主席|经理|董事长|教授|院长|部长|记者|通讯员|博士|校长|县长|区长|镇长|站长|社长"
)
_NOT_A_NAME = (
    r"表示|介绍|认为|强调|指出|出席|参加|带队|来到|深入|调研|一行|们|和|与|等|在|对|为|说|也|都|还|将|要|会"
)
_NAME_AFTER_ROLE = re.compile(
    rf"(?:{_TITLE})\s*(?!{_NOT_A_NAME})([\u4e00-\u9fff]{{2,3}})(?=[，,、。：:“]|表示|说|介绍|认为|出席|笑|$)"
)
_ORDINAL = re.compile(r"第\s*[一二三四五六七八九十百零\d]+\s*[届次期窟批轮号名位站]")

# (question pattern, expectation), first match wins; order matters (年纪 before 多大,
# 多长时间 before 多长).
_RULES: list[tuple[re.Pattern[str], Expectation]] = [
    (
        re.compile(r"多大年纪|多少岁|几岁|年龄|年纪|岁数|高龄"),
        Expectation("age", re.compile(r"\d+\s*岁|[一二三四五六七八九十]+旬|岁")),
    ),
    (re.compile(r"哪一年|哪年|什么年份"), Expectation("year", _YEAR)),
    (re.compile(r"电话|号码|热线|拨打|拨哪"), Expectation("phone", PHONE)),
    (
        re.compile(r"第几届|哪一届|哪届|第几次|哪一次|第几[窟批期轮号名位站]"),
        Expectation("ordinal", _ORDINAL),
    ),
    (
        re.compile(
            r"哪天|哪一天|什么时候|何时|几月几[日号]|几号|什么日子|日期|什么时间|哪个月|(?:周|星期|礼拜)几|时段|时间段"
        ),
        Expectation("date", _DATE),
    ),
    # 侯森是什么职务: the title the paper prints right before the name (杏花岭区委书记侯森).
    (re.compile(r"什么(?:职务|职位|职称|身份|头衔)|担任什么|任什么职"), Expectation("role")),
    (re.compile(rf"谁|哪位|姓名|(?:{_ROLE})[^，。？?]{{0,4}}叫什么"), Expectation("person")),
    (re.compile(r"多少分钟|几分钟"), Expectation("minutes", _quantity(r"分钟|小时"))),
    (re.compile(r"多少小时|几个小时|几小时"), Expectation("hours", _quantity(r"小时|分钟"))),
    (re.compile(r"多少天|几天"), Expectation("days", _quantity(r"天|日|个工作日|工作日"))),
    (
        re.compile(r"多久|多长时间|用时|历时|时限"),
        Expectation(
            "duration", re.compile(_NUM + r"(?:个?(?:天|分钟|小时|周|工作日)|个月)|(?<![0-9])[0-9]{1,2}\s*年")
        ),
    ),
    (
        re.compile(r"金额|多少钱|多少万|多少亿|奖金|经费|成交|投资额|资金|价格|价钱|售价|单价|造价|费用"),
        Expectation("money", _quantity(r"元|万元|亿元|美元")),
    ),
    (
        re.compile(r"面积|占地|多少平方|多大的?(?:展厅|场地|地方)"),
        Expectation("area", _quantity(r"平方米|平方公里|㎡|亩|公顷")),
    ),
    (
        re.compile(r"多长|全长|长度|多少公里|多少米|多远|距离"),
        Expectation("length", _quantity(r"公里|千米|米|km")),
    ),
    (re.compile(r"多重|重量|多少吨|多少公斤"), Expectation("weight", _quantity(r"吨|公斤|千克|斤"))),
    (re.compile(r"多高|高度|海拔"), Expectation("height", _quantity(r"米|层"))),
    (
        re.compile(r"(?<!等)比例|占比|百分之|几成|增速|增幅|降幅|增长了?多少|下降了?多少|提升了?多少"),
        Expectation("ratio", re.compile(r"\d[\d.]*\s*%|百分之|[一二三四五六七八九]成|\d+\s*倍")),
    ),
    (re.compile(r"浓度"), Expectation("concentration", _quantity(r"微克|毫克"))),
    (
        re.compile(r"(?<!哪)(?:多少(?:名|人|位)|几(?:名|人|位))|人数|多少师生|多少员工|多少志愿者"),
        Expectation("people", _quantity(r"名|人|位|人次")),
    ),
]
_COUNTER = re.compile(
    r"(?<!哪)(?:多少|几)\s*([个家项场件种次所期座块条台户辆份批届支套张篇部例通拨道幅棵只头匹株本册首款枚颗栋间层处])"
)
_GENERIC_NUMBER = re.compile(r"多少|(?<!哪)几")
_LIST = re.compile(r"哪几|哪些")


def expectation(question: str) -> Expectation | None:
    """The answer shape ``question`` asks for, or None when any informative sentence may do."""
    for pattern, expected in _RULES:
        if pattern.search(question):
            return expected
    counter = _COUNTER.search(question)
    if counter:
        return Expectation(f"count:{counter.group(1)}", _quantity(re.escape(counter.group(1))))
    if _LIST.search(question):
        return None
    if _GENERIC_NUMBER.search(question):
        return Expectation(
            "number", re.compile(r"[0-9０-９]|[一二两三四五六七八九十百千万]+[个家项名人场次种届成倍]")
        )
    return None


#: Words that say what kind of answer is wanted rather than what it is about.
ASKING_WORDS: frozenset[str] = frozenset(
    """名字 姓名 年纪 年龄 岁数 时间 日期 时候 多大 多长 多重 多久 数量 分别 哪些 哪几 具体 一共 总共 大约
    金额 面积 全长 长度 重量 比例 占比 人数 名称 什么 哪家 哪位 哪个 哪里 几家 几个 多少""".split()
)

_SPECIFIC = re.compile(r"\d|第[一二三四五六七八九十百零]+[届次期]")


def specific_terms(tokens: list[str]) -> list[str]:
    """Tokens that pin a question to one edition, year or figure (第九届, 2024年, 38次)."""
    return [t for t in tokens if _SPECIFIC.search(t)]


@lru_cache(maxsize=4096)
def person_names(sentence: str) -> tuple[str, ...]:
    """Person names jieba's tagger finds in ``sentence`` (cached: the same sentences recur).

    Tagged with the archive's user dictionary, whatever was imported first: without it
    阳泉 or 娄烦县 read as names, and the cache would keep that answer.
    """
    return tuple(
        word for word, flag in pos_tags(sentence) if flag in ("nr", "nrfg", "nrt") and len(word) >= 2
    )
