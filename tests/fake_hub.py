"""A local stand-in for the Hugging Face Hub's HTTP API, for tests that drive the real
`huggingface_hub` client (point HF_ENDPOINT at it). It speaks just enough of the API for what
codelewm-eval does:

* whoami (`/api/whoami-v2`), with a bearer token that must match;
* repos: create, info at a revision, recursive tree, file resolve (GET/HEAD), preupload and
  commit (files uploaded inline, "regular" mode); every commit gets a new 40-hex sha and old
  revisions stay readable;
* Jobs: hardware (two CPU flavors with their listed cost), create (`POST /api/jobs/{ns}`),
  inspect, logs as server-sent events, cancel. A created
  job really runs, as a subprocess of this machine: `uv run --with ... CMD` runs CMD in this
  environment (the dependencies are already installed here), `codelewm-eval` is this
  package's CLI, and the job's env is its environment plus its secrets plus HF_ENDPOINT and
  HF_TOKEN for this server, as a Hub job would see them. Output lines become the job's logs.

`fail_once` stands in for a lost machine: a job whose labels include all of its items exits 1
without running its command, once.

Every request is recorded in `requests` (method, path, JSON body) so tests can assert what
reached the server, and what did not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


def pointed_at(tmp_path, monkeypatch, token: str):
    """A FakeHub that the real client talks to: HF_ENDPOINT, HF_TOKEN and HF_HOME set for the
    test (use as `with pointed_at(...) as hub:`)."""
    from contextlib import contextmanager

    @contextmanager
    def serve():
        with FakeHub(token) as server:
            monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
            monkeypatch.setenv("HF_TOKEN", token)
            monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
            monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
            yield server

    return serve()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Repo:
    def __init__(self):
        self.history: dict[str, dict[str, bytes]] = {}
        self.head: str | None = None
        self.commit({})

    def commit(self, files: dict[str, bytes]) -> str:
        sha = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        self.history[sha] = {**(self.history[self.head] if self.head else {}), **files}
        self.head = sha
        return sha

    def at(self, revision: str) -> tuple[str, dict[str, bytes]] | None:
        sha = self.head if revision in ("main", "HEAD") else revision
        return (sha, self.history[sha]) if sha in self.history else None


class Job:
    def __init__(self, job_id: str, namespace: str, spec: dict):
        self.id, self.namespace, self.spec = job_id, namespace, spec
        self.stage, self.message = "RUNNING", None
        self.created_at = _now()
        self.logs: list[tuple[str, str]] = []
        self.process: subprocess.Popen | None = None

    def info(self, endpoint: str) -> dict:
        secrets = self.spec.get("secrets") or {}
        return {"id": self.id, "createdAt": self.created_at, "dockerImage": self.spec.get("dockerImage"),
                "spaceId": self.spec.get("spaceId"), "command": self.spec.get("command"),
                "arguments": self.spec.get("arguments"), "environment": self.spec.get("environment"),
                # like the Hub: secret names come back, values never do
                "secrets": {name: None for name in secrets}, "flavor": self.spec.get("flavor"),
                "labels": self.spec.get("labels"), "status": {"stage": self.stage, "message": self.message},
                "owner": {"id": "0" * 24, "name": self.namespace, "type": "user"}}


class FakeHub:
    def __init__(self, token: str, user: str = "alice", run_jobs: bool = True):
        self.token, self.user, self.run_jobs = token, user, run_jobs
        self.repos: dict[tuple[str, str], Repo] = {}
        self.jobs: dict[str, Job] = {}
        self.requests: list[dict] = []
        self.fail_once: dict[str, str] | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix="fake-hub-"))
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for job in self.jobs.values():
            if job.process and job.process.poll() is None:
                job.process.kill()
        self.server.shutdown()
        self.server.server_close()

    # --- repos -------------------------------------------------------------------------------
    def repo(self, repo_type: str, repo_id: str, create: bool = False) -> Repo | None:
        key = (repo_type, repo_id)
        if create and key not in self.repos:
            self.repos[key] = Repo()
        return self.repos.get(key)

    def put_folder(self, repo_type: str, repo_id: str, folder: Path) -> str:
        """Seed a repo with a folder's files (as a user's upload would); returns the commit sha."""
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
                 if p.is_file()}
        return self.repo(repo_type, repo_id, create=True).commit(files)

    # --- jobs --------------------------------------------------------------------------------
    def wait(self, job_id: str, timeout: float = 300) -> Job:
        job = self.jobs[job_id]
        if job.process:
            job.process.wait(timeout)
            job._reader.join(timeout)  # type: ignore[attr-defined]
        return job

    def _start(self, job: Job) -> None:
        command = list(job.spec["command"]) + list(job.spec.get("arguments") or [])
        labels = job.spec.get("labels") or {}
        if self.fail_once and all(labels.get(k) == v for k, v in self.fail_once.items()):
            self.fail_once = None
            command = [sys.executable, "-c", "import sys; print('the machine was lost'); sys.exit(1)"]
        if command[:2] == ["uv", "run"]:
            rest = command[2:]
            while rest and rest[0] in ("--with", "--python"):
                rest = rest[2:]
            command = rest
        if command and command[0] == "codelewm-eval":
            command = [sys.executable, "-m", "codelewm_eval.cli", *command[1:]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update({k: str(v) for k, v in (job.spec.get("environment") or {}).items()})
        env.update({k: str(v) for k, v in (job.spec.get("secrets") or {}).items()})
        env.update(HF_ENDPOINT=self.endpoint, HF_HOME=str(self.workdir / job.id / "hf-home"),
                   HF_HUB_DISABLE_TELEMETRY="1")
        cwd = self.workdir / job.id / "work"
        cwd.mkdir(parents=True)
        job.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True, bufsize=1)

        def read() -> None:
            assert job.process and job.process.stdout
            for line in job.process.stdout:
                job.logs.append((_now(), line.rstrip("\n")))
            code = job.process.wait()
            job.stage = "COMPLETED" if code == 0 else "ERROR"
            job.message = None if code == 0 else f"exit code {code}"

        job._reader = threading.Thread(target=read, daemon=True)  # type: ignore[attr-defined]
        job._reader.start()  # type: ignore[attr-defined]

    # --- HTTP --------------------------------------------------------------------------------
    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes | dict | list = b"", headers: dict | None = None,
                      head: bool = False) -> None:
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **(headers or {})}
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                self._send(status, {"error": message}, {"X-Error-Message": message})

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _authorized(self) -> bool:
                return self.headers.get("Authorization") == f"Bearer {hub.token}"

            def _record(self, body: bytes) -> None:
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = body.decode("utf-8", "replace")
                with hub._lock:
                    hub.requests.append({"method": self.command, "path": urlparse(self.path).path, "json": parsed})

            def do_HEAD(self):
                self._record(b"")
                self._route(b"", head=True)

            def do_GET(self):
                self._record(b"")
                self._route(b"")

            def do_POST(self):
                body = self._body()
                self._record(body)
                self._route(body)

            def _route(self, body: bytes, head: bool = False) -> None:
                url = urlparse(self.path)
                path, query = unquote(url.path), parse_qs(url.query)
                parts = [p for p in path.split("/") if p]
                if not self._authorized():
                    return self._error(401, "Invalid credentials in Authorization header")
                if parts == ["api", "whoami-v2"]:
                    return self._send(200, {"type": "user", "name": hub.user, "auth": {"type": "access_token"}})
                if parts[:2] == ["api", "jobs"]:
                    return self._jobs(parts[2:], body, query)
                if parts[:3] == ["api", "repos", "create"]:
                    req = json.loads(body)
                    repo_id = f"{req.get('organization') or hub.user}/{req['name']}"
                    hub.repo(req.get("type") or "model", repo_id, create=True)
                    return self._send(200, {"url": f"{hub.endpoint}/{repo_id}", "name": repo_id})
                if len(parts) >= 5 and parts[0] == "api" and parts[1] in ("models", "datasets", "spaces"):
                    return self._repo_api(parts[1][:-1], parts[2:], body, query)
                if parts and parts[0] in ("datasets", "spaces"):
                    return self._resolve(parts[0][:-1], parts[1:], head)
                return self._resolve("model", parts, head)

            def _repo_api(self, repo_type: str, rest: list[str], body: bytes, query) -> None:
                repo_id, action, revision = "/".join(rest[:2]), rest[2], "/".join(rest[3:4]) or "main"
                repo = hub.repo(repo_type, repo_id)
                if repo is None:
                    return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                found = repo.at(revision)
                if found is None and action != "commit":
                    return self._send(404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"})
                if action == "revision":
                    sha, files = found
                    return self._send(200, {"id": repo_id, "sha": sha, "private": False,
                                            "siblings": [{"rfilename": p} for p in sorted(files)]})
                if action == "tree":
                    sha, files = found
                    prefix = "/".join(rest[4:])
                    entries = [{"type": "file", "path": p, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                               for p, b in sorted(files.items()) if p.startswith(prefix)]
                    return self._send(200, entries)
                if action == "preupload":
                    req = json.loads(body)
                    return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                       "shouldIgnore": False} for f in req.get("files", [])]})
                if action == "commit":
                    files = {}
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item["key"] == "file":
                            files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                        elif item["key"] in ("lfsFile", "deletedFile", "deletedFolder"):
                            return self._error(400, f"{item['key']} is not supported by this server")
                    sha = repo.commit(files)
                    return self._send(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{sha}", "commitOid": sha,
                                            "success": True})
                return self._error(404, f"unknown repo action {action}")

            def _resolve(self, repo_type: str, rest: list[str], head: bool) -> None:
                if len(rest) < 5 or rest[2] != "resolve":
                    return self._error(404, "not found")
                repo = hub.repo(repo_type, "/".join(rest[:2]))
                found = repo.at(rest[3]) if repo else None
                if found is None:
                    return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                sha, files = found
                name = "/".join(rest[4:])
                if name not in files:
                    return self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                data = files[name]
                etag = hashlib.sha1(data).hexdigest()
                self._send(200, data, {"ETag": f'"{etag}"', "X-Repo-Commit": sha,
                                       "Content-Type": "application/octet-stream"}, head=head)

            def _jobs(self, rest: list[str], body: bytes, query) -> None:
                if rest == ["hardware"]:  # the shape of the Hub's answer; costs as huggingface_hub documents them
                    return self._send(200, [
                        {"name": "cpu-basic", "prettyName": "CPU Basic", "cpu": "2 vCPU", "ram": "16 GB",
                         "ephemeralStorage": "20 GB", "accelerator": None, "unitCostMicroUSD": 167,
                         "unitCostUSD": 0.000167, "unitLabel": "minute"},
                        {"name": "cpu-upgrade", "prettyName": "CPU Upgrade", "cpu": "8 vCPU", "ram": "32 GB",
                         "ephemeralStorage": "50 GB", "accelerator": None, "unitCostMicroUSD": 500,
                         "unitCostUSD": 0.0005, "unitLabel": "minute"}])
                namespace = rest[0] if rest else hub.user
                if namespace != hub.user:
                    return self._error(403, f"no access to namespace {namespace}")
                if len(rest) == 1 and self.command == "POST":
                    job = Job(uuid.uuid4().hex[:24], namespace, json.loads(body))
                    hub.jobs[job.id] = job
                    if hub.run_jobs:
                        hub._start(job)
                    return self._send(200, job.info(hub.endpoint))
                if len(rest) == 1:
                    return self._send(200, [j.info(hub.endpoint) for j in hub.jobs.values()])
                job = hub.jobs.get(rest[1])
                if job is None:
                    return self._error(404, "Job not found")
                if len(rest) == 2:
                    return self._send(200, job.info(hub.endpoint))
                if rest[2] == "cancel":
                    if job.process and job.process.poll() is None:
                        job.process.kill()
                    job.stage = "CANCELED"
                    return self._send(200, {})
                if rest[2] == "logs":
                    tail = int(query["tail"][0]) if "tail" in query else None
                    logs = list(job.logs)[-tail:] if tail else list(job.logs)
                    events = [("===== Job started =====", job.created_at)] + [(line, ts) for ts, line in logs]
                    body = "".join(f"data: {json.dumps({'data': line, 'timestamp': ts})}\n\n" for line, ts in events)
                    return self._send(200, body.encode(),
                                      {"Content-Type": "text/event-stream"})  # Date: sent by send_response
                return self._error(404, "not found")

        return Handler
