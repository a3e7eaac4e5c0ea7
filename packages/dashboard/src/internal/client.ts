/**
 * The page's script, as served: vanilla JS, no framework. Execution data (payloads, notes, errors, names) comes from
 * users and is only ever put in the page as text (`textContent`, `title`): never parsed as HTML.
 */

import * as Timeline from "./timeline.js"

// Plain JS in raw strings: it uses no backtick and no dollar-brace, so the strings hold it as written.
const shell = String.raw`"use strict";
(function () {
  var state = { config: null, token: sessionStorage.getItem("weft-dashboard-token") || "", view: null, timer: 0,
    last: "", cursor: [], workflows: {} };
  var $ = function (id) { return document.getElementById(id); };

  // A token may arrive in the fragment (never sent to a server): kept for this tab only, and taken off the address.
  function takeToken() {
    if (location.hash.indexOf("#token=") !== 0) return;
    state.token = decodeURIComponent(location.hash.slice(7));
    sessionStorage.setItem("weft-dashboard-token", state.token);
    state.config = null;
    history.replaceState(null, "", location.pathname + location.search + "#/");
  }
  takeToken();

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var key in attrs) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key === "title") node.title = String(value);
      else if (key.indexOf("on") === 0) node.addEventListener(key.slice(2), value);
      else if (key === "style") for (var p in value) node.style.setProperty(p, value[p]);
      else node.setAttribute(key, String(value));
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function request(method, path, body) {
    var headers = { "accept": "application/json" };
    if (state.token) headers["authorization"] = "Bearer " + state.token;
    if (body !== undefined) { headers["content-type"] = "application/json"; headers["x-weft-dashboard"] = "1"; }
    return fetch(path, { method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.text().then(function (text) {
          var json = null;
          try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
          if (response.ok) return json;
          var error = new Error((json && json.message) || ("HTTP " + response.status));
          error.status = response.status; error.tag = json && json._tag;
          throw error;
        });
      });
  }

  // ---- formatting ----
  function pad(n, w) { var s = String(n); while (s.length < (w || 2)) s = "0" + s; return s; }
  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(),
        3);
  }
  function date(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" +
      pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function duration(ms) {
    if (!(ms >= 0)) return "";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    var s = Math.floor(ms / 1000), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (h < 1) return m + "m " + pad(s % 60) + "s";
    if (d < 1) return h + "h " + pad(m % 60) + "m";
    return d + "d " + (h % 24) + "h";
  }
  function short(ms) {
    if (ms < 1000) return Math.round(ms) + "ms";
    if (ms < 60000) return Math.round(ms / 1000) + "s";
    if (ms < 3600000) return Math.round(ms / 60000) + "m";
    if (ms < 86400000) return Math.round(ms / 3600000) + "h";
    return Math.round(ms / 86400000) + "d";
  }
  function ago(ms, now) { var d = now - ms; return d < 1000 ? "just now" : duration(d) + " ago"; }
  function show(value, max) {
    if (value === undefined) return "";
    var text;
    try {
      text = typeof value === "string" ? value : JSON.stringify(value);
      if (text.length > 90 && typeof value !== "string") text = JSON.stringify(value, null, 2);
    } catch (e) { text = String(value); }
    max = max || 600;
    return text.length > max ? text.slice(0, max) + "…" : text;
  }
  // A typed error as people read it: its tag, then its message or its other fields.
  function errorText(value) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      var tag = typeof value._tag === "string" ? value._tag : "";
      if (typeof value.message === "string" && value.message) return (tag ? tag + ": " : "") + value.message;
      var fields = Object.keys(value).filter(function (k) { return k !== "_tag"; }).map(function (k) {
        return k + "=" + compact(value[k], 60);
      });
      return (tag + " " + fields.join(" ")).trim();
    }
    return compact(value, 300);
  }
  function compact(value, max) {
    var text;
    try { text = JSON.stringify(value); } catch (e) { text = String(value); }
    if (text === undefined) text = String(value);
    return text.length > max ? text.slice(0, max) + "…" : text;
  }

  // ---- shell ----
  function message(text, kind) {
    var box = $("message");
    box.className = "message" + (kind ? " " + kind : "");
    box.textContent = text || "";
    box.hidden = !text;
  }
  function setLive(ok, text) {
    var live = $("live");
    live.className = "live " + (ok ? "ok" : "down");
    live.textContent = text;
  }
  function signIn(reason) {
    stop();
    $("signin").hidden = false;
    $("list-view").hidden = true;
    $("detail-view").hidden = true;
    $("signin-reason").textContent = reason;
    $("token").focus();
  }
  function failed(error) {
    if (error.status === 401) return signIn(state.token ? "That token was refused." : "This dashboard needs a token.");
    if (error.tag === "PolicyRequired") { stop(); setLive(false, "no policy"); return message(error.message, "error"); }
    setLive(false, "offline: " + error.message);
    schedule();
  }
  function stop() { if (state.timer) clearTimeout(state.timer); state.timer = 0; }
  function schedule() {
    stop();
    state.timer = setTimeout(function () { if (document.hidden) return schedule(); route(true); },
      state.config ? state.config.refreshMs : 2000);
  }

  function route(refresh) {
    takeToken();
    if (!refresh) { state.last = ""; message(state.flash ? state.flash[0] : "",
        state.flash && state.flash[1]); state.flash = null; }
    var hash = location.hash || "#/";
    var ready = state.config ? Promise.resolve(state.config) : request("GET", "api/config").then(function (c) {
      state.config = c; fillStatuses();
      (c.workflows || []).forEach(function (w) { state.workflows[w] = true; });
      return c;
    });
    ready.then(function () {
      $("signin").hidden = true;
      var match = /^#\/executions\/(.+)$/.exec(hash);
      if (match) return detail(decodeURIComponent(match[1]));
      return list();
    }).then(function () { setLive(true, "live · " + clock(Date.now())); schedule(); }, failed);
  }

  // ---- list ----
  function fillStatuses() {
    var select = $("f-status");
    if (select.options.length > 1) return;
    state.config.statuses.forEach(function (s) { select.appendChild(el("option", { value: s, text: s })); });
  }
  function filterQuery() {
    var q = new URLSearchParams();
    var workflow = $("f-workflow").value.trim(), status = $("f-status").value;
    var after = $("f-after").value, before = $("f-before").value;
    if (workflow) q.set("workflow", workflow);
    if (status) q.set("status", status);
    if (after) q.set("createdAfter", String(new Date(after).getTime()));
    if (before) q.set("createdBefore", String(new Date(before).getTime()));
    var cursor = state.cursor[state.cursor.length - 1];
    if (cursor) q.set("cursor", cursor);
    q.set("limit", "50");
    return q.toString();
  }
  function list() {
    $("list-view").hidden = false;
    $("detail-view").hidden = true;
    document.title = state.config.title;
    return request("GET", "api/executions?" + filterQuery()).then(function (page) {
      var key = JSON.stringify(page);
      if (key === state.last) return;
      state.last = key;
      var now = Date.now();
      var body = clear($("rows"));
      page.items.forEach(function (x) {
        state.workflows[x.workflow] = true;
        var link = el("a", { href: "#/executions/" + encodeURIComponent(x.executionId), text: x.executionId,
            class: "id" });
        body.appendChild(el("tr", { "data-execution": x.executionId }, [
          el("td", null, [link, x.parent ? el("div", { class: "sub", text: "child of " + x.parent }) : null]),
          el("td", { text: x.workflow }),
          el("td", { class: "version", text: "v" + x.version }),
          el("td", null, [badge(x.status, x.outcome)]),
          el("td", { title: date(x.createdAt), text: ago(x.createdAt, now) }),
          el("td", { title: date(x.updatedAt), text: ago(x.updatedAt, now) })
        ]));
      });
      if (page.items.length === 0) body.appendChild(el("tr", null, [el("td", { colspan: 6, class: "empty",
          text: "No executions match." })]));
      $("older").hidden = !page.nextCursor;
      $("older").dataset.cursor = page.nextCursor || "";
      $("newest").hidden = state.cursor.length === 0;
      var options = clear($("workflows"));
      Object.keys(state.workflows).sort().forEach(function (w) { options.appendChild(el("option", { value: w })); });
    }).then(schedules);
  }
  function schedules() {
    return request("GET", "api/schedules").then(function (answer) {
      var key = JSON.stringify(answer);
      if (key === state.lastSchedules) return;
      state.lastSchedules = key;
      $("schedules-box").hidden = answer.schedules.length === 0;
      var body = clear($("schedules"));
      answer.schedules.forEach(function (s) {
        body.appendChild(el("tr", { "data-schedule": s.id }, [
          el("td", { text: s.id, class: "id" }),
          el("td", { text: s.workflow }),
          el("td", { text: s.timing }),
          el("td", { text: s.paused ? "paused" : "active" }),
          el("td", { text: s.nextFires.map(function (at) { return date(at); }).join(", ") || "—" })
        ]));
      });
    });
  }
  function badge(status, outcome) {
    return el("span", { class: "badge " + status,
        text: status + (status === "failed" && outcome === "defect" ? " (defect)" : "") });
  }

  // ---- detail ----
  function detail(id) {
    $("list-view").hidden = true;
    $("detail-view").hidden = false;
    return request("GET", "api/executions/" + encodeURIComponent(id)).then(function (trace) {
      var key = JSON.stringify(trace.entries) + trace.execution.status + trace.execution.updatedAt;
      if (key === state.last && trace.execution.status !== "running" && trace.execution.status !== "suspended") return;
      state.last = key;
      document.title = trace.execution.workflow + " " + id.slice(0, 8) + " · " + state.config.title;
      renderSummary(trace);
      renderActions(trace.execution, trace.actions);
      renderTimeline(trace);
      renderEntries(trace);
    }, function (error) {
      if (error.status === 404) { clear($("summary")).appendChild(el("p", { class: "empty",
          text: error.message })); return; }
      throw error;
    });
  }

  function renderSummary(trace) {
    var x = trace.execution;
    var end = x.status === "running" || x.status === "suspended" ? trace.now : x.updatedAt;
    var facts = [
      ["Workflow", x.workflow], ["Version", String(x.version)], ["Status", badge(x.status, x.outcome)],
      ["Created", date(x.createdAt)],
      ["Updated", date(x.updatedAt)], ["Duration", duration(end - x.createdAt)]
    ];
    if (x.parent) facts.push(["Parent", el("a", { href: "#/executions/" + encodeURIComponent(x.parent),
        text: x.parent })]);
    if (x.interruptRequested) facts.push(["Interrupt", "requested"]);
    var box = clear($("summary"));
    box.appendChild(el("h2", null, [el("span", { class: "wf", text: x.workflow }), " ", el("code", { class: "id",
        text: x.executionId })]));
    box.appendChild(el("div", { class: "facts" }, facts.map(function (f) {
      return el("div", { class: "fact" }, [el("div", { class: "k", text: f[0] }), el("div", { class: "v" }, [f[1]])]);
    })));
    var values = el("div", { class: "values" }, [
      el("div", null, [el("h3", { text: "Payload" }), el("pre", { class: "json", text: show(x.payload, 4000) })])
    ]);
    if ("value" in x) {
      values.appendChild(el("div", null, [
        el("h3", { text: { success: "Result", failure: "Error", defect: "Defect" }[x.outcome] || "End" }),
        el("pre", { class: "json " + (x.outcome === "success" ? "" : "bad"), text: show(x.value, 4000) })
      ]));
    }
    box.appendChild(values);
  }

  function renderActions(execution, available) {
    var box = clear($("actions"));
    state.config.actions.forEach(function (action) {
      if (available.indexOf(action.name) < 0) return;
      box.appendChild(el("button", { type: "button", class: "action", "data-action": action.name,
          title: action.description,
        text: action.label, onclick: function () { run(action, execution); } }));
    });
  }
  function run(action, execution) {
    if (!confirm(action.description)) return;
    var body = { workflow: execution.workflow };
    for (var i = 0; i < action.fields.length; i++) {
      var field = action.fields[i];
      var value = prompt(field.label);
      if (value === null) return;
      if (value.trim() !== "" || field.required) body[field.name] = value.trim();
    }
    message(action.label + "…");
    request("POST", "api/executions/" + encodeURIComponent(execution.executionId) + "/" + action.name, body)
      .then(function (done) {
        var opened = done.result && typeof done.result.executionId === "string" &&
          done.result.executionId !== execution.executionId
          ? done.result.executionId : null;
        message(action.label.replace("…", "") + ": done (" + done.previousStatus + " → " + done.status + ")" +
          (opened ? "; new execution " + opened : ""), "ok");
        state.last = "";
        if (opened) {
          state.flash = [$("message").textContent, "ok"];
          location.hash = "#/executions/" + encodeURIComponent(opened);
        } else route(true);
      }, function (error) {
        if (error.status === 401) return signIn("That token was refused.");
        message(action.label + " refused: " + error.message, "error");
      });
  }

`

const wiring = String.raw`  // ---- wiring ----
  $("filters").addEventListener("change", function () { state.cursor = []; state.last = ""; route(); });
  $("filters").addEventListener("submit", function (e) { e.preventDefault(); state.cursor = []; route(); });
  $("older").addEventListener("click", function () { state.cursor.push($("older").dataset.cursor); route(); });
  $("newest").addEventListener("click", function () { state.cursor = []; route(); });
  $("signin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("weft-dashboard-token", state.token);
    $("token").value = "";
    state.config = null;
    route();
  });
  window.addEventListener("hashchange", function () { route(); });
  document.addEventListener("visibilitychange",
      function () { if (!document.hidden && $("signin").hidden) route(true); });
  route();
})();
`

/** The script: the shell (state, requests, the list and detail views), the timeline, then the wiring, in one scope. */
export const source = shell + Timeline.source + wiring
