"""The steward's and the viewer's day in a real browser (Debian's Chromium,
driven by Playwright), at 1366×768, against a live server."""

import re

from mdm.models import GoldenRecord, ReviewTask
from tests.browser import BROWSER_TEST_MARKS, fits_the_screen, log_in
from tests.mdm.ui.helpers import make_steward, make_task, make_viewer

pytestmark = BROWSER_TEST_MARKS


def test_a_steward_merges_with_one_value_chosen_by_keyboard(page, live_server):
    make_steward()
    task = make_task(
        {"FName": "北京华盛科技有限公司", "FTel": "138 0013 8000"},
        {"FName": "北京华晟科技有限公司", "FTel": "13800138000"},
        score=0.86,
    )
    log_in(page, live_server, "alice", "/queue/")
    assert fits_the_screen(page)
    row = page.locator(f"#task-{task.pk}")
    row.get_by_role("button", name="认领").click()  # htmx, with the CSRF header
    row.get_by_role("button", name="放回队列").wait_for()
    assert ReviewTask.objects.get(pk=task.pk).assignee.username == "alice"
    page.wait_for_function("!document.querySelector('.htmx-settling')")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/queue/{task.pk}/"))
    assert fits_the_screen(page)

    auto = page.locator('input[name="pick_legal_name"][value=""]')
    assert auto.is_checked()
    other = page.locator('input[name="pick_legal_name"]:not([value=""])')
    chosen = other.get_attribute("value")
    other.check()
    page.locator("#preview .pin").wait_for()  # htmx swapped the preview in
    assert chosen in page.locator("#preview").inner_text()

    page.locator("body").press("m")
    dialog = page.locator("#merge-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("textarea[name=reason]").fill("同一电话")
    with page.expect_navigation():  # the task page's URL matches /queue/ too
        dialog.locator("#confirm-merge").click()
    page.wait_for_url(re.compile(r"/queue/(\?.*)?$"))

    golden = GoldenRecord.objects.get(xrefs__source_record=task.left_id)
    assert ReviewTask.objects.get(pk=task.pk).status == ReviewTask.Status.MERGED
    page.get_by_role("link", name=golden.golden_id).click()
    page.wait_for_url(re.compile(rf"/golden/{golden.golden_id}/"))
    card = page.locator(".idcard").inner_text()
    assert chosen in card
    assert "由 alice 选定" in card
    history = page.locator(".timeline").inner_text()
    assert "数据管家决定：合并" in history
    assert "同一电话" in history
    assert fits_the_screen(page)


def test_a_viewer_sees_masked_phones_and_no_actions(page, live_server):
    make_viewer()
    task = make_task({"FName": "北京华盛科技有限公司", "FTel": "13800138000"})
    log_in(page, live_server, "victor", f"/queue/{task.pk}/")
    text = page.locator("main").inner_text()
    assert "138****8000" in text
    assert "13800138000" not in page.content()
    assert page.locator("[data-key=m], [data-key=n], [data-key=s]").count() == 0
    assert page.locator("main button, main form").count() == 0
    page.locator("body").press("m")
    assert page.locator("dialog[open]").count() == 0
