"""The reading layer's refusals shown in the reader's language."""

import re

import pytest
from django.utils import translation

from mdm.import_messages import import_file_error_text
from mdm.importing import ImportFileError, messages
from mdm.importing.safety import Limits, check_file_size
from tests.mdm.imports.test_import_pages import upload

TEMPLATES = {
    name: text
    for name, text in vars(messages).items()
    if name.isupper() and isinstance(text, str)
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_refusal_has_a_chinese_text_with_the_same_facts(name):
    template = TEMPLATES[name]
    with translation.override("zh-hans"):
        chinese = translation.gettext(template)
    assert chinese != template
    assert re.search(r"[\u4e00-\u9fff]", chinese)
    assert sorted(PLACEHOLDER.findall(chinese)) == sorted(PLACEHOLDER.findall(template))


def test_a_refusal_reads_in_the_active_language_with_its_facts():
    with pytest.raises(ImportFileError) as caught:
        check_file_size(3 * 2**20, Limits(max_file_bytes=2**20))
    error = caught.value
    assert error.message == (
        "The file is 3 MiB, over the 1 MiB upload limit. Split it into smaller files."
    )
    with translation.override("zh-hans"):
        assert import_file_error_text(error) == (
            "文件大小为 3 MiB，超过 1 MiB 的上传上限。请拆分成较小的文件。"
        )
    with translation.override("en"):
        assert import_file_error_text(error) == error.message


def test_the_words_among_the_facts_are_translated_too():
    error = ImportFileError(
        "not_a_spreadsheet", messages.NOT_A_SPREADSHEET, what=messages.A_PNG
    )
    assert error.message.startswith("This file is a PNG image, not a spreadsheet")
    with translation.override("zh-hans"):
        assert import_file_error_text(error).startswith(
            "这个文件是PNG 图片，不是电子表格"
        )


@pytest.mark.django_db
def test_the_upload_page_refuses_a_file_in_the_readers_language(steward_client):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    chinese = upload(steward_client, png, "客户.xlsx").content.decode()
    assert "这个文件是PNG 图片，不是电子表格" in chinese
    steward_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    english = upload(steward_client, png, "客户.xlsx").content.decode()
    assert "This file is a PNG image, not a spreadsheet" in english
