"""FLG 360's lead webhook: FLG posts a lead's fields here and the portal upserts the customer.

FLG signs nothing: the token in the URL is the only gate, so an unknown one gets the same 404
as an address that does not exist. The logs show the path with the token masked."""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from appointments import leads, metrics
from appointments.views.common import json_error, logger
from flg import webhooks


def _content_length(request: HttpRequest) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _too_large() -> JsonResponse:
    return json_error(
        "too_large", f"The body is over {webhooks.MAX_BODY_BYTES // 1024} KiB; no lead is.", 413
    )


@csrf_exempt
@never_cache
def lead_webhook(request: HttpRequest, token: str) -> HttpResponse:
    if not leads.webhook_token_valid(token):
        raise Http404("No such page.")
    response = _lead_delivery(request)
    # Deliveries that were applied are counted with their outcome where they are recorded.
    if response.status_code >= 500:
        metrics.webhook_deliveries.labels("unavailable").inc()
    elif response.status_code >= 400:
        metrics.webhook_deliveries.labels("refused").inc()
    return response


def _lead_delivery(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = json_error("method_not_allowed", "FLG 360 posts leads here: use POST.", 405)
        response["Allow"] = "POST"
        return response
    if _content_length(request) > webhooks.MAX_BODY_BYTES:
        return _too_large()
    if not webhooks.is_form(request.content_type or ""):
        return json_error(
            "unsupported_media_type",
            f"Send the lead form-encoded ({webhooks.CONTENT_TYPE}), as FLG 360 does.",
            415,
        )
    body = request.read(webhooks.MAX_BODY_BYTES + 1)
    if len(body) > webhooks.MAX_BODY_BYTES:
        return _too_large()
    charset = (request.content_params or {}).get("charset")
    try:
        payload = webhooks.payload_parse(body, charset=charset)
    except webhooks.DeliveryInvalid as exc:
        return json_error(exc.code, exc.message, 400)
    try:
        record = leads.lead_upsert(delivery=payload, source=get_client_ip_address(request))
    except DatabaseError:
        logger.exception("Lead delivery for lead %s not applied", payload.lead_id)
        return json_error(
            "unavailable", "The portal could not store the lead just now; send it again.", 503
        )
    answer = {"outcome": record.outcome, "lead": record.lead_id}
    if record.reason:
        answer["reason"] = record.reason
    return JsonResponse(answer)
