/* skintrial report: sortable tables and filterable data tables. Hand-written, no dependencies; the
   page reads fully without it (data tables then show their first rows, as printed). */
(function () {
  "use strict";

  function number(text) {
    var t = String(text).replace(/\u2212/g, "-").replace(/[<>%,]/g, "").trim();
    var m = t.match(/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i);
    return m ? parseFloat(m[0]) : NaN;
  }

  function order(a, b, dir) {
    var na = typeof a === "number" ? a : NaN, nb = typeof b === "number" ? b : NaN;
    if (typeof a === "number" || typeof b === "number") {
      if (isNaN(na) && isNaN(nb)) return 0;
      if (isNaN(na)) return 1;            /* missing values last, whatever the direction */
      if (isNaN(nb)) return -1;
      return dir * (na - nb);
    }
    return dir * String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  /* Headers that sort when clicked (or Enter/Space); onSort(column, direction). */
  function sortableHeaders(table, onSort) {
    var headers = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1].cells : [];
    Array.prototype.forEach.call(headers, function (th, col) {
      th.setAttribute("aria-sort", "none");
      th.tabIndex = 0;
      th.title = "Sort by this column";
      function go() {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        Array.prototype.forEach.call(headers, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        onSort(col, dir);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
      });
    });
  }

  function staticTable(table) {
    var body = table.tBodies[0];
    if (!body) return;
    var textColumns = parseInt(table.getAttribute("data-text-columns") || "1", 10);
    sortableHeaders(table, function (col, dir) {
      var rows = Array.prototype.slice.call(body.rows);
      var numeric = col >= textColumns;
      rows.sort(function (r, s) {
        var a = r.cells[col] ? r.cells[col].textContent : "", b = s.cells[col] ? s.cells[col].textContent : "";
        return numeric ? order(number(a), number(b), dir) : order(a, b, dir);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  }

  function dataTable(box) {
    var source = box.querySelector("script.dt-data");
    var table = box.querySelector("table");
    if (!source || !table) return;
    var data = JSON.parse(source.textContent);
    var body = table.tBodies[0];
    var controls = box.querySelector(".dt-controls");
    var search = box.querySelector(".dt-search");
    var selects = Array.prototype.slice.call(box.querySelectorAll(".dt-filter"));
    var count = box.querySelector(".dt-count");
    var more = box.querySelector(".dt-more");
    var what = box.getAttribute("data-what") || "rows";
    var note = box.querySelector(".dt-static-note");
    var limit = 200, shown = limit, sortCol = -1, sortDir = 1;
    var haystack = data.rows.map(function (r) { return r.join("\u0001").toLowerCase(); });
    function key(i, col) {
      var k = data.keys && data.keys[i] ? data.keys[i][col] : null;
      if (col >= data.text) return k === null || k === undefined ? number(data.rows[i][col]) : k;
      return data.rows[i][col];
    }
    function render() {
      var q = search.value.trim().toLowerCase();
      var wanted = selects.map(function (s) { return [parseInt(s.getAttribute("data-col"), 10), s.value]; });
      var idx = [];
      for (var i = 0; i < data.rows.length; i++) {
        if (q && haystack[i].indexOf(q) < 0) continue;
        var ok = true;
        for (var f = 0; f < wanted.length; f++) {
          if (wanted[f][1] && data.rows[i][wanted[f][0]] !== wanted[f][1]) { ok = false; break; }
        }
        if (ok) idx.push(i);
      }
      if (sortCol >= 0) idx.sort(function (a, b) { return order(key(a, sortCol), key(b, sortCol), sortDir) || a - b; });
      var frag = document.createDocumentFragment();
      idx.slice(0, shown).forEach(function (i) {
        var tr = document.createElement("tr");
        data.rows[i].forEach(function (cell, j) {
          var td = document.createElement("td");
          td.textContent = cell;
          if (j >= data.text) td.className = "num";
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      while (body.firstChild) body.removeChild(body.firstChild);
      body.appendChild(frag);
      var n = Math.min(shown, idx.length);
      count.textContent = (n < idx.length ? "showing " + n + " of " : "") + idx.length + " " + what +
        (idx.length < data.rows.length ? " match (of " + data.rows.length + ")" : "");
      more.hidden = n >= idx.length;
      more.textContent = "Show all " + idx.length;
    }
    controls.hidden = false;
    if (note) note.hidden = true;
    search.addEventListener("input", function () { shown = limit; render(); });
    selects.forEach(function (s) { s.addEventListener("change", function () { shown = limit; render(); }); });
    more.addEventListener("click", function () { shown = Infinity; render(); });
    sortableHeaders(table, function (col, dir) { sortCol = col; sortDir = dir; render(); });
    render();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
      if (!t.closest(".datatable")) staticTable(t);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".datatable"), dataTable);
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
