"""The script the dashboard server adds to optuna-dashboard's page (``/poolnas/dashboard.js``).

It labels optuna-dashboard's "Best Trial" card as one seed (poolnas's best is a mean over
seeds), puts a small bar in the corner linking poolnas's pages (the list of studies and, on a
study's page, its report with the paper figures) and, when the server is read-only, hides
and disables the UI's write controls as React draws them: creating, renaming and deleting
studies, editing notes, trial forms (tell/fail), artifact uploads. The server refuses those
requests anyway (:class:`poolnas.dashboards.server.ReadOnlyMiddleware`); hiding them keeps
users from meeting a 403 after filling a form.

The controls are recognised by their Material UI icon (``data-testid`` of the svg) or their
label, as optuna-dashboard 0.21 draws them.
"""

from __future__ import annotations

import json

__all__ = ["WRITE_ICONS", "WRITE_LABELS", "dashboard_script"]

# Icons of optuna-dashboard's write buttons (MUI icons carry data-testid="<Name>Icon").
WRITE_ICONS = ("AddBoxIcon", "DriveFileRenameOutlineIcon", "DeleteIcon", "EditIcon",
               "CloudUploadIcon", "UploadFileIcon", "FileUploadIcon", "SaveIcon")
# Text or aria-label of write buttons (case-insensitive, whole label).
WRITE_LABELS = ("create", "rename", "rename study", "delete", "delete study", "save", "submit",
                "upload", "fail trial", "complete trial", "prune trial", "mark as complete",
                "mark as failed", "mark as pruned", "skip", "copy study")

_TEMPLATE = r"""(function () {
  "use strict";
  var READ_ONLY = __READ_ONLY__;
  var ICONS = __ICONS__;
  var LABELS = __LABELS__;
  var CONTROLS = "button, [role=button], [role=menuitem], input[type=file]";

  function isWrite(el) {
    if (el.matches("input[type=file]")) return true;
    var label = ((el.getAttribute("aria-label") || el.innerText || "") + "").trim().toLowerCase();
    if (LABELS.indexOf(label) >= 0) return true;
    var icons = el.querySelectorAll("svg[data-testid]");
    for (var i = 0; i < icons.length; i++) {
      if (ICONS.indexOf(icons[i].getAttribute("data-testid")) >= 0) return true;
    }
    return false;
  }

  function hideWriteControls() {
    var els = document.querySelectorAll(CONTROLS);
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.getAttribute("data-poolnas-hidden") === "1" || el.closest("#poolnas-bar")) continue;
      if (!isWrite(el)) continue;
      el.setAttribute("data-poolnas-hidden", "1");
      el.setAttribute("aria-hidden", "true");
      el.setAttribute("disabled", "");
      el.style.display = "none";
    }
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.style.color = "inherit";
    a.style.marginLeft = "0.8em";
    return a;
  }

  function drawBar() {
    var m = location.pathname.match(/\/dashboard\/studies\/(\d+)/);
    var key = (m ? m[1] : "") + (READ_ONLY ? ":ro" : ":rw");
    var bar = document.getElementById("poolnas-bar");
    if (bar && bar.getAttribute("data-key") === key) return;  // unchanged: touch nothing
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "poolnas-bar";
      bar.style.cssText = "position:fixed;right:12px;bottom:12px;z-index:2000;padding:6px 10px;" +
        "border-radius:4px;background:#0c4a6e;color:#fff;font:13px sans-serif;opacity:0.92";
      document.body.appendChild(bar);
    }
    bar.setAttribute("data-key", key);
    bar.textContent = READ_ONLY ? "poolnas · read-only" : "poolnas · read-write";
    bar.appendChild(link("/poolnas/", "studies"));
    if (m) bar.appendChild(link("/poolnas/study/" + m[1], "report & paper figures"));
  }

  // optuna-dashboard's "Best Trial" is the best single run (one seed); poolnas's best is
  // the best mean over seeds: say so where the card is drawn.
  function noteBestTrial() {
    var els = document.querySelectorAll("h1, h2, h3, h4, h5, h6, .MuiTypography-root, .MuiCardHeader-title");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (el.getAttribute("data-poolnas-best") === "1" || el.children.length) continue;
      var text = (el.textContent || "").trim();
      if (text !== "Best Trial" && text !== "Best Trials") continue;
      el.setAttribute("data-poolnas-best", "1");
      el.textContent = text + " (one seed; poolnas's best is the best mean over seeds: see the report)";
    }
  }

  function update() {
    noteBestTrial();
    if (READ_ONLY) hideWriteControls();
    if (document.body) drawBar();
  }

  new MutationObserver(update).observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("popstate", update);
  document.addEventListener("DOMContentLoaded", update);
  update();
})();
"""


def dashboard_script(read_only: bool) -> str:
    """The JavaScript of ``/poolnas/dashboard.js`` for a read-only or a read-write server."""
    return (_TEMPLATE.replace("__READ_ONLY__", json.dumps(read_only))
            .replace("__ICONS__", json.dumps(list(WRITE_ICONS)))
            .replace("__LABELS__", json.dumps(list(WRITE_LABELS))))
