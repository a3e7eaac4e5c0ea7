/**
 * The journal's writes while an execution is claimed: a step's result, a clock, a deferred, a suspension, the
 * final result. Each is one statement whose WHERE checks the claim; on PostgreSQL concurrent ones leave together.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { WorkflowError, WorkflowStore } from "@weft/workflow"
import { type Database, leaseLost } from "./database.js"
import * as GroupCommit from "./groupCommit.js"
import * as Pg from "./pgStatements.js"
import * as Rows from "./rows.js"
import { assignments, kindOf, T } from "./sqlRules.js"

type ActivityAttempt = WorkflowStore.ActivityAttempt
type Failure = WorkflowError.WorkflowError

/** The journal's part of the store. */
export type Journal = Pick<
  WorkflowStore.Service,
  "recordAttempt" | "recordClock" | "recordDeferred" | "suspend" | "complete" | "appendEvent"
>

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

const eventOf = (completion: WorkflowStore.Completion): WorkflowStore.EventKind => kindOf(T.complete, completion.status)

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

/** A batch of attempts that returned no row: as if it wrote none. */
const NONE_WRITTEN = Exit.succeed({ written: 0, keys: [] as ReadonlyArray<readonly [string, string, number]> })

const attemptKey = (executionId: string, name: string, attempt: number) => `${executionId}\u0000${name}\u0000${attempt}`

/**
 * A batch the database refused (one bad row refuses the whole statement) goes out again one write at a time, so
 * only the bad write fails, never the others that happened to leave with it.
 */
const aloneIfRejected =
  <I, O>(
    alone: (item: I) => Effect.Effect<O, Failure>,
    together: (batch: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<Exit.Exit<O, Failure> | Effect.Effect<O, Failure>>, Failure>
  ) =>
  (batch: ReadonlyArray<I>): Effect.Effect<ReadonlyArray<Exit.Exit<O, Failure> | Effect.Effect<O, Failure>>, Failure> =>
    Effect.catch(together(batch), (error) =>
      error.reason === "StoreRejected" && batch.length > 1 ? Effect.succeed(batch.map(alone)) : Effect.fail(error)
    )

/** The journal's writes over `db`. */
export const make = (db: Database): Journal => {
  const { event, fenceHolds, held, holds, inTransaction, isPg, outsideTransaction, pg, pgOutside, rows, sql } = db

  /** One attempt, one statement: the fence check lives in the INSERT's WHERE. */
  const recordAttemptAlone = (
    executionId: string,
    fence: number,
    attempt: ActivityAttempt,
    params?: ReadonlyArray<unknown>
  ) =>
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
      const stored = existing.length > 0 ? yield* Rows.heldAttempt(executionId, existing[0]) : undefined
      return stored ?? (yield* Effect.fail(leaseLost(executionId)))
    })

  // Group commit on PostgreSQL: attempts and completions that arrive while one of their kind is in flight
  // leave together, as one statement (each row fenced on its own).
  const attemptAlone = (p: GroupCommit.WithParams<FencedAttempt>) =>
    recordAttemptAlone(p.executionId, p.fence, p.attempt, p.params)
  const batchAttempt = GroupCommit.make(db.context, {
    alone: attemptAlone,
    together: aloneIfRejected(attemptAlone, (batch) =>
      Effect.flatMap(pgOutside(Pg.recordAttempts, Pg.joined(Pg.columns(batch, (p) => p.params), 3)), (result) =>
        Effect.map(result.length === 0 ? NONE_WRITTEN : Rows.written(result[0]), ({ keys, written }) => {
          if (written === batch.length) return batch.map((p) => Exit.succeed(p.attempt))
          // Some were not written (a conflict, a lost claim): those are read back.
          const done = new Set(keys.map(([id, name, n]) => attemptKey(id, name, n)))
          return batch.map((p) =>
            done.has(attemptKey(p.executionId, p.attempt.name, p.attempt.attempt))
              ? Exit.succeed(p.attempt)
              : existingAttempt(p.executionId, p.fence, p.attempt)
          )
        })
      ))
  })

  const completeAlone = (p: FencedCompletion, params: ReadonlyArray<unknown> = completeParams(p)) =>
    Effect.flatMap(pg(Pg.complete, params), (updated) =>
      updated.length === 0 ? Effect.fail(leaseLost(p.executionId)) : Effect.void
    )

  const batchComplete = GroupCommit.make(db.context, {
    alone: (p: GroupCommit.WithParams<FencedCompletion>) => completeAlone(p, p.params),
    together: aloneIfRejected((p: GroupCommit.WithParams<FencedCompletion>) => completeAlone(p, p.params), (batch) =>
      Effect.flatMap(pgOutside(Pg.completeMany, Pg.joined(Pg.columns(batch, (p) => p.params), 3)), (updated) =>
        Effect.map(Rows.all(updated, Rows.executionId), (ids) => {
          const done = new Set(ids)
          return batch.map((p) => (done.has(p.executionId) ? Exit.void : Exit.fail(leaseLost(p.executionId))))
        })
      ))
  })

  return {
    recordAttempt: (executionId, fence, attempt) =>
      isPg
        ? Effect.flatMap(outsideTransaction, (outside) =>
            outside
              ? Effect.flatMap(
                  Effect.sync(() => GroupCommit.withParams({ executionId, fence, attempt }, attemptParams)),
                  batchAttempt
                )
              : recordAttemptAlone(executionId, fence, attempt)
          )
        : recordAttemptAlone(executionId, fence, attempt),

    recordClock: (executionId, fence, clock) =>
      Effect.gen(function* () {
        const inserted = isPg
          ? yield* pg(Pg.recordClock, [executionId, clock.name, clock.wakeAt, fence, clock.setAt ?? null])
          : yield* rows(sql`INSERT INTO weft_clocks (execution_id, name, wake_at, set_at)
              SELECT ${executionId}, ${clock.name}, ${clock.wakeAt}, ${clock.setAt ?? null}
              WHERE ${fenceHolds(executionId, fence)}
              ON CONFLICT DO NOTHING RETURNING wake_at`)
        if (inserted.length > 0) return clock
        const existing = isPg
          ? yield* pg(Pg.existingClock, [executionId, clock.name, fence])
          : yield* rows(sql`SELECT wake_at, set_at, ${held(executionId, fence)} AS held FROM weft_clocks
              WHERE execution_id = ${executionId} AND name = ${clock.name}`)
        const stored = existing.length > 0 ? yield* Rows.heldClock(clock.name, existing[0]) : undefined
        return stored ?? (yield* Effect.fail(leaseLost(executionId)))
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
        const stored = existing.length > 0 ? yield* Rows.heldDeferred(executionId, existing[0]) : undefined
        return stored ?? (yield* Effect.fail(leaseLost(executionId)))
      }),

    suspend: (executionId, fence, expectedWakeSeq, wakeAt, at, awaited) =>
      Effect.gen(function* () {
        // On SQLite the row and its `suspended` event in one transaction: one write, as on PostgreSQL.
        const updated = isPg
          ? yield* pg(Pg.suspend, [executionId, fence, expectedWakeSeq, wakeAt ?? null, at, awaited === true ? 1 : 0])
          : yield* inTransaction(
            Effect.tap(
              rows(sql`UPDATE weft_executions
                SET ${sql.literal(assignments(T.suspend))}, wake_at = ${wakeAt ?? null}, updated_at = ${at}
                WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL AND wake_seq = ${expectedWakeSeq}
                RETURNING *`),
              (r) => (r.length > 0 ? event(executionId, kindOf(T.suspend), at) : Effect.void)
            )
          )
        if (updated.length > 0) return true
        if (!(yield* holds(executionId, fence))) return yield* Effect.fail(leaseLost(executionId))
        return false
      }),

    complete: (executionId, fence, completion) =>
      Effect.gen(function* () {
        if (isPg) {
          return yield* (yield* outsideTransaction)
            ? batchComplete(GroupCommit.withParams({ executionId, fence, completion }, completeParams))
            : completeAlone({ executionId, fence, completion })
        }
        const kind = eventOf(completion)
        const result = JSON.stringify(completion.result)
        const updated = yield* inTransaction(
          Effect.tap(
            rows(sql`UPDATE weft_executions
              SET status = ${completion.status}, result = ${result}, ${sql.literal(assignments(T.complete))}, updated_at = ${completion.at}
              WHERE execution_id = ${executionId} AND fence = ${fence} AND owner IS NOT NULL RETURNING execution_id`),
            (r) => (r.length > 0 ? event(executionId, kind, completion.at) : Effect.void)
          )
        )
        if (updated.length === 0) return yield* Effect.fail(leaseLost(executionId))
      }),

    // Fenced in the same statement: a worker whose claim was taken over logs nothing.
    appendEvent: (executionId, fence, e) =>
      Effect.flatMap(
        rows(sql`INSERT INTO weft_events (execution_id, kind, at, detail)
          SELECT ${executionId}, ${e.kind}, ${e.at}, ${e.detail ?? null}
          WHERE ${fenceHolds(executionId, fence)} RETURNING id`),
        (inserted) => (inserted.length > 0 ? Effect.void : Effect.fail(leaseLost(executionId)))
      )
  }
}
