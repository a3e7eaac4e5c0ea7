/**
 * The page's style sheet, as served: a light, dense layout; the timeline's colours say how a step ended (green
 * success, red failure, dark red defect, grey interrupted) and hatching says a wait.
 */

export const source = String.raw`
:root {
  --bg: #f6f7f9; --card: #fff; --ink: #1c2430; --muted: #667085; --line: #e3e6ea;
  --ok: #2f9e5b; --fail: #d64545; --defect: #8e1b1b; --int: #8a8f98; --run: #2f6fde; --susp: #c58a1a;
  --backoff: #e3a43a; --sleep: #5b8def; --deferred: #9a6fd6; --child: #2a9d9a; --comp: #c07a2c; --note: #4b5563;
  --recovery: #f06a1f;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--run); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.top { display: flex; align-items: center; justify-content: space-between; padding: 10px 20px;
  background: #16202e; color: #fff; }
.brand { color: #fff; font-weight: 600; font-size: 16px; }
.logo { color: #7fb0ff; }
.live { font-size: 12px; color: #c9d3e0; }
.live::before { content: "●"; margin-right: 6px; }
.live.ok::before { color: #46d17f; }
.live.down::before { color: #ff6b6b; }
main { padding: 16px 20px 40px; max-width: 1400px; margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.signin { max-width: 420px; margin: 60px auto; }
.signin input { margin: 0 8px; padding: 5px 8px; }
.message { margin-bottom: 12px; padding: 8px 12px; border-radius: 6px; background: #eef3ff; border: 1px solid #cbd9ff; }
.message.ok { background: #ecf8f0; border-color: #bfe6cc; }
.message.error { background: #fdeeee; border-color: #f3c1c1; color: #8b1d1d; }
.filters { display: flex; flex-wrap: wrap; gap: 14px; align-items: end; margin-bottom: 12px; }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
.filters input, .filters select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px;
  background: #fff; min-width: 170px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
th { text-align: left; font-weight: 600; font-size: 12px; color: var(--muted); background: #fafbfc; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tbody tr:hover { background: #f8fafc; }
td.empty, p.empty { color: var(--muted); text-align: center; padding: 24px; }
.sub { color: var(--muted); font-size: 12px; }
.pager { display: flex; gap: 8px; justify-content: flex-end; margin-top: 10px; }
button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 1px solid #c9ced6; background: #fff;
  cursor: pointer; }
button:hover { background: #f1f4f8; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.running { background: var(--run); } .badge.suspended { background: var(--susp); }
.badge.succeeded { background: var(--ok); } .badge.failed { background: var(--fail); }
.badge.interrupted { background: var(--int); }
.back { display: inline-block; margin-bottom: 10px; }
#summary h2 { margin: 0 0 8px; font-size: 18px; }
#summary h2 .id { font-weight: 400; color: var(--muted); }
.facts { display: flex; flex-wrap: wrap; gap: 6px 32px; margin: 0 0 12px; }
.facts .k { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.facts .v { margin-top: 1px; }
.values { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.values h3 { margin: 4px 0; font-size: 12px; color: var(--muted); }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
pre.json { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-height: 220px;
  overflow: auto; }
pre.json.bad { background: #fdf2f2; border-color: #f3c9c9; }
.actions { display: flex; gap: 8px; margin: 12px 0; }
.actions button { border-color: #d9b3b3; color: #8b1d1d; }
h3.section { margin: 18px 0 8px; font-size: 13px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }

/* The timeline */
.timeline { padding: 10px 0 12px; overflow-x: auto; }
.gantt { min-width: 760px; }
.gantt .row { display: grid; grid-template-columns: 280px 1fr; align-items: center; min-height: 28px; }
.gantt .row:nth-child(even):not(.axis) { background: #fafbfc; }
.gantt .row.failed-row { background: #fff6f6; }
.gantt .label { padding: 0 12px 0 16px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  font-size: 13px; }
.gantt .label .kind { display: inline-block; min-width: 84px; font-size: 11px; color: var(--muted);
  text-transform: uppercase;
  letter-spacing: .03em; }
.gantt .label .name { font-weight: 600; }
.gantt .label .tag { color: var(--muted); font-size: 12px; }
.gantt .label .kind.k-wait { color: #9a7b34; }
.gantt .track { position: relative; height: 28px; margin-right: 24px; border-left: 1px solid var(--line);
  border-right: 1px solid var(--line); }
.gantt .axis { border-bottom: 1px solid var(--line); min-height: 30px; }
.gantt .axis .label { font-size: 11px; color: var(--muted); }
.gantt .axis .track { height: 30px; }
.tick { position: absolute; top: 0; bottom: 0; border-left: 1px solid #d5dae1; }
.tick span { position: absolute; top: 8px; left: 4px; font-size: 11px; color: var(--muted); white-space: nowrap; }
.tick.end span { left: auto; right: 4px; }
.gap { position: absolute; top: 0; bottom: 0;
  background: repeating-linear-gradient(135deg, transparent 0 4px, rgba(120,130,145,.13) 4px 6px); }
.gap-label { position: absolute; top: 8px; font-size: 10.5px; color: var(--muted); text-align: center;
  white-space: nowrap;
  overflow: visible; }
.bar { position: absolute; top: 7px; height: 14px; min-width: 3px; border-radius: 3px; background: var(--ok); }
.bar.success { background: var(--ok); }
.bar.failure { background: var(--fail); }
.bar.defect { background: var(--defect); }
.bar.interrupted { background: var(--int); }
.bar.wait { border: 1px solid; background-color: transparent; }
.bar.backoff { border-color: var(--backoff);
  background-image: repeating-linear-gradient(135deg, rgba(227,164,58,.45) 0 3px, transparent 3px 7px); }
.bar.sleep { border-color: var(--sleep);
  background-image: repeating-linear-gradient(135deg, rgba(91,141,239,.40) 0 3px, transparent 3px 7px); }
.bar.deferred { border-color: var(--deferred);
  background-image: repeating-linear-gradient(135deg, rgba(154,111,214,.40) 0 3px, transparent 3px 7px); }
.bar.deferred.failure, .bar.deferred.timed-out { border-color: var(--fail); }
.bar.again { box-shadow: 0 0 0 2px #fff, 0 0 0 4px var(--recovery); }
.gantt .label .kind.k-recovery { color: var(--recovery); font-weight: 600; }
.bar.pending { border-color: var(--susp); border-style: dashed;
  background-image: repeating-linear-gradient(135deg, rgba(197,138,26,.25) 0 3px, transparent 3px 7px); }
.bar.child { background: var(--child); }
.bar.child.failure, .bar.child.defect { background: var(--fail); }
.bar.compensation { background: var(--comp); }
.bar.life { top: 10px; height: 8px; opacity: .35; }
.bar.life.running { background: var(--run); } .bar.life.suspended { background: var(--susp); }
.bar.life.succeeded { background: var(--ok); } .bar.life.failed { background: var(--fail); }
.bar.life.interrupted { background: var(--int); }
.dot { position: absolute; top: 8px; width: 12px; height: 12px; margin-left: -6px; transform: rotate(45deg);
  background: var(--note); border-radius: 2px; }
.dot.note { background: #fff; border: 2px solid var(--note); }
.dot.failure, .dot.defect, .dot.timed-out { background: var(--fail); }
.dot.success { background: var(--ok); }
.dot.recovery { background: var(--recovery); }
.event { position: absolute; top: 7px; width: 4px; height: 14px; margin-left: -2px; border-radius: 2px;
  background: #7b8494; }
.event.failure { background: var(--fail); width: 6px; margin-left: -3px; }
.event.success { background: var(--ok); width: 6px; margin-left: -3px; }
.event.interrupted { background: var(--int); width: 6px; margin-left: -3px; }
.event.recovery { background: var(--recovery); width: 8px; margin-left: -4px; }
.mark.recovery { position: absolute; top: -1px; bottom: -1px; border-left: 2px dashed var(--recovery);
  pointer-events: none; }
.caption { position: absolute; top: 6px; padding: 0 6px; font-size: 11.5px; color: #3b4452; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.caption.before { text-align: right; }
.caption.after-dot { margin-left: 8px; }
.row.failed-row .caption { color: #9b1c1c; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; padding: 10px 16px 0; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 18px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px;
  background: var(--ok); }
.swatch.failure { background: var(--fail); } .swatch.defect { background: var(--defect); }
.swatch.wait { border: 1px solid; background-color: transparent; }
.swatch.backoff { border-color: var(--backoff);
  background-image: repeating-linear-gradient(135deg, rgba(227,164,58,.5) 0 3px, transparent 3px 6px); }
.swatch.sleep { border-color: var(--sleep);
  background-image: repeating-linear-gradient(135deg, rgba(91,141,239,.45) 0 3px, transparent 3px 6px); }
.swatch.deferred { border-color: var(--deferred);
  background-image: repeating-linear-gradient(135deg, rgba(154,111,214,.45) 0 3px, transparent 3px 6px); }
.swatch.note { width: 10px; transform: rotate(45deg); background: #fff; border: 2px solid var(--note); }
.swatch.recovery { background: var(--recovery); }
table.entries td { font-size: 12.5px; }
table.entries td.t { color: var(--muted); white-space: nowrap; font-family: ui-monospace, monospace; }
table.entries td.failure, table.entries td.defect { color: var(--fail); font-weight: 600; }
table.entries td.success { color: var(--ok); }
table.entries pre { max-height: 120px; overflow: auto; font-size: 12px; }
`
