/**
 * The journal contract: what a store persists and how it claims work, and the rules it keeps inside each write
 * (statuses, `wakeSeq`, events), written once here as data (`transitions`) that every store derives from. Stores
 * prove it by passing the conformance suite, `@weft/workflow/test/StoreConformance` (docs/store-contract.md).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { WorkflowError } from "./WorkflowError.js"

/** The statuses of an execution that has not ended: it runs, or waits for a wake-up. */
export const liveStatuses = ["running", "suspended"] as const

/** The statuses after which an execution never runs again (unless reopened after a defect). */
export const terminalStatuses = ["succeeded", "failed", "interrupted"] as const

/** Every status an execution can have, as stored: the live ones and the terminal ones, nothing else. */
export const statuses = [...liveStatuses, ...terminalStatuses] as const

/** Where an execution stands. `suspended` holds no fiber anywhere: it is only its record. */
export type ExecutionStatus = (typeof statuses)[number]

/** A status of an execution that has not ended. */
export type LiveStatus = (typeof liveStatuses)[number]

/** A status an execution ends in. */
export type TerminalStatus = (typeof terminalStatuses)[number]

/** `terminalStatuses` as a set. */
export const terminal: ReadonlySet<ExecutionStatus> = new Set(terminalStatuses)

/** `liveStatuses` as a set. */
export const live: ReadonlySet<ExecutionStatus> = new Set(liveStatuses)

/** A schema-encoded `Exit` (JSON-safe), as stored. */
export type EncodedExit = unknown

/** Where a child execution reports its result: the parent and the deferred it awaits. */
export interface ParentLink {
  readonly executionId: string
  readonly deferred: string
}

/** One execution's record. Times are epoch milliseconds from the engine's `Clock`. */
export interface ExecutionRecord {
  readonly executionId: string
  readonly workflow: string
  /** The schema-encoded payload. */
  readonly payload: unknown
  readonly status: ExecutionStatus
  /** The final encoded Exit, once terminal. */
  readonly result: EncodedExit | undefined
  readonly parent: ParentLink | undefined
  readonly createdAt: number
  readonly updatedAt: number
  /** Bumped by every wake-up (signal, timer, resume, interrupt): a suspension only sticks if it is unchanged. */
  readonly wakeSeq: number
  readonly interruptRequested: boolean
  /** The earliest stored timer that will wake this execution, if suspended on one. */
  readonly wakeAt: number | undefined
}

/** One attempt of an activity: its encoded Exit and when it ran. */
export interface ActivityAttempt {
  readonly name: string
  readonly attempt: number
  readonly exit: EncodedExit
  readonly startedAt: number
  readonly completedAt: number
}

/** A completed deferred: the first completion wins. */
export interface DeferredRecord {
  readonly name: string
  readonly exit: EncodedExit
  readonly completedAt: number
}

/** A durable timer. */
export interface ClockRecord {
  readonly name: string
  readonly wakeAt: number
}

/** Everything the runtime needs to replay an execution, loaded in one read. */
export interface Journal {
  readonly execution: ExecutionRecord
  readonly attempts: ReadonlyArray<ActivityAttempt>
  readonly deferreds: ReadonlyArray<DeferredRecord>
  readonly clocks: ReadonlyArray<ClockRecord>
}

/** A claimed execution: its journal and the fencing token every write while the claim holds must carry. */
export interface Claim {
  readonly journal: Journal
  readonly fence: number
}

/** The kinds of event of the append-only log, as stored (activity completions live in their attempt rows). */
export const eventKinds = [
  "started",
  "suspended",
  "resumed",
  "signal-received",
  "signal-ignored",
  "compensated",
  "interrupt-requested",
  "interrupted",
  "completed",
  "failed"
] as const

/** Lifecycle events of the append-only log. */
export type EventKind = (typeof eventKinds)[number]

/** One entry of the event log. */
export interface EventRecord {
  readonly kind: EventKind
  readonly at: number
  readonly detail: string | undefined
}

/** An item handed to a `DurableQueue`. */
export interface QueueItem {
  readonly queue: string
  readonly itemId: string
  readonly payload: unknown
  /** The signed token of the deferred that receives the handler's result. */
  readonly token: string
  readonly enqueuedAt: number
}

/** Filter and page for `list`. */
export interface ListFilter {
  readonly workflow?: string | undefined
  readonly status?: ExecutionStatus | undefined
  readonly createdAfter?: number | undefined
  readonly createdBefore?: number | undefined
  /** Opaque cursor from the previous page. */
  readonly cursor?: string | undefined
  readonly limit?: number | undefined
}

/** One page of executions, newest first. */
export interface Page {
  readonly items: ReadonlyArray<ExecutionRecord>
  readonly nextCursor: string | undefined
}

/** One execution with everything recorded about it. */
export interface ExecutionDetail extends Journal {
  readonly events: ReadonlyArray<EventRecord>
}

/** What `create` was given. */
export interface NewExecution {
  readonly executionId: string
  readonly workflow: string
  readonly payload: unknown
  readonly parent: ParentLink | undefined
  readonly at: number
  /**
   * Tell other processes there is new work (PostgreSQL NOTIFY). False when the creating engine runs it
   * itself. Default true.
   */
  readonly announce?: boolean | undefined
  /** Insert a new execution already claimed by this owner. */
  readonly claimFor?: string | undefined
  /**
   * The caller waits for the result. Unless it inserts the execution claimed (and so runs it), the
   * completion is announced to other processes (PostgreSQL NOTIFY); an existing execution is
   * announced from now on. A waiter in the process that runs the execution learns of it directly.
   */
  readonly awaited?: boolean | undefined
}

/** How a terminal execution ended. */
export interface Completion {
  readonly status: TerminalStatus
  readonly result: EncodedExit
  readonly at: number
}

// ---------------------------------------------------------------------------------------------------------
// The rules a store keeps, written once as data: what each write does to an execution's record, claim and log.
// Stores derive their conditions, target statuses and event kinds from them (the memory store through
// `applyTransition`, the SQL store through statement text generated from them once); the conformance suite
// checks a store's behaviour against them. docs/store-contract.md explains each row.

/** The event `complete` appends, by the status the execution ends in. */
export const completionEvents = {
  succeeded: "completed",
  failed: "failed",
  interrupted: "interrupted"
} as const satisfies Record<TerminalStatus, EventKind>

/**
 * The event a write appends with its change: its kind (`completion`: the completion's, by `completionEvents`)
 * and its detail (none, a fixed text, or the name of the deferred the write completes).
 */
export interface TransitionEvent {
  readonly kind: EventKind | "completion"
  readonly detail: "none" | "deferred" | { readonly text: string }
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
  /** `clear` (false), `set` (true; nothing clears it after), or `keep`. */
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

/** What the caller of a write supplies: the completion (`complete`), the wake time (`suspend`), the deferred's name. */
export interface TransitionInput {
  readonly completion?: Completion | undefined
  readonly wakeAt?: number | undefined
  readonly deferred?: string | undefined
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
  wakeAt: undefined
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

/** The detail of the event `event` names: none, its fixed text, or the deferred's name. */
export const eventDetailOf = (event: TransitionEvent, deferred?: string | undefined): string | undefined =>
  event.detail === "none" ? undefined : event.detail === "deferred" ? deferred : event.detail.text

/** The event `transition` appends at `at`, if any. */
export const transitionEvent = (
  transition: Transition,
  at: number,
  input: TransitionInput = {}
): EventRecord | undefined =>
  transition.event === undefined ? undefined : {
    kind: eventKindOf(transition.event, input.completion?.status),
    at,
    detail: eventDetailOf(transition.event, input.deferred)
  }

/** Store failures are `WorkflowError`s with reason `StoreUnavailable` or `LeaseLost`. */
type Eff<A> = Effect.Effect<A, WorkflowError>

/** The journal service every engine runs on. */
export interface Service {
  /**
   * Inserts the execution unless one with this id exists; returns the record that is stored. With
   * `claimFor`, a new execution is inserted already claimed by that owner (one write instead of two):
   * `fence` is then the claim's fencing token.
   */
  readonly create: (
    execution: NewExecution
  ) => Eff<{ readonly created: boolean; readonly record: ExecutionRecord; readonly fence?: number | undefined }>
  readonly get: (executionId: string) => Eff<Option.Option<ExecutionRecord>>
  /**
   * The records of those of `executionIds` that have ended, in any order: one read for many waiters.
   * Optional: without it the engine polls each waiter's execution with `get`.
   */
  readonly ended?: ((executionIds: ReadonlyArray<string>) => Eff<ReadonlyArray<ExecutionRecord>>) | undefined
  /**
   * The executions linked to `parentExecutionId` (its children not started with `discard`) that have not
   * ended: one read when a parent ends. Optional: without it the engine reads each child its journal names.
   */
  readonly liveChildren?: ((parentExecutionId: string) => Eff<ReadonlyArray<ExecutionRecord>>) | undefined
  /**
   * Claims a running execution for `owner` and loads its journal in one read. None when it is
   * suspended (only a wake-up makes it running), terminal, unknown, or another owner holds an
   * unexpired claim.
   */
  readonly claim: (executionId: string, owner: string, now: number) => Eff<Option.Option<Claim>>
  /** Gives up a claim without changing the execution. */
  readonly release: (executionId: string, fence: number) => Eff<void>
  /**
   * Stores an activity attempt unless that (execution, name, attempt) exists, while `fence` holds.
   * Returns the stored attempt: the first writer wins.
   */
  readonly recordAttempt: (executionId: string, fence: number, attempt: ActivityAttempt) => Eff<ActivityAttempt>
  /** Stores a timer unless one of that name exists; returns the stored one. */
  readonly recordClock: (executionId: string, fence: number, clock: ClockRecord) => Eff<ClockRecord>
  /**
   * Completes a deferred unless already completed and wakes the execution (bumps `wakeSeq`), logging
   * `signal-received` (or `signal-ignored`) with the deferred's name in the same write. Once an interrupt
   * was requested, a completion is not applied (an interrupt wins over a late signal) and logged as ignored.
   * Returns the stored record (the refused one when none is stored) and whether this call's exit was applied.
   */
  readonly completeDeferred: (
    executionId: string,
    deferred: DeferredRecord
  ) => Eff<{ readonly applied: boolean; readonly record: DeferredRecord }>
  /** Stores a deferred's result from inside the run (a race winner, a timeout) without waking it. First wins. */
  readonly recordDeferred: (executionId: string, fence: number, deferred: DeferredRecord) => Eff<DeferredRecord>
  /**
   * Marks a claimed execution suspended (waking at `wakeAt`, if set) and releases the claim, unless
   * `wakeSeq` moved since the claim: then nothing changes and the result is false (run it again).
   * `awaited`: a process waits for its result, so its completion is announced from now on, as `create` does.
   */
  readonly suspend: (
    executionId: string,
    fence: number,
    expectedWakeSeq: number,
    wakeAt: number | undefined,
    at: number,
    awaited?: boolean | undefined
  ) => Eff<boolean>
  /** Stores the final result, makes the execution terminal and releases the claim. */
  readonly complete: (executionId: string, fence: number, completion: Completion) => Eff<void>
  /** Makes a suspended execution runnable (a fired timer, a resume): bumps `wakeSeq`. False if terminal or unknown. */
  readonly wake: (executionId: string, at: number) => Eff<boolean>
  /** Flags an execution for interruption and wakes it. False if terminal or unknown. */
  readonly requestInterrupt: (executionId: string, at: number) => Eff<boolean>
  /** Puts a failed execution back to running with no result (the runtime asks only after a defect). False otherwise. */
  readonly reopen: (executionId: string, at: number) => Eff<boolean>
  /** Appends to the event log. */
  readonly appendEvent: (executionId: string, event: EventRecord) => Eff<void>
  /**
   * Extends `owner`'s live claims in one write (a worker's heartbeat). For each claim, in order: whether
   * it still holds, and whether an interrupt was requested meanwhile.
   */
  readonly renew: (
    owner: string,
    claims: ReadonlyArray<{ readonly executionId: string; readonly fence: number }>,
    now: number
  ) => Eff<ReadonlyArray<{ readonly held: boolean; readonly interruptRequested: boolean }>>
  /**
   * Executions of `workflows` that should run now and nobody holds: running ones with no live
   * claim, and suspended ones whose timer is due (those are made running).
   */
  readonly runnable: (
    now: number,
    limit: number,
    workflows: ReadonlyArray<string>
  ) => Eff<ReadonlyArray<{ readonly executionId: string; readonly workflow: string }>>
  /**
   * The earliest wake time among suspended executions of `workflows`, if any. Filtered like
   * `runnable`: a timer no one here can fire must not wake this engine over and over.
   */
  readonly nextWakeAt: (workflows: ReadonlyArray<string>) => Eff<Option.Option<number>>
  readonly enqueue: (item: QueueItem) => Eff<void>
  /** Claims up to `limit` items of a queue for `owner`; an item's claim expires with its lease. */
  readonly claimQueueItems: (queue: string, owner: string, limit: number, now: number) => Eff<ReadonlyArray<QueueItem>>
  /** Extends `owner`'s claim on an item while its handler runs. False when the claim is gone. */
  readonly renewQueueItem: (queue: string, itemId: string, owner: string, now: number) => Eff<boolean>
  /** Removes a handled item. */
  readonly ackQueueItem: (queue: string, itemId: string) => Eff<void>
  readonly list: (filter: ListFilter) => Eff<Page>
  readonly detail: (executionId: string) => Eff<Option.Option<ExecutionDetail>>
  /** The key that signs deferred tokens: generated once and kept, so tokens outlive restarts. */
  readonly signingKey: (generate: () => Uint8Array) => Eff<Uint8Array>
  /**
   * Runs `effect` in one database transaction (transactional activities: the user's writes and the
   * step's result commit together). Absent where the store has no transactions.
   */
  readonly transaction?: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | WorkflowError, R>
  /** Wake-ups other processes announce (e.g. PostgreSQL NOTIFY). Absent where there are none: the engine polls. */
  readonly notifications?: Stream.Stream<Notification> | undefined
}

/** A wake-up announced by another process. */
export interface Notification {
  /**
   * `wake`: an execution became runnable; `interrupt`: one was asked to stop (and made runnable);
   * `done`: one completed; `queue`: an item was enqueued.
   */
  readonly kind: "wake" | "interrupt" | "done" | "queue"
  /** An execution id (wake, interrupt, done) or a queue name (queue). */
  readonly id: string
  /** The workflow of a woken execution, when known. */
  readonly workflow: string | undefined
}

/** The store service tag. */
export class WorkflowStore extends Context.Service<WorkflowStore, Service>()("@weft/workflow/WorkflowStore") {}

const completionOf = (input: TransitionInput): Completion => {
  if (input.completion === undefined) throw new Error("A completion's transition needs the completion")
  return input.completion
}
