"""FLG's side of the lead webhook, shared by the webhook's test files."""

from __future__ import annotations

import requests

from tests.flg.test_webhooks import FLG_LEAD

TOKEN = "xV3q9Lr2TbN8wKc1Zp7Hd4Fj6Gs0Ma5E-new"
OLD_TOKEN = "Pq8Wn2Rt6Yb0Vc4Xm1Lk9Jh3Gf7Ds5A-old"
FORM = "application/x-www-form-urlencoded"


class Webhook:
    """FLG's side of the webhook: posts leads to the portal on live_server, as FLG does."""

    def __init__(self, base: str) -> None:
        self.base = base

    def url(self, token: str = TOKEN) -> str:
        return f"{self.base}/flg/webhooks/leads/{token}/"

    def post(self, token: str = TOKEN, **changes: str | None) -> requests.Response:
        """FLG's documented lead, with fields changed (None leaves a field out)."""
        fields = {**FLG_LEAD, **changes}
        body = {name: value for name, value in fields.items() if value is not None}
        return requests.post(self.url(token), data=body, timeout=10)

    def send(self, body: bytes | str, *, content_type: str = FORM, method: str = "POST"):
        headers = {"Content-Type": content_type} if content_type else {}
        return requests.request(method, self.url(), data=body, headers=headers, timeout=10)
