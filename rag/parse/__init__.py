"""Pages into articles: segment the raw text of a printed Taiyuan Daily page.

Entry points: :func:`parse_page` (one file), :func:`parse_text` (a string),
:func:`load_pages` (a folder or list of files, with ``pages.json``), plus
:func:`infer_page_date` and :func:`article_id`.

How a page is read (each step is a small function of a submodule listed at the end):

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

Where each step lives:

* :mod:`rag.parse.readers`: file bytes into text (text encodings, HTML, DOCX, PDF).
* :mod:`rag.parse.units`: steps 1, 2, 3 and 5 (units, kinds, column breaks, round-ups).
* :mod:`rag.parse.names`: bylines, credits and personal names (surnames in ``rag/data/surnames.txt``).
* :mod:`rag.parse.second_printings`: step 4.
* :mod:`rag.parse.segment`: steps 6 to 8 and :func:`parse_text`, :func:`article_id`.
* :mod:`rag.parse.titles`: derived titles of photos, headless articles and notices (step 8).
* :mod:`rag.parse.dates`: :func:`infer_page_date` (step 9).
* :mod:`rag.parse.pages`: page files and folders, ``pages.json`` (:func:`parse_page`, :func:`load_pages`).
"""

from rag.parse.dates import infer_page_date
from rag.parse.names import is_person_name
from rag.parse.pages import (
    MAX_PAGE_BYTES,
    PAGES_FILE,
    PageMeta,
    ParsedPages,
    decode_page,
    infer_page_header,
    load_pages,
    parse_page,
    read_page_meta,
    read_page_text,
    read_pages,
    split_page_header,
)
from rag.parse.readers import ACCEPTED_FORMATS, PAGE_SUFFIXES, read_page
from rag.parse.second_printings import MIN_DUPLICATE_CHARS
from rag.parse.segment import BRIEF_MAX_CHARS, article_id, parse_text
from rag.parse.titles import DERIVED_TITLE_MAX, derive_title
from rag.parse.units import HEADING_MAX_CHARS, ROUNDUP_MIN_ENTRIES

__all__ = [
    "ACCEPTED_FORMATS",
    "BRIEF_MAX_CHARS",
    "DERIVED_TITLE_MAX",
    "HEADING_MAX_CHARS",
    "MAX_PAGE_BYTES",
    "MIN_DUPLICATE_CHARS",
    "PAGES_FILE",
    "PAGE_SUFFIXES",
    "ROUNDUP_MIN_ENTRIES",
    "PageMeta",
    "ParsedPages",
    "article_id",
    "decode_page",
    "derive_title",
    "infer_page_date",
    "infer_page_header",
    "is_person_name",
    "load_pages",
    "parse_page",
    "parse_text",
    "read_page",
    "read_page_meta",
    "read_page_text",
    "read_pages",
    "split_page_header",
]
