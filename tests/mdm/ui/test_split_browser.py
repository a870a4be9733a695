"""A steward splits a golden record in a real browser (Debian's Chromium via
Playwright, 1366×768), then follows the new record's link back."""

import re

from mdm.models import GoldenRecord, StewardDecision
from mdm.services.golden_records import golden_record_create
from tests.browser import BROWSER_TEST_MARKS, fits_the_screen, log_in
from tests.mdm.ui.helpers import golden_of, make_record, make_steward

pytestmark = BROWSER_TEST_MARKS


def test_a_steward_splits_a_golden_record_into_two(page, live_server):
    make_steward()
    huasheng = make_record(FName="北京华盛科技有限公司", FTel="13800138000")
    crm = make_record("crm", Name="华盛科技", Phone="010-65521234")
    mingyuan = make_record(FName="上海明远贸易有限公司", FTel="021-5555 0000")
    golden = golden_record_create(
        members=[huasheng, crm, mingyuan], method="auto_match"
    )
    log_in(page, live_server, "alice", f"/golden/{golden.golden_id}/")

    page.locator("#split-link").click()
    page.wait_for_url(re.compile(rf"/golden/{golden.golden_id}/split/"))
    assert fits_the_screen(page)
    page.select_option(f'select[name="group_{mingyuan.pk}"]', "2")
    preview = page.locator("#split-preview .split-group")
    preview.nth(1).wait_for()  # htmx swapped the preview in
    assert preview.count() == 2
    assert golden.golden_id in preview.nth(0).inner_text()
    assert "上海明远贸易有限公司" in preview.nth(1).inner_text()
    assert "上海明远贸易有限公司" not in preview.nth(0).inner_text()
    assert fits_the_screen(page)

    page.fill("#split-confirm textarea[name=reason]", "两家不同的公司")
    page.locator("#split-confirm button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/golden/{golden.golden_id}/$"))
    decision = StewardDecision.objects.get(kind=StewardDecision.Kind.SPLIT)
    (new_id,) = decision.details["created"]
    assert golden_of(mingyuan).golden_id == new_id
    assert golden_of(huasheng).pk == golden_of(crm).pk == golden.pk
    assert new_id in page.locator(".messages").inner_text()
    history = page.locator(".timeline").inner_text()
    assert "两家不同的公司" in history
    assert "数据管家决定：拆分" in history
    undo = f"/golden/{golden.golden_id}/split/{decision.pk}/undo/"
    assert page.locator(f".timeline form[action='{undo}']").count() == 1

    page.locator(".timeline").get_by_role("link", name=new_id).first.click()
    page.wait_for_url(re.compile(rf"/golden/{new_id}/"))
    assert "上海明远贸易有限公司" in page.locator(".idcard").inner_text()
    back = page.locator(".timeline").get_by_role("link", name=golden.golden_id)
    assert back.count() >= 1
    assert GoldenRecord.objects.get(golden_id=new_id).status == "active"
