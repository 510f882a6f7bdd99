"""The dashboard server: optuna-dashboard on the storage, poolnas report pages beside it,
read-only unless asked otherwise.

Routes: ``/dashboard`` … optuna-dashboard (its public ``wsgi()`` factory), ``/poolnas/``
a list of the studies, ``/poolnas/report/<study>`` the study's report with its paper
figures, drawn live, ``/poolnas/study/<id>`` a redirect there from optuna-dashboard's study
id, and ``/poolnas/dashboard.js``, a script added to optuna-dashboard's page: a bar linking
the study's report and, when read-only, hiding the UI's write controls (create, rename,
delete, note editing, trial forms, artifact upload).

The server itself writes nothing to the storage: the figures and the report link are
served from these routes, never saved into the studies. Every request that could change the
storage (POST, PUT, PATCH, DELETE) is refused with 403 by :class:`ReadOnlyMiddleware` unless
``allow_write`` (optuna-dashboard's API can delete studies, rename them and tell trials).
"""

from __future__ import annotations

import html
import json
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna
from optuna.trial import TrialState

from poolnas.dashboards._index_page import index_page, objective_names, study_row
from poolnas.dashboards._ui_script import dashboard_script
from poolnas.dashboards.optuna_figures import param_importances
from poolnas.dashboards.report import render_report
from poolnas.storage import redact_url, unreachable_reason
from poolnas.studies.reader import from_study

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = ["ReadOnlyMiddleware", "create_app", "make_dashboard_server", "serve"]

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_SCRIPT_PATH = "/poolnas/dashboard.js"
_SCRIPT_TAG = f'<script defer src="{_SCRIPT_PATH}"></script>'.encode()

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ReadOnlyMiddleware:
    """Refuse every request but GET/HEAD/OPTIONS with 403 unless ``allow_write``."""

    def __init__(self, app: WSGIApp, allow_write: bool = False):
        self.app = app
        self.allow_write = allow_write

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if self.allow_write or method in _SAFE_METHODS:
            return self.app(environ, start_response)
        reason = (f"{method} refused: this dashboard is read-only; "
                  "start it with `poolnas dashboard --allow-write` to change studies")
        body = json.dumps({"reason": reason}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))])
        return [body]


def _page(status: str, body: str, start_response: StartResponse,
          ctype: str = "text/html; charset=utf-8") -> list[bytes]:
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))])
    return [data]


class _PoolnasRoutes:
    """``/poolnas/...`` pages; everything else goes to optuna-dashboard, whose HTML page gets
    the ``/poolnas/dashboard.js`` script added."""

    def __init__(self, storage: RDBStorage, dashboard: WSGIApp, *, allow_write: bool = False):
        self.storage = storage
        self.dashboard = dashboard
        self.script = dashboard_script(read_only=not allow_write)
        self._cache: dict[str, tuple[tuple[int, ...], str]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._route(environ, start_response)
        except Exception as err:  # noqa: BLE001 - a clean page naming the cause, not a traceback
            cause = unreachable_reason(err, str(getattr(self.storage, "url", "")))
            body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>poolnas: storage error"
                    f"</title></head><body><h1>Storage error</h1><p>{html.escape(cause)}</p><p>The "
                    "database could not be read; nothing was written.</p></body></html>")
            return _page("500 Internal Server Error", body, start_response)

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # wsgiref hands PATH_INFO as latin-1 decoded bytes; study names may be UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace").rstrip("/")
        if path == "":  # poolnas's pages first
            start_response("302 Found", [("Location", "/poolnas/"), ("Content-Length", "0")])
            return [b""]
        if path == "/poolnas":
            return _page("200 OK", self._index(), start_response)
        if path == _SCRIPT_PATH:
            return _page("200 OK", self.script, start_response, "text/javascript; charset=utf-8")
        if path.startswith("/poolnas/report/"):
            return self._report(path[len("/poolnas/report/"):], start_response)
        if path.startswith("/poolnas/study/"):
            return self._study_redirect(path[len("/poolnas/study/"):], start_response)
        if path.startswith("/api/studies/") and path.endswith("/param_importances"):
            return self._importances(path.split("/")[3], start_response)
        parts = path.split("/")
        if (len(parts) == 4 and parts[1:3] == ["api", "studies"] and parts[3].isdigit()
                and environ.get("REQUEST_METHOD") == "GET"):
            return self._study_detail(int(parts[3]), environ, start_response)
        dashboard = path == "/dashboard" or path.startswith("/dashboard/")
        if dashboard and environ.get("REQUEST_METHOD") == "GET":
            return self._dashboard_page(environ, start_response)
        return self.dashboard(environ, start_response)

    def _dashboard_answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """optuna-dashboard's answer to ``environ``, whole: status, headers and body."""
        seen: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]],
                    exc_info: Any = None) -> Callable[[bytes], None]:
            seen[:] = [status, headers]
            return lambda _data: None

        chunks = self.dashboard(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return seen[0], seen[1], body

    def _dashboard_page(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """optuna-dashboard's HTML page with our script tag before ``</head>``."""
        environ = {k: v for k, v in environ.items()  # always the full page, never a 304
                   if k not in ("HTTP_IF_MODIFIED_SINCE", "HTTP_IF_NONE_MATCH", "HTTP_RANGE")}
        status, headers, body = self._dashboard_answer(environ)
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
        if status.startswith("200") and ctype.startswith("text/html") and b"</head>" in body:
            body = body.replace(b"</head>", _SCRIPT_TAG + b"</head>", 1)
            headers = [(k, v) for k, v in headers
                       if k.lower() not in ("content-length", "etag", "last-modified")]
            headers += [("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        start_response(status, headers)
        return [body]

    def _study_redirect(self, study_id: str, start_response: StartResponse) -> list[bytes]:
        """optuna-dashboard's study id -> ``/poolnas/report/<name>``."""
        try:
            name = self.storage.get_study_name_from_id(int(study_id))
        except (KeyError, ValueError):
            return _page("404 Not Found", f"<p>No study with id {html.escape(study_id)}.</p>", start_response)
        start_response("302 Found", [("Location", f"/poolnas/report/{quote(name, safe='')}"),
                                     ("Content-Length", "0")])
        return [b""]

    def _index(self) -> str:
        """poolnas's first page: every study with its verdict, failures and links
        (:mod:`poolnas.dashboards._index_page`), each row redrawn when its trial counts change."""
        rows = []
        for summary in sorted(self.storage.get_all_studies(), key=lambda s: s.study_name):
            sid = self.storage.get_study_id_from_name(summary.study_name)
            stamp = tuple(self.storage.get_n_trials(sid, state) for state in TrialState)
            key = "index:" + summary.study_name
            with self._lock:
                cached = self._cache.get(key)
            if cached is None or cached[0] != stamp:
                cached = (stamp, study_row(self.storage, summary.study_name))
                with self._lock:
                    self._cache[key] = cached
            rows.append(cached[1])
        return index_page(self.storage, rows, redact_url(str(self.storage.url)))

    def _study_detail(self, study_id: int, environ: dict[str, Any],
                      start_response: StartResponse) -> list[bytes]:
        """optuna-dashboard's study JSON with ``objective_names`` from poolnas's ``objective``
        attribute when the study stores none (its axes say "test_acc", not "Objective 0").
        Added to the answer only: nothing is written to the storage."""
        status, headers, body = self._dashboard_answer(environ)
        if status.startswith("200"):
            try:
                doc = json.loads(body)
                if not doc.get("objective_names"):
                    user = self.storage.get_study_user_attrs(study_id)
                    doc["objective_names"] = objective_names(user, doc.get("directions") or [])
                    body = json.dumps(doc).encode()
                    headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "etag")]
                    headers.append(("Content-Length", str(len(body))))
            except (ValueError, KeyError, AttributeError):
                pass  # not the JSON we know: passed through unchanged
        start_response(status, headers)
        return [body]

    def _importances(self, study_id: str, start_response: StartResponse) -> list[bytes]:
        """optuna-dashboard's importances answered by poolnas (issue 13): the report's numbers,
        seed left out, in optuna-dashboard's JSON shape."""
        try:
            name = self.storage.get_study_name_from_id(int(study_id))
        except (KeyError, ValueError):
            return _page("404 Not Found", json.dumps({"reason": f"study_id={study_id} is not found"}),
                         start_response, "application/json")
        data = from_study(optuna.load_study(study_name=name, storage=self.storage), "", self.storage)
        dists = {k: type(d).__name__ for t in data.trials for k, d in t.distributions.items()}
        rows = [{"name": k, "importance": v, "distribution": dists.get(k, "")}
                for k, v in param_importances(data).items()]
        # one list per objective, as optuna-dashboard expects; poolnas computes the first one's
        others: list[list[dict[str, Any]]] = [[] for _ in data.objectives[1:]]
        return _page("200 OK", json.dumps({"param_importances": [rows, *others]}), start_response,
                     "application/json")

    def _report(self, name: str, start_response: StartResponse) -> list[bytes]:
        try:
            study_id = self.storage.get_study_id_from_name(name)
        except KeyError:
            return _page("404 Not Found", f"<p>No study named {html.escape(name)}.</p>", start_response)
        # Redraw only when the trial counts per state changed (cheap COUNT queries).
        stamp = tuple(self.storage.get_n_trials(study_id, state) for state in TrialState)
        with self._lock:
            cached = self._cache.get(name)
        if cached is None or cached[0] != stamp:
            study = optuna.load_study(study_name=name, storage=self.storage)
            cached = (stamp, render_report(from_study(study, str(self.storage.url), self.storage)))
            with self._lock:
                self._cache[name] = cached
        return _page("200 OK", cached[1], start_response)


def create_app(storage: RDBStorage, *, allow_write: bool = False) -> WSGIApp:
    """The WSGI app: optuna-dashboard plus ``/poolnas/`` pages behind the read-only guard."""
    from optuna_dashboard import wsgi  # lazy: loaded when an app is built, not with this module

    routes = _PoolnasRoutes(storage, wsgi(storage), allow_write=allow_write)
    return ReadOnlyMiddleware(routes, allow_write=allow_write)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # the dashboard UI fetches in parallel


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).startswith(("4", "5")):
            super().log_request(code, size)


def make_dashboard_server(storage: RDBStorage, host: str = "127.0.0.1", port: int = 8080, *,
                          allow_write: bool = False) -> WSGIServer:
    """A threaded wsgiref server for :func:`create_app` (port 0: a free port)."""
    server_class = _ThreadingServer
    if ":" in host:  # an IPv6 address such as ::1
        server_class = type("_ThreadingServer6", (_ThreadingServer,), {"address_family": socket.AF_INET6})
    return make_server(host, port, create_app(storage, allow_write=allow_write),
                       server_class=server_class, handler_class=_QuietHandler)


def serve(storage: RDBStorage, host: str = "127.0.0.1", port: int = 8080, *,
          allow_write: bool = False) -> None:
    """Serve until interrupted; nothing is written to the storage unless a request with
    ``allow_write`` asks for it."""
    server = make_dashboard_server(storage, host, port, allow_write=allow_write)
    shown = f"[{host}]" if ":" in host else host
    print(f"poolnas dashboard on http://{shown}:{server.server_port}/poolnas/ "
          f"(optuna-dashboard: http://{shown}:{server.server_port}/dashboard; "
          f"{'read-write' if allow_write else 'read-only'}; "
          f"storage {redact_url(str(storage.url))}); Ctrl-C stops it", file=sys.stderr)
    try:
        server.serve_forever()
    finally:
        server.server_close()
