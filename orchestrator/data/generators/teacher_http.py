"""The HTTP edge of teacher labelling: one chat-completions request, retried the way API clients do.

What can go wrong talking to a teacher falls in three kinds, and each is handled once, here:
- the endpoint cannot be used at all (401/403: credentials; 404/405: no chat-completions route here,
  or a model name the server does not know): `TeacherUnusable`, and the run stops with one line,
  since every row would fail the same way;
- the endpoint failed this request (429, 5xx, timeouts, refused connections, a body that is not
  UTF-8 JSON, an error object in a 200 answer): retried with backoff (honouring `Retry-After`), then
  `EndpointFailure`, a reject the caller retries on `--resume` and counts towards stopping the run;
- anything the teacher answered is the caller's to judge (teacher.py).

Only the standard library talks HTTP (urllib); the sleep is injected so tests do not wait.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from typing import TYPE_CHECKING, Any, Callable

from evals import jsontext
from orchestrator.errors import ToolsweepError

if TYPE_CHECKING:
    from orchestrator.data.generators.teacher import TeacherConfig

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# The request itself is what the endpoint refused (too long for its context, a schema it cannot take):
# a reject of this row, final, that says nothing about the endpoint (three of them stopped the run).
ROW_STATUSES = frozenset({400, 413, 422})
UNUSABLE_STATUSES = {401: "the endpoint refused the credentials (check --api-key-env)",
                     403: "the endpoint refused the credentials (check --api-key-env)",
                     404: "no chat-completions route at this URL, or the server does not know --model",
                     405: "no chat-completions route at this URL (check --endpoint)"}
MAX_WAIT_S = 60.0           # the longest Retry-After honoured: a longer one is a stop, not a pause
MIN_BODY_CAP = 1 << 20      # bytes of answer read at most (a misbehaving proxy cannot fill the disk)
BYTES_PER_TOKEN_CAP = 4096  # generous: a token is a few bytes, the JSON around it a few hundred


class TeacherUnusable(ToolsweepError):
    """The endpoint refuses every request for a reason no row can change: stop the run."""
    label = "teacher error"


class Rejected(ValueError):
    """One row could not be labelled; the message is the reason written to the rejects file."""


class EndpointFailure(Rejected):
    """The endpoint failed this row's request (after retries); `--resume` sends the row again.
    `answered`: something came back (a status, a body, part of one), as against no connection or no
    answer before --timeout; a run that ends with failures only says which."""

    def __init__(self, message: str, answered: bool = True) -> None:
        super().__init__(message)
        self.answered = answered


def chat_url(endpoint: str) -> str:
    """The chat-completions URL for a base URL (`http://h:8080`, `.../v1`, or the full route itself),
    keeping a query string (`?api-version=...`) where it belongs: after the path."""
    parts = urllib.parse.urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path = (path if path.endswith("/v1") else path + "/v1") + "/chat/completions"
    return urllib.parse.urlunsplit(parts._replace(path=path))


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for (seconds or an HTTP date), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _body_cap(cfg: TeacherConfig) -> int:
    return max(MIN_BODY_CAP, cfg.max_tokens * BYTES_PER_TOKEN_CAP)


def _read_capped(resp, cap: int, deadline: float) -> bytes:
    """The body, read a chunk at a time against the request's deadline: the socket timeout bounds each
    read, so a server sending a byte every half second held a `--timeout 3` run for ever. A body the
    server cut short of its Content-Length is a transport failure (retried), not "not JSON"."""
    chunks, size = [], 0
    while size <= cap:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the answer was still arriving after --timeout ({size:,} bytes read)")
        chunk = resp.read1(min(1 << 16, cap + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    raw = b"".join(chunks)
    if len(raw) > cap:
        raise EndpointFailure(f"teacher endpoint: oversized response (over {cap:,} bytes)")
    if getattr(resp, "length", None):  # bytes the Content-Length promised and the connection never sent
        raise http.client.IncompleteRead(raw, resp.length)
    if (resp.headers.get("Content-Encoding") or "").lower() in ("gzip", "deflate"):
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        try:
            raw = inflate.decompress(raw, cap + 1)
        except zlib.error as err:
            raise EndpointFailure(f"teacher endpoint: compressed response cannot be read ({err})") from None
        if len(raw) > cap or inflate.unconsumed_tail:
            raise EndpointFailure(f"teacher endpoint: oversized response (over {cap:,} bytes once decompressed)")
    return raw


def decode_answer(raw: bytes) -> Any:
    """The JSON a 200 answer carries; EndpointFailure when it is not UTF-8 JSON or is an error object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise EndpointFailure(f"teacher endpoint: response is not UTF-8 (byte 0x{raw[err.start]:02x} at "
                              f"offset {err.start}): {raw[:80]!r}") from None
    try:
        answer = jsontext.loads(text)
    except json.JSONDecodeError as err:
        raise EndpointFailure(f"teacher endpoint: response is not JSON ({err.msg}): {raw[:120]!r}") from None
    if isinstance(answer, dict) and "error" in answer and "choices" not in answer:  # proxies send errors as 200
        err = answer["error"]
        message = err.get("message") if isinstance(err, dict) else err
        raise EndpointFailure(f"teacher endpoint: error in the answer: {str(message)[:200]}")
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)
            and isinstance(choices[0].get("message"), dict)):
        # Another JSON API at this URL (a models list, a redirect's target): every row would fail alike,
        # and a reject that --resume never sends again would burn the input.
        raise EndpointFailure(f"teacher endpoint: the answer is no chat completion (no choices[0].message; check "
                              f"--endpoint): {text[:120]!r}")
    return answer


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error, not a detour: urllib would resend the POST as a GET with no body, and
    with the bearer key to whatever host the Location names."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _redacted(text: str, cfg: TeacherConfig) -> str:
    """`text` with the API key blanked out, as written or as a server may echo it: escaped in JSON
    (`/` as `\\/` too), percent-encoded. An error body and a printed URL go to stderr and the rejects file."""
    if not cfg.api_key:
        return text
    escaped = json.dumps(cfg.api_key)[1:-1]
    forms = {cfg.api_key, escaped, escaped.replace("/", "\\/"), urllib.parse.quote(cfg.api_key, safe=""),
             urllib.parse.quote_plus(cfg.api_key), urllib.parse.quote(cfg.api_key)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[api key]")
    return text


def shown_url(url: str) -> str:
    """`url` fit to print: query values blanked (`?api-key=...`: Azure-style gateways take the key there)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(f"{k}=..." for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    return urllib.parse.urlunsplit(parts._replace(query=query))


def _request(url: str, body: dict, cfg: TeacherConfig) -> urllib.request.Request:
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
    if cfg.api_key:
        headers["Authorization"] = f"Bearer {cfg.api_key}"
    return urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")


def post_json(url: str, body: dict, cfg: TeacherConfig, sleep: Callable[[float], None] = time.sleep,
              on_wait: Callable[[str], None] | None = None) -> Any:
    """POST JSON and return the decoded answer. Retries a failed request `cfg.retries` times (1, 2,
    4 ... s apart, or what `Retry-After` asks, up to MAX_WAIT_S); then raises EndpointFailure.
    Raises TeacherUnusable at once for the statuses no retry can change, and Rejected (final, this
    row's) for a request the endpoint refused as such (400, 413, 422)."""
    req = _request(url, body, cfg)
    url = shown_url(url)  # only printed from here on
    for attempt in range(cfg.retries + 1):
        wait: float | None = None
        opened = False  # a status line came back: the endpoint was reached, whatever fails after
        try:
            with _OPENER.open(req, timeout=cfg.timeout_s) as resp:
                opened = True
                try:
                    return decode_answer(_read_capped(resp, _body_cap(cfg), time.monotonic() + cfg.timeout_s))
                except EndpointFailure as failed:
                    raise EndpointFailure(_redacted(str(failed), cfg)) from None
        except urllib.error.HTTPError as err:
            detail = _redacted(err.read(400).decode("utf-8", errors="replace").strip()[:300], cfg)
            if 300 <= err.code < 400:
                where = err.headers.get("Location") if err.headers else None
                raise TeacherUnusable(f"{url}: HTTP {err.code}: the endpoint redirects{f' to {where}' if where else ''}; "
                                      "give the final URL as --endpoint (a redirect would resend the request as a GET, "
                                      "and the API key to another host)") from None
            if err.code in UNUSABLE_STATUSES:
                raise TeacherUnusable(f"{url}: HTTP {err.code}{f' ({detail})' if detail else ''}: "
                                      f"{UNUSABLE_STATUSES[err.code]}") from None
            if err.code in ROW_STATUSES:
                raise Rejected(f"teacher refused the request: HTTP {err.code}: {detail}") from None
            failure = EndpointFailure(f"teacher endpoint: HTTP {err.code}: {detail}")
            if err.code not in RETRY_STATUSES:
                raise failure from None
            wait = retry_after_s(err.headers.get("Retry-After") if err.headers else None)
            if wait is not None and wait > MAX_WAIT_S:
                raise EndpointFailure(f"teacher endpoint: HTTP {err.code}, asked to wait {wait:.0f} s "
                                      f"(over {MAX_WAIT_S:.0f} s): {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            answered = opened or isinstance(reason, http.client.IncompleteRead)
            if isinstance(reason, http.client.IncompleteRead):
                kind, said = "cut the answer short", f"the connection closed {reason.expected:,} bytes before its end"
            else:
                kind = "timed out" if isinstance(reason, TimeoutError) else "unreachable"
                said = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
            said = " ".join(_redacted(str(said), cfg).split())  # one line: a banner of another service has newlines
            failure = EndpointFailure(f"teacher endpoint {kind}: {said}", answered=answered)
        if attempt == cfg.retries:
            raise failure
        wait = min(2.0 ** attempt, MAX_WAIT_S) if wait is None else wait  # 1, 2, 4 ... 60, 60 s
        if on_wait:
            on_wait(f"{failure}; retry {attempt + 1}/{cfg.retries} in {wait:.0f} s")
        sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises
