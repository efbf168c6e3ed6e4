"""Headless Chromium driven through the DevTools protocol over a pipe (stdlib only).

Why not `chromium --dump-dom`: a single-page app such as MLflow's UI fills its DOM from API calls
after load, and `--dump-dom` dumps at a moment Chromium picks (with `--virtual-time-budget`, when
virtual time runs out). On a loaded machine that moment came before the data had arrived while the
screenshot of the same load showed it. Here the test says what it waits for: the page's DOM is read
again every half second, in real time, until every expected text is in it (or a deadline passes),
and only then is the screenshot taken.

`--remote-debugging-pipe` makes Chromium read protocol messages from fd 3 and write them to fd 4,
each a JSON object ended by a NUL byte, so no websocket library is needed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--no-first-run", "--no-default-browser-check", "--remote-debugging-pipe"]


class BrowserError(AssertionError):
    pass


class HeadlessChromium:
    """One browser process; `render` opens a page in a fresh tab and waits on its DOM."""

    def __init__(self, width: int = 1500, height: int = 1100, binary: str = "chromium"):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._log = tempfile.TemporaryFile()  # Chromium's stderr, read back when it dies

        def _place_fds(r=to_browser_r, w=from_browser_w):
            # Chromium expects its ends of the pipes as fd 3 (commands in) and fd 4 (replies out);
            # move them above 10 first so that placing one cannot overwrite the other.
            high_r, high_w = fcntl.fcntl(r, fcntl.F_DUPFD, 10), fcntl.fcntl(w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
        self._proc = subprocess.Popen([binary, *_FLAGS, f"--window-size={width},{height}", "about:blank"],
                                      stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                      preexec_fn=_place_fds, close_fds=False, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._size = (width, height)

    # --- protocol ----------------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None,
              timeout: float = 60.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read_messages(deadline, method):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise BrowserError(f"{method}: {reply['error']}")
                    return reply.get("result", {})

    def _read_messages(self, deadline: float, waiting_for: str):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"chromium did not answer {waiting_for} in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    self._log.seek(0)
                    err = self._log.read().decode(errors="replace")[-2000:]
                    raise BrowserError(f"chromium exited while waiting for {waiting_for}: {err}")
                self._buffer += chunk
        while b"\0" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\0", 1)
            yield json.loads(raw)  # events (no "id") are read and dropped

    # --- pages -------------------------------------------------------------------------------------
    def render(self, url: str, expect: tuple[str, ...] = (), screenshot: Path | None = None,
               timeout: float = 120.0, settle: float = 1.0,
               ready=None) -> str:
        """The page's DOM (HTML, then rendered text) once every `expect`ed text is in it and `ready(dom)` (if given) holds, or at
        `timeout` (the caller's asserts then say what is missing). The screenshot is taken after
        `settle` more seconds, so charts that drew in the last poll are in it too."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._send("Emulation.setDeviceMetricsOverride", {"width": self._size[0], "height": self._size[1],
                                                              "deviceScaleFactor": 1, "mobile": False}, session)
            self._send("Page.navigate", {"url": url}, session)
            deadline = time.monotonic() + timeout
            while True:
                dom = self._dom(session)
                if all(text in dom for text in expect) and (ready is None or ready(dom)):
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            time.sleep(settle)
            dom = self._dom(session)
            if screenshot is not None:
                png = self._send("Page.captureScreenshot", {"format": "png"}, session)["data"]
                screenshot.write_bytes(base64.b64decode(png))
            return dom
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def _dom(self, session: str) -> str:
        """The page's HTML, then its rendered text with whitespace runs collapsed to one space: the
        text is what a reader sees (markup splits "<strong>8</strong> matching runs", and layout puts
        "Model metrics" and "(68)" on two lines), the HTML holds the links."""
        result = self._send("Runtime.evaluate", {
            "expression": "document.documentElement.outerHTML + '\\n' + document.body.innerText.split(/\\s+/).join(' ')",
            "returnByValue": True}, session)
        return result.get("result", {}).get("value", "") or ""

    def close(self) -> None:
        try:
            self._send("Browser.close", timeout=10)
        except (BrowserError, OSError):
            pass
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, 9)
            self._proc.wait(timeout=10)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
