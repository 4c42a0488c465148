// The console's only script: the SLA clocks tick, and the queue refreshes itself when a case opens or changes.
// A cheap fingerprint is polled; the rows (personal data, so audited) are fetched only when it changes.
(function () {
  "use strict";

  function elapsed(fromIso, lang) {
    var minutes = Math.max(0, Math.floor((Date.now() - Date.parse(fromIso)) / 60000));
    var h = Math.floor(minutes / 60), m = minutes % 60;
    if (lang === "en") return (h ? h + "h " : "") + m + "m";
    return (h ? h + "시간 " : "") + m + "분";
  }

  function tick() {
    document.querySelectorAll(".elapsed").forEach(function (cell) {
      var row = cell.closest("[data-opened]") || cell;
      var opened = cell.dataset.opened || row.dataset.opened;
      if (opened) cell.textContent = elapsed(opened, cell.dataset.lang);
      if (row.dataset && row.dataset.slaDue && row.dataset.open === "true" && Date.now() > Date.parse(row.dataset.slaDue)) {
        row.classList.add("overdue");
      }
    });
  }

  function signInAgain() {
    window.location.assign("/console/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
  }

  function poll(table) {
    var live = document.querySelector(".live");
    var headers = { "X-Console-Poll": "1" };
    fetch(table.dataset.versionUrl, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { signInAgain(); throw new Error("signed out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (body) {
        if (body.version === table.dataset.version) return null;
        return fetch(table.dataset.rowsUrl, { headers: headers, credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            if (r.status === 401) { signInAgain(); throw new Error("signed out"); }
            if (!r.ok) throw new Error("HTTP " + r.status);
            return r.text();
          })
          .then(function (html) {
            var seen = {};
            table.querySelectorAll("tr[data-case-id]").forEach(function (tr) { seen[tr.dataset.caseId] = true; });
            var holder = document.createElement("table");
            holder.innerHTML = html;
            var rows = holder.querySelector("tbody");
            rows.querySelectorAll("tr[data-case-id]").forEach(function (tr) {
              if (!seen[tr.dataset.caseId]) tr.classList.add("fresh");
            });
            table.replaceChild(rows, table.querySelector("tbody"));
            table.dataset.version = rows.dataset.version;
            tick();
          });
      })
      .then(function () { if (live) live.classList.remove("stale"); })
      .catch(function () { if (live) live.classList.add("stale"); })
      .then(function () { setTimeout(function () { poll(table); }, Number(table.dataset.pollS || 10) * 1000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 30000);
    var table = document.getElementById("queue");
    if (table) setTimeout(function () { poll(table); }, Number(table.dataset.pollS || 10) * 1000);
  });
})();
