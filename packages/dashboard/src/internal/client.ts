/**
 * The page's script, as served: vanilla JS, no framework. Execution data (payloads, notes, errors, names) comes from
 * users and is only ever put in the page as text (`textContent`, `title`): never parsed as HTML.
 */

// Plain JS in a raw string: it uses no backtick and no dollar-brace, so the string holds it as written.
export const source = String.raw`"use strict";
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
          el("td", null, [badge(x.status, x.outcome)]),
          el("td", { title: date(x.createdAt), text: ago(x.createdAt, now) }),
          el("td", { title: date(x.updatedAt), text: ago(x.updatedAt, now) })
        ]));
      });
      if (page.items.length === 0) body.appendChild(el("tr", null, [el("td", { colspan: 5, class: "empty",
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
      ["Workflow", x.workflow], ["Status", badge(x.status, x.outcome)], ["Created", date(x.createdAt)],
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

  // The bars: one row per attempt, wait and step; points for notes and events.
  function rowsOf(trace) {
    var x = trace.execution;
    var live = x.status === "running" || x.status === "suspended";
    var end = live ? Math.max(trace.now, x.updatedAt) : x.updatedAt;
    var rows = [], events = [], marks = [];
    var lastEnd = x.createdAt;
    var waitFrom = function (at) { return Math.min(at, Math.max(x.createdAt, lastEnd)); };
    trace.entries.forEach(function (e) {
      var stepEnd = e.endedAt !== undefined ? e.endedAt : e.at;
      switch (e.kind) {
        case "event":
          var recovery = /take|recover|lease|reclaim/i.test(e.event);
          events.push({ at: e.at, label: e.event + (e.detail ? ": " + e.detail : ""),
            cls: recovery ? "recovery" : /fail/.test(e.event) ? "failure" : /interrupt/.test(e.event) ? "interrupted"
              : e.event === "completed" ? "success" : "event" });
          if (recovery) marks.push({ at: e.at, label: e.event + (e.detail ? ": " + e.detail : "") });
          return;
        case "activity":
          var again = e.ranAgain ? "ran again: " + e.ranAgain.to + " took over from " + e.ranAgain.from : null;
          rows.push({ kind: "activity", label: again ? "ran again" : "activity", name: e.name, tag: "#" + e.attempt,
              from: e.at, to: e.endedAt,
            cls: e.outcome + (again ? " again" : ""), text: duration(e.durationMs) + (again ? " · " + again : ""),
            tip: e.name + " attempt " + e.attempt + ": " + e.outcome + " in " + duration(e.durationMs) +
              (e.outcome === "success" ? "" : "\n" + errorText(e.value)) + (again ? "\n" + again : ""),
            detail: e.outcome === "success" || e.value === undefined ? null : errorText(e.value) });
          break;
        case "retry-wait":
          rows.push({ kind: "wait", label: "backoff", name: e.activity, tag: "→ #" + e.attempt, from: e.at,
              to: e.until, cls: "wait backoff",
            text: duration(e.until - e.at),
                tip: "Backoff before " + e.activity + " attempt " + e.attempt + ": " + duration(e.until - e.at) });
          break;
        case "sleep":
          // With "until", the sleep was set at "at"; an older row only knows when it was due ("at").
          var s = e.until !== undefined ? e.at : waitFrom(e.at), due = e.until !== undefined ? e.until : e.at;
          rows.push({ kind: "wait", label: "sleep", name: e.name, from: s, to: due, cls: "wait sleep",
            text: duration(due - s) + " · until " + clock(due) + (due > trace.now ? " (pending)" : ""),
            tip: "Durable sleep " + e.name + " until " + date(due) + (due > trace.now ? " (pending)" : "") });
          stepEnd = due;
          break;
        case "deferred-timeout":
          if (e.until === undefined) {
            rows.push({ kind: "point", label: "timeout", name: e.deferred, from: e.at, to: e.at, point: true,
                cls: "point",
              text: "times out " + clock(e.at), tip: "Deferred " + e.deferred + " times out " + date(e.at) });
          } else {
            rows.push({ kind: "wait", label: "await", name: e.deferred, tag: "(timeout)", from: e.at, to: e.until,
                cls: "wait deferred",
              text: "times out " + clock(e.until),
                  tip: "Deferred " + e.deferred + " awaited from " + date(e.at) + ", times out " + date(e.until) });
          }
          stepEnd = e.at;
          break;
        case "takeover":
          var inFlight = e.inFlight === undefined || e.inFlight === null ? "unknown"
            : e.inFlight.length === 0 ? "nothing"
            : e.inFlight.map(function (f) { return f.name + " #" + f.attempt; }).join(", ");
          var taken = "taken over by " + e.to + " from " + e.from;
          rows.push({ kind: "recovery", label: "recovery", name: String(e.to), tag: "← " + e.from, from: e.at,
              to: e.at, point: true,
            cls: "recovery", text: taken + " · in flight: " + inFlight,
            tip: taken + "\nlease ended " + date(e.leaseEndedAt) + "\nin flight: " + inFlight });
          marks.push({ at: e.at, label: taken });
          break;
        case "deferred":
          var d = waitFrom(e.at);
          rows.push({ kind: "wait", label: "await", name: e.name, from: d, to: e.at,
              cls: "wait deferred" + (e.outcome === "success" ? "" : " " + e.outcome),
            text: e.outcome,
                tip: "Deferred " + e.name + ": " + e.outcome + (e.value === undefined ? "" : "\n" + show(e.value, 300)),
            detail: e.outcome === "success" || e.value === undefined ? null : errorText(e.value) });
          break;
        case "child":
          rows.push({ kind: "step", label: "child", name: e.workflow, from: e.at, to: e.endedAt,
              cls: "child " + e.outcome,
            text: e.childId.slice(0, 8), tip: "Child " + e.workflow + " " + e.childId,
                href: "#/executions/" + encodeURIComponent(e.childId) });
          break;
        case "compensation":
          rows.push({ kind: "step", label: "undo", name: "compensation", tag: "#" + e.index, from: e.at,
              to: e.endedAt, cls: "compensation " + e.outcome,
            text: duration(e.durationMs), tip: "Compensation " + e.index + ": " + e.outcome });
          break;
        case "enqueue":
          rows.push({ kind: "step", label: "enqueue", name: e.queue + "/" + e.key, from: e.at, to: e.endedAt,
              cls: "child " + e.outcome,
            text: duration(e.durationMs), tip: "Handed to queue " + e.queue + " as " + e.key });
          break;
        case "message":
          rows.push({ kind: "point", label: "message", name: e.channel + " #" + e.index, from: e.at, to: e.at,
              point: true, cls: "point " + e.outcome, text: e.outcome === "success" ? "sent" : e.outcome,
            tip: "Channel " + e.channel + ", message " + e.index + ": " +
              (e.outcome === "success" ? show(e.value, 400) : e.outcome) });
          break;
        case "note":
          rows.push({ kind: "note", label: "note", name: e.message, from: e.at, to: e.at, cls: "note", point: true,
            text: e.message, tip: e.message + (e.data === undefined ? "" : "\n" + show(e.data, 400)) });
          break;
        default:
          var name = e.name || e.childId || e.deferred || e.queue || "";
          var outcome = e.outcome || "";
          rows.push({ kind: "point", label: e.kind, name: String(name), from: e.at, to: e.until || e.at,
              point: !e.until,
            cls: "point " + (/take|recover|lease/i.test(e.kind) ? "recovery" : outcome), text: String(outcome),
            tip: e.kind + " " + show(e, 400) });
          if (/take|recover|lease/i.test(e.kind)) marks.push({ at: e.at, label: e.kind + " " + name });
      }
      if (e.kind !== "event") lastEnd = Math.max(lastEnd, stepEnd);
    });
    // Suspended with nothing pending on the timeline (a deferred not yet completed shows no entry): say so.
    var pending = rows.some(function (r) { return r.kind === "wait" && r.to >= trace.now; });
    if (x.status === "suspended" && !pending) {
      var from = Math.min(end, Math.max(x.createdAt, lastEnd));
      rows.push({ kind: "wait", label: "waiting", name: "suspended", from: from, to: end,
        cls: "wait pending", text: duration(end - from) + " so far",
            tip: "Suspended: waiting for a deferred, a signal or an operator" });
    }
    return { rows: rows, events: events, marks: marks, start: x.createdAt, end: end, live: live };
  }

  // A time scale whose long idle stretches (nothing running, only waiting) are squeezed to a narrow break.
  function scaleOf(start, end, rows, events) {
    var total = Math.max(1, end - start);
    var busy = [];
    rows.forEach(function (r) { if (r.kind !== "wait") busy.push([r.from, Math.max(r.from, r.to)]); });
    events.forEach(function (e) { busy.push([e.at, e.at]); });
    busy.sort(function (a, b) { return a[0] - b[0]; });
    var threshold = Math.max(total * 0.12, 500);
    var gaps = [], cursor = start;
    busy.forEach(function (b) {
      if (b[0] - cursor > threshold) gaps.push([cursor, b[0]]);
      cursor = Math.max(cursor, b[1]);
    });
    if (end - cursor > threshold) gaps.push([cursor, end]);
    var gapShare = 0.05, squeezed = 0;
    gaps.forEach(function (g) { squeezed += g[1] - g[0]; });
    var linear = Math.max(1, total - squeezed), linearShare = 1 - gapShare * gaps.length;
    var segments = [], t = start, x0 = 0;
    gaps.forEach(function (g) {
      if (g[0] > t) { var w = (g[0] - t) / linear * linearShare; segments.push({ from: t, to: g[0], x: x0,
          w: w }); x0 += w; }
      segments.push({ from: g[0], to: g[1], x: x0, w: gapShare, gap: true }); x0 += gapShare; t = g[1];
    });
    if (end > t || segments.length === 0) segments.push({ from: t, to: Math.max(end, t + 1), x: x0, w: Math.max(0,
        1 - x0) });
    var pos = function (time) {
      if (time <= start) return 0;
      for (var i = 0; i < segments.length; i++) {
        var s = segments[i];
        if (time <= s.to) return 100 * (s.x + s.w * (time - s.from) / Math.max(1, s.to - s.from));
      }
      return 100;
    };
    return { pos: pos, segments: segments, start: start };
  }

  function renderTimeline(trace) {
    var model = rowsOf(trace);
    var scale = scaleOf(model.start, model.end, model.rows, model.events);
    var box = clear($("timeline"));
    var track = function (children) { return el("div", { class: "track" }, children); };
    var at = function (t) { return scale.pos(t).toFixed(3) + "%"; };
    // The axis: ticks inside each linear stretch, a break label on each squeezed one.
    var ticks = [];
    scale.segments.forEach(function (s) {
      if (s.gap) {
        ticks.push(el("div", { class: "gap-label", style: { left: (100 * s.x).toFixed(3) + "%",
            width: (100 * s.w).toFixed(3) + "%" },
          title: "idle " + duration(s.to - s.from) + " (squeezed)", text: "⋯" + short(s.to - s.from) + "⋯" }));
        return;
      }
      var n = Math.max(1, Math.round(s.w * 6));
      var afterGap = scale.segments.indexOf(s) > 0;
      for (var i = afterGap ? 1 : 0; i <= n; i++) {
        if (i === n && s !== scale.segments[scale.segments.length - 1]) break;
        var t = s.from + (s.to - s.from) * i / n;
        ticks.push(el("div", { class: "tick" + (scale.pos(t) > 97 ? " end" : ""), style: { left: at(t) },
            title: date(t) },
          [el("span", { text: "+" + duration(t - model.start) })]));
      }
    });
    var gapBands = scale.segments.filter(function (s) { return s.gap; }).map(function (s) {
      return el("div", { class: "gap", style: { left: (100 * s.x).toFixed(3) + "%",
          width: (100 * s.w).toFixed(3) + "%" } });
    });
    var marks = model.marks.map(function (m) {
      return el("div", { class: "mark recovery", style: { left: at(m.at) }, title: m.label });
    });
    var grid = el("div", { class: "gantt" });
    grid.appendChild(el("div", { class: "row axis" }, [el("div", { class: "label",
        text: "started " + date(model.start) }),
      track(ticks)]));
    // The execution's own lane: its life, with its events as markers.
    var x = trace.execution;
    var lifeCls = "life " + x.status;
    var eventMarks = model.events.map(function (e) {
      return el("div", { class: "event " + e.cls, style: { left: at(e.at) }, title: clock(e.at) + "  " + e.label });
    });
    grid.appendChild(el("div", { class: "row lane" }, [
      el("div", { class: "label" }, [el("span", { class: "kind", text: "execution" }), el("span", { class: "name",
          text: x.status })]),
      track(gapBands.concat([el("div", { class: "bar " + lifeCls, style: { left: at(model.start),
          width: "calc(" + at(model.end) + " - " + at(model.start) + ")" },
        title: x.workflow + ": " + x.status + " (" + duration(model.end - model.start) + ")" })])
        .concat(eventMarks).concat(marks))
    ]));
    model.rows.forEach(function (r, index) {
      var left = scale.pos(r.from), right = scale.pos(Math.max(r.from, r.to));
      var shape = r.point
        ? el("div", { class: "dot " + r.cls, style: { left: left.toFixed(3) + "%" },
            title: clock(r.from) + "  " + r.tip })
        : el("div", { class: "bar " + r.cls, style: { left: left.toFixed(3) + "%", width: Math.max(0,
            right - left).toFixed(3) + "%" },
            title: clock(r.from) + " → " + clock(r.to) + "  " + r.tip });
      var caption = el("div", { class: "caption" + (right > 72 ? " before" : "") + (r.point ? " after-dot" : ""),
          style: right > 72 ? { right: (100 - left).toFixed(3) + "%", "max-width": left.toFixed(3) + "%" }
          : { left: right.toFixed(3) + "%", "max-width": "calc(" + (100 - right).toFixed(3) + "% + 20px)" },
        text: r.text + (r.detail ? " · " + r.detail : "") });
      var label = el("div", { class: "label", title: r.label + " " + r.name + (r.tag ? " " + r.tag : "") }, [
        el("span", { class: "kind k-" + r.kind, text: r.label }),
        r.href ? el("a", { class: "name", href: r.href, text: r.name }) : el("span", { class: "name", text: r.name }),
        r.tag ? el("span", { class: "tag", text: " " + r.tag }) : null
      ]);
      grid.appendChild(el("div",
          { class: "row " + (r.cls.indexOf("failure") >= 0 || r.cls.indexOf("defect") >= 0 ? "failed-row" : ""),
        "data-kind": r.kind, "data-index": index }, [label,
            track(gapBands.map(function (g) { return g.cloneNode(); }).concat([shape,
                caption]).concat(marks.map(function (m) { return m.cloneNode(); })))]));
    });
    box.appendChild(grid);
    if (trace.truncated) box.appendChild(el("p", { class: "sub", text: "Only the first entries are shown." }));
    box.appendChild(legend());
  }
  function legend() {
    var items = [["success", "attempt succeeded"], ["failure", "failed (typed error)"], ["defect", "defect"],
      ["wait backoff", "backoff"], ["wait sleep", "sleep"], ["wait deferred", "deferred wait"], ["note", "note"],
          ["recovery", "recovery / takeover"]];
    return el("div", { class: "legend" }, items.map(function (i) {
      return el("span", null, [el("i", { class: "swatch " + i[0] }), i[1]]);
    }));
  }

  function renderEntries(trace) {
    var body = clear($("entries"));
    var start = trace.execution.createdAt;
    trace.entries.forEach(function (e) {
      var name = e.kind === "event" ? e.event : e.kind === "takeover" ? e.to
        : e.kind === "message" ? e.channel + " #" + e.index
        : e.name || e.message || e.activity || e.workflow || e.deferred || e.queue || "";
      var outcome = e.outcome || "";
      var info = e.kind === "event" ? (e.detail || "") : e.kind === "note" ? show(e.data, 600)
        : e.value !== undefined ? show(e.value, 600) : e.kind === "retry-wait" ? "until +" + duration(e.until - start)
        : e.kind === "activity" ? "attempt " + e.attempt + ", " + duration(e.durationMs) +
          (e.ranAgain ? "; ran again: " + e.ranAgain.to + " took over from " + e.ranAgain.from : "")
        : e.kind === "takeover"
        ? "taken over by " + e.to + " from " + e.from + "; lease ended +" + duration(e.leaseEndedAt - start)
        : e.until !== undefined ? "until +" + duration(e.until - start) : "";
      var known = ["event", "activity", "retry-wait", "sleep", "deferred", "deferred-timeout", "child", "child-result",
        "compensation", "note", "enqueue", "queue-result", "race", "takeover", "message"].indexOf(e.kind) >= 0;
      if (!known) info = show(e, 600);
      body.appendChild(el("tr", { class: "k-" + e.kind + " " + outcome }, [
        el("td", { class: "t", title: date(e.at), text: "+" + duration(e.at - start) }),
        el("td", { text: e.kind }),
        el("td", { text: String(name) }),
        el("td", { class: outcome, text: outcome }),
        el("td", null, [el("pre", { text: info })])
      ]));
    });
  }

  // ---- wiring ----
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
