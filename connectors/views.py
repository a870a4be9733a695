"""HTTP endpoints of the connectors: webhooks sent to us by targets."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base import ConnectorError
from connectors.broadcast import TargetNotReady, target_config
from connectors.registry import connector_class
from connectors.webhooks_in import (
    WebhookRefused,
    inbound_webhook_apply,
    inbound_webhook_verify,
)
from mdm.models import DeliveryTarget


@csrf_exempt  # authenticated by its signature, not by a session
@require_POST
def inbound_webhook(request: HttpRequest, name: str) -> JsonResponse:
    target = get_object_or_404(DeliveryTarget, name=name, enabled=True)
    try:
        webhook_id, remote_id = inbound_webhook_verify(
            target=target, headers=request.headers, body=request.body
        )
        connector = connector_class(target.kind)(target_config(target))
        try:
            outcome = inbound_webhook_apply(
                target=target,
                webhook_id=webhook_id,
                remote_id=remote_id,
                connector=connector,
            )
        finally:
            connector.close()
    except WebhookRefused as exc:
        return JsonResponse({"detail": str(exc)}, status=exc.status)
    except NotImplementedError:
        return JsonResponse({"detail": "this target cannot be read"}, status=404)
    except (ConnectorError, TargetNotReady) as exc:
        # Could not read the record back: the sender retries with the same ID.
        return JsonResponse({"detail": f"target unavailable: {exc}"}, status=503)
    return JsonResponse({"outcome": outcome})
