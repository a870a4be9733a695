"""Decide how a text upload is encoded, and refuse it if no answer is exact.

Chinese companies' CSV exports come in UTF-8 (with or without a BOM), UTF-16
(Excel's "Unicode text") and GBK/GB18030 (older Excel and ERP exports); a
Taiwanese or Hong Kong partner's in Big5. The strategy is deterministic
rather than statistical: a BOM wins; else a file whose first bytes are
UTF-16 text (`bomless_utf16`: SQL Server's and some Java exports write no
BOM) is read so; else the file must decode as strict UTF-8; else as strict
GB18030, of which GBK is a subset, unless what that
reads is Big5 read wrongly (`_BIG5_SIGNS`) and the file decodes as cp950.
Every byte must decode, so no U+FFFD ever reaches a stored record.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mdm.importing import messages
from mdm.importing.errors import ImportFileError

_CHUNK = 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# One Chinese character is enough evidence that a line was written in the
# encoding that decodes it to one: GBK bytes almost never form valid UTF-8
# that spells CJK, and UTF-8 decoded as GB18030 is mojibake, not Chinese.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


# Big5 (Traditional Chinese: Taiwan, Hong Kong; Excel there saves CSV as
# cp950) decodes as GB18030 without an error, every Big5 byte pair being a
# GBK one, but into nonsense: Japanese kana (GBK's rows A4 and A5 hold the
# commonest Big5 characters) and private-use characters. A GBK customer list
# holds neither. When the first MiB holds them, at least a fifth as many as
# Chinese characters, and the file decodes as cp950, it is Big5.
_BIG5_SIGNS = re.compile("[\u3040-\u30ff\ue000-\uf8ff]")
_BIG5_MIN_SIGNS = 3


@dataclass(frozen=True)
class TextEncoding:
    """A resolved encoding: the codec to decode with after skipping the BOM,
    and the character that ends a line: "\r" for a file with no line feed
    but carriage returns (the CSV of Excel for the Mac until 2016)."""

    codec: str
    bom_length: int = 0
    newline: str = "\n"


def resolve_encoding(stream: BinaryIO, override: str | None = None) -> TextEncoding:
    """Find the encoding of a text upload, reading the stream to its end.

    Args:
        stream: the upload, positioned at its start; it is read, not closed.
        override: a codec name the user chose; it is checked strictly too.

    Raises:
        ImportFileError: `bad_encoding`, naming the 1-based line of the first
            byte that cannot be decoded, or of a line in a second encoding.
    """
    head = stream.read(_CHUNK)
    bom = next(((mark, codec) for mark, codec in _BOMS if head.startswith(mark)), None)
    if bom is None and (codec := bomless_utf16(head)):
        bom = (b"", codec)  # no mark, but decoded as that codec from here on
    newline = _newline(head, bom)
    if override is not None:
        return _check_override(stream, override, bom, newline)
    if bom is not None:
        encoding = TextEncoding(bom[1], len(bom[0]), newline)
        _check(stream, encoding)
        return encoding
    utf8 = TextEncoding("utf-8", newline=newline)
    failure = _scan(stream, utf8)
    if failure is None:
        return utf8
    line, utf8_evidence = failure
    if utf8_evidence is not None:
        raise ImportFileError(
            "bad_encoding", messages.MIXED_UTF8_FIRST, line=line, evidence=utf8_evidence
        )
    gb18030 = TextEncoding("gb18030", newline=newline)
    _check(stream, gb18030, reject_utf8_lines=True)
    if _misread_big5(head):
        big5 = TextEncoding("cp950", newline=newline)
        try:
            _check(stream, big5)
        except ImportFileError:
            return gb18030  # not Big5 either: what GB18030 reads stands
        return big5
    return gb18030


# UTF-16 text without a BOM: in its first bytes, a NUL in one byte of a
# character in twenty at least (the high byte of the ASCII delimiters,
# digits and line ends of a table, even of a list of Chinese names alone),
# in the other fewer (一 U+4E00 has one there); and the text they decode to
# has a line end and no control, unassigned or private-use character. A
# binary file fails the last test.
_UTF16_SAMPLE = 4096
_UTF16_MIN_NULS = 0.05
_NOT_TEXT = frozenset(("Cc", "Cn", "Co", "Cs"))


def bomless_utf16(head: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when `head` (a file's first bytes, no BOM)
    is UTF-16 text, else None."""
    sample = head[: _UTF16_SAMPLE & ~1]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs * _UTF16_MIN_NULS and odd > even:
        codec = "utf-16-le"
    elif even >= pairs * _UTF16_MIN_NULS and even > odd:
        codec = "utf-16-be"
    else:
        return None
    try:
        # The sample may end inside a surrogate pair: not final.
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    texty = all(c in "\t\r\n" or unicodedata.category(c) not in _NOT_TEXT for c in text)
    return codec if texty and ("\n" in text or "\r" in text) else None


def _newline(head: bytes, bom: tuple[bytes, str] | None) -> str:
    # The file's first MiB decides. No encoding resolve_encoding takes puts a
    # byte 0x0A or 0x0D inside a character but UTF-16, whose text is decoded.
    text = head.decode(bom[1], errors="ignore") if bom else head
    cr, lf = ("\r", "\n") if bom else (b"\r", b"\n")
    return "\r" if cr in text and lf not in text else "\n"


def iter_lines(stream: BinaryIO, encoding: TextEncoding) -> Iterator[str]:
    """Decode the stream strictly into lines that keep their line endings.

    Lines split on LF only (CR only in a file of CR line ends), so CRLF
    files keep their CR for the csv module to handle, exactly as a text file
    opened with `newline=""` would.
    """
    stream.seek(encoding.bom_length)
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="strict")
    newline = encoding.newline
    pending = ""
    line = 1
    while True:
        chunk = stream.read(_CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # Hand out the lines before the bad byte (the caller may be
            # collecting evidence from them), then fail on the line it is in.
            good = exc.object[: exc.start].decode(encoding.codec, errors="ignore")
            for piece in (pending + good).split(newline)[:-1]:
                yield piece + newline
                line += 1
            raise _Undecodable(line, encoding) from exc
        pieces = (pending + text).split(newline)
        pending = pieces.pop()
        for piece in pieces:
            yield piece + newline
            line += 1
        if not chunk:
            break
    if pending:
        yield pending


def iter_text(stream: BinaryIO, encoding: TextEncoding, size: int) -> Iterator[str]:
    """Decode the stream in pieces of about `size` bytes, whatever its lines.
    For a stream `resolve_encoding` has checked: a decoding error raises
    UnicodeDecodeError."""
    stream.seek(encoding.bom_length)
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="strict")
    while chunk := stream.read(size):
        if text := decoder.decode(chunk):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


def _check_override(
    stream: BinaryIO, override: str, bom: tuple[bytes, str] | None, newline: str
) -> TextEncoding:
    try:
        codec = codecs.lookup(override).name
    except LookupError as exc:
        raise ImportFileError(
            "bad_encoding", messages.UNKNOWN_ENCODING, name=override
        ) from exc
    if bom is not None and codec in ("utf-8", "utf-8-sig", "utf-16", bom[1]):
        encoding = TextEncoding(bom[1], len(bom[0]), newline)
    else:
        encoding = TextEncoding(codec, newline=newline)
    _check(stream, encoding)
    return encoding


def _check(
    stream: BinaryIO, encoding: TextEncoding, *, reject_utf8_lines: bool = False
) -> None:
    for number, line in enumerate(iter_lines(stream, encoding), start=1):
        _check_line(number, line, encoding)
        if reject_utf8_lines and not line.isascii() and _is_utf8_chinese(line):
            raise ImportFileError("bad_encoding", messages.MIXED_UTF8_LINE, line=number)


def _misread_big5(head: bytes) -> bool:
    """Whether the file's first MiB, read as GB18030, reads as Big5 does
    (`_BIG5_SIGNS`): enough of a sample, and one regex pass."""
    text = head.decode("gb18030", errors="ignore")  # may end mid-character
    misread = len(_BIG5_SIGNS.findall(text))
    return misread >= _BIG5_MIN_SIGNS and misread * 5 >= len(_CJK.findall(text))


def _scan(stream: BinaryIO, encoding: TextEncoding) -> tuple[int, int | None] | None:
    """Decode as `encoding`; on failure give the bad line and a CJK line before it."""
    evidence = None
    try:
        for number, line in enumerate(iter_lines(stream, encoding), start=1):
            _check_line(number, line, encoding)
            if evidence is None and _CJK.search(line):
                evidence = number
    except _Undecodable as exc:
        return exc.line, evidence
    return None


def _check_line(number: int, line: str, encoding: TextEncoding) -> None:
    if "\ufffd" in line:
        raise ImportFileError(
            "bad_encoding", messages.REPLACEMENT_CHARACTER, line=number
        )
    if "\x00" in line:
        raise ImportFileError(
            "bad_encoding", messages.NUL_BYTES, line=number, codec=encoding.codec
        )


def _is_utf8_chinese(line: str) -> bool:
    try:
        as_utf8 = line.encode("gb18030").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CJK.search(as_utf8) is not None


class _Undecodable(ImportFileError):
    def __init__(self, line: int, encoding: TextEncoding) -> None:
        super().__init__(
            "bad_encoding",
            messages.UNDECODABLE,
            line=line,
            encoding=_described(encoding),
        )
        self.line = line


def _described(encoding: TextEncoding) -> str:
    if encoding.codec == "gb18030":
        return messages.UTF8_OR_GBK
    return encoding.codec.upper()
