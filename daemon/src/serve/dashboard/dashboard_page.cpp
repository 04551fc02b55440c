// The dashboard's HTML, CSS and JS. Everything inserted into the page from API data
// goes through textContent or attribute setters, never innerHTML.
#include "serve/dashboard/dashboard_page.h"

namespace hubstatsd::dashboard {

namespace {

constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hubstats</title>
<style>
:root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --accent:#1d4ed8; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:10px 20px; background:#fff; border-bottom:1px solid var(--line); }
header .brand { font-weight:700; font-size:18px; color:var(--fg); text-decoration:none; margin-right:12px; }
header form { display:flex; gap:6px; align-items:center; }
header .spacer { flex:1; }
input, select, button { font:inherit; padding:4px 8px; border:1px solid #d1d5db; border-radius:6px; background:#fff; }
button, .button { cursor:pointer; background:var(--accent); color:#fff; border-color:var(--accent); text-decoration:none; padding:4px 10px; border-radius:6px; display:inline-block; }
main { max-width:1200px; margin:0 auto; padding:16px 20px 40px; }
h1 { font-size:22px; margin:8px 0 12px; }
h2 { font-size:16px; margin:0 0 8px; }
.toolbar { display:flex; gap:16px; align-items:center; margin-bottom:12px; flex-wrap:wrap; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(320px,1fr)); gap:16px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:14px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 6px; border-bottom:1px solid var(--line); }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
a { color:var(--accent); }
.status { color:var(--muted); font-size:12px; margin:6px 0 0; }
.tag { margin-left:6px; font-size:11px; padding:0 5px; border-radius:4px; background:#fef3c7; color:#92400e; }
.totals { display:flex; gap:24px; margin:4px 0 14px; flex-wrap:wrap; }
.totals div { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 16px; }
.totals strong { display:block; font-size:22px; }
#chart { display:block; max-width:100%; height:auto; margin:8px 0 14px; border-radius:6px; }
code { font-size:12px; background:#f3f4f6; padding:2px 4px; border-radius:4px; word-break:break-all; }
.error { color:#b91c1c; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:12px; }
</style>
</head>
<body>
<header>
  <a class="brand" href="#">hubstats</a>
  <form id="open-form" autocomplete="off">
    <select id="open-type" aria-label="repository type">
      <option value="model">model</option><option value="dataset">dataset</option><option value="space">space</option>
    </select>
    <input id="open-id" placeholder="namespace/name" aria-label="repository id" size="28">
    <button type="submit">Open</button>
  </form>
  <span class="spacer"></span>
  <input id="token" type="password" placeholder="API token (optional)" aria-label="API token" size="22">
</header>
<main>
  <section id="trending-view">
    <div class="toolbar">
      <h1>Trending</h1>
      <label>Period
        <select id="days">
          <option value="1">today</option>
          <option value="7" selected>last 7 days</option>
          <option value="30">last 30 days</option>
          <option value="90">last 90 days</option>
        </select>
      </label>
    </div>
    <div class="grid">
      <div class="card"><h2>Models</h2><table><thead><tr><th class="num">#</th><th>repository</th><th class="num">period</th><th class="num">all time</th><th class="num">likes</th></tr></thead><tbody id="trending-model"></tbody></table><p class="status" id="status-model"></p></div>
      <div class="card"><h2>Datasets</h2><table><thead><tr><th class="num">#</th><th>repository</th><th class="num">period</th><th class="num">all time</th><th class="num">likes</th></tr></thead><tbody id="trending-dataset"></tbody></table><p class="status" id="status-dataset"></p></div>
      <div class="card"><h2>Spaces</h2><table><thead><tr><th class="num">#</th><th>repository</th><th class="num">period</th><th class="num">all time</th><th class="num">likes</th></tr></thead><tbody id="trending-space"></tbody></table><p class="status" id="status-space"></p></div>
    </div>
  </section>
  <section id="repo-view" hidden>
    <p><a href="#">&larr; trending</a></p>
    <h1 id="repo-title"></h1>
    <p class="error" id="repo-error" role="alert"></p>
    <div class="totals">
      <div><strong id="repo-downloads">-</strong>downloads, all time</div>
      <div><strong id="repo-likes">-</strong>likes</div>
      <div><strong id="repo-period-total">-</strong><span id="repo-period">in the period</span></div>
    </div>
    <div class="toolbar">
      <label>Days
        <select id="repo-days">
          <option value="7">7</option>
          <option value="30" selected>30</option>
          <option value="90">90</option>
          <option value="365">365</option>
        </select>
      </label>
      <a id="csv" class="button" href="#" download="stats.csv">Download CSV</a>
    </div>
    <div class="card">
      <img id="chart" width="800" height="320" alt="">
      <p>Embed in a README: <code id="embed-chart"></code></p>
      <p>Badge (shields.io): <code id="embed-badge"></code></p>
    </div>
    <div class="grid" style="margin-top:16px">
      <div class="card"><h2>Top files</h2><table><thead><tr><th>path</th><th class="num">files</th></tr></thead><tbody id="files"></tbody></table><p class="status" id="files-status"></p></div>
      <div class="card"><h2>Clients</h2><table><thead><tr><th>client</th><th class="num">downloads</th><th class="num">share</th><th class="num">files</th></tr></thead><tbody id="clients"></tbody></table><p class="status" id="clients-status"></p></div>
    </div>
    <div class="card" style="margin-top:16px">
      <table>
        <thead><tr><th>date</th><th class="num">downloads</th><th class="num">authenticated</th><th class="num">anonymous</th><th class="num">files</th></tr></thead>
        <tbody id="daily"></tbody>
      </table>
    </div>
  </section>
</main>
<footer><a href="openapi.json" id="openapi-link">OpenAPI</a> &middot; <a href="metrics" id="metrics-link">metrics</a></footer>
<script>
"use strict";
(function () {
  const TYPES = ["model", "dataset", "space"];
  // Where the API is: the page's own path without the trailing "dashboard", so the
  // page works at the root, under a proxy prefix, and with or without a final slash.
  const base = location.pathname.replace(/\/dashboard\/?$/, "");
  const $ = (id) => document.getElementById(id);
  $("openapi-link").href = base + "/openapi.json";
  $("metrics-link").href = base + "/metrics";
  const fmt = (n) => Number(n).toLocaleString("en-US");

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function token() { return sessionStorage.getItem("hubstats-token") || ""; }
  function authHeaders() { const t = token(); return t ? { Authorization: "Bearer " + t } : {}; }
  async function api(path) {
    const r = await fetch(base + path, { headers: authHeaders() });
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { const j = await r.json(); if (typeof j.detail === "string") msg = j.detail; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.json();
  }
  function repoPath(type, ns, name) {
    return "/" + type + "s/" + encodeURIComponent(ns) + "/" + encodeURIComponent(name);
  }
  // "#model/ns/name" or "?repo=model/ns/name"; null for the trending view.
  function selectedRepo() {
    let spec = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (!spec) spec = new URLSearchParams(location.search).get("repo") || "";
    const parts = spec.split("/");
    if (parts.length === 3 && TYPES.includes(parts[0]) && parts[1] && parts[2])
      return { type: parts[0], ns: parts[1], name: parts[2] };
    return null;
  }

  async function showTrending() {
    $("trending-view").hidden = false;
    $("repo-view").hidden = true;
    document.title = "hubstats: trending";
    const days = $("days").value;
    await Promise.all(TYPES.map(async (type) => {
      const body = $("trending-" + type);
      const status = $("status-" + type);
      status.textContent = "Loading...";
      try {
        const data = await api("/api/trending?repo_type=" + type + "&days=" + encodeURIComponent(days) + "&limit=20");
        body.replaceChildren();
        data.trending.forEach((e, i) => {
          const tr = el("tr");
          const cell = el("td");
          const a = el("a", e.id);
          a.href = "#" + type + "/" + e.id;
          cell.append(a);
          if (e.private) cell.append(el("span", "private", "tag"));
          tr.append(el("td", i + 1, "num"), cell, el("td", fmt(e.recent_downloads), "num"),
                    el("td", fmt(e.downloads), "num"), el("td", fmt(e.likes), "num"));
          body.append(tr);
        });
        status.textContent = (data.trending.length ? "" : "No downloads in this period. ") +
          data.period.start + " to " + data.period.end;
      } catch (err) {
        body.replaceChildren();
        status.textContent = "Error: " + err.message;
      }
    }));
  }

  function csvText(rows) {
    const lines = ["date,downloads,authenticated,anonymous,files"];
    for (const d of rows) lines.push([d.date, d.downloads, d.authenticated, d.anonymous, d.files].join(","));
    return lines.join("\n") + "\n";
  }

  let chartUrl = null;  // object URL of a chart fetched with a token
  async function showChart(url) {
    if (chartUrl) { URL.revokeObjectURL(chartUrl); chartUrl = null; }
    if (!token()) { $("chart").src = url; return; }
    // <img> cannot send Authorization: fetch the SVG and show it from a blob.
    const r = await fetch(url, { headers: authHeaders() });
    if (!r.ok) throw new Error("chart: " + r.status);
    chartUrl = URL.createObjectURL(await r.blob());
    $("chart").src = chartUrl;
  }

  // Top files and the client split of the period (bots are the client "bot").
  function showBreakdowns(files, clients) {
    const ft = $("files");
    ft.replaceChildren();
    for (const f of files.files) {
      const tr = el("tr");
      tr.append(el("td", f.path), el("td", fmt(f.files), "num"));
      ft.append(tr);
    }
    $("files-status").textContent = files.files.length ? "" : "no files fetched in this period";
    const ct = $("clients");
    ct.replaceChildren();
    const total = clients.clients.reduce((n, c) => n + c.downloads, 0);
    for (const c of clients.clients) {
      const tr = el("tr");
      const share = total ? (100 * c.downloads / total).toFixed(1) + "%" : "-";
      tr.append(el("td", c.client), el("td", fmt(c.downloads), "num"), el("td", share, "num"),
                el("td", fmt(c.files), "num"));
      ct.append(tr);
    }
    $("clients-status").textContent = clients.clients.length ? "" : "no downloads in this period";
  }

  async function showRepo(repo) {
    $("trending-view").hidden = true;
    $("repo-view").hidden = false;
    const id = repo.ns + "/" + repo.name;
    document.title = "hubstats: " + id;
    $("repo-title").textContent = repo.type + " " + id;
    $("repo-error").textContent = "";
    const days = $("repo-days").value;
    const path = repoPath(repo.type, repo.ns, repo.name);
    const tbody = $("daily");
    try {
      const [stats, recent, files, clients] = await Promise.all([
        api(path + "/stats"), api(path + "/stats/recent?days=" + days),
        api(path + "/stats/files?limit=10&days=" + days), api(path + "/stats/clients?days=" + days)]);
      showBreakdowns(files, clients);
      $("repo-downloads").textContent = fmt(stats.downloads);
      $("repo-likes").textContent = fmt(stats.likes);
      let total = 0;
      tbody.replaceChildren();
      for (const d of recent.stats.slice().reverse()) {
        total += d.downloads;
        const tr = el("tr");
        tr.append(el("td", d.date), el("td", fmt(d.downloads), "num"), el("td", fmt(d.authenticated), "num"),
                  el("td", fmt(d.anonymous), "num"), el("td", fmt(d.files), "num"));
        tbody.append(tr);
      }
      $("repo-period-total").textContent = fmt(total);
      $("repo-period").textContent = "downloads, " + recent.period.start + " to " + recent.period.end;
      const csv = $("csv");
      csv.href = "data:text/csv;charset=utf-8," + encodeURIComponent(csvText(recent.stats));
      csv.download = repo.ns + "_" + repo.name + "_" + repo.type + "_" + recent.period.start + "_" + recent.period.end + ".csv";
      const abs = location.origin + base + path;
      $("chart").alt = "Daily downloads of " + id;
      $("embed-chart").textContent = "![downloads](" + abs + "/stats/chart.svg?days=" + days + ")";
      $("embed-badge").textContent = "https://img.shields.io/endpoint?url=" + encodeURIComponent(abs + "/stats/badge");
      await showChart(base + path + "/stats/chart.svg?days=" + days);
    } catch (err) {
      tbody.replaceChildren();
      $("files").replaceChildren();
      $("clients").replaceChildren();
      $("chart").removeAttribute("src");
      $("repo-error").textContent = err.message;
    }
  }

  function route() {
    const repo = selectedRepo();
    return repo ? showRepo(repo) : showTrending();
  }

  $("token").value = token();
  $("token").addEventListener("change", () => {
    sessionStorage.setItem("hubstats-token", $("token").value.trim());
    route();
  });
  $("days").addEventListener("change", route);
  $("repo-days").addEventListener("change", route);
  $("open-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = $("open-id").value.trim().replace(/^\/+|\/+$/g, "");
    if (id.split("/").length === 2) location.hash = $("open-type").value + "/" + id;
  });
  window.addEventListener("hashchange", route);
  route();
})();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view page_html() {
  return kPage;
}

}  // namespace hubstatsd::dashboard
