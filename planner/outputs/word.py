"""The draft plan as a Word document (.docx, python-docx), A4, Chinese fonts.

Sections are Word headings (Heading 1 for 一、... and the note, Heading 2 inside), so
Word's navigation pane lists them and the table of contents at the top fills in when
Word updates its fields (it asks on opening). Tables are Word tables with a header row
repeated on each page; the map is a picture. Chinese text is set in 宋体 (headings in
黑体) through the East Asian font slot, so Word does not fall back to a Latin font.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .._io import atomic_write
from .draft import Draft, Part, Table

#: Fonts of the Chinese document (East Asian slot) and of Latin text.
BODY_FONT, HEADING_FONT, LATIN_FONT = "宋体", "黑体", "Times New Roman"
#: Map picture width on the page.
PICTURE_WIDTH_CM = 16.0


def _east_asian(style_or_run: Any, name: str) -> None:
    """Set the East Asian font of a style or run (python-docx sets only Latin)."""
    from docx.oxml.ns import qn

    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def _setup(doc: Any, lang: str) -> None:
    """A4 with 2.5/2 cm margins; body and heading fonts; fields updated on opening."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    for section in doc.sections:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(2.5)
        section.left_margin = section.right_margin = Cm(2.2)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(10.5)
    _east_asian(normal, BODY_FONT)
    for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 12.5)):
        style = doc.styles[name]
        style.font.name = LATIN_FONT
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        _east_asian(style, HEADING_FONT)
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    settings = doc.settings.element
    update = settings.makeelement(qn("w:updateFields"), {qn("w:val"): "true"})
    settings.append(update)
    if lang == "zh":
        doc.core_properties.language = "zh-CN"


def _toc(doc: Any, lang: str) -> None:
    """A table-of-contents field over Heading 1-2 (Word fills it when it updates fields)."""
    from docx.oxml.ns import qn

    para = doc.add_paragraph()
    run = para.add_run()
    begin = run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): "begin"})
    code = run._r.makeelement(qn("w:instrText"), {qn("xml:space"): "preserve"})
    code.text = 'TOC \\o "1-2" \\h \\z \\u'
    sep = run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): "separate"})
    run._r.extend([begin, code, sep])
    hint = "目录：打开文档后按提示更新域即可显示" if lang == "zh" else "Contents: update fields"
    para.add_run(hint)
    end_run = para.add_run()
    end_run._r.append(end_run._r.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): "end"}))


def _repeat_header(row: Any) -> None:
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))


def _table(doc: Any, t: Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    if t.caption:
        cap = doc.add_paragraph(t.caption)
        cap.runs[0].bold = True
    table = doc.add_table(rows=1 + len(t.rows), cols=len(t.head))
    table.style = "Table Grid"
    rows = table.rows  # python-docx walks the XML for each .rows/.cells: fetch them once
    for i, (row, texts) in enumerate(zip(rows, [t.head, *t.rows], strict=True)):
        for j, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
            run = cell.paragraphs[0].add_run(text)
            run.font.size = Pt(9)
            run.bold = i == 0
            if i and j in t.numeric:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _repeat_header(rows[0])
    doc.add_paragraph()


def _part(doc: Any, part: Part, draft: Draft) -> None:
    from docx.shared import Cm, Pt

    if part.kind == "h2":
        doc.add_heading(part.text, level=2)
    elif part.kind == "p":
        doc.add_paragraph(part.text)
    elif part.kind == "note":
        para = doc.add_paragraph(part.text)
        para.runs[0].font.size = Pt(9)
    elif part.kind == "table" and part.table is not None:
        _table(doc, part.table)
    elif part.kind == "figure":
        doc.add_picture(io.BytesIO(draft.picture), width=Cm(PICTURE_WIDTH_CM))
        doc.add_paragraph(part.text).runs[0].bold = True


def docx_bytes(draft: Draft) -> bytes:
    """The Word document of a draft."""
    import docx

    doc = docx.Document()
    _setup(doc, draft.lang)
    doc.core_properties.title = draft.title
    doc.add_heading(draft.title, level=0)
    doc.add_paragraph(draft.subtitle)
    _toc(doc, draft.lang)
    for section in draft.sections:
        doc.add_heading(section.title, level=1)
        for part in section.parts:
            _part(doc, part, draft)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write_docx(draft: Draft, path: Path) -> Path:
    """Write the draft's Word document to ``path`` atomically; returns the path."""
    data = docx_bytes(draft)

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    atomic_write(path, write)
    return path
