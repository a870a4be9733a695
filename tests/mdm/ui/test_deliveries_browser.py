"""Issue #6, done when: a merge appears in the operations view as delivered
to both systems. Two signed-webhook receivers on loopback stand for the ERP
and the CRM; the delivery worker runs one pass in-process; a steward then
looks at /deliveries/ in a real browser (Debian's Chromium, Playwright)."""

import pytest

from connectors.broadcast import Worker, broadcast_run_once
from mdm.models import Delivery, OutboxEvent
from mdm.services.golden_records import golden_record_merge
from tests.browser import BROWSER_TEST_MARKS, fits_the_screen, log_in
from tests.builders import make_golden
from tests.connectors.delivery_helpers import LOOPBACK, make_webhook_target
from tests.connectors.downstream import Downstream
from tests.mdm.ui.helpers import make_steward

pytestmark = BROWSER_TEST_MARKS


@pytest.fixture
def erp_and_crm(settings):
    settings.CONNECTOR_ALLOWED_NETWORKS = LOOPBACK
    with Downstream() as erp, Downstream() as crm:
        yield erp, crm


def test_a_merge_shows_as_delivered_to_both_systems(page, live_server, erp_and_crm):
    erp, crm = erp_and_crm
    steward = make_steward()
    survivor = make_golden("北京华盛科技有限公司", FNumber="C1")
    absorbed = make_golden("北京华晟科技有限公司", FNumber="C2")
    erp_target = make_webhook_target(erp.url, erp.secret, name="tryton-erp")
    crm_target = make_webhook_target(crm.url, crm.secret, name="salesforce-crm")
    merged = golden_record_merge(
        survivor=survivor, absorbed=[absorbed], steward=steward, reason="同一电话"
    )
    event = OutboxEvent.objects.get(
        topic=OutboxEvent.Topic.MERGED, golden_id=merged.golden_id
    )

    worker = Worker()
    try:
        assert broadcast_run_once(worker=worker) >= 2
    finally:
        worker.close()
    for receiver in (erp, crm):
        version, _card = receiver.receiver.state.records[merged.golden_id]
        assert version == merged.version

    log_in(page, live_server, "alice", "/deliveries/")
    assert fits_the_screen(page)
    assert page.locator("h1").inner_text() == "向 ERP 和 CRM 的投递"
    for target in (erp_target, crm_target):
        row = page.locator(f"#target-{target.pk}")
        assert target.name in row.inner_text()
        cells = row.locator("td.num").all_inner_texts()
        due, in_flight, delivered, dead, conflict = map(int, cells)
        assert (due, in_flight, dead, conflict) == (0, 0, 0, 0)
        assert delivered >= 1

        delivery = Delivery.objects.get(target=target, event=event)
        line = page.locator(f"#delivery-{delivery.pk}")
        text = line.inner_text()
        assert target.name in text
        assert "golden.merged" in text
        assert "已送达" in text
        assert line.get_attribute("data-state") == "delivered"
        assert line.get_by_role("button", name="重新投递").count() == 0
        line.locator("summary").click()
        attempts = line.locator("details table tr").all()
        assert len(attempts) == 2  # the header and the one call
        outcome, duration = attempts[1].locator("td").all_inner_texts()[1:4:2]
        assert outcome == "已送达"
        assert duration.isdigit()

    page.locator(f"#delivery-{delivery.pk}").get_by_role(
        "link", name=merged.golden_id
    ).click()
    page.wait_for_url(f"{live_server.url}/golden/{merged.golden_id}/")
