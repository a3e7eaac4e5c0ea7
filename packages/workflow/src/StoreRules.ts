/**
 * The rules a store keeps inside each write, as data: for every write, the statuses it applies from, where it
 * goes, what it does to `wakeSeq` and the claim, and the event it appends. Every store derives from this table.
 */
import {
  type Completion,
  type EventKind,
  type EventRecord,
  type ExecutionRecord,
  type ExecutionStatus,
  type InFlight,
  liveStatuses,
  type NewExecution,
  type Notification,
  type TerminalStatus
} from "./WorkflowStore.js"

/** The event `complete` appends, by the status the execution ends in. */
export const completionEvents = {
  succeeded: "completed",
  failed: "failed",
  interrupted: "interrupted"
} as const satisfies Record<TerminalStatus, EventKind>

/**
 * The event a write appends with its change: its kind (`completion`: the completion's, by `completionEvents`)
 * and its detail (none, a fixed text, the name of the deferred the write completes, or the text the caller gives).
 */
export interface TransitionEvent {
  readonly kind: EventKind | "completion"
  readonly detail: "none" | "deferred" | "given" | { readonly text: string }
}

/** What one write does to an execution's record, its claim and its log, all in one atomic write. */
export interface Transition {
  /** The statuses it changes an execution from (empty for `create`: the record is new). */
  readonly from: ReadonlyArray<ExecutionStatus>
  /** From any other status: `refuse` (nothing is written, the write reports false) or `log` (record kept, event appended). */
  readonly otherwise: "refuse" | "log"
  /** Whether it applies only while the caller's fence holds (a fence holds only on a running execution). */
  readonly fenced: boolean
  /** The status it leaves: a status, `completion` (the completion's), or `kept`. */
  readonly to: ExecutionStatus | "completion" | "kept"
  /** `start` at 0, `bump` by one, `keep`; `expect`: keep, and apply only if unchanged since the claim was taken. */
  readonly wakeSeq: "start" | "bump" | "keep" | "expect"
  /** `clear`, `given` (the write's wake time, none included), or `keep`. */
  readonly wakeAt: "clear" | "given" | "keep"
  /** `clear`, `given` (the completion's result), or `keep`. */
  readonly result: "clear" | "given" | "keep"
  /** `clear` (false), `set` (true; only a retry clears it after), or `keep`. */
  readonly interruptRequested: "clear" | "set" | "keep"
  /** `set` to the write's time, or `keep`. */
  readonly updatedAt: "set" | "keep"
  /** `take` (owner, a new fence, a lease), `claimFor` (taken only when asked), `release`, or `keep`. */
  readonly claim: "take" | "claimFor" | "release" | "keep"
  /** The event it appends, if any. */
  readonly event: TransitionEvent | undefined
  /** What a store with notifications announces when the write changed the record (`done`: only to watchers). */
  readonly notice: Notification["kind"] | undefined
}

/** The writes that change an execution's status, `wakeSeq`, claim or log: one row of `transitions` each. */
export type Write =
  | "create"
  | "claim"
  | "suspend"
  | "complete"
  | "wake"
  | "requestInterrupt"
  | "reopen"
  | "retry"
  | "signalApplied"
  | "signalRefused"
  | "timerFired"

const none = "none"

/**
 * The rules, one row per write. `signalApplied` is a `completeDeferred` that stores its deferred (it wakes a
 * live execution; a terminal one only logs it); `signalRefused` one that finds the deferred stored already or
 * an interrupt requested (an interrupt wins over a late signal). `timerFired` is `runnable` waking a due timer.
 */
export const transitions = {
  create: {
    from: [],
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "start",
    wakeAt: "clear",
    result: "clear",
    interruptRequested: "clear",
    updatedAt: "set",
    claim: "claimFor",
    event: { kind: "started", detail: none },
    notice: "wake"
  },
  claim: {
    from: ["running"],
    otherwise: "refuse",
    fenced: false,
    to: "kept",
    wakeSeq: "keep",
    wakeAt: "keep",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "keep",
    claim: "take",
    event: undefined,
    notice: undefined
  },
  suspend: {
    from: ["running"],
    otherwise: "refuse",
    fenced: true,
    to: "suspended",
    wakeSeq: "expect",
    wakeAt: "given",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "release",
    event: { kind: "suspended", detail: none },
    notice: undefined
  },
  complete: {
    from: ["running"],
    otherwise: "refuse",
    fenced: true,
    to: "completion",
    wakeSeq: "keep",
    wakeAt: "clear",
    result: "given",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "release",
    event: { kind: "completion", detail: none },
    notice: "done"
  },
  wake: {
    from: liveStatuses,
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "clear",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "keep",
    event: { kind: "resumed", detail: none },
    notice: "wake"
  },
  requestInterrupt: {
    from: liveStatuses,
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "clear",
    result: "keep",
    interruptRequested: "set",
    updatedAt: "set",
    claim: "keep",
    event: { kind: "interrupt-requested", detail: none },
    notice: "interrupt"
  },
  reopen: {
    from: ["failed"],
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "keep",
    result: "clear",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "keep",
    event: { kind: "resumed", detail: { text: "after defect" } },
    notice: "wake"
  },
  retry: {
    from: ["failed"],
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "clear",
    result: "clear",
    interruptRequested: "clear",
    updatedAt: "set",
    claim: "keep",
    event: { kind: "retried", detail: "given" },
    notice: "wake"
  },
  signalApplied: {
    from: liveStatuses,
    otherwise: "log",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "clear",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "keep",
    event: { kind: "signal-received", detail: "deferred" },
    notice: "wake"
  },
  signalRefused: {
    from: [],
    otherwise: "log",
    fenced: false,
    to: "kept",
    wakeSeq: "keep",
    wakeAt: "keep",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "keep",
    claim: "keep",
    event: { kind: "signal-ignored", detail: "deferred" },
    notice: undefined
  },
  timerFired: {
    from: ["suspended"],
    otherwise: "refuse",
    fenced: false,
    to: "running",
    wakeSeq: "bump",
    wakeAt: "clear",
    result: "keep",
    interruptRequested: "keep",
    updatedAt: "set",
    claim: "keep",
    event: undefined,
    notice: undefined
  }
} as const satisfies Record<Write, Transition>

/**
 * What the caller of a write supplies: the completion (`complete`), the wake time (`suspend`), the deferred's name,
 * the event's detail where the rules say `given` (`retry`).
 */
export interface TransitionInput {
  readonly completion?: Completion | undefined
  readonly wakeAt?: number | undefined
  readonly deferred?: string | undefined
  readonly detail?: string | undefined
}

/** Whether `transition` changes an execution in `status` (the fence, where it is fenced, is the caller's to check). */
export const admits = (transition: Transition, status: ExecutionStatus): boolean => transition.from.includes(status)

/** The record `create` inserts for `execution`. */
export const newRecord = (execution: NewExecution): ExecutionRecord => ({
  executionId: execution.executionId,
  workflow: execution.workflow,
  payload: execution.payload,
  status: transitions.create.to,
  result: undefined,
  parent: execution.parent,
  createdAt: execution.at,
  updatedAt: execution.at,
  wakeSeq: 0,
  interruptRequested: false,
  wakeAt: undefined,
  ...(execution.idempotencyKey === undefined ? {} : { idempotencyKey: execution.idempotencyKey }),
  version: execution.version ?? 1
})

/** `record` after `transition` at `at`; the caller has checked `admits` (and the fence). */
export const applyTransition = (
  record: ExecutionRecord,
  transition: Transition,
  at: number,
  input: TransitionInput = {}
): ExecutionRecord => ({
  ...record,
  status: transition.to === "kept"
    ? record.status
    : transition.to === "completion"
    ? completionOf(input).status
    : transition.to,
  result: transition.result === "clear"
    ? undefined
    : transition.result === "given"
    ? completionOf(input).result
    : record.result,
  wakeSeq: transition.wakeSeq === "start" ? 0 : transition.wakeSeq === "bump" ? record.wakeSeq + 1 : record.wakeSeq,
  wakeAt: transition.wakeAt === "clear" ? undefined : transition.wakeAt === "given" ? input.wakeAt : record.wakeAt,
  interruptRequested: transition.interruptRequested === "keep"
    ? record.interruptRequested
    : transition.interruptRequested === "set",
  updatedAt: transition.updatedAt === "set" ? at : record.updatedAt
})

/** The kind of the event `event` names: for a completion, by the status it ends in. */
export const eventKindOf = (event: TransitionEvent, completion?: TerminalStatus | undefined): EventKind => {
  if (event.kind !== "completion") return event.kind
  if (completion === undefined) throw new Error("A completion's event needs the status it ends in")
  return completionEvents[completion]
}

/** The detail of the event `event` names: none, its fixed text, or `given` (the deferred's name, the caller's text). */
export const eventDetailOf = (event: TransitionEvent, given?: string | undefined): string | undefined =>
  event.detail === "none" ? undefined : event.detail === "deferred" || event.detail === "given" ? given : event.detail.text

/** The event `transition` appends at `at`, if any. */
export const transitionEvent = (
  transition: Transition,
  at: number,
  input: TransitionInput = {}
): EventRecord | undefined =>
  transition.event === undefined ? undefined : {
    kind: eventKindOf(transition.event, input.completion?.status),
    at,
    detail: eventDetailOf(transition.event, input.deferred ?? input.detail)
  }

/**
 * A takeover: a claim that took an execution from another owner whose lease had lapsed (a worker that crashed,
 * stalled or lost its database). The claim logs it as a `taken-over` event in the same write (no write of its own);
 * a claim of an unowned execution, or by the owner itself, logs nothing.
 */
export interface Takeover {
  /** The owner whose lease lapsed. */
  readonly from: string
  /** The owner that claimed the execution. */
  readonly to: string
  /** When the lapsed lease ended: epoch milliseconds by the lease clock. */
  readonly leaseEndedAt: number
  /**
   * The attempts the lapsed claim's run had in flight at its last heartbeat (`renew`), which the new owner runs
   * again; undefined when no heartbeat recorded them (the lease lapsed before the first one).
   */
  readonly inFlight: ReadonlyArray<InFlight> | undefined
}

/** The kind of the event a takeover logs. */
export const takeoverKind = "taken-over" as const satisfies EventKind

/** In-flight attempts as a store keeps them with a claim (and as a takeover's detail holds them): a JSON array. */
export const inFlightText = (inFlight: ReadonlyArray<InFlight>): string =>
  JSON.stringify(inFlight.map(({ attempt, name }) => ({ name, attempt })))

/**
 * A takeover's event detail: JSON with the keys `from`, `to`, `leaseEndedAt` and `inFlight` (an array, or null
 * when unknown), in that order. SQL stores build the same text in their claim statement.
 */
export const takeoverDetail = (takeover: Takeover): string =>
  `{"from":${JSON.stringify(takeover.from)},"to":${JSON.stringify(takeover.to)},` +
  `"leaseEndedAt":${takeover.leaseEndedAt},` +
  `"inFlight":${takeover.inFlight === undefined ? "null" : inFlightText(takeover.inFlight)}}`

/** The event a claim at `at` that made `takeover` appends. */
export const takeoverEvent = (takeover: Takeover, at: number): EventRecord => ({
  kind: takeoverKind,
  at,
  detail: takeoverDetail(takeover)
})

/** A `taken-over` event's detail, read; undefined when it is not one (another kind's detail, or no JSON). */
export const takeoverOf = (detail: string | undefined): Takeover | undefined => {
  if (detail === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(detail)
  } catch {
    return undefined
  }
  if (typeof parsed !== "object" || parsed === null) return undefined
  const { from, inFlight, leaseEndedAt, to } = parsed as Record<string, unknown>
  if (typeof from !== "string" || typeof to !== "string" || typeof leaseEndedAt !== "number") return undefined
  const steps = Array.isArray(inFlight)
    ? inFlight.flatMap((step: unknown): Array<InFlight> => {
        const { attempt, name } = (typeof step === "object" && step !== null ? step : {}) as Record<string, unknown>
        return typeof name === "string" && typeof attempt === "number" ? [{ name, attempt }] : []
      })
    : undefined
  return { from, to, leaseEndedAt, inFlight: steps }
}

const completionOf = (input: TransitionInput): Completion => {
  if (input.completion === undefined) throw new Error("A completion's transition needs the completion")
  return input.completion
}
