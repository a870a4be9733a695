"""A steward's working session in a real browser, on data imported and
matched the way the demo is: filter the queue, work three tasks with the
keyboard (merge with a chosen value, not a match, skip), re-run matching
(the rejected pair never comes back), unmerge, switch the language."""

import re

from mdm.models import GoldenRecord, ReviewTask
from mdm.services.batch_matching import matching_run_batch
from mdm.services.demo import demo_load
from mdm.services.survivorship import steward_pins
from tests.browser import BROWSER_TEST_MARKS, fits_the_screen, log_in
from tests.mdm.ui.helpers import make_steward

pytestmark = BROWSER_TEST_MARKS


def golden_id_of(record_id: int) -> str:
    return GoldenRecord.objects.get(xrefs__source_record_id=record_id).golden_id


def open_pair(task: ReviewTask) -> bool:
    return ReviewTask.objects.filter(
        left_id=task.left_id, right_id=task.right_id, status=ReviewTask.Status.OPEN
    ).exists()


def test_a_stewards_session_from_queue_to_unmerge(page, live_server):
    demo_load(companies=600, seed=11)
    make_steward()
    log_in(page, live_server, "alice", "/queue/")

    # Filter: open tasks nobody has claimed, best scores first.
    page.select_option("#id_assignee", "none")
    page.wait_for_url(re.compile(r"assignee=none"))
    page.select_option("#id_sort", "-score")
    page.wait_for_function("!document.querySelector('.htmx-request')")
    rows = page.locator("#results tr[id^=task-]")
    assert rows.count() >= 3
    first_three = [int(rows.nth(i).get_attribute("id")[5:]) for i in range(3)]

    page.locator("body").press("j")
    page.locator("body").press("Enter")
    page.wait_for_url(re.compile(rf"/queue/{first_three[0]}/"))
    assert fits_the_screen(page)

    # Task 1: merge, keeping the other side's value of one attribute.
    picks = page.locator('input[type=radio][name^="pick_"]:not([value=""])')
    assert picks.count() >= 1
    pick = picks.first
    chosen = pick.get_attribute("value")
    pick.check()
    page.locator("#preview .pin").wait_for()
    page.locator("body").press("m")
    dialog = page.locator("#merge-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("#confirm-merge").click()
    page.wait_for_url(re.compile(rf"/queue/{first_three[1]}/"))

    # Task 2: not a match, with a reason.
    page.locator("body").press("n")
    dialog = page.locator("#not-match-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("textarea[name=reason]").fill("不同城市的两家公司")
    dialog.locator("#confirm-not-a-match").click()
    page.wait_for_url(re.compile(rf"/queue/{first_three[2]}/"))

    # Task 3: skip.
    with page.expect_navigation():
        page.locator("body").press("s")

    merged, rejected, skipped = (ReviewTask.objects.get(pk=pk) for pk in first_three)
    assert merged.status == ReviewTask.Status.MERGED
    assert rejected.status == ReviewTask.Status.NOT_A_MATCH
    assert skipped.status == ReviewTask.Status.SKIPPED
    survivor = GoldenRecord.objects.get(xrefs__source_record_id=merged.left_id)
    assert golden_id_of(merged.right_id) == survivor.golden_id
    assert chosen in [pin["value"] for pin in steward_pins(survivor).values()]

    # The same batch matching that proposed the pair runs again: the pair a
    # steward rejected is not proposed, nor put in one golden record.
    matching_run_batch()
    assert not open_pair(rejected)
    assert golden_id_of(rejected.left_id) != golden_id_of(rejected.right_id)

    # Unmerge from the golden record page: both golden IDs live again.
    absorbed = (
        GoldenRecord.objects.filter(merged_into=survivor)
        .values_list("golden_id", flat=True)
        .get()
    )
    page.goto(f"{live_server.url}/golden/{survivor.golden_id}/")
    page.locator(".timeline summary", has_text="撤销合并").click()
    form = page.locator(".timeline form").first
    form.locator("textarea[name=reason]").fill("合并错了")
    with page.expect_navigation():  # back to the same page
        form.locator("button[type=submit]").click()
    assert GoldenRecord.objects.get(golden_id=absorbed).status == "active"
    page.goto(f"{live_server.url}/golden/{absorbed}/")
    assert absorbed in page.locator("h1").inner_text()
    assert page.locator(".idcard").count() == 1
    assert golden_id_of(merged.right_id) != golden_id_of(merged.left_id)

    # Language switch: English, then back to Chinese.
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("header nav").get_by_text("Review queue").count() == 1
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.locator("header nav").get_by_text("复核队列").count() == 1
