"""Pages into articles: segment the raw text of a printed Taiyuan Daily page.

Entry points: :func:`parse_page` (one file), :func:`parse_text` (a string),
:func:`load_pages` (a folder or list of files, with ``pages.json``), plus
:func:`infer_page_date` and :func:`article_id`.

How a page is read (each step is one small function below):

1. **Units.**  Every non-blank line is a unit; a preceding blank line is remembered.
   Markdown ``#``/``##``/``###`` marks are stripped but their level is kept.  A trailing
   byline is cut off its paragraph into a unit of its own: ``(刘志刚)``, ``（司勇）``,
   ``(侯慧琴、魏薇)``, ``记者 李静``, ``记者 X 通讯员 Y Z``, ``(以上由王勇编辑整理)``,
   ``(本组稿件由 何宝国 采写)``; so is a photo credit ``X 摄`` / ``X Y 摄`` (also on
   the next line).
2. **Kinds of unit.**  byline, credit, notice (``通告 …``), heading (a Markdown line, or a
   short line — at most 40 characters, at most one comma, no 。！？； — that does not end
   a sentence), body (everything else).  Two plain heading lines with no blank line
   between them are one heading (``龙城街道两社区`` / ``基层治理有妙招``).
3. **Column breaks.**  A body paragraph that does not end a sentence (。！？；…：, closing
   quotes allowed) is glued to the next body paragraph (``…的购`` + ``物选择…``).  A
   heading never takes part, so a headline is never glued to a body.
4. **Duplicates.**  A body paragraph (≥ 40 normalised characters) contained in a longer
   paragraph elsewhere on the page, or repeating an earlier equal one, is a second
   printing and is dropped; next to dropped text, shorter repeats, headings already
   printed earlier and a byline or credit right after go too.  Page 001 prints an
   article once on its own and once spliced into an interview: the interview then
   reads on continuously; a page printed twice in one file reads as once.
5. **Round-ups.**  Three or more pairs of (place-name line — ends in 区/县/市/镇/乡/街道 —,
   paragraph) in a row are the entries of one round-up article titled by the heading
   above them; the place names stay in the body as entry labels.
6. **Articles.**  A run of heading lines followed by body text starts a new article when
   the current article is closed (by a byline, or there is none yet), when the body
   opens with 本报讯, when the current article is a 本报讯 dispatch (dispatches carry no
   sub-headings), when the run has two or more lines, a level-1 ``#`` line or a kicker
   mark (``并州论坛 |``, ``【…】``).  Otherwise it is a section heading and stays in the
   body as its own line (扬开放之帆, ### “党建+引领”).  Inside a run: a last line that
   is a personal name (2–4 Han characters starting with a common surname) is the
   author of a commentary; lines starting with "——" are subtitles; with Markdown the
   first line of the highest level is the title, otherwise the last remaining line;
   lines above the title are the kicker (joined with " | "), lines below it the subtitle.
   Body text after a closed article with no heading in between starts a headless
   article.  A paragraph followed by a photo credit is a photo article on its own
   (layout drops photos anywhere, so it does not end the surrounding article).
7. **Orphan headings.**  Heading lines followed by no body (end of page, or a notice)
   belong to the article just before them: if that article is headless they are its
   headline (page 003 prints its last headline after the text), otherwise they are a
   series banner and are put in front of its kicker (``抓党建促基层治理能力提升``).
8. **Fields.**  ``body`` is the paragraphs (and section headings) joined with "\\n", bylines
   removed; 本报讯 leads are kept as printed.  ``reporters`` come from 本报讯(记者 X 通讯员 Y),
   bylines, a commentary author and photo credits; a group byline (本组稿件由 X 采写)
   is also given to every earlier article on the page that has no reporter.  A photo or
   headless article is titled by the first informative clause of its first sentence
   (dates, "在…之际" and short place phrases skipped; a long clause is cut to its quoted
   event name or to 30 characters).  ``kind``: photo, notice, roundup by structure;
   commentary when the kicker names a column such as 并州论坛/评论 or an author line is
   present; brief when a 本报讯 dispatch has at most 400 characters; news otherwise.
9. **Dates.**  ``pages.json`` next to the pages may state each page's date; otherwise
   :func:`infer_page_date` reads it from the text; otherwise the file's mtime is used
   with a warning.  ``id`` is ``article_id(title, body)``: the first 12 hex digits of
   the SHA-1 of the normalised title and body, so an unchanged article keeps its id.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import DocumentError
from rag.parse.readers import PAGE_SUFFIXES, read_page
from rag.text import (
    PAIRS,
    ends_sentence,
    normalize_for_match,
    split_clauses,
    split_sentences,
    trim_span,
    zh_to_int,
)
from rag.types import Article, ArticleKind

log = logging.getLogger(__name__)

#: Largest page file accepted, in bytes.
MAX_PAGE_BYTES = 2 * 1024 * 1024
#: Name of the per-folder file that states page dates.
PAGES_FILE = "pages.json"
#: A 本报讯 dispatch with at most this many body characters is a brief.
BRIEF_MAX_CHARS = 400
#: Longest line that can still be a heading.
HEADING_MAX_CHARS = 40
#: Shortest paragraph (normalised characters) that is checked for a second printing.
MIN_DUPLICATE_CHARS = 40
#: How many (place, paragraph) pairs in a row make a round-up.
ROUNDUP_MIN_ENTRIES = 3
#: Longest derived title for a photo or headless article.
DERIVED_TITLE_MAX = 30

_HAN = "\u4e00-\u9fff"
_NAME_RE = re.compile(rf"[{_HAN}]{{2,4}}|[{_HAN}]{{1,6}}·[{_HAN}]{{1,6}}")
_ROLE_PREFIXES = (
    "本组稿件由",
    "以上由",
    "本报记者",
    "见习记者",
    "特约记者",
    "摄影记者",
    "记者",
    "通讯员",
    "实习生",
)
_ROLE_SUFFIXES = ("编辑整理", "整理", "采写", "撰写", "报道", "供稿")
_GROUP_MARK = "本组"
_SENTENCE_END_LOOKBEHIND = r"(?<=[。！？!?…”’」』）)])"
_TRAILING_PAREN_RE = re.compile(_SENTENCE_END_LOOKBEHIND + r"\s*([（(][^（()）]{2,40}[)）])\s*$")
_TRAILING_ROLE_RE = re.compile(
    _SENTENCE_END_LOOKBEHIND + r"\s*((?:本报记者|记者|通讯员)[^。！？!?，,“”]{2,60})$"
)
_CREDIT_BODY = rf"((?:[{_HAN}·]{{2,8}}[ \u3000]+){{0,3}}[{_HAN}·]{{2,8}})\s*摄"
_TRAILING_CREDIT_RE = re.compile(_SENTENCE_END_LOOKBEHIND + r"\s*" + _CREDIT_BODY + r"\s*$")
_CREDIT_LINE_RE = re.compile(r"^\s*" + _CREDIT_BODY + r"\s*$")
_DISPATCH_CREDIT_RE = re.compile(r"^本报讯\s*[（(]([^（()）]{2,60})[)）]")
_NOTICE_RE = re.compile(r"^(通告|公告|启事|声明)(?:\s+|[:：])")
_MARKDOWN_RE = re.compile(r"^(#{1,6})\s*(.*)$")
_PLACE_RE = re.compile(rf"^[{_HAN}]{{1,8}}(?:区|县|市|镇|乡|街道|旗)$")
_COMMENTARY_RE = re.compile(r"论坛|评论|时评|短评|快评|社论|言论|观察|随笔|杂谈|漫谈")
_KICKER_MARK_RE = re.compile(r"(?:[|｜]\s*$)|(?:^\s*【.*】\s*$)")
_MONTH_DAY_RE = re.compile(r"(\d{1,2})月(\d{1,2})日")
_FUTURE_AFTER = ("起", "至", "前", "开始", "到", "以前", "之前")
_FUTURE_BEFORE = ("定于", "将于", "至", "到", "截至")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})年")
_YEAR_SKIP_BEFORE = "到至—–-~～"
_YEAR_SKIP_AFTER = ("—", "–", "-", "~", "～", "前", "底前", "以前", "远景", "目标")
_CN_NUMBER = r"([一二三四五六七八九十\d]{1,3})"
#: Recurring events whose ordinal dates a page: (pattern, year of edition 0).
_EVENT_YEARS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"第{_CN_NUMBER}届(?:中国国际)?(?:进口博览会|进博会)"), 2017),
    (re.compile(rf"第{_CN_NUMBER}个[“\"]?公民道德宣传日"), 2002),
)
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕"
    "单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝郜海阚花权强帅屠豆朴盖"
    "练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普弓"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "令狐",
    "慕容",
    "尉迟",
    "公孙",
    "夏侯",
    "司徒",
)
_NOT_A_NAME_SUFFIX = re.compile(r"(?:社区|区|县|市|镇|乡|村|街道|公司|中心|之要)$")
_CIRCUMSTANTIAL_RE = re.compile(
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}日(?:上午|下午|晚上?|早上?|凌晨|中午|傍晚|夜间)?"
    r"|近日|日前|连日来|今年以来|近期|当天|当日|昨日|今天|目前|近年来"
    r"|在.{1,30}(?:之际|期间|之时|时|前夕|当天)"
)
_LOCATIVE_RE = re.compile(r"^.{2,12}(?:内|里|上|中|旁|门口|现场)$")
_EVENT_NAME_RE = re.compile(
    r"[“「『《][^”」』》]+[”」』》][^，,。“]*?"
    r"(?:成果展|展览|展|活动|比赛|大赛|会议|大会|仪式|节|演练|培训|讲座|论坛)"
)


@dataclass(frozen=True)
class PageMeta:
    """What ``pages.json`` states about one page file: its date and why."""

    date: str | None = None
    note: str = ""


@dataclass
class _Unit:
    """One line of a page after classification (internal)."""

    kind: str  # body | heading | byline | credit | notice | entry
    text: str
    level: int = 0  # Markdown heading level, 0 for plain text
    gap: bool = True  # a blank line precedes it
    names: tuple[str, ...] = ()
    group: bool = False  # a group byline (本组稿件由 …)


@dataclass
class _Draft:
    """An article being assembled (internal)."""

    title: str = ""
    kicker: str = ""
    subtitle: str = ""
    paras: list[str] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    kind: ArticleKind | None = None  # photo, notice or roundup when the structure decides
    closed: bool = False
    dispatch: bool = False
    has_author: bool = False


# --------------------------------------------------------------------------- ids


def article_id(title: str, body: str) -> str:
    """Stable id of an article: first 12 hex digits of SHA-1 over the normalised title and body.

    Example:
        >>> article_id("标题", "正文。") == article_id("标 题", "正文")
        True
    """
    key = normalize_for_match(title) + "\n" + normalize_for_match(body)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


# --------------------------------------------------------------------------- bylines


def _strip_roles(token: str) -> str:
    changed = True
    while changed and token:
        changed = False
        for prefix in _ROLE_PREFIXES:
            if token.startswith(prefix):
                token, changed = token[len(prefix) :], True
        for suffix in _ROLE_SUFFIXES:
            if token.endswith(suffix):
                token, changed = token[: -len(suffix)], True
    return token


def _names_in(text: str) -> tuple[str, ...] | None:
    """Names listed in ``text`` once role words are removed, or None if anything else is there."""
    names: list[str] = []
    for token in re.split(r"[\s\u3000、，,]+", text.strip()):
        token = _strip_roles(token)
        if not token:
            continue
        if not _NAME_RE.fullmatch(token):
            return None
        names.append(token)
    return tuple(names) or None


def _byline_names(text: str) -> tuple[str, ...] | None:
    """Reporter names if ``text`` is a whole byline ("(刘志刚)", "记者 李静 通讯员 …"), else None."""
    s = text.strip()
    m = re.fullmatch(r"[（(]\s*(.+?)\s*[)）]", s)
    inner = m.group(1) if m else s
    if not m and not inner.startswith(_ROLE_PREFIXES):
        return None
    return _names_in(inner)


def _credit_names(text: str) -> tuple[str, ...] | None:
    """Photographer names if ``text`` is a whole credit line ("张昊宇 王娟娟 摄"), else None."""
    m = _CREDIT_LINE_RE.match(text)
    return _names_in(m.group(1)) if m else None


def _dispatch_reporters(paragraph: str) -> tuple[str, ...]:
    m = _DISPATCH_CREDIT_RE.match(paragraph)
    return (_names_in(m.group(1)) or ()) if m else ()


def is_person_name(text: str) -> bool:
    """Whether ``text`` looks like a personal name: 2–4 Han characters starting with a common surname."""
    t = text.strip()
    if not re.fullmatch(rf"[{_HAN}]{{2,4}}", t) or _NOT_A_NAME_SUFFIX.search(t):
        return False
    return t[0] in _SURNAMES or t.startswith(_COMPOUND_SURNAMES)


# --------------------------------------------------------------------------- units


def _is_heading(text: str) -> bool:
    """A short line that does not read as a sentence: a headline, kicker or section heading."""
    t = text.strip()
    if not t or len(t) > HEADING_MAX_CHARS or t.startswith("本报讯"):
        return False
    if t.startswith("——"):
        return True
    if any(c in t for c in "。；;"):
        return False
    if sum(t.count(c) for c in "，,") > 1 or t[-1] in "，,、：:":
        return False
    if any(c in t[:-1] for c in "！？!?"):
        return False
    if any(t.count(opener) > t.count(closer) for opener, closer in PAIRS.items()):
        return False  # a quote or title left open ("…出台《关于新时代推动中") is a cut paragraph
    # A headline may end with ！ or ？; a quoted exclamation is speech, not a headline.
    return not (t[-1] in "！？!?" and (len(t) > 20 or t[0] in PAIRS))


def _split_trailer(line: str) -> tuple[str, _Unit | None]:
    """Cut a trailing byline or photo credit off a body line."""
    m = _TRAILING_CREDIT_RE.search(line)
    if m and (names := _names_in(m.group(1))):
        return line[: m.start()].rstrip(), _Unit("credit", m.group(0).strip(), names=names)
    for pattern in (_TRAILING_PAREN_RE, _TRAILING_ROLE_RE):
        m = pattern.search(line)
        if m and (names := _byline_names(m.group(1))):
            group = _GROUP_MARK in m.group(1)
            return line[: m.start()].rstrip(), _Unit("byline", m.group(1), names=names, group=group)
    return line, None


def _classify(line: str, gap: bool) -> list[_Unit]:
    md = _MARKDOWN_RE.match(line)
    if md:
        text = md.group(2).strip()
        return [_Unit("heading", text, level=len(md.group(1)), gap=gap)] if text else []
    if names := _credit_names(line):
        return [_Unit("credit", line, gap=gap, names=names)]
    if names := _byline_names(line):
        return [_Unit("byline", line, gap=gap, names=names, group=_GROUP_MARK in line)]
    if _NOTICE_RE.match(line):
        return [_Unit("notice", line, gap=gap)]
    if _is_heading(line):
        return [_Unit("heading", line, gap=gap)]
    body, trailer = _split_trailer(line)
    units = [_Unit("body", body, gap=gap)] if body else []
    return units + ([trailer] if trailer else [])


def _units(text: str) -> list[_Unit]:
    """Lines into classified units; plain heading lines printed without a blank between are merged."""
    units: list[_Unit] = []
    gap = True
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            gap = True
            continue
        for unit in _classify(line, gap):
            prev = units[-1] if units else None
            if (
                prev is not None
                and not unit.gap
                and unit.kind == prev.kind == "heading"
                and unit.level == prev.level == 0
            ):
                prev.text = f"{prev.text} {unit.text}"
            else:
                units.append(unit)
        gap = False
    return units


def _join_column_breaks(units: list[_Unit]) -> list[_Unit]:
    """Glue a paragraph cut by a printed column to its continuation."""
    out: list[_Unit] = []
    pieces: list[list[str]] = []  # text of each output unit, joined once at the end
    for unit in units:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == unit.kind == "body"
            and not ends_sentence(pieces[-1][-1], extra="：:")
            and not unit.text.startswith("本报讯")
        ):
            pieces[-1].append(unit.text)
        else:
            out.append(unit)
            pieces.append([unit.text])
    for unit, parts in zip(out, pieces, strict=True):
        unit.text = "".join(parts)
    return out


def _drop_second_printings(units: list[_Unit], source: str) -> list[_Unit]:
    """Drop text printed a second time on the same page (see step 4 of the module notes).

    A body paragraph of at least :data:`MIN_DUPLICATE_CHARS` normalised characters that
    occurs inside a longer paragraph, or again after an equal one, is a second printing.
    Next to a dropped paragraph, shorter repeats and headings printed earlier on the
    page go too, and so does a byline or credit that directly follows dropped text.
    """
    norms = [normalize_for_match(u.text) if u.kind in ("body", "heading") else "" for u in units]
    bodies = [norm if unit.kind == "body" else "" for unit, norm in zip(units, norms, strict=True)]
    # One search string for the whole page: offsets map a hit back to its paragraph.
    page = "\x00".join(bodies)
    starts = list(itertools.accumulate((len(x) + 1 for x in bodies), initial=0))
    dropped: set[int] = set()

    def printed_before(i: int) -> bool:
        hit = page.find(bodies[i])
        while hit >= 0:
            j = bisect.bisect_right(starts, hit) - 1
            if j != i and j not in dropped and (len(bodies[j]) > len(bodies[i]) or j < i):
                return True
            hit = page.find(bodies[i], hit + 1)
        return False

    for i, norm in enumerate(bodies):
        if len(norm) >= MIN_DUPLICATE_CHARS and printed_before(i):
            dropped.add(i)
    if not dropped:
        return units
    first_heading: dict[str, int] = {}
    for i, unit in enumerate(units):
        if unit.kind == "heading":
            first_heading.setdefault(norms[i], i)
    changed = True
    while changed:  # both directions, so that a whole run goes in a pass or two
        changed = False
        for direction in (range(len(units)), range(len(units) - 1, -1, -1)):
            for i in direction:
                if i in dropped or not (i - 1 in dropped or i + 1 in dropped):
                    continue
                kind = units[i].kind
                repeat = (
                    (kind == "body" and len(bodies[i]) >= 4 and printed_before(i))
                    or (kind == "heading" and first_heading[norms[i]] < i)
                    or (kind in ("byline", "credit") and i - 1 in dropped)
                )
                if repeat:
                    dropped.add(i)
                    changed = True
    log.info("%s: dropped %d unit(s) printed twice", source, len(dropped))
    return [unit for i, unit in enumerate(units) if i not in dropped]


def _mark_roundups(units: list[_Unit]) -> None:
    """Turn runs of (place-name line, paragraph) pairs into round-up entries."""
    i = 0
    while i < len(units):
        pairs: list[int] = []
        j = i
        while (
            j + 1 < len(units)
            and units[j].kind == "heading"
            and _PLACE_RE.match(units[j].text)
            and units[j + 1].kind == "body"
        ):
            pairs.append(j)
            j += 2
            while j < len(units) and units[j].kind == "body":
                j += 1
        if len(pairs) >= ROUNDUP_MIN_ENTRIES:
            for k in pairs:
                units[k].kind = "entry"
            i = j
        else:
            i += 1


# --------------------------------------------------------------------------- headers and titles


def _clean_kicker(text: str) -> str:
    return text.strip().strip("|｜").strip().strip("【】").strip()


def _join(parts: Iterable[str]) -> str:
    return " | ".join(p for p in parts if p)


def _header(stack: list[_Unit], draft: _Draft) -> None:
    """Fill kicker, title, subtitle (and author) of ``draft`` from a run of heading lines."""
    lines = list(stack)
    if len(lines) >= 2 and lines[-1].level == 0 and is_person_name(lines[-1].text):
        author = lines.pop().text.strip()
        draft.reporters.append(author)
        draft.paras.append(author)  # quotable: 作者是谁 cites the printed name
        draft.has_author = True
    candidates = [
        k for k, u in enumerate(lines) if not u.text.startswith("——") and not _KICKER_MARK_RE.search(u.text)
    ] or [len(lines) - 1]
    levels = [lines[k].level for k in candidates if lines[k].level > 0]
    if levels:
        title_at = next(k for k in candidates if lines[k].level == min(levels))
    else:
        title_at = candidates[-1]
    draft.kicker = _join(
        [_clean_kicker(u.text) for u in lines[:title_at]] + ([draft.kicker] if draft.kicker else [])
    )
    draft.title = lines[title_at].text.strip()
    draft.subtitle = " ".join(u.text.strip() for u in lines[title_at + 1 :])


def _is_circumstantial(clause: str) -> bool:
    return bool(_CIRCUMSTANTIAL_RE.fullmatch(clause) or _LOCATIVE_RE.match(clause))


def derive_title(text: str) -> str:
    """A short title for an untitled text (photo caption, headless article): its first informative clause.

    Example:
        >>> derive_title("11月4日，太原市图书馆自习室座无虚席。考生们纷纷走进图书馆。")
        '太原市图书馆自习室座无虚席'
    """
    spans = split_sentences(text)
    if not spans:
        return ""
    start, end = trim_span(text, *spans[0])
    clauses = split_clauses(text[start:end]) or [text[start:end].strip()]
    informative = [c for c in clauses if not _is_circumstantial(c)]
    title = informative[0] if informative else clauses[0]
    if len(title) > DERIVED_TITLE_MAX:
        event = _EVENT_NAME_RE.search(title)
        title = event.group(0) if event else title[: DERIVED_TITLE_MAX - 1] + "…"
    return title


def _notice_fields(text: str) -> tuple[str, str]:
    """Title and body of a notice ("通告 … 特此通告 <issuer> <date>")."""
    m = _NOTICE_RE.match(text)
    word = m.group(1) if m else "通告"
    rest = text[m.end() :] if m else text
    issuer = re.search(r"特此(?:通告|公告|声明)\s*(\S+?)\s*(?:\d{4}年\d{1,2}月\d{1,2}日)?\s*$", rest)
    title = f"{issuer.group(1)}{word}" if issuer else word
    body = re.sub(
        r"(?<=[。！？])\s+|\s+(?=特此)|(?<=特此通告)\s+|\s+(?=\d{4}年\d{1,2}月\d{1,2}日\s*$)", "\n", rest
    )
    return title, body.strip()


# --------------------------------------------------------------------------- segmentation


def _starts_article(cur: _Draft | None, stack: list[_Unit], following: _Unit) -> bool:
    if cur is None or cur.closed or cur.kind == "roundup":
        return True
    if following.text.startswith("本报讯") or cur.dispatch or len(stack) >= 2:
        return True
    return any(u.level == 1 or _KICKER_MARK_RE.search(u.text) for u in stack)


def _attach_orphan(drafts: list[_Draft], stack: list[_Unit], source: str) -> None:
    target = next((d for d in reversed(drafts) if d.kind not in ("photo", "notice")), None)
    if target is None:
        log.warning("%s: heading %r has no article; ignored", source, stack[0].text)
    elif not target.title:
        _header(stack, target)
    else:
        known = target.kicker.split(" | ")
        target.kicker = _join([k for k in (_clean_kicker(u.text) for u in stack) if k not in known] + known)


def _give_group_byline(drafts: list[_Draft], names: tuple[str, ...]) -> None:
    """A group byline (本组稿件由 X 采写) also signs the earlier unsigned articles of the page."""
    for draft in drafts:
        if not draft.reporters and draft.kind not in ("photo", "notice"):
            draft.reporters.extend(names)


def _segment(units: list[_Unit], source: str) -> list[_Draft]:
    """Walk the units once, opening, filling and closing articles (step 6 and 7)."""
    # Photos and notices are layout inserts: they never become nor end the current article.
    drafts: list[_Draft] = []
    cur: _Draft | None = None
    i, n = 0, len(units)
    while i < n:
        unit = units[i]
        if unit.kind == "heading":
            j = i
            while j < n and units[j].kind == "heading":
                j += 1
            stack, following = units[i:j], (units[j] if j < n else None)
            if following is not None and following.kind == "credit":
                drafts.append(
                    _Draft(
                        kind="photo", paras=[" ".join(u.text for u in stack)], reporters=list(following.names)
                    )
                )
                j += 1
            elif following is None or following.kind not in ("body", "entry"):
                _attach_orphan(drafts, stack, source)
            elif following.kind == "entry" or _starts_article(cur, stack, following):
                cur = _Draft(kind="roundup" if following.kind == "entry" else None)
                _header(stack, cur)
                drafts.append(cur)
            elif cur is not None:  # always set here: _starts_article is true without one
                cur.paras.extend(u.text for u in stack)
            i = j
        elif unit.kind == "body" and i + 1 < n and units[i + 1].kind == "credit":
            drafts.append(_Draft(kind="photo", paras=[unit.text], reporters=list(units[i + 1].names)))
            i += 2
        elif unit.kind in ("body", "entry"):
            if cur is None or cur.closed:
                cur = _Draft(kind="roundup" if unit.kind == "entry" else None)
                drafts.append(cur)
            if not cur.paras and unit.text.startswith("本报讯"):
                cur.dispatch = True
                cur.reporters.extend(_dispatch_reporters(unit.text))
            cur.paras.append(unit.text)
            i += 1
        elif unit.kind == "notice":
            parts = [unit.text]
            i += 1
            while i < n and units[i].kind == "body" and not units[i].gap:
                parts.append(units[i].text)
                i += 1
            title, body = _notice_fields(" ".join(parts))
            drafts.append(_Draft(kind="notice", title=title, paras=[body], closed=True))
        else:  # byline or a credit without a caption before it
            if unit.group:
                _give_group_byline(drafts, unit.names)
            if cur is not None:
                cur.reporters.extend(name for name in unit.names if name not in cur.reporters)
                # The byline stays in the body so that 记者是谁 can be answered with a quote.
                if not unit.group and cur.paras:
                    cur.paras.append(unit.text.strip())
                cur.closed = True
            i += 1
    return drafts


def _kind(draft: _Draft, body: str) -> ArticleKind:
    if draft.kind is not None:
        return draft.kind
    if draft.has_author or _COMMENTARY_RE.search(draft.kicker):
        return "commentary"
    if draft.dispatch and len(body) <= BRIEF_MAX_CHARS:
        return "brief"
    return "news"


def _finish(draft: _Draft, source: str, page_date: str) -> Article | None:
    body = "\n".join(p.strip() for p in draft.paras if p.strip())
    if not body:
        return None
    title = draft.title or derive_title(body)
    return Article(
        id=article_id(title, body),
        title=title,
        body=body,
        source=source,
        date=page_date,
        kind=_kind(draft, body),
        reporters=tuple(dict.fromkeys(draft.reporters)),
        kicker=draft.kicker,
        subtitle=draft.subtitle,
    )


def parse_text(text: str, source: str, date: str | None = None) -> list[Article]:
    """Segment the text of one page into articles named after ``source`` and dated ``date`` (ISO).

    Without ``date`` the page date is inferred (:func:`infer_page_date`), falling back to
    today's date with a warning.

    Raises:
        DocumentError: ``date`` is not an ISO date, or no article can be found.
    """
    if date is None:
        date = infer_page_date(text) or _fallback_date(source, dt.date.today(), "today")
    _check_iso_date(date, source)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    units = _units(text)
    units = _join_column_breaks(units)
    units = _drop_second_printings(units, source)
    _mark_roundups(units)
    articles: list[Article] = []
    seen: set[str] = set()
    for draft in _segment(units, source):
        article = _finish(draft, source, date)
        if article is None:
            continue
        if article.id in seen:
            log.warning("%s: article %r appears twice; kept once", source, article.title)
            continue
        seen.add(article.id)
        articles.append(article)
    if not articles:
        raise DocumentError(f"{source}: no article found in the page")
    return articles


# --------------------------------------------------------------------------- dates


def _cn_number(s: str) -> int | None:
    return int(s) if s.isdigit() else zh_to_int(s)


def _infer_year(text: str) -> int | None:
    this_year = dt.date.today().year
    years: list[int] = []
    for m in _YEAR_RE.finditer(text):
        before = text[m.start() - 1] if m.start() else ""
        if before and before in _YEAR_SKIP_BEFORE or text.startswith(_YEAR_SKIP_AFTER, m.end()):
            continue  # a range ("2024—2026年") or a target ("到2035年")
        years.append(int(m.group(1)))
    for pattern, base in _EVENT_YEARS:
        for m in pattern.finditer(text):
            ordinal = _cn_number(m.group(1))
            if ordinal:
                years.append(base + ordinal)
    plausible = [y for y in years if y <= this_year]
    return max(plausible) if plausible else None


def _is_forward(text: str, m: re.Match[str]) -> bool:
    """Whether the date at ``m`` looks ahead ("9月1日起", "定于9月1日", "至9月24日")."""
    return text.startswith(_FUTURE_AFTER, m.end()) or text[: m.start()].endswith(_FUTURE_BEFORE)


def _datelines(text: str) -> list[tuple[int, int]]:
    """Month/day at the head of each 本报讯 lead ("本报讯 11月4日", "本报讯(记者 X)太原理工大学11月7日")."""
    found: list[tuple[int, int]] = []
    for line in text.split("\n"):
        line = _MARKDOWN_RE.sub(r"\2", line.strip())
        if not line.startswith("本报讯"):
            continue
        lead = re.sub(r"^本报讯\s*(?:[（(][^（()）]*[)）])?\s*", "", line)
        m = _MONTH_DAY_RE.search(lead)
        if m and m.start() < 16 and not _is_forward(lead, m):
            found.append((int(m.group(1)), int(m.group(2))))
    return found


def _latest(year: int, month_days: list[tuple[int, int]]) -> dt.date | None:
    """The latest valid date; when a page spans new year, November/December belong to the year before."""
    months = {m for m, _ in month_days}
    wraps = any(m <= 2 for m in months) and any(m >= 11 for m in months)
    dates: list[dt.date] = []
    for month, day in month_days:
        try:
            dates.append(dt.date(year - 1 if wraps and month >= 11 else year, month, day))
        except ValueError:
            continue
    return max(dates) if dates else None


def infer_page_date(text: str) -> str | None:
    """Infer a page's publication date (ISO) from its text, or None when it cannot.

    Year: the latest plausible year named on the page — explicit years ("2025年",
    "2022年7月26日"; ranges and targets such as "2024—2026年", "到2035年" are skipped) and
    numbered events (第八届进博会 = 2025, 第21个公民道德宣传日 = 2023); years after the
    current one are ignored.  Day: a 本报讯 dispatch reports yesterday's news, so with
    datelines the page is dated the day after the latest dateline; without, it is the
    latest date mentioned that does not look ahead ("9月1日起", "至9月24日").
    """
    year = _infer_year(text)
    if year is None:
        return None
    lines = _datelines(text)
    if lines:
        latest = _latest(year, lines)
        return (latest + dt.timedelta(days=1)).isoformat() if latest else None
    mentions = [
        (int(m.group(1)), int(m.group(2))) for m in _MONTH_DAY_RE.finditer(text) if not _is_forward(text, m)
    ]
    latest = _latest(year, mentions)
    return latest.isoformat() if latest else None


def _check_iso_date(value: str, source: str) -> None:
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise DocumentError(f"{source}: invalid date {value!r} (expected yyyy-mm-dd)") from None


# --------------------------------------------------------------------------- files


def read_page_meta(directory: Path) -> dict[str, PageMeta]:
    """Read ``pages.json`` of a folder (``{file name: {"date": ..., "note": ...}}``); {} if absent.

    Raises:
        DocumentError: the file is not valid JSON of that shape or holds an invalid date.
    """
    path = Path(directory) / PAGES_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DocumentError(f"{path}: not valid UTF-8 JSON ({err})") from None
    if not isinstance(data, dict):
        raise DocumentError(f"{path}: expected an object mapping page file names to {{date, note}}")
    meta: dict[str, PageMeta] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise DocumentError(f"{path}: entry {name!r} must be an object")
        page_date = entry.get("date")
        if page_date is not None:
            _check_iso_date(page_date, f"{path} [{name}]")
        meta[name] = PageMeta(date=page_date, note=str(entry.get("note", "")))
    return meta


def read_page_text(path: Path) -> str:
    """Read a page file as text (any format of :func:`rag.readers.read_page`).

    Raises:
        DocumentError: missing, larger than :data:`MAX_PAGE_BYTES`, of no accepted format, binary or empty.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise DocumentError(f"{name}: page file is too large ({size} bytes; limit {MAX_PAGE_BYTES})")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{name}: page file not found") from None
    except IsADirectoryError:
        raise DocumentError(f"{name}: is a folder, not a page file") from None
    return decode_page(raw, name)


def decode_page(raw: bytes, name: str) -> str:
    """The text of a page file's bytes: :func:`rag.readers.read_page` (text encodings, HTML, DOCX, PDF).

    Raises:
        DocumentError: of no accepted format, binary or empty.
    """
    return read_page(raw, name)


def _fallback_date(source: str, day: dt.date, what: str) -> str:
    log.warning("%s: no date given and none inferred from the text; using %s (%s)", source, what, day)
    return day.isoformat()


def _page_date(path: Path, text: str, meta: PageMeta | None) -> str:
    if meta is not None and meta.date:
        return meta.date
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    return infer_page_date(text) or _fallback_date(path.name, mtime, "the file date")


def parse_page(path: Path, meta: PageMeta | None = None) -> list[Article]:
    """Parse one page file into articles.

    The date comes from ``meta``, else from the ``pages.json`` beside the file, else from
    :func:`infer_page_date`, else from the file's modification time (with a warning).

    Raises:
        DocumentError: the file cannot be read (see :func:`read_page_text`) or has no article.
    """
    path = Path(path)
    text = read_page_text(path)
    if meta is None:
        meta = read_page_meta(path.parent).get(path.name)
    return parse_text(text, source=path.name, date=_page_date(path, text, meta))


def _page_files(paths_or_dir: Path | str | Iterable[Path | str]) -> list[Path]:
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in PAGE_SUFFIXES and p.is_file())
            if not found:
                raise DocumentError(f"{item}: no page files ({', '.join(PAGE_SUFFIXES)}) in the folder")
            files.extend(found)
        else:
            files.append(item)
    return files


def load_pages(paths_or_dir: Path | str | Iterable[Path | str]) -> list[Article]:
    """Parse page files: a folder (its page files in name order), a file, or a list of either.

    Each folder's ``pages.json`` supplies the dates.  An article whose id was already
    read from an earlier page is a reprint and is skipped.

    Raises:
        DocumentError: a page cannot be parsed, or a folder holds no page file.
    """
    metas: dict[Path, dict[str, PageMeta]] = {}
    articles: list[Article] = []
    seen: set[str] = set()
    for path in _page_files(paths_or_dir):
        folder_meta = metas.setdefault(path.parent, read_page_meta(path.parent))
        for article in parse_page(path, folder_meta.get(path.name, PageMeta())):
            if article.id in seen:
                log.warning("%s: %r was already read from another page; skipped", path.name, article.title)
                continue
            seen.add(article.id)
            articles.append(article)
    return articles
