/**
 * The `WorkflowStore` over any Effect SQL client (`effect/sql/SqlClient`): SQLite for one process, PostgreSQL
 * for many. Every fenced write is one statement whose WHERE checks the claim; a claim loads the journal in one read.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as SqlClient from "effect/sql/SqlClient"
import * as SqlError from "effect/sql/SqlError"
import type * as Statement from "effect/sql/Statement"
import * as Stream from "effect/Stream"
import { WorkflowError, WorkflowStore } from "@weft/workflow"
import * as GroupCommit from "./internal/groupCommit.js"
import * as Migrations from "./internal/migrations.js"
import * as Pg from "./internal/pgStatements.js"
import * as PgDriver from "./PgDriver.js"

type Service = WorkflowStore.Service
type ExecutionRecord = WorkflowStore.ExecutionRecord
type ActivityAttempt = WorkflowStore.ActivityAttempt
type DeferredRecord = WorkflowStore.DeferredRecord

/** Options of the SQL store. */
export interface Options {
  /** How long a claim holds without renewal, in milliseconds. Default 5,000. */
  readonly leaseMs?: number | undefined
  /** How to retry reaching the database and migrating at start. Default: 5 tries, exponential from 200 ms. */
  readonly connectRetry?: Schedule.Schedule<unknown, unknown> | undefined
}

type Notification = WorkflowStore.Notification

const CHANNEL = "weft"
const TERMINAL = ["succeeded", "failed", "interrupted"] as const

const unavailable = (error: SqlError.SqlError | unknown) =>
  new WorkflowError.WorkflowError({
    reason: "StoreUnavailable",
    message: `The database did not answer: ${error instanceof Error ? error.message : String(error)}`
  })

const leaseLost = (executionId: string) =>
  new WorkflowError.WorkflowError({
    reason: "LeaseLost",
    executionId,
    message: `The claim on execution ${executionId} was lost to another worker`
  })

const eventOf = (completion: WorkflowStore.Completion): WorkflowStore.EventKind =>
  completion.status === "succeeded" ? "completed" : completion.status

interface FencedAttempt {
  readonly executionId: string
  readonly fence: number
  readonly attempt: ActivityAttempt
}

interface FencedCompletion {
  readonly executionId: string
  readonly fence: number
  readonly completion: WorkflowStore.Completion
}

/**
 * A write with its statement parameters, computed by its caller: a value that cannot be serialized fails
 * that caller alone, not the batch it would have joined.
 */
type WithParams<A> = A & { readonly params: ReadonlyArray<unknown> }

const withParams = <A>(item: A, params: (item: A) => ReadonlyArray<unknown>): WithParams<A> => ({ ...item, params: params(item) })

/** The parameters of `recordAttempt` (and, as columns, of `recordAttempts`). */
const attemptParams = ({ attempt, executionId, fence }: FencedAttempt) => [
  executionId,
  attempt.name,
  attempt.attempt,
  JSON.stringify(attempt.exit),
  attempt.startedAt,
  attempt.completedAt,
  fence
]

/** The parameters of `complete` (and, as columns, of `completeMany`). */
const completeParams = ({ completion, executionId, fence }: FencedCompletion) => [
  executionId,
  fence,
  completion.status,
  JSON.stringify(completion.result),
  completion.at,
  eventOf(completion)
]

/** Ids per `ended` statement: well under SQLite's limit on bound parameters. */
const ENDED_CHUNK = 500

/** A payload as JSON text; undefined (a `Schema.Void` payload), which JSON cannot hold, as the empty text no JSON is. */
const payloadText = (payload: unknown): string => JSON.stringify(payload) ?? ""

const parsePayload = (value: unknown, where: () => string): unknown => (value === "" ? undefined : parse(value, where))

const num = (value: unknown): number => (typeof value === "number" ? value : Number(value))
const optNum = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value))

const parse = (value: unknown, where: () => string): unknown => {
  if (typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    throw new WorkflowError.WorkflowError({
      reason: "InvalidResult",
      message: `A stored row no longer decodes: ${where()} is not valid JSON`
    })
  }
}

/**
 * A stored Exit that is not JSON any more stays readable as a marker the runtime's schema cannot
 * decode: the execution then fails with a `NonDeterminismError` naming the step, instead of every
 * claim of it failing (and being retried) forever.
 */
const parseExit = (value: unknown, where: () => string): unknown => {
  if (typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    return { _tag: "Undecodable", message: `${where()} is not valid JSON`, text: value }
  }
}

const toExecution = (row: any): ExecutionRecord => ({
  executionId: row.execution_id,
  workflow: row.workflow,
  payload: parsePayload(row.payload, () => `the payload of execution ${row.execution_id}`),
  status: row.status,
  result: row.result === null || row.result === undefined ? undefined : parse(row.result, () => `the result of execution ${row.execution_id}`),
  parent:
    row.parent_execution_id === null || row.parent_execution_id === undefined
      ? undefined
      : { executionId: row.parent_execution_id, deferred: row.parent_deferred },
  createdAt: num(row.created_at),
  updatedAt: num(row.updated_at),
  wakeSeq: num(row.wake_seq),
  interruptRequested: num(row.interrupt_requested) === 1,
  wakeAt: optNum(row.wake_at)
})

const toAttempt = (executionId: string, row: any): ActivityAttempt => ({
  name: row.name,
  attempt: num(row.attempt),
  exit: parseExit(row.exit, () => `the result of activity "${row.name}" (attempt ${row.attempt}) of execution ${executionId}`),
  startedAt: num(row.started_at),
  completedAt: num(row.completed_at)
})

const toDeferred = (executionId: string, row: any): DeferredRecord => ({
  name: row.name,
  exit: parseExit(row.exit, () => `deferred "${row.name}" of execution ${executionId}`),
  completedAt: num(row.completed_at)
})

/** Builds the store on the `SqlClient` in context, migrating its schema first. */
export const make = (
  options: Options = {}
): Effect.Effect<Service, WorkflowError.WorkflowError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const leaseMs = options.leaseMs ?? 5_000
    const isPg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    const driver = isPg ? yield* Effect.serviceOption(PgDriver.PgDriver) : Option.none()

    yield* Migrations.run.pipe(
      Effect.retry(options.connectRetry ?? Schedule.max([Schedule.exponential("200 millis"), Schedule.recurs(5)])),
      Effect.mapError(unavailable)
    )

    /** Runs a statement, turning driver errors into `StoreUnavailable` (row-decoding errors: see `guarded`). */
    const q = <A>(effect: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, WorkflowError.WorkflowError> =>
      Effect.mapError(effect, unavailable)

    /** Whether this fiber is outside a transaction (a transactional activity's writes must use its connection). */
    const outsideTransaction: Effect.Effect<boolean> = Effect.map(Effect.serviceOption(sql.transactionService), Option.isNone)

    /**
     * Runs a statement; its rows. On PostgreSQL outside a transaction it runs unprepared on the engine's pool,
     * so a connection that goes silent fails it after `queryTimeoutMs` as it does the hot statements.
     */
    const rows = (statement: Statement.Statement<any>): Effect.Effect<ReadonlyArray<any>, WorkflowError.WorkflowError> =>
      Option.isNone(driver)
        ? q(statement)
        : Effect.flatMap(outsideTransaction, (outside) => {
            if (!outside) return q(statement)
            const [text, values] = statement.compile()
            return q(driver.value.queryText(text, values))
          })

    /** A hot-path PostgreSQL statement outside a transaction: prepared on the driver's pool, else plain text. */
    const pgOutside = (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>) =>
      Option.isNone(driver) ? rows(sql.unsafe(statement.text, values as Array<any>)) : q(driver.value.query(statement, values))

    /** A hot-path PostgreSQL statement; inside a transaction, as plain text on the transaction's connection. */
    const pg = (statement: PgDriver.Prepared, values: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<any>, WorkflowError.WorkflowError> =>
      Option.isNone(driver)
        ? pgOutside(statement, values)
        : Effect.flatMap(outsideTransaction, (outside) =>
            outside ? pgOutside(statement, values) : q(sql.unsafe(statement.text, values as Array<any>))
          )

    /** Runs `effect` in one transaction; a failed BEGIN or COMMIT is `StoreUnavailable`. */
    const inTransaction = <A>(effect: Effect.Effect<A, WorkflowError.WorkflowError>) =>
      Effect.mapError(sql.withTransaction(effect), (e) => (e instanceof WorkflowError.WorkflowError ? e : unavailable(e)))

    /** The fencing condition every write of a claimed execution carries, in the same statement. */
    const fenceHolds = (executionId: string, fence: number) =>
      sql`EXISTS (SELECT 1 FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL)`

    const notify = (kind: Notification["kind"], id: string, workflow?: string) =>
      isPg ? rows(sql`SELECT pg_notify(${CHANNEL}, ${`${kind}:${id}:${workflow ?? ""}`})`) : Effect.void

    const event = (executionId: string, kind: WorkflowStore.EventKind, at: number, detail?: string) =>
      rows(sql`INSERT INTO weft_events (execution_id, kind, at, detail) VALUES (${executionId}, ${kind}, ${at}, ${detail ?? null})`)

    /**
     * 1 while `fence` still holds the execution, else 0: a fenced write that found its row already
     * written returns that row only to the live claim, so a superseded worker stops there too.
     */
    const held = (executionId: string, fence: number) =>
      sql`(SELECT count(*) FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL)`

    /** Whether `fence` still holds the execution (used only to explain a write that changed nothing). */
    const holds = (executionId: string, fence: number) =>
      Effect.map(
        isPg
          ? pg(Pg.holds, [executionId, fence])
          : rows(sql`SELECT 1 AS ok FROM weft_executions WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL`),
        (r) => r.length > 0
      )

    const journalColumns = isPg
      ? sql.literal(Pg.journalColumns)
      : sql.literal(`
          (SELECT json_group_array(json_array(a.name, a.attempt, a.exit, a.started_at, a.completed_at))
             FROM (SELECT * FROM weft_attempts WHERE execution_id = c.execution_id ORDER BY rowid) a) AS attempts,
          (SELECT json_group_array(json_array(d.name, d.exit, d.completed_at))
             FROM weft_deferreds d WHERE d.execution_id = c.execution_id) AS deferreds,
          (SELECT json_group_array(json_array(k.name, k.wake_at))
             FROM weft_clocks k WHERE k.execution_id = c.execution_id) AS clocks`)

    const toJournal = (row: any): WorkflowStore.Journal => {
      const id = row.execution_id as string
      const list = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value) as Array<Array<any>>
      return {
        execution: toExecution(row),
        attempts: list(row.attempts).map(([name, attempt, exit, started_at, completed_at]) =>
          toAttempt(id, { name, attempt, exit, started_at, completed_at })
        ),
        deferreds: list(row.deferreds).map(([name, exit, completed_at]) => toDeferred(id, { name, exit, completed_at })),
        clocks: list(row.clocks).map(([name, wake_at]) => ({ name, wakeAt: num(wake_at) }))
      }
    }

    const terminal = sql.in(TERMINAL as unknown as Array<string>)

    /** One attempt, one statement: the fence check lives in the INSERT's WHERE. */
    const recordAttemptAlone = (executionId: string, fence: number, attempt: ActivityAttempt, params?: ReadonlyArray<unknown>) =>
      Effect.flatMap(
        isPg
          ? pg(Pg.recordAttempt, params ?? attemptParams({ executionId, fence, attempt }))
          : rows(sql`INSERT INTO weft_attempts (execution_id, name, attempt, exit, started_at, completed_at)
              SELECT ${executionId}, ${attempt.name}, ${attempt.attempt}, ${JSON.stringify(attempt.exit)}, ${attempt.startedAt}, ${attempt.completedAt}
              WHERE ${fenceHolds(executionId, fence)}
              ON CONFLICT DO NOTHING RETURNING attempt`),
        (inserted) => (inserted.length > 0 ? Effect.succeed(attempt) : existingAttempt(executionId, fence, attempt))
      )

    /** After an INSERT that wrote nothing: the stored attempt if the claim still holds, else LeaseLost. */
    const existingAttempt = (executionId: string, fence: number, attempt: ActivityAttempt) =>
      Effect.gen(function* () {
        const existing = isPg
          ? yield* pg(Pg.existingAttempt, [executionId, attempt.name, attempt.attempt, fence])
          : yield* rows(sql`SELECT a.*, ${held(executionId, fence)} AS held FROM weft_attempts a
              WHERE execution_id = ${executionId} AND name = ${attempt.name} AND attempt = ${attempt.attempt}`)
        if (existing.length > 0 && num(existing[0].held) > 0) return toAttempt(executionId, existing[0])
        return yield* Effect.fail(leaseLost(executionId))
      })

    // Group commit on PostgreSQL: attempts, new claimed executions and completions that arrive while one
    // of their kind is in flight leave together, as one statement (each row fenced on its own).
    const context = yield* Effect.context<never>()
    const attemptKey = (executionId: string, name: string, attempt: number) => `${executionId}\u0000${name}\u0000${attempt}`
    const batchAttempt = GroupCommit.make(context, {
      alone: (p: WithParams<FencedAttempt>) => recordAttemptAlone(p.executionId, p.fence, p.attempt, p.params),
      together: (batch) =>
        Effect.map(pgOutside(Pg.recordAttempts, Pg.joined(Pg.columns(batch, (p) => p.params), 3)), (rows) => {
          if (num(rows[0]?.written) === batch.length) return batch.map((p) => Exit.succeed(p.attempt))
          // Some were not written (a conflict, a lost claim): those are read back.
          const written = rows[0]?.keys ?? []
          const keys = new Set(
            ((typeof written === "string" ? JSON.parse(written) : written) as Array<[string, string, number]>).map(
              ([id, name, n]) => attemptKey(id, name, n)
            )
          )
          return batch.map((p) =>
            keys.has(attemptKey(p.executionId, p.attempt.name, p.attempt.attempt))
              ? Exit.succeed(p.attempt)
              : existingAttempt(p.executionId, p.fence, p.attempt)
          )
        })
    })
    /** The parameters of `create`; the first eight are those of `createClaimed`. */
    const createParams = (execution: WorkflowStore.NewExecution) => {
      const claimed = execution.claimFor !== undefined
      return [
        execution.executionId,
        execution.workflow,
        payloadText(execution.payload),
        execution.parent?.executionId ?? null,
        execution.parent?.deferred ?? null,
        execution.at,
        execution.claimFor ?? null,
        claimed ? execution.at + leaseMs : 0,
        execution.awaited === true && !claimed ? 1 : 0,
        execution.announce === false ? "" : `wake:${execution.executionId}:${execution.workflow}`
      ]
    }

    const createAlone = (execution: WorkflowStore.NewExecution, params?: ReadonlyArray<unknown>) =>
      Effect.gen(function* () {
        const claimed = execution.claimFor !== undefined
        const inserted = yield* pg(Pg.create, params ?? createParams(execution))
        if (inserted.length > 0) {
          return { created: true, record: toExecution(inserted[0]), fence: claimed ? num(inserted[0].fence) : undefined }
        }
        return yield* joinExisting(execution)
      })

    /** An execution that exists already: a waiter marks it watched (unless it is over), then reads it. */
    const joinExisting = (execution: WorkflowStore.NewExecution) =>
      Effect.gen(function* () {
        const watched = execution.awaited === true ? yield* pg(Pg.watch, [execution.executionId]) : []
        const existing = watched.length > 0 ? watched : yield* pg(Pg.get, [execution.executionId])
        return { created: false, record: toExecution(existing[0]) }
      })

    const batchCreate = GroupCommit.make(context, {
      alone: (e: WithParams<WorkflowStore.NewExecution>) => createAlone(e, e.params),
      together: (batch) =>
        Effect.map(
          pgOutside(Pg.createClaimed, Pg.joined(Pg.columns(batch, (e) => e.params.slice(0, 8)), 2)),
          (inserted) => {
            const byId = new Map(inserted.map((row) => [row.execution_id as string, row]))
            return batch.map((e) => {
              const row = byId.get(e.executionId)
              if (row === undefined) return joinExisting(e)
              // The same id twice in one batch: the first caller created it, the second joins.
              byId.delete(e.executionId)
              return Exit.succeed({ created: true, record: toExecution(row), fence: num(row.fence) })
            })
          }
        )
    })

    const completeAlone = (p: FencedCompletion, params: ReadonlyArray<unknown> = completeParams(p)) =>
      Effect.flatMap(
        pg(Pg.complete, params),
        (updated) => (updated.length === 0 ? Effect.fail(leaseLost(p.executionId)) : Effect.void)
      )

    const batchComplete = GroupCommit.make(context, {
      alone: (p: WithParams<FencedCompletion>) => completeAlone(p, p.params),
      together: (batch) =>
        Effect.map(
          pgOutside(Pg.completeMany, Pg.joined(Pg.columns(batch, (p) => p.params), 3)),
          (updated) => {
            const done = new Set(updated.map((row) => row.execution_id as string))
            return batch.map((p) => (done.has(p.executionId) ? Exit.void : Exit.fail(leaseLost(p.executionId))))
          }
        )
    })

    /**
     * Makes an execution runnable, logs it and announces it: on PostgreSQL the prepared `statement` ($1 id,
     * $2 at, $3 detail), else `update` and the event in one transaction. False if nothing changed.
     */
    const wakeWith = (
      executionId: string,
      statement: PgDriver.Prepared,
      update: Statement.Statement<unknown>,
      kind: WorkflowStore.EventKind,
      at: number,
      detail?: string
    ) =>
      isPg
        ? Effect.map(pg(statement, [executionId, at, detail ?? null]), (woken) => woken.length > 0)
        : inTransaction(
            Effect.gen(function* () {
              const woken = yield* rows(update)
              if (woken.length === 0) return false
              yield* event(executionId, kind, at, detail)
              return true
            })
          )

    const noExecution = (executionId: string, name: string) =>
      new WorkflowError.WorkflowError({
        reason: "ExecutionNotFound",
        executionId,
        message: `No execution ${executionId} to complete deferred "${name}" of`
      })

    /** `completeDeferred` on SQLite: one transaction (a lone writer, so no statement needs to wait on another). */
    const completeDeferredSqlite = (executionId: string, deferred: DeferredRecord) =>
      Effect.gen(function* () {
        const execution = yield* rows(
          sql`SELECT interrupt_requested FROM weft_executions WHERE execution_id = ${executionId}`
        )
        if (execution.length === 0) return yield* Effect.fail(noExecution(executionId, deferred.name))
        // An interrupt wins over a signal that lands after it was requested.
        const inserted = num(execution[0].interrupt_requested) === 1
          ? []
          : yield* rows(sql`INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
          VALUES (${executionId}, ${deferred.name}, ${JSON.stringify(deferred.exit)}, ${deferred.completedAt})
          ON CONFLICT DO NOTHING RETURNING name`)
        yield* event(executionId, inserted.length === 0 ? "signal-ignored" : "signal-received", deferred.completedAt, deferred.name)
        if (inserted.length === 0) {
          const existing = yield* rows(sql`SELECT * FROM weft_deferreds WHERE execution_id = ${executionId} AND name = ${deferred.name}`)
          return { applied: false, record: existing.length === 0 ? deferred : toDeferred(executionId, existing[0]) }
        }
        yield* rows(sql`UPDATE weft_executions
          SET status = 'running', wake_seq = wake_seq + 1, wake_at = NULL, updated_at = ${deferred.completedAt}
          WHERE execution_id = ${executionId} AND status NOT IN ${terminal}`)
        return { applied: true, record: deferred }
      }).pipe(inTransaction)

    const store: Service = {
      create: (execution) =>
        Effect.gen(function* () {
          const claimed = execution.claimFor !== undefined
          if (isPg) {
            // A new execution its creator runs (no announcement, nobody else to wait) can share a statement.
            return claimed && execution.announce === false && (yield* outsideTransaction)
              ? yield* batchCreate(withParams(execution, createParams))
              : yield* createAlone(execution)
          }
          const insert = sql`INSERT INTO weft_executions
              (execution_id, workflow, payload, status, parent_execution_id, parent_deferred, created_at, updated_at,
               owner, fence, lease_until, watched)
            VALUES (${execution.executionId}, ${execution.workflow}, ${payloadText(execution.payload)}, 'running',
              ${execution.parent?.executionId ?? null}, ${execution.parent?.deferred ?? null}, ${execution.at}, ${execution.at},
              ${execution.claimFor ?? null}, ${claimed ? 1 : 0}, ${claimed ? execution.at + leaseMs : 0},
              ${execution.awaited === true && !claimed ? 1 : 0})
            ON CONFLICT (execution_id) DO NOTHING RETURNING *`
          const inserted = yield* inTransaction(
            Effect.tap(rows(insert), (r) => (r.length > 0 ? event(execution.executionId, "started", execution.at) : Effect.void))
          )
          if (inserted.length > 0) {
            return { created: true, record: toExecution(inserted[0]), fence: claimed ? num(inserted[0].fence) : undefined }
          }
          const existing = yield* rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${execution.executionId}`)
          return { created: false, record: toExecution(existing[0]) }
        }),

      get: (executionId) =>
        Effect.map(isPg ? pg(Pg.get, [executionId]) : rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${executionId}`), (r) =>
          r.length === 0 ? Option.none() : Option.some(toExecution(r[0]))
        ),

      ended: (executionIds) =>
        Effect.map(
          Effect.forEach(Arr.chunksOf(executionIds, ENDED_CHUNK), (ids) =>
            isPg
              ? pg(Pg.ended, [ids])
              : rows(sql`SELECT * FROM weft_executions WHERE execution_id IN ${sql.in(ids)} AND status IN ${terminal}`)
          ),
          (chunks) => chunks.flat().map(toExecution)
        ),

      liveChildren: (parentExecutionId) =>
        Effect.map(
          isPg
            ? pg(Pg.liveChildren, [parentExecutionId])
            : rows(sql`SELECT * FROM weft_executions
                WHERE parent_execution_id = ${parentExecutionId} AND status NOT IN ${terminal}`),
          (found) => found.map(toExecution)
        ),

      claim: (executionId, owner, now) => {
        const claimWhere = sql`execution_id = ${executionId} AND status = 'running'
          AND (owner IS NULL OR owner = ${owner} OR lease_until <= ${now})`
        const claimed = isPg
          ? pg(Pg.claim, [executionId, owner, now, now + leaseMs])
          : Effect.flatMap(
              rows(sql`UPDATE weft_executions SET owner = ${owner}, fence = fence + 1, lease_until = ${now + leaseMs}
                WHERE ${claimWhere} RETURNING execution_id`),
              (r) =>
                r.length === 0
                  ? Effect.succeed([])
                  : rows(sql`SELECT c.*, ${journalColumns} FROM weft_executions c WHERE c.execution_id = ${executionId}`)
            )
        return Effect.flatMap(claimed, (r) =>
          r.length === 0
            ? Effect.succeedNone
            : Effect.try({
                try: () => Option.some({ fence: num(r[0].fence), journal: toJournal(r[0]) }),
                catch: (e) => (e instanceof WorkflowError.WorkflowError ? e : unavailable(e))
              })
        )
      },

      release: (executionId, fence) =>
        Effect.asVoid(
          isPg
            ? pg(Pg.release, [executionId, fence])
            : rows(sql`UPDATE weft_executions SET owner = NULL WHERE execution_id = ${executionId} AND fence = ${fence}`)
        ),

      renew: (owner, claims, now) => {
        if (claims.length === 0) return Effect.succeed([])
        // One statement for the whole heartbeat; a claim holds if its row still names this owner and fence.
        // On PostgreSQL with the driver, on a connection of its own: it must not queue behind the runs' writes.
        const ids = claims.map((c) => c.executionId)
        const renewed = !isPg
          ? rows(sql`UPDATE weft_executions SET lease_until = ${now + leaseMs}
              WHERE owner = ${owner} AND execution_id IN ${sql.in(ids)}
              RETURNING execution_id, fence, interrupt_requested`)
          : Option.isSome(driver)
          ? q(driver.value.queryOwn(Pg.renew, [owner, ids, now + leaseMs]))
          : pg(Pg.renew, [owner, ids, now + leaseMs])
        return Effect.map(
          renewed,
          (r) => {
            const found = new Map(r.map((row) => [row.execution_id as string, row]))
            return claims.map(({ executionId, fence }) => {
              const row = found.get(executionId)
              return row === undefined || num(row.fence) !== fence
                ? { held: false, interruptRequested: false }
                : { held: true, interruptRequested: num(row.interrupt_requested) === 1 }
            })
          }
        )
      },

      recordAttempt: (executionId, fence, attempt) =>
        isPg
          ? Effect.flatMap(outsideTransaction, (outside) =>
              outside
                ? Effect.flatMap(Effect.sync(() => withParams({ executionId, fence, attempt }, attemptParams)), batchAttempt)
                : recordAttemptAlone(executionId, fence, attempt)
            )
          : recordAttemptAlone(executionId, fence, attempt),

      recordClock: (executionId, fence, clock) =>
        Effect.gen(function* () {
          const inserted = isPg
            ? yield* pg(Pg.recordClock, [executionId, clock.name, clock.wakeAt, fence])
            : yield* rows(sql`INSERT INTO weft_clocks (execution_id, name, wake_at)
                SELECT ${executionId}, ${clock.name}, ${clock.wakeAt}
                WHERE ${fenceHolds(executionId, fence)}
                ON CONFLICT DO NOTHING RETURNING wake_at`)
          if (inserted.length > 0) return clock
          const existing = isPg
            ? yield* pg(Pg.existingClock, [executionId, clock.name, fence])
            : yield* rows(sql`SELECT wake_at, ${held(executionId, fence)} AS held FROM weft_clocks
                WHERE execution_id = ${executionId} AND name = ${clock.name}`)
          if (existing.length > 0 && num(existing[0].held) > 0) return { name: clock.name, wakeAt: num(existing[0].wake_at) }
          return yield* Effect.fail(leaseLost(executionId))
        }),

      recordDeferred: (executionId, fence, deferred) =>
        Effect.gen(function* () {
          const exit = JSON.stringify(deferred.exit)
          const inserted = isPg
            ? yield* pg(Pg.recordDeferred, [executionId, deferred.name, exit, deferred.completedAt, fence])
            : yield* rows(sql`INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
                SELECT ${executionId}, ${deferred.name}, ${exit}, ${deferred.completedAt}
                WHERE ${fenceHolds(executionId, fence)}
                ON CONFLICT DO NOTHING RETURNING name`)
          if (inserted.length > 0) return deferred
          const existing = isPg
            ? yield* pg(Pg.existingDeferred, [executionId, deferred.name, fence])
            : yield* rows(sql`SELECT d.*, ${held(executionId, fence)} AS held FROM weft_deferreds d
                WHERE execution_id = ${executionId} AND name = ${deferred.name}`)
          if (existing.length > 0 && num(existing[0].held) > 0) return toDeferred(executionId, existing[0])
          return yield* Effect.fail(leaseLost(executionId))
        }),

      completeDeferred: (executionId, deferred) =>
        isPg
          ? Effect.gen(function* () {
              const [result] = yield* pg(Pg.completeDeferred, [executionId, deferred.name, JSON.stringify(deferred.exit), deferred.completedAt])
              if (num(result.found) === 0) return yield* Effect.fail(noExecution(executionId, deferred.name))
              if (num(result.applied) > 0) return { applied: true, record: deferred }
              // Not applied: completed before, or refused as its execution was asked to stop (nothing stored then).
              const [existing] = yield* pg(Pg.deferred, [executionId, deferred.name])
              return { applied: false, record: existing === undefined ? deferred : toDeferred(executionId, existing) }
            })
          : completeDeferredSqlite(executionId, deferred),

      suspend: (executionId, fence, expectedWakeSeq, wakeAt, at, awaited) =>
        Effect.gen(function* () {
          const updated = isPg
            ? yield* pg(Pg.suspend, [executionId, fence, expectedWakeSeq, wakeAt ?? null, at, awaited === true ? 1 : 0])
            : yield* rows(sql`UPDATE weft_executions
                SET status = 'suspended', wake_at = ${wakeAt ?? null}, owner = NULL, updated_at = ${at}
                WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL AND wake_seq = ${expectedWakeSeq}
                RETURNING *`)
          if (updated.length > 0) {
            if (!isPg) yield* event(executionId, "suspended", at)
            return true
          }
          if (!(yield* holds(executionId, fence))) return yield* Effect.fail(leaseLost(executionId))
          return false
        }),

      complete: (executionId, fence, completion) =>
        Effect.gen(function* () {
          if (isPg) {
            return yield* (yield* outsideTransaction)
              ? batchComplete(withParams({ executionId, fence, completion }, completeParams))
              : completeAlone({ executionId, fence, completion })
          }
          const kind = eventOf(completion)
          const result = JSON.stringify(completion.result)
          const updated = yield* inTransaction(
                Effect.tap(
                  rows(sql`UPDATE weft_executions
                    SET status = ${completion.status}, result = ${result}, owner = NULL, wake_at = NULL, updated_at = ${completion.at}
                    WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL RETURNING execution_id`),
                  (r) => (r.length > 0 ? event(executionId, kind, completion.at) : Effect.void)
                )
              )
          if (updated.length === 0) return yield* Effect.fail(leaseLost(executionId))
        }),

      wake: (executionId, at) =>
        wakeWith(
          executionId,
          Pg.wake,
          sql`UPDATE weft_executions SET status = 'running', wake_seq = wake_seq + 1, wake_at = NULL, updated_at = ${at}
            WHERE execution_id = ${executionId} AND status NOT IN ${terminal} RETURNING workflow`,
          "resumed",
          at
        ),

      requestInterrupt: (executionId, at) =>
        wakeWith(
          executionId,
          Pg.requestInterrupt,
          sql`UPDATE weft_executions
            SET status = 'running', wake_seq = wake_seq + 1, wake_at = NULL, interrupt_requested = 1, updated_at = ${at}
            WHERE execution_id = ${executionId} AND status NOT IN ${terminal} RETURNING workflow`,
          "interrupt-requested",
          at
        ),

      reopen: (executionId, at) =>
        wakeWith(
          executionId,
          Pg.reopen,
          sql`UPDATE weft_executions SET status = 'running', result = NULL, wake_seq = wake_seq + 1, updated_at = ${at}
            WHERE execution_id = ${executionId} AND status = 'failed' RETURNING workflow`,
          "resumed",
          at,
          "after defect"
        ),

      appendEvent: (executionId, e) => Effect.asVoid(event(executionId, e.kind, e.at, e.detail)),

      runnable: (now, limit, workflows) =>
        Effect.gen(function* () {
          if (workflows.length === 0) return []
          const names = sql.in(workflows as Array<string>)
          yield* rows(sql`UPDATE weft_executions SET status = 'running', wake_seq = wake_seq + 1, wake_at = NULL, updated_at = ${now}
            WHERE status = 'suspended' AND wake_at <= ${now} AND workflow IN ${names}`)
          const ready = yield* rows(sql`SELECT execution_id, workflow FROM weft_executions
            WHERE status = 'running' AND workflow IN ${names} AND (owner IS NULL OR lease_until <= ${now})
            ORDER BY updated_at LIMIT ${limit}`)
          return ready.map((r) => ({ executionId: r.execution_id as string, workflow: r.workflow as string }))
        }),

      nextWakeAt: (workflows) =>
        workflows.length === 0
          ? Effect.succeedNone
          : Effect.map(
              rows(sql`SELECT min(wake_at) AS next FROM weft_executions
                WHERE status = 'suspended' AND workflow IN ${sql.in(workflows as Array<string>)}`),
              (r) => Option.fromNullishOr(optNum(r[0]?.next))
            ),

      enqueue: (item) =>
        Effect.andThen(
          rows(sql`INSERT INTO weft_queue (queue, item_id, payload, token, enqueued_at)
            VALUES (${item.queue}, ${item.itemId}, ${payloadText(item.payload)}, ${item.token}, ${item.enqueuedAt})
            ON CONFLICT DO NOTHING`),
          notify("queue", item.queue)
        ),

      claimQueueItems: (queue, owner, limit, now) =>
        Effect.map(
          rows(
            isPg
              ? sql`UPDATE weft_queue SET owner = ${owner}, lease_until = ${now + leaseMs}
                WHERE (queue, item_id) IN (
                  SELECT queue, item_id FROM weft_queue WHERE queue = ${queue} AND (owner IS NULL OR lease_until <= ${now})
                  ORDER BY enqueued_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
                RETURNING *`
              : sql`UPDATE weft_queue SET owner = ${owner}, lease_until = ${now + leaseMs}
                WHERE rowid IN (
                  SELECT rowid FROM weft_queue WHERE queue = ${queue} AND (owner IS NULL OR lease_until <= ${now})
                  ORDER BY enqueued_at LIMIT ${limit})
                RETURNING *`
          ),
          (r) =>
            r.map((row) => ({
              queue: row.queue,
              itemId: row.item_id,
              payload: parsePayload(row.payload, () => `queue item ${row.item_id}`),
              token: row.token,
              enqueuedAt: num(row.enqueued_at)
            }))
        ),

      renewQueueItem: (queue, itemId, owner, now) =>
        Effect.map(
          rows(sql`UPDATE weft_queue SET lease_until = ${now + leaseMs}
            WHERE queue = ${queue} AND item_id = ${itemId} AND owner = ${owner} RETURNING item_id`),
          (r) => r.length > 0
        ),

      ackQueueItem: (queue, itemId) => Effect.asVoid(rows(sql`DELETE FROM weft_queue WHERE queue = ${queue} AND item_id = ${itemId}`)),

      list: (filter) =>
        Effect.gen(function* () {
          const limit = filter.limit ?? 100
          const conditions = [sql`1 = 1`]
          if (filter.workflow !== undefined) conditions.push(sql`workflow = ${filter.workflow}`)
          if (filter.status !== undefined) conditions.push(sql`status = ${filter.status}`)
          if (filter.createdAfter !== undefined) conditions.push(sql`created_at >= ${filter.createdAfter}`)
          if (filter.createdBefore !== undefined) conditions.push(sql`created_at < ${filter.createdBefore}`)
          if (filter.cursor !== undefined) {
            const i = filter.cursor.indexOf(":")
            const at = Number(filter.cursor.slice(0, i))
            const id = filter.cursor.slice(i + 1)
            conditions.push(sql`(created_at < ${at} OR (created_at = ${at} AND execution_id > ${id}))`)
          }
          const found = yield* rows(sql`SELECT * FROM weft_executions WHERE ${sql.and(conditions)}
            ORDER BY created_at DESC, execution_id ASC LIMIT ${limit + 1}`)
          const items = found.slice(0, limit).map(toExecution)
          const last = items.at(-1)
          return {
            items,
            nextCursor: found.length > limit && last !== undefined ? `${last.createdAt}:${last.executionId}` : undefined
          }
        }),

      detail: (executionId) =>
        Effect.gen(function* () {
          const found = yield* rows(sql`SELECT c.*, ${journalColumns} FROM weft_executions c WHERE c.execution_id = ${executionId}`)
          if (found.length === 0) return Option.none()
          const journal = yield* Effect.try({
            try: () => toJournal(found[0]),
            catch: (e) => (e instanceof WorkflowError.WorkflowError ? e : unavailable(e))
          })
          const events = yield* rows(sql`SELECT kind, at, detail FROM weft_events WHERE execution_id = ${executionId} ORDER BY id`)
          return Option.some({
            ...journal,
            events: events.map((e) => ({ kind: e.kind, at: num(e.at), detail: e.detail ?? undefined }))
          })
        }),

      signingKey: (generate) =>
        Effect.gen(function* () {
          yield* rows(sql`INSERT INTO weft_meta (key, value) VALUES ('signing_key', ${Buffer.from(generate()).toString("hex")})
            ON CONFLICT DO NOTHING`)
          const found = yield* rows(sql`SELECT value FROM weft_meta WHERE key = 'signing_key'`)
          return new Uint8Array(Buffer.from(found[0].value as string, "hex"))
        }),

      transaction: (effect) =>
        Effect.mapError(sql.withTransaction(effect), (e) => (SqlError.isSqlError(e) ? unavailable(e) : e)) as any
    }

    // Rows that no longer decode throw typed errors while being read: surface them as failures.
    const guarded = Object.fromEntries(
      Object.entries(store).map(([key, value]) => [
        key,
        typeof value === "function"
          ? (...args: Array<any>) =>
              Effect.catchDefect((value as any)(...args) as Effect.Effect<unknown, unknown>, (defect) =>
                defect instanceof WorkflowError.WorkflowError ? Effect.fail(defect) : Effect.die(defect)
              )
          : value
      ])
    ) as unknown as Service

    const notifications = Option.match(driver, {
      onNone: () => undefined,
      onSome: (pgDriver): Stream.Stream<Notification> =>
        pgDriver.listen(CHANNEL).pipe(
          Stream.map((payload): Notification => {
            const first = payload.indexOf(":")
            const second = payload.indexOf(":", first + 1)
            const workflow = payload.slice(second + 1)
            return {
              kind: payload.slice(0, first) as Notification["kind"],
              id: payload.slice(first + 1, second),
              workflow: workflow === "" ? undefined : workflow
            }
          }),
          Stream.retry(Schedule.spaced("1 second")),
          Stream.catch(() => Stream.empty)
        )
    })
    return { ...guarded, notifications }
  })

/** The store as a Layer over the `SqlClient` in context. */
export const layer = (options: Options = {}): Layer.Layer<WorkflowStore.WorkflowStore, WorkflowError.WorkflowError, SqlClient.SqlClient> =>
  Layer.effect(WorkflowStore.WorkflowStore, make(options))
