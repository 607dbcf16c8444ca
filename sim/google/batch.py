"""Google's batch endpoint (``/batch/compute/v1``): several requests in one multipart/mixed POST.

gcloud sends some Compute reads this way (``instance-groups managed list``
asks for the groups and their autoscalers in one batch). Each part is an
``application/http`` request; each is answered by the same app, over
loopback, and the answers go back as ``application/http`` parts whose
Content-ID is the request's prefixed with ``response-``.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets

import aiohttp
from aiohttp import web

from sim.google.errors import GoogleApiError


async def _answer(session: aiohttp.ClientSession, origin: str, raw: str) -> str:
    head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
    request_line, *header_lines = head.strip().split("\n")
    method, target, *_ = request_line.split(" ")
    headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in header_lines) if k.strip()}
    headers.pop("Host", None)
    path = target if target.startswith("/") else "/" + target.split("/", 3)[-1]
    async with session.request(method, origin + path, data=body.encode() or None, headers=headers) as answer:
        text = await answer.text()
        kind = answer.headers.get("Content-Type", "application/json")
        return f"HTTP/1.1 {answer.status} {answer.reason}\r\nContent-Type: {kind}\r\n\r\n{text}"


def batch_handler():  # type: ignore[no-untyped-def]
    async def handle(request: web.Request) -> web.Response:
        kind = request.headers.get("Content-Type", "")
        if not kind.startswith("multipart/mixed"):
            raise GoogleApiError(400, "Batch requests must be multipart/mixed.")
        raw = await request.read()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {kind}\r\n\r\n".encode() + raw
        )
        origin = f"{request.scheme}://{request.host}"
        boundary = "batch_" + secrets.token_hex(8)
        parts = []
        async with aiohttp.ClientSession() as session:
            for part in message.iter_parts():
                content_id = str(part.get("Content-ID", "")).strip()
                payload = part.get_payload(decode=True) or b""
                answer = await _answer(session, origin, payload.decode())
                response_id = f"<response-{content_id.strip('<>')}>" if content_id else ""
                headers = "Content-Type: application/http\r\n" + (f"Content-ID: {response_id}\r\n" if response_id else "")
                parts.append(f"--{boundary}\r\n{headers}\r\n{answer}\r\n")
        body = "".join(parts) + f"--{boundary}--\r\n"
        return web.Response(body=body.encode(), headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})

    return handle
