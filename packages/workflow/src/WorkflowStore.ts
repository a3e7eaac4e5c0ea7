/**
 * The journal contract: what a store persists and how it claims work, and the rules it keeps inside each write
 * (statuses, `wakeSeq`, events), written once as data in `StoreRules` (`transitions`) that every store derives from. Stores
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
  /**
   * The idempotency key it was started with (its id derives from the workflow and this key). Absent on executions
   * stored before keys were kept, and on restarts.
   */
  readonly idempotencyKey?: string | undefined
  /** The version of its workflow it started on (`Workflow.make({ version })`), which it runs on to its end. Absent: 1. */
  readonly version?: number | undefined
}

/** An execution's version: the one it records, or 1 for a record without one. */
export const versionOf = (record: { readonly version?: number | undefined }): number => record.version ?? 1

/**
 * The versions of each workflow a worker runs, for its claims: an execution is claimed only if its version is
 * listed for its workflow (a workflow not in the map: none of its executions).
 */
export type Versions = ReadonlyMap<string, ReadonlyArray<number>>

/** Whether `versions` lets a worker claim `record` (no filter given: any). */
export const runsVersion = (versions: Versions | undefined, record: ExecutionRecord): boolean =>
  versions === undefined || (versions.get(record.workflow)?.includes(versionOf(record)) ?? false)

/** Live executions of one (workflow, version): what `versions` answers, for a rolling deploy's operator. */
export interface VersionInFlight {
  readonly workflow: string
  readonly version: number
  readonly running: number
  readonly suspended: number
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
  /** When the wait began (the run that stored it): a sleep's bar runs from here to `wakeAt`. Absent on older rows. */
  readonly setAt?: number | undefined
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
  "failed",
  "retried",
  "restarted",
  "taken-over"
] as const

/** Lifecycle events of the append-only log. */
export type EventKind = (typeof eventKinds)[number]

/** An activity attempt a run had in flight when its heartbeat last renewed the claim. */
export interface InFlight {
  readonly name: string
  readonly attempt: number
}

/** A claim a heartbeat renews, with the attempts its run has in flight (none given: unknown). */
export interface Renewal {
  readonly executionId: string
  readonly fence: number
  readonly inFlight?: ReadonlyArray<InFlight> | undefined
}

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
  /** Only the children this execution started and awaits (linked ones; a child started with `discard` is not linked). */
  readonly parent?: string | undefined
  /** Only executions whose idempotency key starts with this (compared by code point); never those stored without one. */
  readonly idempotencyKeyPrefix?: string | undefined
  /** Only executions that started on this version of their workflow (a record without one is version 1). */
  readonly version?: number | undefined
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
  /** The idempotency key the id derives from, kept with the execution (for `list`'s key-prefix filter). */
  readonly idempotencyKey?: string | undefined
  /** The version of its workflow it starts on. Default 1. */
  readonly version?: number | undefined
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
  /**
   * Timers stored with a new execution, in the same write (a deadline given at its start); none when it existed.
   * A claim's journal holds them like any other clock.
   */
  readonly clocks?: ReadonlyArray<ClockRecord> | undefined
}

/** What `purge` deletes: ended executions of `statuses` last changed before `before`, at most `limit` of them. */
export interface PurgeFilter {
  /** Epoch milliseconds: only executions whose `updatedAt` (their end) is earlier. */
  readonly before: number
  /** Only executions in one of these statuses; never a live one. */
  readonly statuses: ReadonlyArray<TerminalStatus>
  /** At most this many executions per call. */
  readonly limit: number
}

/** An execution `purge` deleted. */
export interface Purged {
  readonly executionId: string
  readonly status: TerminalStatus
}

/**
 * What `retry` writes: a failed execution (as last changed at `expectedUpdatedAt`) made running again, with
 * `markers` (one per activity given another round of attempts: the attempt after its last, `exit` the
 * `RETRIED` marker) and a `retried` event whose detail is `detail`.
 */
export interface RetryRequest {
  readonly at: number
  readonly expectedUpdatedAt: number
  readonly markers: ReadonlyArray<ActivityAttempt>
  readonly detail: string
}

/**
 * What `fork` writes: a new running execution (as `create` inserts it, never claimed) holding a copy of part of
 * another's journal, with a `started` event detailed `startedDetail`, and a `restarted` event on the source
 * detailed `sourceDetail`. Nothing is written when an execution with the new id exists.
 */
export interface ForkRequest {
  readonly execution: NewExecution
  readonly source: string
  readonly attempts: ReadonlyArray<ActivityAttempt>
  readonly deferreds: ReadonlyArray<DeferredRecord>
  readonly clocks: ReadonlyArray<ClockRecord>
  readonly startedDetail: string
  readonly sourceDetail: string
}

/** The encoded exit of a retry marker: the attempt an operator's retry put after an activity's failed one. */
export const RETRIED = { _tag: "Retried" } as const

/** Whether an attempt's encoded exit is the `RETRIED` marker. */
export const isRetriedMarker = (exit: EncodedExit): boolean =>
  typeof exit === "object" && exit !== null && (exit as { readonly _tag?: unknown })._tag === RETRIED._tag

/**
 * A message sent to a channel of an execution (`sendMessage`): stored as deferred `<prefix><index>`, its exit
 * the schema-encoded message, `completedAt` when it was sent.
 */
export interface ChannelMessage {
  /** The names of the channel's messages: `prefix` then the index (1, 2, 3, … in decimal). */
  readonly prefix: string
  readonly exit: EncodedExit
  readonly sentAt: number
}

/**
 * What `sendMessage` did: `Sent`, stored at `index` (its deferred is `<prefix><index>`); or `Refused`, nothing
 * written, as the execution has ended or an interrupt was requested.
 */
export type MessageSent =
  | { readonly _tag: "Sent"; readonly index: number; readonly record: DeferredRecord }
  | { readonly _tag: "Refused"; readonly status: ExecutionStatus; readonly interruptRequested: boolean }

/** How a terminal execution ended. */
export interface Completion {
  readonly status: TerminalStatus
  readonly result: EncodedExit
  readonly at: number
}

/**
 * A durable schedule, as stored (`WorkflowSchedule`): which workflow it starts with which encoded payload, its spec
 * (JSON the runtime writes and reads; a store keeps it as given), and where it stands. Times are epoch milliseconds.
 */
export interface ScheduleRecord {
  readonly scheduleId: string
  readonly workflow: string
  /** The schema-encoded payload every fire starts the workflow with. */
  readonly payload: unknown
  /** The runtime's spec (cron or interval or one time, time zone, overlap, catch-up, jitter), JSON-safe. */
  readonly spec: unknown
  readonly paused: boolean
  /** The next fire time (part of its execution's idempotency key); none once a one-time schedule fired. */
  readonly nextFireAt: number | undefined
  /** When that fire is due to start: `nextFireAt` plus the schedule's jitter. */
  readonly dueAt: number | undefined
  /** The last fire time that started (or was skipped), if any. */
  readonly lastFireAt: number | undefined
  /** The execution the last started fire made, for the overlap policy. */
  readonly lastExecutionId: string | undefined
  /** A fire time held back by the `buffer` overlap policy until the last execution ends. */
  readonly bufferedAt: number | undefined
  /** Bumped by every write: a write that expects a revision applies only while the row still has it. */
  readonly revision: number
  readonly createdAt: number
  readonly updatedAt: number
}

/** What a schedule write stores: the row without its revision and creation time (the store keeps those). */
export type ScheduleWrite = Omit<ScheduleRecord, "revision" | "createdAt">

/** What `ScheduleStore.due` read: the schedules with work now, and when the next of them falls due after now. */
export interface DueSchedules {
  readonly schedules: ReadonlyArray<ScheduleRecord>
  /** The earliest `dueAt` later than `now` among unpaused schedules of the workflows asked for; none when none. */
  readonly nextDueAt: Option.Option<number>
}

/**
 * A store's schedule rows: an optional part of the contract (`Service.schedules`). The store only persists and
 * compares revisions; which fire times run, and when, is the runtime's.
 */
export interface ScheduleStore {
  /**
   * Writes a schedule: with `expectedRevision` undefined, inserts it unless one with its id exists (revision 1,
   * `createdAt = updatedAt`); with a revision, replaces every field while the stored row has that revision
   * (compare-and-set: two workers advancing one fire never both succeed), bumping it. Returns the stored row, or
   * none when nothing was written.
   */
  readonly put: (schedule: ScheduleWrite, expectedRevision: number | undefined) => Eff<Option.Option<ScheduleRecord>>
  readonly get: (scheduleId: string) => Eff<Option.Option<ScheduleRecord>>
  /** Every schedule (of `workflows`, when given), by id. */
  readonly list: (workflows?: ReadonlyArray<string> | undefined) => Eff<ReadonlyArray<ScheduleRecord>>
  /** Deletes a schedule; false when there was none. */
  readonly remove: (scheduleId: string) => Eff<boolean>
  /** Pauses or resumes a schedule unconditionally (bumping its revision and `updatedAt`); none for an unknown id. */
  readonly setPaused: (scheduleId: string, paused: boolean, at: number) => Eff<Option.Option<ScheduleRecord>>
  /**
   * Unpaused schedules of `workflows` with work at `now`: `dueAt <= now`, or a buffered fire. Earliest `dueAt` first,
   * at most `limit`; and, in the same read, the earliest `dueAt` later than `now` among unpaused schedules of
   * `workflows` (when the next one falls due), so an idle pass of the engine's loop is one query.
   */
  readonly due: (now: number, workflows: ReadonlyArray<string>, limit: number) => Eff<DueSchedules>
  /** The earliest `dueAt` among unpaused schedules of `workflows`, if any. */
  readonly nextDueAt: (workflows: ReadonlyArray<string>) => Eff<Option.Option<number>>
}

// ---------------------------------------------------------------------------------------------------------
// The rules a store keeps, written once as data: what each write does to an execution's record, claim and log.
// Stores derive their conditions, target statuses and event kinds from them (the memory store through
// `applyTransition`, the SQL store through statement text generated from them once); the conformance suite
// checks a store's behaviour against them. docs/store-contract.md explains each row.

/** Store failures are `WorkflowError`s with reason `StoreUnavailable`, `StoreRejected` or `LeaseLost`. */
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
   * Announces an existing execution's end to other processes from now on (a process waits for it elsewhere), and
   * returns it as it stands; none for an unknown id. Never creates an execution. Optional: stores without
   * notifications need not mark anything (the engine then reads the record with `get`).
   */
  readonly watch?: ((executionId: string) => Eff<Option.Option<ExecutionRecord>>) | undefined
  /**
   * Deletes at most `filter.limit` ended executions of `filter.statuses` whose `updatedAt` is before
   * `filter.before`, each with everything of it (attempts, deferreds, clocks, events, and queue items whose id
   * starts with `<executionId>/`), atomically per execution; returns those it deleted. Never a live one. Calls
   * at the same moment never delete the same execution twice (PostgreSQL: one purger at a time; another call
   * meanwhile deletes nothing). Optional: without it the engine cannot purge.
   */
  readonly purge?: ((filter: PurgeFilter) => Eff<ReadonlyArray<Purged>>) | undefined
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
   * unexpired claim. Taking it from another owner whose lease lapsed (a takeover) logs `taken-over` in the same
   * write (`StoreRules.takeoverEvent`); any other claim logs nothing. With `versions`, also none when the
   * execution's (workflow, version) is not one of them (`runsVersion`): the claim takes nothing and logs nothing.
   */
  readonly claim: (executionId: string, owner: string, now: number, versions?: Versions) => Eff<Option.Option<Claim>>
  /**
   * Fires the due timers of `workflows` (as `runnable` does), then claims for `owner`, in one write, up to
   * `limit` running executions of `workflows` that nobody holds (no owner, or a lapsed lease; oldest update
   * first), each with its journal as `claim` returns it (a takeover logged as `claim` logs it). Rows another
   * claimer is taking at the same moment are skipped, never waited for: two workers claiming at once get disjoint sets.
   * With `versions`, only executions of a (workflow, version) it lists (`runsVersion`); others stay for other workers.
   */
  readonly claimRunnable: (
    owner: string,
    now: number,
    limit: number,
    workflows: ReadonlyArray<string>,
    versions?: Versions
  ) => Eff<ReadonlyArray<Claim>>
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
  /**
   * Stores a channel message as deferred `<prefix><index>`, `index` one more than the largest index stored under
   * `prefix` (1 if none), never a name already taken (a receive's timeout marker), and wakes the execution as an
   * applied `completeDeferred` does (`signal-received`, detail the deferred's name), atomically. Concurrent sends get
   * distinct indices. Refused (nothing written) when the execution has ended or an interrupt was requested; an
   * unknown execution fails with `ExecutionNotFound`. Optional: without it the engine has no channels.
   */
  readonly sendMessage?: ((executionId: string, message: ChannelMessage) => Eff<MessageSent>) | undefined
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
  /**
   * Puts a failed execution back to running (an operator's retry) in one atomic write: only while it is `failed`
   * and its `updatedAt` is `expectedUpdatedAt` (else false, nothing written); clears its result, wake time and
   * interrupt flag, bumps `wakeSeq`, stores the markers as attempts and logs `retried`. Optional: without it the
   * engine cannot retry.
   */
  readonly retry?: ((executionId: string, request: RetryRequest) => Eff<boolean>) | undefined
  /**
   * Inserts a new execution with a copy of part of another's journal (an operator's restart), atomically, and logs
   * `restarted` on the source; `created` false (nothing written) when the new id exists. Optional: without it the
   * engine cannot restart.
   */
  readonly fork?: ((request: ForkRequest) => Eff<{ readonly created: boolean; readonly record: ExecutionRecord }>) | undefined
  /** Puts a failed execution back to running with no result (the runtime asks only after a defect). False otherwise. */
  readonly reopen: (executionId: string, at: number) => Eff<boolean>
  /**
   * Appends to the event log while `fence` holds (the runtime logs `compensated` from inside a run); a stale
   * fence fails with `LeaseLost` and appends nothing.
   */
  readonly appendEvent: (executionId: string, fence: number, event: EventRecord) => Eff<void>
  /**
   * Extends `owner`'s live claims in one write (a worker's heartbeat), keeping with each the attempts its run has
   * in flight (what a takeover's `taken-over` event names). For each claim, in order: whether it still holds, and
   * whether an interrupt was requested meanwhile.
   */
  readonly renew: (
    owner: string,
    claims: ReadonlyArray<Renewal>,
    now: number
  ) => Eff<ReadonlyArray<{ readonly held: boolean; readonly interruptRequested: boolean }>>
  /**
   * Executions of `workflows` that should run now and nobody holds: running ones with no live
   * claim, and suspended ones whose timer is due (those are made running). With `versions`, only the running ones of
   * a (workflow, version) it lists are answered (as `claimRunnable` claims them); due timers fire whatever the version.
   */
  readonly runnable: (
    now: number,
    limit: number,
    workflows: ReadonlyArray<string>,
    versions?: Versions
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
  /**
   * Removes a handled item while `owner` holds its claim (its lease may have ended if nobody took it over).
   * False, and nothing removed, when another owner claimed it since or it is gone.
   */
  readonly ackQueueItem: (queue: string, itemId: string, owner: string) => Eff<boolean>
  readonly list: (filter: ListFilter) => Eff<Page>
  readonly detail: (executionId: string) => Eff<Option.Option<ExecutionDetail>>
  /** The key that signs deferred tokens: generated once and kept, so tokens outlive restarts. */
  readonly signingKey: (generate: () => Uint8Array) => Eff<Uint8Array>
  /**
   * Runs `effect` in one database transaction (transactional activities: the user's writes and the
   * step's result commit together). Absent where the store has no transactions.
   */
  readonly transaction?: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | WorkflowError, R>
  /**
   * How many executions of each of `workflows` could run at `now` and nobody runs: running with no owner or a lapsed
   * lease, or suspended on a timer due by `now`. One read; workflows with none may be left out. Optional: without it
   * the engine reports no backlog.
   */
  readonly backlog?:
    | ((now: number, workflows: ReadonlyArray<string>) => Eff<ReadonlyArray<{ readonly workflow: string; readonly runnable: number }>>)
    | undefined
  /**
   * How many live executions (running, suspended) each (workflow, version) has, of `workflows` when given; pairs with
   * none left out, ordered by workflow then version. One read. Optional: without it the engine lists no versions.
   */
  readonly versions?: ((workflows?: ReadonlyArray<string> | undefined) => Eff<ReadonlyArray<VersionInFlight>>) | undefined
  /** Wake-ups other processes announce (e.g. PostgreSQL NOTIFY). Absent where there are none: the engine polls. */
  readonly notifications?: Stream.Stream<Notification> | undefined
  /** Durable schedules' rows (`WorkflowSchedule`). Optional: without it the engine has no schedules. */
  readonly schedules?: ScheduleStore | undefined
}

/** A wake-up announced by another process. */
export interface Notification {
  /**
   * `wake`: an execution became runnable; `interrupt`: one was asked to stop (and made runnable);
   * `done`: one completed; `queue`: an item was enqueued; `schedule`: a schedule was written (inserted,
   * updated, paused, resumed or removed).
   */
  readonly kind: "wake" | "interrupt" | "done" | "queue" | "schedule"
  /** An execution id (wake, interrupt, done), a queue name (queue) or a schedule id (schedule). */
  readonly id: string
  /** The workflow of a woken execution or of a written schedule, when known. */
  readonly workflow: string | undefined
}

/** The store service tag. */
export class WorkflowStore extends Context.Service<WorkflowStore, Service>()("@weft/workflow/WorkflowStore") {}
