/**
 * The trace of an execution: its journal and event log read as a timeline — each activity attempt with its
 * duration and outcome, the backoff waits between attempts, durable sleeps, deferreds and their timeouts,
 * channel messages, children, queue hand-overs, races, compensations, notes, recoveries (a worker lost the run, who
 * took it over, which attempt ran again), and the execution's own events (started, suspended, resumed, signals,
 * interrupts, its end).
 * Derived from rows every store already writes, or from what claims and heartbeats write anyway: no extra write per
 * step. The CLI, the proxy and the dashboard show this one structure.
 */
import { takeoverKind, takeoverOf } from "./StoreRules.js"
import { type EventKind, type ExecutionDetail, type ExecutionRecord, type InFlight, isRetriedMarker } from "./WorkflowStore.js"
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

/** Who took a run over (its previous owner's lease had lapsed) and who ran an attempt again after it. */
export interface RanAgain {
  /** The worker that lost the run. */
  readonly from: string
  /** The worker that took it over and ran the attempt again. */
  readonly to: string
}

/**
 * One entry of a trace; `at` orders the timeline (a span's start, a point's instant). A wait with `until` is a bar
 * from `at` (when it was set) to `until` (its wake time); one stored before set times were kept (no `until`) is
 * the instant it is due.
 */
export type Entry =
  | { readonly kind: "event"; readonly at: number; readonly event: EventKind; readonly detail: string | undefined }
  | (Span & {
    readonly kind: "activity"
    readonly name: string
    readonly attempt: number
    /** Set on an attempt a worker had in flight when it lost the run, and that the worker that took it over ran. */
    readonly ranAgain?: RanAgain | undefined
  })
  | { readonly kind: "retry-wait"; readonly at: number; readonly until: number; readonly activity: string; readonly attempt: number }
  | { readonly kind: "sleep"; readonly at: number; readonly name: string; readonly until?: number | undefined }
  /** A patch (`Workflow.patched`) decided for this execution: whether it took the new path. */
  | { readonly kind: "patch"; readonly at: number; readonly id: string; readonly taken: boolean }
  /** The workflow's deadline: from the execution's start to the time it is interrupted if it has not ended. */
  | { readonly kind: "deadline"; readonly at: number; readonly until: number }
  | { readonly kind: "deferred"; readonly at: number; readonly name: string; readonly outcome: Outcome | "timed-out"; readonly value?: unknown }
  | { readonly kind: "deferred-timeout"; readonly at: number; readonly deferred: string; readonly until?: number | undefined }
  /** Message `index` of a channel (`DurableChannel`), when it was sent; "timed-out": a receive's timeout took the index. */
  | { readonly kind: "message"; readonly at: number; readonly channel: string; readonly index: number; readonly outcome: Outcome | "timed-out"; readonly value?: unknown }
  | {
    readonly kind: "takeover"
    readonly at: number
    /** The worker whose lease lapsed (it crashed, stalled or lost the database). */
    readonly from: string
    /** The worker that claimed the execution. */
    readonly to: string
    /** When the lapsed lease ended. */
    readonly leaseEndedAt: number
    /** The attempts the lost run had in flight at its last heartbeat; undefined when none recorded them (unknown). */
    readonly inFlight: ReadonlyArray<InFlight> | undefined
  }
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
  const entries: Array<Entry> = []
  /** The attempts that ran again after a takeover, by `<name>#<attempt>`, with whom the takeover was from and to. */
  const again = new Map<string, RanAgain & { readonly at: number }>()
  for (const e of detail.events) {
    const takeover = e.kind === takeoverKind ? takeoverOf(e.detail) : undefined
    if (takeover === undefined) {
      entries.push({ kind: "event", at: e.at, event: e.kind, detail: e.detail })
      continue
    }
    entries.push({ kind: "takeover", at: e.at, ...takeover })
    for (const step of takeover.inFlight ?? []) {
      again.set(`${step.name}#${step.attempt}`, { from: takeover.from, to: takeover.to, at: e.at })
    }
  }
  const previous = new Map<string, number>()
  for (const attempt of detail.attempts) {
    // An operator's retry marker is not a run: the `retried` event stands for it.
    if (isRetriedMarker(attempt.exit)) continue
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
    } else if (name.startsWith(Names.PATCH)) {
      entries.push({ kind: "patch", at: attempt.startedAt, id: name.slice(Names.PATCH.length), taken: ended.value === true })
    } else if (name.startsWith(Names.COMPENSATION)) {
      entries.push({ kind: "compensation", index: Number(name.slice(Names.COMPENSATION.length)), ...span })
    } else if (name.startsWith(Names.CHILD_START)) {
      const rest = name.slice(Names.CHILD_START.length)
      const cut = rest.lastIndexOf("/")
      entries.push({ kind: "child", workflow: rest.slice(0, cut), childId: rest.slice(cut + 1), ...span })
    } else if (name.startsWith(Names.ENQUEUE)) {
      entries.push({ kind: "enqueue", ...queueKey(name.slice(Names.ENQUEUE.length)), ...span })
    } else {
      const key = `${name}#${attempt.attempt}`
      // An attempt in flight when its worker lost the run ran again if the attempt stored is the new owner's (it
      // started after the takeover); one stored before it was finished by the worker that then lost the run.
      const takeover = again.get(key)
      const ranAgain = takeover !== undefined && attempt.startedAt >= takeover.at
        ? { ranAgain: { from: takeover.from, to: takeover.to } }
        : {}
      entries.push({ kind: "activity", name, attempt: attempt.attempt, ...span, ...ranAgain })
      previous.set(key, attempt.completedAt)
    }
  }
  for (const deferred of detail.deferreds) {
    const { completedAt: at, name } = deferred
    if (name.startsWith(Names.RACE)) {
      entries.push({ kind: "race", at, name: name.slice(Names.RACE.length), ...raceOutcome(deferred.exit) })
      continue
    }
    const ended = outcomeOf(deferred.exit) ?? { outcome: "interrupted" as const }
    const message = Names.messageOf(name)
    if (message !== undefined) {
      const timedOut = isRecord(deferred.exit) && deferred.exit._tag === "TimedOut"
      entries.push({ kind: "message", at, ...message, ...(timedOut ? { outcome: "timed-out" } : ended) })
    } else if (name.startsWith(Names.CHILD_RESULT)) {
      entries.push({ kind: "child-result", at, childId: Names.childOfResult(name), ...ended })
    } else if (name.startsWith(Names.QUEUE_RESULT)) {
      entries.push({ kind: "queue-result", at, ...queueKey(name.slice(Names.QUEUE_RESULT.length)), ...ended })
    } else if (isRecord(deferred.exit) && deferred.exit._tag === "TimedOut") {
      entries.push({ kind: "deferred", at, name, outcome: "timed-out" })
    } else {
      entries.push({ kind: "deferred", at, name, ...ended })
    }
  }
  for (const { name, setAt, wakeAt } of detail.clocks) {
    const retry = RETRY.exec(name)
    // A bar from when the wait was set to its wake time; a clock stored before set times were kept is its wake time.
    const bar = setAt === undefined ? { at: wakeAt } : { at: setAt, until: wakeAt }
    if (name === Names.DEADLINE) {
      entries.push({ kind: "deadline", at: setAt ?? detail.execution.createdAt, until: wakeAt })
    } else if (name.startsWith(Names.SLEEP)) {
      entries.push({ kind: "sleep", ...bar, name: name.slice(Names.SLEEP.length) })
    } else if (retry !== null) {
      const activity = name.slice(0, retry.index)
      const attempt = Number(retry[1])
      const from = setAt ?? previous.get(`${activity}#${attempt - 1}`) ?? wakeAt
      entries.push({ kind: "retry-wait", at: from, until: wakeAt, activity, attempt })
    } else if (name.endsWith(TIMEOUT)) {
      entries.push({ kind: "deferred-timeout", ...bar, deferred: name.slice(0, -TIMEOUT.length) })
    }
  }
  return { execution: detail.execution, entries: entries.sort((a, b) => a.at - b.at || rank(a) - rank(b)) }
}

const RETRY = /\/retry-(\d+)$/
const TIMEOUT = "/timeout"

/** At one instant: the start first, a takeover before the steps it ran again, the steps next, the end last. */
const rank = (entry: Entry): number =>
  entry.kind === "takeover"
    ? 0.5
    : entry.kind !== "event"
    ? 1
    : entry.event === "started"
    ? 0
    : ["completed", "failed", "interrupted"].includes(entry.event)
    ? 3
    : 2

/** A queue step's `<queue>/<key>`: the key is the last segment (a queue name may hold "/"). */
const queueKey = (rest: string): { readonly queue: string; readonly key: string } => {
  const cut = rest.lastIndexOf("/")
  return { queue: rest.slice(0, cut), key: rest.slice(cut + 1) }
}

/** A race stores its winner's Exit with the activities it asked for. */
const raceOutcome = (stored: unknown): Ended =>
  (isRecord(stored) ? outcomeOf(stored.exit) : undefined) ?? { outcome: "interrupted" }

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
