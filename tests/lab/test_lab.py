"""JupyterLab as readers use it: `tools/lab.sh` (what `make lab` runs) starts headless, even as root; a
chapter's MyST .md opens as a notebook through jupytext; its first code cells run in the server's kernel."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import pathlib
import secrets
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest

pytestmark = pytest.mark.lab
import tornado.websocket as tornado_websocket  # noqa: E402  (the lab extra: make lab-check installs it)

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTER = "30_pavlovian_memory.md"
FIRST_CELLS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


def _post(url: str, token: str, body: dict):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


@pytest.fixture(scope="module")
def lab():
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {"JUPYTER_RUNTIME_DIR": str(ROOT / "book" / "_build" / "lab-runtime")}
    proc = subprocess.Popen(
        ["bash", str(ROOT / "tools" / "lab.sh"), "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{proc.stdout.read()[-3000:]}")
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer /api/status within 120 s")
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_a_chapter_opens_as_a_notebook_through_jupytext(lab):
    base, token = lab
    status, model = _get(f"{base}/api/contents/{CHAPTER}?type=notebook&content=1", token)
    assert status == 200 and model["type"] == "notebook"
    cells = model["content"]["cells"]
    source = (ROOT / "notebooks" / CHAPTER).read_text(encoding="utf-8")
    assert len(cells) > 20
    assert sum(c["cell_type"] == "code" for c in cells) == source.count("```{code-cell}")


def _message(code: str, session: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "test", "session": session,
            "date": datetime.datetime.now(datetime.UTC).isoformat(), "version": "5.3",
        },
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }  # fmt: skip


async def _execute(ws_url: str, codes: list[str]) -> list[tuple[str, str]]:
    conn = await tornado_websocket.websocket_connect(ws_url)
    session, results = uuid.uuid4().hex, []
    try:
        for code in codes:
            msg = _message(code, session)
            await conn.write_message(json.dumps(msg))
            status, text = None, []
            while status is None:
                raw = await asyncio.wait_for(conn.read_message(), timeout=300)
                reply = json.loads(raw)
                if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                    continue
                kind = reply["msg_type"]
                if kind == "stream":
                    text.append(reply["content"]["text"])
                elif kind == "error":
                    text.append(f"{reply['content']['ename']}: {reply['content']['evalue']}")
                elif kind == "execute_reply":
                    status = reply["content"]["status"]
            results.append((status, "".join(text)))
    finally:
        conn.close()
    return results


def test_the_first_code_cells_run_in_the_servers_kernel(lab):
    base, token = lab
    _, model = _get(f"{base}/api/contents/{CHAPTER}?type=notebook&content=1", token)
    codes = [c["source"] for c in model["content"]["cells"] if c["cell_type"] == "code"][:FIRST_CELLS]
    status, kernel = _post(f"{base}/api/kernels", token, {"name": "python3"})
    assert status == 201
    ws_url = f"{base.replace('http', 'ws')}/api/kernels/{kernel['id']}/channels?token={token}"
    results = asyncio.run(_execute(ws_url, codes))
    assert [s for s, _ in results] == ["ok"] * len(codes), results
    probe = asyncio.run(_execute(ws_url, ["import attnmath, sys; print(attnmath.__version__, sys.executable)"]))
    assert probe[0][0] == "ok" and probe[0][1].split()[0] == __import__("attnmath").__version__
