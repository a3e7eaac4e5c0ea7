/**
 * The page script's timeline and entry table (a part of `client.ts`'s one scope: it uses the shell's helpers `el`,
 * `clear`, `date`, `duration`, `show`): one row per attempt, wait and step, squeezed idle stretches, a legend, and
 * every trace entry as text. Plain JS in a raw string (no backtick, no dollar-brace).
 */

/** The timeline's functions, as script text. */
export const source = String.raw`
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
        "compensation", "note", "enqueue", "queue-result", "race", "takeover", "message", "deadline", "patch"].indexOf(e.kind) >= 0;
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

`
