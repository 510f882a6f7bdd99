"""The dashboard WSGI app without a browser: read-only guard, report pages, the added script."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest

from poolnas.dashboards.server import create_app
from poolnas.storage import open_storage
from poolnas.testing import synthetic_studies as S


def _call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path,
                               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = app(environ, lambda s, h, exc=None: status.append(s))
    return status[0], b"".join(chunks)


@pytest.fixture
def storage(sqlite_url):
    study = S.create("served", sqlite_url)
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": lam}, [0.6 + lam / 10, 0.61])
                   for lam in (0.4, 0.8)])
    return open_storage(sqlite_url)


def test_read_only_refuses_every_change(storage):
    app = create_app(storage)
    sid = storage.get_study_id_from_name("served")
    for method, path in (("DELETE", f"/api/studies/{sid}"), ("POST", "/api/studies"),
                         ("PUT", f"/api/studies/{sid}/note"), ("PATCH", "/api/studies"),
                         ("POST", f"/api/studies/{sid}/rename")):
        status, body = _call(app, method, path, b'{"study_name": "x"}')
        assert status.startswith("403") and b"read-only" in body
    assert optuna.study.get_all_study_names(storage) == ["served"]
    status, body = _call(app, "GET", "/api/studies")
    assert status.startswith("200") and json.loads(body)["study_summaries"][0]["study_name"] == "served"


def test_allow_write_lets_a_delete_through(storage):
    app = create_app(storage, allow_write=True)
    status, _ = _call(app, "DELETE", f"/api/studies/{storage.get_study_id_from_name('served')}")
    assert status.startswith("204") or status.startswith("200")
    assert optuna.study.get_all_study_names(storage) == []


def test_report_pages(storage):
    app = create_app(storage)
    status, body = _call(app, "GET", "/poolnas/")
    assert status.startswith("200") and b"/poolnas/report/served" in body
    status, body = _call(app, "GET", "/poolnas/report/served")
    assert status.startswith("200") and b'id="fig-srp-fig2"' in body
    assert _call(app, "GET", "/poolnas/report/served")[1] == body  # cached while trials are unchanged
    assert _call(app, "GET", "/poolnas/report/nope")[0].startswith("404")


def test_dashboard_page_gets_the_poolnas_script(storage):
    for allow_write, flag in ((False, b"READ_ONLY = true"), (True, b"READ_ONLY = false")):
        app = create_app(storage, allow_write=allow_write)
        status, body = _call(app, "GET", "/dashboard")
        assert status.startswith("200") and (b'<script defer src="/poolnas/dashboard.js">'
                                             b'</script></head>') in body
        status, script = _call(app, "GET", "/poolnas/dashboard.js")
        assert status.startswith("200") and flag in script and b"DeleteIcon" in script
    status, body = _call(app, "GET", "/dashboard/studies/1/note")  # client-side routes too
    assert b"/poolnas/dashboard.js" in body
    status, body = _call(app, "GET", "/api/studies")  # the API is left alone
    assert b"poolnas/dashboard.js" not in body


def test_study_id_redirects_to_its_report(storage):
    app = create_app(storage)
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/poolnas/study/"
                               + str(storage.get_study_id_from_name("served"))}
    setup_testing_defaults(environ)
    seen: list[Any] = []
    app(environ, lambda s, h, exc=None: seen.extend([s, dict(h)]))
    assert seen[0].startswith("302") and seen[1]["Location"] == "/poolnas/report/served"
    assert _call(app, "GET", "/poolnas/study/999")[0].startswith("404")
    assert _call(app, "GET", "/poolnas/study/x")[0].startswith("404")


def test_serving_writes_no_study_attributes(storage):
    sid = storage.get_study_id_from_name("served")
    before = (storage.get_study_system_attrs(sid), storage.get_study_user_attrs(sid))
    app = create_app(storage)
    for path in ("/dashboard", "/poolnas/", "/poolnas/report/served", f"/api/studies/{sid}"):
        assert _call(app, "GET", path)[0].startswith("200"), path
    assert (storage.get_study_system_attrs(sid), storage.get_study_user_attrs(sid)) == before


def test_index_names_each_studys_one_best(storage):
    """The dashboard's study list names the best configuration the way every command does:
    the best mean over its seeds, with n (poolnas.dashboards.listing.list_studies)."""
    from poolnas.dashboards._index_page import objective_names
    from poolnas.dashboards.listing import list_studies
    from poolnas.studies.units import objective_text

    app = create_app(storage)
    status, body = _call(app, "GET", "/poolnas/")
    row = list_studies(storage)[0]
    assert status.startswith("200") and row.best_n == 2
    page = body.decode()
    assert objective_text(row.best, row.metric, row.best_std, row.best_n) in page  # percent, std labelled
    assert "mean over 2 seeds" in page and "id='poolnas-studies'" in page and "<style>" in page
    sid = storage.get_study_id_from_name("served")
    assert f"href='/dashboard/studies/{sid}'" in page and "href='/poolnas/report/served'" in page
    assert "best single run (one seed)" in page
    # poolnas's pages first; optuna-dashboard's study JSON names the objective, nothing written
    seen: list[Any] = []
    app({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.input": io.BytesIO()},
        lambda status, headers, exc=None: seen.extend([status, dict(headers)]))
    assert seen[0].startswith("302") and seen[1]["Location"] == "/poolnas/"
    before = storage.get_study_system_attrs(sid)
    status, body = _call(app, "GET", f"/api/studies/{sid}")
    names = json.loads(body)["objective_names"]
    assert names == objective_names(storage.get_study_user_attrs(sid), ["maximize"])
    assert names[0] == row.metric and storage.get_study_system_attrs(sid) == before
    assert b"poolnas's best is the best mean over seeds" in _call(app, "GET", "/poolnas/dashboard.js")[1]

