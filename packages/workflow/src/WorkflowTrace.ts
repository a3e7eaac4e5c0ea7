/**
 * The trace of an execution: its journal and event log read as a timeline — each activity attempt with its
 * duration and outcome, the backoff waits between attempts, durable sleeps, deferreds and their timeouts,
 * children, queue hand-overs, races, compensations, notes, and the execution's own events (started, suspended,
 * resumed, signals, interrupts, its end). Derived from rows every store already writes: no extra write per step.
 * The CLI, the proxy and the dashboard show this one structure.
 */
import type { EventKind, ExecutionDetail, ExecutionRecord } from "./WorkflowStore.js"
import * as Names from "./internal/reserved.js"

/** How a stored Exit ended. */
export type Outcome = "success" | "failure" | "defect" | "interrupted"

/** A stored Exit read: how it ended, and its value, typed error or defect as stored. */
export interface Ended {
  readonly outcome: Outcome
  readonly value?: unknown
}

/** One step of the body that ran (or was decided) between two instants. */
interface Span {
  readonly at: number
  readonly endedAt: number
  readonly durationMs: number
  readonly outcome: Outcome
  /** The success value, the typed error or the defect, as stored. */
  readonly value?: unknown
}

/** One entry of a trace; `at` orders the timeline (a span's start, a point's instant). */
export type Entry =
  | { readonly kind: "event"; readonly at: number; readonly event: EventKind; readonly detail: string | undefined }
  | (Span & { readonly kind: "activity"; readonly name: string; readonly attempt: number })
  | { readonly kind: "retry-wait"; readonly at: number; readonly until: number; readonly activity: string; readonly attempt: number }
  | { readonly kind: "sleep"; readonly at: number; readonly name: string }
  | { readonly kind: "deferred"; readonly at: number; readonly name: string; readonly outcome: Outcome | "timed-out"; readonly value?: unknown }
  | { readonly kind: "deferred-timeout"; readonly at: number; readonly deferred: string }
  | (Span & { readonly kind: "child"; readonly workflow: string; readonly childId: string })
  | { readonly kind: "child-result"; readonly at: number; readonly childId: string; readonly outcome: Outcome; readonly value?: unknown }
  | (Span & { readonly kind: "compensation"; readonly index: number })
  | { readonly kind: "note"; readonly at: number; readonly message: string; readonly data?: unknown }
  | (Span & { readonly kind: "enqueue"; readonly queue: string; readonly key: string })
  | { readonly kind: "queue-result"; readonly at: number; readonly queue: string; readonly key: string; readonly outcome: Outcome; readonly value?: unknown }
  | { readonly kind: "race"; readonly at: number; readonly name: string; readonly outcome: Outcome; readonly value?: unknown }

/** An execution's record and its timeline, oldest first. */
export interface Trace {
  readonly execution: ExecutionRecord
  readonly entries: ReadonlyArray<Entry>
}

/**
 * Reads a stored Exit (`{"_tag":"Success"|"Failure",…}`); anything else (no result yet, a timeout marker) is
 * undefined. A cause with a typed error is a failure, else one with a defect is a defect, else interrupted.
 */
export const outcomeOf = (exit: unknown): Ended | undefined => {
  if (!isRecord(exit)) return undefined
  if (exit._tag === "Success") return { outcome: "success", value: exit.value }
  if (exit._tag !== "Failure") return undefined
  const leaves: Array<Record<string, unknown>> = []
  const walk = (cause: unknown, depth: number): void => {
    if (!isRecord(cause) || depth > 64) return
    if (cause._tag === "Sequential" || cause._tag === "Parallel") {
      walk(cause.left, depth + 1)
      walk(cause.right, depth + 1)
    } else leaves.push(cause)
  }
  walk(exit.cause, 0)
  const fail = leaves.find((leaf) => leaf._tag === "Fail")
  if (fail !== undefined) return { outcome: "failure", value: fail.error }
  const die = leaves.find((leaf) => leaf._tag === "Die")
  if (die !== undefined) return { outcome: "defect", value: die.defect }
  return { outcome: "interrupted" }
}

/** The trace of an execution, from its detail (`WorkflowEngine.detail`). */
export const fromDetail = (detail: ExecutionDetail): Trace => {
  const entries: Array<Entry> = detail.events.map((e) => ({ kind: "event", at: e.at, event: e.kind, detail: e.detail }))
  const previous = new Map<string, number>()
  for (const attempt of detail.attempts) {
    const ended = outcomeOf(attempt.exit) ?? { outcome: "interrupted" as const }
    const span = {
      at: attempt.startedAt,
      endedAt: attempt.completedAt,
      durationMs: attempt.completedAt - attempt.startedAt,
      ...ended
    }
    const { name } = attempt
    if (name.startsWith(Names.NOTE)) {
      const note = isRecord(ended.value) ? ended.value : {}
      entries.push({
        kind: "note",
        at: attempt.startedAt,
        message: typeof note.message === "string" ? note.message : "",
        ...("data" in note ? { data: note.data } : {})
      })
    } else if (name.startsWith(Names.COMPENSATION)) {
      entries.push({ kind: "compensation", index: Number(name.slice(Names.COMPENSATION.length)), ...span })
    } else if (name.startsWith(Names.CHILD_START)) {
      const rest = name.slice(Names.CHILD_START.length)
      const cut = rest.lastIndexOf("/")
      entries.push({ kind: "child", workflow: rest.slice(0, cut), childId: rest.slice(cut + 1), ...span })
    } else if (name.startsWith(Names.ENQUEUE)) {
      entries.push({ kind: "enqueue", ...queueKey(name.slice(Names.ENQUEUE.length)), ...span })
    } else {
      entries.push({ kind: "activity", name, attempt: attempt.attempt, ...span })
      previous.set(`${name}#${attempt.attempt}`, attempt.completedAt)
    }
  }
  for (const deferred of detail.deferreds) {
    const { completedAt: at, name } = deferred
    if (name.startsWith(Names.RACE)) {
      entries.push({ kind: "race", at, name: name.slice(Names.RACE.length), ...raceOutcome(deferred.exit) })
      continue
    }
    const ended = outcomeOf(deferred.exit) ?? { outcome: "interrupted" as const }
    if (name.startsWith(Names.CHILD_RESULT)) {
      entries.push({ kind: "child-result", at, childId: Names.childOfResult(name), ...ended })
    } else if (name.startsWith(Names.QUEUE_RESULT)) {
      entries.push({ kind: "queue-result", at, ...queueKey(name.slice(Names.QUEUE_RESULT.length)), ...ended })
    } else if (isRecord(deferred.exit) && deferred.exit._tag === "TimedOut") {
      entries.push({ kind: "deferred", at, name, outcome: "timed-out" })
    } else {
      entries.push({ kind: "deferred", at, name, ...ended })
    }
  }
  for (const { name, wakeAt } of detail.clocks) {
    const retry = RETRY.exec(name)
    if (name.startsWith(Names.SLEEP)) {
      entries.push({ kind: "sleep", at: wakeAt, name: name.slice(Names.SLEEP.length) })
    } else if (retry !== null) {
      const activity = name.slice(0, retry.index)
      const attempt = Number(retry[1])
      const from = previous.get(`${activity}#${attempt - 1}`) ?? wakeAt
      entries.push({ kind: "retry-wait", at: from, until: wakeAt, activity, attempt })
    } else if (name.endsWith(TIMEOUT)) {
      entries.push({ kind: "deferred-timeout", at: wakeAt, deferred: name.slice(0, -TIMEOUT.length) })
    }
  }
  return { execution: detail.execution, entries: entries.sort((a, b) => a.at - b.at || rank(a) - rank(b)) }
}

const RETRY = /\/retry-(\d+)$/
const TIMEOUT = "/timeout"

/** At one instant: the start first, the steps next, the end last. */
const rank = (entry: Entry): number =>
  entry.kind !== "event" ? 1 : entry.event === "started" ? 0 : ["completed", "failed", "interrupted"].includes(entry.event) ? 3 : 2

/** A queue step's `<queue>/<key>`: the key is the last segment (a queue name may hold "/"). */
const queueKey = (rest: string): { readonly queue: string; readonly key: string } => {
  const cut = rest.lastIndexOf("/")
  return { queue: rest.slice(0, cut), key: rest.slice(cut + 1) }
}

/** A race stores its winner's Exit with the activities it asked for. */
const raceOutcome = (stored: unknown): Ended =>
  (isRecord(stored) ? outcomeOf(stored.exit) : undefined) ?? { outcome: "interrupted" }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
