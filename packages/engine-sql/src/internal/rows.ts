/**
 * The rows the store reads, as Schemas, and the records they become. Each decoder is built once, at load;
 * a row that does not decode fails with a `WorkflowError` naming the row and the column at fault.
 */
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { WorkflowError, WorkflowStore } from "@weft/workflow"
import * as Column from "./columns.js"

type ActivityAttempt = WorkflowStore.ActivityAttempt
type DeferredRecord = WorkflowStore.DeferredRecord
type ExecutionRecord = WorkflowStore.ExecutionRecord

/** A decoded row, or the error that names what in it no longer decodes. */
export type Decoded<A> = Exit.Exit<A, WorkflowError.WorkflowError>

// Rows

/** A row of `weft_executions`: every read of one names these columns (or `*`). */
const ExecutionRow = Schema.Struct({
  execution_id: Schema.String,
  workflow: Schema.String,
  payload: Column.Payload,
  status: Column.Status,
  result: Column.Result,
  parent_execution_id: Schema.NullishOr(Schema.String),
  idempotency_key: Schema.optional(Schema.NullishOr(Schema.String)),
  version: Schema.optional(Column.Int),
  parent_deferred: Schema.NullishOr(Schema.String),
  created_at: Column.Int,
  updated_at: Column.Int,
  wake_seq: Column.Int,
  interrupt_requested: Column.Flag,
  wake_at: Column.OptionalInt,
  fence: Column.Int
})

/** An execution row and its journal, as the three JSON arrays of `Database.journalColumns`. */
const JournalRow = Schema.Struct({
  ...ExecutionRow.fields,
  attempts: Column.JsonOf(
    Schema.Array(Schema.Tuple([Schema.String, Column.Int, Column.StoredExit, Column.Int, Column.Int]))
  ),
  deferreds: Column.JsonOf(Schema.Array(Schema.Tuple([Schema.String, Column.StoredExit, Column.Int]))),
  // A clock's set time: null on rows older than the column.
  clocks: Column.JsonOf(Schema.Array(Schema.Tuple([Schema.String, Column.Int, Column.OptionalInt])))
})

const Attempt = {
  name: Schema.String,
  attempt: Column.Int,
  exit: Column.StoredExit,
  started_at: Column.Int,
  completed_at: Column.Int
}
const Deferred = { name: Schema.String, exit: Column.StoredExit, completed_at: Column.Int }

/** Read back after a fenced write found its row written: `held`, whether the claim still holds. */
const HeldAttemptRow = Schema.Struct({ ...Attempt, held: Column.AtLeastOne })
const HeldDeferredRow = Schema.Struct({ ...Deferred, held: Column.AtLeastOne })
const HeldClockRow = Schema.Struct({ wake_at: Column.Int, set_at: Column.OptionalInt, held: Column.AtLeastOne })
const DeferredRow = Schema.Struct(Deferred)

/** What `recordAttempts` reports: how many rows it wrote and, when that falls short, their keys. */
const WrittenRow = Schema.Struct({
  written: Column.Int,
  keys: Schema.NullishOr(Column.JsonOf(Schema.Array(Schema.Tuple([Schema.String, Schema.String, Column.Int]))))
})

const QueueItemRow = Schema.Struct({
  queue: Schema.String,
  item_id: Schema.String,
  payload: Column.Payload,
  token: Schema.String,
  enqueued_at: Column.Int
})

/** An event's kind is any text: shown, never acted on, so a log written by a newer build still reads. */
const EventRow = Schema.Struct({ kind: Schema.String, at: Column.Int, detail: Schema.NullishOr(Schema.String) })

// Decoders

/** How a decoder's failures name the row and the column at fault. */
interface Naming {
  /** The row: "execution e1". */
  readonly row: (row: unknown) => string
  /** A column not named "column c of <the row>": "the payload of execution e1". */
  readonly column?: (row: unknown, column: string) => string | undefined
  /** A failure other than `InvalidResult` for a column. */
  readonly fail?: (column: string, message: string) => WorkflowError.WorkflowError | undefined
}

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * A decoder of rows of `schema` into what `f` makes of them, built once. A row that does not decode fails
 * with `InvalidResult`, named by `naming`.
 */
const decoder = <S extends Schema.ConstraintDecoder<unknown>, A = S["Type"]>(
  schema: S,
  naming: Naming,
  f: (row: S["Type"]) => A = (row) => row as A
) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (row: unknown): Decoded<A> => {
    const decoded = decode(row)
    if (Result.isSuccess(decoded)) return Exit.succeed(f(decoded.success))
    const [first] = formatIssue(decoded.failure.issue).issues
    const name = String(first?.path?.[0] ?? "")
    const message = first?.message ?? "is invalid"
    const where = naming.column?.(row, name) ?? (name === "" ? naming.row(row) : `column ${name} of ${naming.row(row)}`)
    const what = message === Column.NOT_JSON ? message : `is invalid: ${message}`
    return Exit.fail(
      naming.fail?.(name, message) ??
        new WorkflowError.WorkflowError({
          reason: "InvalidResult",
          message: `A stored row no longer decodes: ${where} ${what}`
        })
    )
  }
}

const field = (row: unknown, name: string): string =>
  String(typeof row === "object" && row !== null ? (row as Record<string, unknown>)[name] : undefined)

const named = (what: string): Naming => ({ row: () => what })

const ofExecution: Naming = {
  row: (row) => `execution ${field(row, "execution_id")}`,
  column: (row, name) =>
    name === "payload" || name === "result" ? `the ${name} of execution ${field(row, "execution_id")}` : undefined
}

/** The journal's lists are the database's own answer: one that does not read is `StoreUnavailable`. */
const ofJournal: Naming = {
  ...ofExecution,
  fail: (name, message) =>
    name === "attempts" || name === "deferreds" || name === "clocks"
      ? new WorkflowError.WorkflowError({
          reason: "StoreUnavailable",
          message: `The database did not answer: ${message}`
        })
      : undefined
}

const map = <A, B>(decoded: Decoded<A>, f: (a: A) => B): Decoded<B> =>
  Exit.isSuccess(decoded) ? Exit.succeed(f(decoded.value)) : (decoded as unknown as Decoded<B>)

/** Decodes every row with `decode`; the first that does not decode fails them all. */
export const all = <A>(rows: ReadonlyArray<unknown>, decode: (row: unknown) => Decoded<A>): Decoded<Array<A>> => {
  const out: Array<A> = []
  for (const row of rows) {
    const decoded = decode(row)
    if (Exit.isFailure(decoded)) return decoded as unknown as Decoded<Array<A>>
    out.push(decoded.value)
  }
  return Exit.succeed(out)
}

// Records

const executionRecord = (row: typeof ExecutionRow.Type): ExecutionRecord => ({
  executionId: row.execution_id,
  workflow: row.workflow,
  payload: row.payload,
  status: row.status,
  result: row.result,
  parent:
    row.parent_execution_id === null || row.parent_execution_id === undefined
      ? undefined
      : { executionId: row.parent_execution_id, deferred: row.parent_deferred as string },
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  wakeSeq: row.wake_seq,
  interruptRequested: row.interrupt_requested,
  wakeAt: row.wake_at,
  ...(row.idempotency_key === null || row.idempotency_key === undefined ? {} : { idempotencyKey: row.idempotency_key }),
  version: row.version ?? 1
})

const attemptRecord = (
  executionId: string,
  name: string,
  attempt: number,
  exit: unknown,
  startedAt: number,
  completedAt: number
): ActivityAttempt => ({
  name,
  attempt,
  exit: Column.exitOf(exit, () => `the result of activity "${name}" (attempt ${attempt}) of execution ${executionId}`),
  startedAt,
  completedAt
})

const deferredRecord = (executionId: string, name: string, exit: unknown, completedAt: number): DeferredRecord => ({
  name,
  exit: Column.exitOf(exit, () => `deferred "${name}" of execution ${executionId}`),
  completedAt
})

/** A clock: `setAt` only where the row has one (rows older than the column have none). */
const clockRecord = (name: string, wakeAt: number, setAt: number | undefined): WorkflowStore.ClockRecord =>
  setAt === undefined ? { name, wakeAt } : { name, wakeAt, setAt }

/** An execution row as its record. */
export const execution = decoder(ExecutionRow, ofExecution, executionRecord)

/** An execution row as its record and the fence it holds (a create that claimed it). */
export const created = decoder(ExecutionRow, ofExecution, (r) => ({ record: executionRecord(r), fence: r.fence }))

/** An execution row with its journal columns: the journal, and the fence of the claim that read it. */
export const journal = decoder(JournalRow, ofJournal, (r) => ({
  fence: r.fence,
  journal: {
    execution: executionRecord(r),
    attempts: r.attempts.map(([name, attempt, exit, startedAt, completedAt]) =>
      attemptRecord(r.execution_id, name, attempt, exit, startedAt, completedAt)
    ),
    deferreds: r.deferreds.map(([name, exit, completedAt]) => deferredRecord(r.execution_id, name, exit, completedAt)),
    clocks: r.clocks.map(([name, wakeAt, setAt]) => clockRecord(name, wakeAt, setAt))
  } satisfies WorkflowStore.Journal
}))

const decodeHeldAttempt = decoder(HeldAttemptRow, named("a stored attempt"))

/** A stored attempt, read back after a write that found it: undefined unless the claim still holds. */
export const heldAttempt = (executionId: string, row: unknown): Decoded<ActivityAttempt | undefined> =>
  map(decodeHeldAttempt(row), (r) =>
    r.held ? attemptRecord(executionId, r.name, r.attempt, r.exit, r.started_at, r.completed_at) : undefined
  )

const decodeDeferred = decoder(DeferredRow, named("a stored deferred"))

/** A stored deferred. */
export const deferred = (executionId: string, row: unknown): Decoded<DeferredRecord> =>
  map(decodeDeferred(row), (r) => deferredRecord(executionId, r.name, r.exit, r.completed_at))

const decodeHeldDeferred = decoder(HeldDeferredRow, named("a stored deferred"))

/** A stored deferred, read back after a write that found it: undefined unless the claim still holds. */
export const heldDeferred = (executionId: string, row: unknown): Decoded<DeferredRecord | undefined> =>
  map(decodeHeldDeferred(row), (r) =>
    r.held ? deferredRecord(executionId, r.name, r.exit, r.completed_at) : undefined
  )

const decodeHeldClock = decoder(HeldClockRow, named("a stored clock"))

/** A stored clock named `name`, read back after a write that found it: undefined unless the claim still holds. */
export const heldClock = (name: string, row: unknown): Decoded<WorkflowStore.ClockRecord | undefined> =>
  map(decodeHeldClock(row), (r) => (r.held ? clockRecord(name, r.wake_at, r.set_at) : undefined))

/** What a batch of attempts wrote: how many rows, and their keys when that falls short. */
export const written = decoder(WrittenRow, named("a batch of attempts"), (r) => ({
  written: r.written,
  keys: r.keys ?? []
}))

/** The id of an execution a statement changed. */
export const executionId = decoder(
  Schema.Struct({ execution_id: Schema.String }),
  named("a changed execution"),
  (r) => r.execution_id
)

/** A claim a heartbeat renewed: its fence, and whether its execution was asked to stop. */
export const renewed = decoder(
  Schema.Struct({ execution_id: Schema.String, fence: Column.Int, interrupt_requested: Column.Flag }),
  named("a renewed claim")
)

/** An execution that should run now. */
export const runnable = decoder(
  Schema.Struct({ execution_id: Schema.String, workflow: Schema.String }),
  named("a runnable execution"),
  (r) => ({ executionId: r.execution_id, workflow: r.workflow })
)

/** The earliest wake time of the suspended executions, if any. */
export const nextWake = decoder(Schema.Struct({ next: Column.OptionalInt }), named("the next wake time"), (r) => r.next)

/** What `completeDeferred` found (the execution) and applied (the result) on PostgreSQL. */
export const signal = decoder(Schema.Struct({ found: Column.Int, applied: Column.Int }), named("a signal"))

/** Whether an execution was asked to stop. */
export const interruptRequested = decoder(
  Schema.Struct({ interrupt_requested: Column.Flag }),
  named("an execution"),
  (r) => r.interrupt_requested
)

/** A queue item a worker claimed. */
export const queueItem = decoder(
  QueueItemRow,
  {
    row: (row) => `queue item ${field(row, "item_id")}`,
    column: (row, name) => (name === "payload" ? `queue item ${field(row, "item_id")}` : undefined)
  },
  (r): WorkflowStore.QueueItem => ({
    queue: r.queue,
    itemId: r.item_id,
    payload: r.payload,
    token: r.token,
    enqueuedAt: r.enqueued_at
  })
)

/** An entry of the event log. */
export const event = decoder(
  EventRow,
  named("an event"),
  (r): WorkflowStore.EventRecord => ({
    kind: r.kind as WorkflowStore.EventKind,
    at: r.at,
    detail: r.detail ?? undefined
  })
)

/** One (workflow, version)'s live executions, of `versions`. */
export const versionInFlight = decoder(
  Schema.Struct({ workflow: Schema.String, version: Column.Int, running: Column.Int, suspended: Column.Int }),
  named("a version count"),
  (r) => ({ workflow: r.workflow, version: r.version, running: r.running, suspended: r.suspended })
)

/** One workflow's count of `backlog`. */
export const backlog = decoder(
  Schema.Struct({ workflow: Schema.String, runnable: Column.Int }),
  named("a backlog count"),
  (r) => ({ workflow: r.workflow, runnable: r.runnable })
)

/** A value of `weft_meta`. */
export const meta = decoder(Schema.Struct({ value: Schema.String }), named("a setting of the store"), (r) => r.value)

/** An execution `purge` deleted: its id and the status it had ended in. */
export const purged = decoder(
  Schema.Struct({ execution_id: Schema.String, status: Schema.Literals(WorkflowStore.terminalStatuses) }),
  named("a purged execution"),
  (r): WorkflowStore.Purged => ({ executionId: r.execution_id, status: r.status })
)
