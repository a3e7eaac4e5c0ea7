/**
 * The page, its script and its style, as answers. The page holds no execution data (the script fetches it), and
 * its Content-Security-Policy allows only this origin's script and style: no inline script runs.
 */
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Client from "./client.js"
import * as Style from "./style.js"

const common = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
} as const

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The HTML page, titled `title` (escaped). */
export const page = (title: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(html(escape(title)), {
    contentType: "text/html; charset=utf-8",
    headers: { ...common, "content-security-policy": csp }
  })

/** The script. */
export const script: HttpServerResponse.HttpServerResponse = HttpServerResponse.text(Client.source, {
  contentType: "text/javascript; charset=utf-8",
  headers: common
})

/** The style sheet. */
export const style: HttpServerResponse.HttpServerResponse = HttpServerResponse.text(Style.source, {
  contentType: "text/css; charset=utf-8",
  headers: common
})

/** Text for HTML: `& < > " '` as entities. */
export const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

// Relative URLs throughout, so the page works under any mount path (which ends with "/").
const html = (title: string) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="./app.css">
</head>
<body>
<header class="top">
  <a class="brand" href="#/"><span class="logo">≋</span> ${title}</a>
  <span id="live" class="live">connecting…</span>
</header>
<main>
  <div id="message" class="message" role="status" hidden></div>
  <section id="signin" class="card signin" hidden>
    <h2>Sign in</h2>
    <p id="signin-reason"></p>
    <form id="signin-form">
      <label>Token <input id="token" type="password" autocomplete="current-password" required></label>
      <button type="submit">Open</button>
    </form>
  </section>
  <section id="list-view" hidden>
    <form id="filters" class="filters">
      <label>Workflow <input id="f-workflow" list="workflows" placeholder="any" autocomplete="off"></label>
      <datalist id="workflows"></datalist>
      <label>Status <select id="f-status"><option value="">any</option></select></label>
      <label>Created after <input id="f-after" type="datetime-local" step="1"></label>
      <label>Created before <input id="f-before" type="datetime-local" step="1"></label>
    </form>
    <table class="executions">
      <thead><tr><th>Execution</th><th>Workflow</th><th>Version</th><th>Status</th><th>Created</th><th>Updated</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
    <div class="pager"><button id="newest" type="button" hidden>← Newest</button>
    <button id="older" type="button" hidden>Older →</button></div>
    <div id="schedules-box" hidden>
      <h3 class="section">Schedules</h3>
      <table class="executions">
        <thead><tr><th>Schedule</th><th>Workflow</th><th>Timing</th><th>State</th><th>Next fires</th></tr></thead>
        <tbody id="schedules"></tbody>
      </table>
    </div>
  </section>
  <section id="detail-view" hidden>
    <a class="back" href="#/">← Executions</a>
    <div id="summary" class="card"></div>
    <div id="actions" class="actions"></div>
    <h3 class="section">Timeline</h3>
    <div id="timeline" class="card timeline"></div>
    <h3 class="section">Entries</h3>
    <table class="entries">
      <thead><tr><th>At</th><th>Kind</th><th>Name</th><th>Outcome</th><th>Detail</th></tr></thead>
      <tbody id="entries"></tbody>
    </table>
  </section>
</main>
<script src="./app.js" defer></script>
</body>
</html>
`
