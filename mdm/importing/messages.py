"""What the reading layer tells the person uploading when it refuses a file
(`ImportFileError`): English %-templates of named facts, kept here as one
catalog.

This layer does not use Django; the web pages show each message in the
reader's language by looking its template up in Django's catalog
(`mdm.import_messages`), with the same facts. `gettext_noop` only marks the
templates for `makemessages`; a `Phrase` is a fact that is translated too.
"""

from __future__ import annotations


def gettext_noop(text: str) -> str:
    return text


class Phrase(str):
    """Words put into a message (what a refused file is): translated with it."""


# formats.py
TRUNCATED_ZIP = gettext_noop(
    "The file is a zip container (as .xlsx and .ods files are) but it is "
    "incomplete or damaged, perhaps cut short during download. Save or "
    "download it again."
)
TRUNCATED_XLS = gettext_noop(
    "The file looks like an old Excel (.xls) workbook but it is incomplete or "
    "damaged. Save or download it again."
)
ENCRYPTED = gettext_noop(
    "The workbook is password-protected. Remove the password in Excel and "
    "upload it again."
)
NO_DATA = gettext_noop("The file contains no data.")
NOT_A_SPREADSHEET = gettext_noop(
    "This file is %(what)s, not a spreadsheet, whatever its name says. Upload "
    "an .xlsx, .xlsb, .xls, .ods, CSV, JSON, JSON Lines, HTML-table or Excel "
    "2003 XML file."
)
A_PDF = Phrase(gettext_noop("a PDF document"))
A_PNG = Phrase(gettext_noop("a PNG image"))
A_JPEG = Phrase(gettext_noop("a JPEG image"))
A_GIF = Phrase(gettext_noop("a GIF image"))
A_RAR = Phrase(gettext_noop("a RAR archive"))
A_7ZIP = Phrase(gettext_noop("a 7-Zip archive"))
A_GZIP = Phrase(gettext_noop("a gzip archive"))
AN_RTF = Phrase(gettext_noop("an RTF document"))
A_WORD_DOCUMENT = Phrase(gettext_noop("a Word document"))
A_PRESENTATION = Phrase(gettext_noop("a PowerPoint presentation"))
AN_OPENDOCUMENT = Phrase(gettext_noop("an OpenDocument file that is not a sheet"))
A_ZIP = Phrase(gettext_noop("a zip archive with no spreadsheet inside"))
AN_OFFICE_FILE = Phrase(gettext_noop("an Office file that is not a workbook"))
A_BINARY_FILE = Phrase(gettext_noop("a binary file"))
AN_XML_DOCUMENT = Phrase(gettext_noop("an XML document"))
A_MARKUP_DOCUMENT = Phrase(gettext_noop("a markup document that is not a web page"))

# encodings.py
MIXED_UTF8_FIRST = gettext_noop(
    "Line %(line)s is not UTF-8 although line %(evidence)s is: the file mixes "
    "encodings. Save the whole file again as UTF-8."
)
UNKNOWN_ENCODING = gettext_noop("%(name)r is not a known text encoding.")
MIXED_UTF8_LINE = gettext_noop(
    "Line %(line)s is UTF-8 while the rest of the file is GBK/GB18030: the "
    "file mixes encodings. Save the whole file again as UTF-8."
)
REPLACEMENT_CHARACTER = gettext_noop(
    "Line %(line)s contains the replacement character (\ufffd): the file was "
    "damaged by an earlier conversion. Export it again from the source."
)
NUL_BYTES = gettext_noop(
    "Line %(line)s contains NUL bytes; the file is binary, or UTF-16 without a "
    "byte-order mark (read as %(codec)s). Save it as UTF-8."
)
UNDECODABLE = gettext_noop(
    "Line %(line)s cannot be read as %(encoding)s. Save the file as UTF-8 "
    "(Excel: CSV UTF-8) and upload it again."
)
UTF8_OR_GBK = Phrase(gettext_noop("UTF-8 or GBK/GB18030"))

# errors.py
SHEET_NOT_FOUND = gettext_noop(
    "The workbook has no sheet %(sheet)r; its sheets are: %(names)s."
)

# headers.py
NO_HEADER = gettext_noop(
    "No header row was found in the first %(rows)s rows. Put the column names "
    "(客户名称, 电话, ...) in one row above the data."
)
MAPPING_MISMATCH = gettext_noop(
    "None of the saved mapping's column names appear in the first %(rows)s "
    "rows; check that this is the right file."
)

# html_tables.py
NO_TABLE = gettext_noop(
    "This file is a web page (HTML) without a table row that could be read, so "
    "there is nothing to import. Export the data as a table or as .xlsx."
)

# json_documents.py
MALFORMED_JSON = gettext_noop(
    "The file is not valid JSON (%(detail)s); nothing was imported. Export it "
    "again, or as JSON Lines."
)
NO_RECORDS = gettext_noop("The JSON document holds no objects to import as records.")
TOO_DEEP = gettext_noop(
    "The JSON document nests deeper than %(levels)s levels, which no customer "
    "record does; the file was refused."
)

# merged_cells.py
TOO_MANY_MERGES = gettext_noop(
    "The sheet has more than %(limit)s merged cell ranges. Unmerge the cells "
    "(fill the values down) or split the sheet."
)

# readers.py
STRICT_TOO_BIG = gettext_noop(
    "This workbook is saved as Strict Open XML, which is read only loaded "
    "whole, and it is over %(limit)s cells. In Excel, save it as an ordinary "
    "Excel Workbook (.xlsx) and upload that."
)
NO_VISIBLE_SHEET = gettext_noop("The workbook has no visible sheet.")
UNREADABLE_WORKBOOK = gettext_noop(
    "The workbook could not be read; it looks damaged (%(detail)s)."
)
MALFORMED_CSV = gettext_noop("Line %(line)s of the file is not valid CSV (%(detail)s).")

# safety.py
EMPTY_FILE = gettext_noop("The file is empty.")
TOO_LARGE = gettext_noop(
    "The file is %(size)s MiB, over the %(limit)s MiB upload limit. Split it "
    "into smaller files."
)
UNNAMED_PART = gettext_noop("The file has a part with no name; it is damaged.")
TOO_MANY_PARTS = gettext_noop(
    "The file contains %(parts)s parts, more than the %(limit)s a spreadsheet "
    "needs; it was refused as unsafe."
)
EXPANDS_TOO_MUCH = gettext_noop(
    "The file expands to %(size)s MiB when unpacked, over the %(limit)s MiB "
    "limit. Split it into smaller files or save it as CSV."
)
COMPRESSION_BOMB = gettext_noop(
    "The part %(part)r expands %(ratio)s times when unpacked, which only "
    "happens in files built to exhaust memory; it was refused as unsafe."
)
DAMAGED_PART = gettext_noop(
    "The part %(part)r of the workbook is damaged (%(detail)s)."
)
LONG_PROLOG = gettext_noop(
    "The part %(part)r has an abnormally long XML prolog; the file was refused "
    "as unsafe."
)
DTD_IN_PART = gettext_noop(
    "The part %(part)r declares a DTD or XML entities, which spreadsheets never "
    "contain; the file was refused as unsafe."
)
DAMAGED_ODS = gettext_noop("The ODS content is damaged (%(detail)s).")
TOO_MANY_CELLS = gettext_noop(
    "The sheet spans %(rows)s rows by %(columns)s columns, over the %(limit)s "
    "cell limit. Save it as .xlsx or CSV, or split it."
)
TOO_MANY_ROWS = gettext_noop(
    "The sheet has more than %(limit)s rows. Split it into smaller files."
)
TOO_MANY_COLUMNS = gettext_noop(
    "The sheet has data beyond column %(limit)s. Delete the stray cells on the "
    "right or split the sheet."
)

# spreadsheet_xml.py
MALFORMED_XML2003 = gettext_noop(
    "The Excel 2003 XML file is not well-formed XML (%(detail)s). Save it again "
    "from Excel, or as .xlsx."
)
DTD_IN_FILE = gettext_noop(
    "The file declares a DTD or XML entities, which spreadsheets never contain; "
    "the file was refused as unsafe."
)
