/**
 * What the commands print: executions as a table, one execution's journal and events as a timeline relative to its
 * start, and the JSON documents of `--json` (times as ISO 8601 strings, durations in milliseconds).
 */
import { WorkflowStore, WorkflowTrace } from "@weft/workflow"

/** How a stored Exit ended (`WorkflowTrace.outcomeOf`). */
export type Outcome = WorkflowTrace.Ended

/** Reads a stored Exit; anything else (an execution that has not ended) is undefined. */
export const outcomeOf = WorkflowTrace.outcomeOf

/** Epoch milliseconds as ISO 8601 (JSON output). */
export const iso = (ms: number): string => new Date(ms).toISOString()

/** Epoch milliseconds as a UTC date and time for people. */
export const dateTime = (ms: number): string => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z")

/** A duration in milliseconds for people: `12ms`, `1.25s`, `3m 04s`, `2h 05m`, `3d 04h`. */
export const duration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1_000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)}s`
  const s = Math.floor(ms / 1_000)
  if (s < 3_600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`
  if (s < 86_400) return `${Math.floor(s / 3_600)}h ${pad(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor(s / 3_600) % 24)}h`
}

/** A value as one line of JSON, cut to `max` characters. */
export const compact = (value: unknown, max = 80): string => {
  const text = value === undefined ? "undefined" : JSON.stringify(value) ?? String(value)
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Rows as a table with a header and columns padded to their widest cell. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// JSON documents
// ---------------------------------------------------------------------------------------------------------------

/** An execution record as JSON. */
export const recordJson = (record: WorkflowStore.ExecutionRecord) => ({
  executionId: record.executionId,
  workflow: record.workflow,
  version: WorkflowStore.versionOf(record),
  idempotencyKey: record.idempotencyKey ?? null,
  status: record.status,
  createdAt: iso(record.createdAt),
  updatedAt: iso(record.updatedAt),
  parent: record.parent ?? null,
  wakeAt: record.wakeAt === undefined ? null : iso(record.wakeAt),
  interruptRequested: record.interruptRequested,
  payload: record.payload,
  result: record.result ?? null
})

/** One page of `list` as JSON. */
export const pageJson = (page: WorkflowStore.Page) => ({
  items: page.items.map(recordJson),
  nextCursor: page.nextCursor ?? null
})

/** An execution's detail as JSON: its record, activity attempts, deferreds, timers and events. */
export const detailJson = (detail: WorkflowStore.ExecutionDetail) => ({
  execution: recordJson(detail.execution),
  attempts: detail.attempts.map((a) => ({
    name: a.name,
    attempt: a.attempt,
    startedAt: iso(a.startedAt),
    completedAt: iso(a.completedAt),
    durationMs: a.completedAt - a.startedAt,
    // An operator's retry marker (`weft retry`): not a run, the attempt after a failed one.
    outcome: WorkflowStore.isRetriedMarker(a.exit) ? "retried" : outcomeOf(a.exit)?.outcome ?? null,
    exit: a.exit
  })),
  deferreds: detail.deferreds.map((d) => ({
    name: d.name,
    completedAt: iso(d.completedAt),
    outcome: outcomeOf(d.exit)?.outcome ?? null,
    exit: d.exit
  })),
  timers: detail.clocks.map((c) => ({
    name: c.name,
    setAt: c.setAt === undefined ? null : iso(c.setAt),
    wakeAt: iso(c.wakeAt)
  })),
  events: detail.events.map((e) => ({ kind: e.kind, at: iso(e.at), detail: e.detail ?? null })),
  // The timeline (`WorkflowTrace`), its instants as ISO 8601.
  trace: WorkflowTrace.fromDetail(detail).entries.map((entry) => {
    const times: Record<string, string> = { at: iso(entry.at) }
    if ("endedAt" in entry) times.endedAt = iso(entry.endedAt)
    if ("until" in entry && entry.until !== undefined) times.until = iso(entry.until)
    if ("leaseEndedAt" in entry) times.leaseEndedAt = iso(entry.leaseEndedAt)
    return { ...entry, ...times }
  })
})

/** The versions in flight as JSON: per (workflow, version), its running and suspended executions. */
export const versionsJson = (versions: ReadonlyArray<WorkflowStore.VersionInFlight>) => ({
  versions: versions.map(({ running, suspended, version, workflow }) => ({ workflow, version, running, suspended }))
})

// ---------------------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------------------

/** The versions in flight as a table, one line per (workflow, version). */
export const versionsText = (versions: ReadonlyArray<WorkflowStore.VersionInFlight>): string =>
  versions.length === 0
    ? "No live executions."
    : table(
      ["WORKFLOW", "VERSION", "RUNNING", "SUSPENDED"],
      versions.map((v) => [v.workflow, String(v.version), String(v.running), String(v.suspended)])
    )

/** One page of executions as a table, with the flag that fetches the next page. */
export const pageText = (page: WorkflowStore.Page): string => {
  if (page.items.length === 0) return "No executions."
  const rows = page.items.map((r) => [
    r.executionId,
    r.workflow,
    String(WorkflowStore.versionOf(r)),
    statusText(r),
    dateTime(r.createdAt),
    duration(r.updatedAt - r.createdAt)
  ])
  const text = table(["EXECUTION", "WORKFLOW", "VERSION", "STATUS", "CREATED", "AGE AT LAST UPDATE"], rows)
  return page.nextCursor === undefined ? text : `${text}\n\nMore: --cursor ${page.nextCursor}`
}

/** An execution as a header (record, payload, result) and a timeline of what happened to it, relative to its start. */
export const detailText = (detail: WorkflowStore.ExecutionDetail, now: number): string => {
  const r = detail.execution
  const ended = r.status === "succeeded" || r.status === "failed" || r.status === "interrupted"
  const outcome = outcomeOf(r.result)
  const header: Array<[string, string]> = [
    ["Execution", r.executionId],
    ["Workflow", r.workflow],
    ["Version", String(WorkflowStore.versionOf(r))],
    ["Status", `${statusText(r)}${ended ? ` after ${duration(r.updatedAt - r.createdAt)}` : ""}`],
    ["Created", dateTime(r.createdAt)],
    ["Updated", `${dateTime(r.updatedAt)} (+${duration(r.updatedAt - r.createdAt)})`],
    ["Payload", compact(r.payload, 200)]
  ]
  if (outcome !== undefined) header.push(["Result", outcomeText(outcome, 200)])
  if (r.parent !== undefined) header.push(["Parent", `${r.parent.executionId} (deferred ${r.parent.deferred})`])
  if (r.status === "suspended") {
    header.push([
      "Waiting",
      r.wakeAt === undefined ? "for a signal or a resume" : `until ${dateTime(r.wakeAt)} (${relative(r.wakeAt - now)})`
    ])
  }
  const width = Math.max(...header.map(([k]) => k.length))
  const lines = header.map(([k, v]) => `${k.padEnd(width)}  ${v}`)
  lines.push("", "Timeline")
  const entries = timeline(detail)
  const offsets = entries.map((e) => `+${duration(e.at - r.createdAt)}`)
  const offsetWidth = Math.max(0, ...offsets.map((o) => o.length))
  const labelWidth = Math.max(0, ...entries.map((e) => e.label.length))
  entries.forEach((e, i) => {
    const mark = e.mark ?? (e.failed ? "✗" : e.ok ? "✓" : " ")
    const parts = [`  ${offsets[i]!.padEnd(offsetWidth)}`, mark, e.label.padEnd(labelWidth)]
    if (e.note !== undefined) parts.push(e.note)
    lines.push(parts.join("  ").trimEnd())
  })
  if (entries.length === 0) lines.push("  (nothing recorded)")
  return lines.join("\n")
}

/** One line of the timeline: when, what, and whether it is a success or a failure. */
interface Entry {
  readonly at: number
  /** Orders entries at the same millisecond: events of the execution before and after its steps. */
  readonly order: number
  readonly label: string
  readonly note?: string | undefined
  readonly ok?: boolean | undefined
  readonly failed?: boolean | undefined
  /** A mark of its own (a recovery), instead of success or failure. */
  readonly mark?: string | undefined
}

/** The trace (`WorkflowTrace`) as lines: steps with durations and outcomes, waits, notes and events. */
const timeline = (detail: WorkflowStore.ExecutionDetail): Array<Entry> =>
  WorkflowTrace.fromDetail(detail).entries.map((entry, order): Entry => {
    const ended = (e: WorkflowTrace.Ended) => ({
      note: outcomeText(e, 60),
      ok: e.outcome === "success",
      failed: e.outcome !== "success"
    })
    const span = (label: string, e: WorkflowTrace.Ended & { readonly durationMs: number }) => ({
      label,
      ...ended(e),
      note: `${duration(e.durationMs).padStart(7)}  ${outcomeText(e, 60)}`
    })
    const at = entry.at
    switch (entry.kind) {
      case "event": {
        const deferred = entry.event === "signal-received" || entry.event === "signal-ignored"
          ? detail.deferreds.find((d) => d.name === entry.detail)
          : undefined
        return {
          at,
          order,
          label: eventLabel(entry),
          note: deferred === undefined ? undefined : outcomeText(outcomeOf(deferred.exit), 60),
          failed: entry.event === "failed" || entry.event === "interrupted",
          ok: entry.event === "completed"
        }
      }
      case "activity": {
        const line = span(`activity ${entry.name} #${entry.attempt}`, entry)
        return entry.ranAgain === undefined
          ? { at, order, ...line }
          : {
            at,
            order,
            ...line,
            note: `${line.note}  (ran again after ${entry.ranAgain.to} took over from ${entry.ranAgain.from})`
          }
      }
      case "takeover":
        return {
          at,
          order,
          label: `taken over by ${entry.to} from ${entry.from}`,
          note: `lease ended ${dateTime(entry.leaseEndedAt)}; in flight: ${inFlightText(entry.inFlight)}`,
          mark: "↻"
        }
      case "compensation":
        return { at, order, ...span(`compensation ${entry.index}`, entry) }
      case "child":
        return { at, order, ...span(`child ${entry.workflow} ${entry.childId} started`, entry) }
      case "enqueue":
        return { at, order, ...span(`queued ${entry.key} on ${entry.queue}`, entry) }
      case "retry-wait":
        return { at, order, label: `backoff before ${entry.activity} #${entry.attempt}`, note: duration(entry.until - entry.at).padStart(7) }
      case "patch":
        return { at, order, label: `patch ${entry.id}`, note: entry.taken ? "new path" : "old path" }
      case "deadline":
        return {
          at,
          order,
          label: "deadline",
          note: `${duration(entry.until - entry.at).padStart(7)}  interrupted at ${dateTime(entry.until)} unless ended`
        }
      case "sleep":
        return entry.until === undefined
          ? { at, order, label: `sleep ${entry.name} due` }
          : {
            at,
            order,
            label: `sleep ${entry.name}`,
            note: `${duration(entry.until - entry.at).padStart(7)}  until ${dateTime(entry.until)}`
          }
      case "deferred-timeout":
        return entry.until === undefined
          ? { at, order, label: `deferred ${entry.deferred} times out` }
          : {
            at,
            order,
            label: `deferred ${entry.deferred} waited for`,
            note: `${duration(entry.until - entry.at).padStart(7)}  times out ${dateTime(entry.until)}`
          }
      case "deferred":
        return entry.outcome === "timed-out"
          ? { at, order, label: `deferred ${entry.name} timed out`, failed: true }
          : { at, order, label: `deferred ${entry.name} completed`, ...ended(entry as WorkflowTrace.Ended) }
      case "message":
        return entry.outcome === "timed-out"
          ? { at, order, label: `channel ${entry.channel} #${entry.index}: receive timed out`, failed: true }
          : { at, order, label: `channel ${entry.channel} #${entry.index} sent`, ...ended(entry as WorkflowTrace.Ended) }
      case "child-result":
        return { at, order, label: `child ${entry.childId} ended`, ...ended(entry) }
      case "queue-result":
        return { at, order, label: `queue ${entry.queue} answered ${entry.key}`, ...ended(entry) }
      case "race":
        return { at, order, label: `race ${entry.name} decided`, ...ended(entry) }
      case "note":
        return { at, order, label: `note: ${entry.message}`, note: entry.data === undefined ? undefined : compact(entry.data, 60) }
    }
  })

const eventLabel = (event: { readonly event: WorkflowStore.EventKind; readonly detail: string | undefined }): string => {
  switch (event.event) {
    case "signal-received":
      return `deferred ${event.detail ?? "?"} completed`
    case "signal-ignored":
      return `deferred ${event.detail ?? "?"} completed after its wait ended (ignored)`
    default:
      return event.detail === undefined ? event.event : `${event.event} (${event.detail})`
  }
}

/** What a lost run had in flight: its attempts, none, or unknown (its lease lapsed before a heartbeat said). */
const inFlightText = (inFlight: ReadonlyArray<WorkflowStore.InFlight> | undefined): string =>
  inFlight === undefined
    ? "unknown"
    : inFlight.length === 0
    ? "nothing"
    : inFlight.map((step) => `${step.name} #${step.attempt}`).join(", ")

const statusText = (r: WorkflowStore.ExecutionRecord): string => {
  const outcome = r.status === "failed" ? outcomeOf(r.result)?.outcome : undefined
  const base = outcome === "defect" ? "failed (defect)" : r.status
  return r.interruptRequested && r.status !== "interrupted" ? `${base}, interrupt requested` : base
}

const outcomeText = (outcome: Outcome | undefined, max: number): string => {
  switch (outcome?.outcome) {
    case undefined:
      return ""
    case "success":
      return outcome.value === undefined ? "ok" : `ok ${compact(outcome.value, max)}`
    case "failure":
      return `FAILED ${compact(outcome.value, max)}`
    case "defect":
      return `DEFECT ${compact(outcome.value, max)}`
    case "interrupted":
      return "INTERRUPTED"
  }
}

const relative = (ms: number): string => (ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`)

const pad = (n: number) => String(n).padStart(2, "0")

