/**
 * An execution's life outside its run: created (or joined), read, woken, asked to stop, reopened, and
 * signalled (a deferred completed from outside). Each change logs its event and, on PostgreSQL, announces itself.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type StoreRules, WorkflowError, type WorkflowStore } from "@weft/workflow"
import type * as PgDriver from "../PgDriver.js"
import * as Column from "./columns.js"
import type { Database } from "./database.js"
import * as GroupCommit from "./groupCommit.js"
import * as Pg from "./pgStatements.js"
import * as Rows from "./rows.js"
import { admits, assignments, detailOf, kindOf, LIVE, literal, notice, T, TERMINAL } from "./sqlRules.js"

/** The executions' part of the store. */
export type Executions = Pick<
  WorkflowStore.Service,
  "create" | "get" | "watch" | "ended" | "liveChildren" | "wake" | "requestInterrupt" | "reopen" | "completeDeferred"
>

/** Ids per `ended` statement: well under SQLite's limit on bound parameters. */
const ENDED_CHUNK = 500

const noExecution = (executionId: string, name: string) =>
  new WorkflowError.WorkflowError({
    reason: "ExecutionNotFound",
    executionId,
    message: `No execution ${executionId} to complete deferred "${name}" of`
  })

/** `create`'s clock arrays ($13 to $15) for an execution stored with none. */
const NO_CLOCKS: ReadonlyArray<ReadonlyArray<never>> = [[], [], []]

/** The executions' statements over `db`. */
export const make = (db: Database): Executions => {
  const { event, inTransaction, isPg, outsideTransaction, pg, pgOutside, rows, sql } = db

  /** The parameters of `create`; the first eight and the last are those of `createClaimed`. */
  const createParams = (execution: WorkflowStore.NewExecution) => {
    const claimed = execution.claimFor !== undefined
    return [
      execution.executionId,
      execution.workflow,
      Column.payloadText(execution.payload),
      execution.parent?.executionId ?? null,
      execution.parent?.deferred ?? null,
      execution.at,
      execution.claimFor ?? null,
      claimed ? db.leaseParam(execution.at) : 0,
      execution.awaited === true && !claimed ? 1 : 0,
      execution.announce === false ? "" : `${notice(T.create)}:${execution.executionId}:${execution.workflow}`,
      execution.idempotencyKey ?? null,
      execution.version ?? 1,
      ...(execution.clocks === undefined || execution.clocks.length === 0
        ? NO_CLOCKS
        : [
          execution.clocks.map((c) => c.name),
          execution.clocks.map((c) => c.wakeAt),
          execution.clocks.map((c) => c.setAt ?? execution.at)
        ])
    ]
  }

  const createAlone = (execution: WorkflowStore.NewExecution, params?: ReadonlyArray<unknown>) =>
    Effect.gen(function* () {
      const inserted = yield* pg(Pg.create, params ?? createParams(execution))
      if (inserted.length > 0) {
        const { fence, record } = yield* Rows.created(inserted[0])
        return { created: true, record, fence: execution.claimFor !== undefined ? fence : undefined }
      }
      return yield* joinExisting(execution)
    })

  /** An execution that exists already: a waiter marks it watched (unless it is over), then reads it. */
  const joinExisting = (execution: WorkflowStore.NewExecution) =>
    Effect.gen(function* () {
      const watched = execution.awaited === true ? yield* pg(Pg.watch, [execution.executionId]) : []
      const existing = watched.length > 0 ? watched : yield* pg(Pg.get, [execution.executionId])
      return { created: false, record: yield* Rows.execution(existing[0]) }
    })

  // Group commit on PostgreSQL: new executions their creator claims, arriving while one is in flight, are
  // inserted together, as one statement.
  const batchCreate = GroupCommit.make(db.context, {
    alone: (e: GroupCommit.WithParams<WorkflowStore.NewExecution>) => createAlone(e, e.params),
    together: (batch) =>
      Effect.flatMap(
        pgOutside(Pg.createClaimed, Pg.joined(Pg.columns(batch, (e) => [...e.params.slice(0, 8), e.params[10], e.params[11]]), 2)),
        (inserted) =>
          Effect.map(Rows.all(inserted, Rows.created), (created) => {
            const byId = new Map(created.map((c) => [c.record.executionId, c]))
            return batch.map((e) => {
              const row = byId.get(e.executionId)
              if (row === undefined) return joinExisting(e)
              // The same id twice in one batch: the first caller created it, the second joins.
              byId.delete(e.executionId)
              return Exit.succeed({ created: true, record: row.record, fence: row.fence })
            })
          })
      )
  })

  /**
   * Makes an execution runnable as `transition` says, logs its event and announces it: on PostgreSQL the
   * prepared `statement` ($1 id, $2 at, $3 detail), else the UPDATE and the event in one transaction. False if
   * the execution's status is not one the transition admits.
   */
  const wakeWith = (
    executionId: string,
    statement: PgDriver.Prepared,
    transition: StoreRules.Transition,
    at: number
  ) => {
    const detail = detailOf(transition)
    return isPg
      ? Effect.map(pg(statement, [executionId, at, detail]), (woken) => woken.length > 0)
      : inTransaction(
          Effect.gen(function* () {
            const woken = yield* rows(sql`UPDATE weft_executions SET ${sql.literal(assignments(transition))}, updated_at = ${at}
              WHERE execution_id = ${executionId} AND ${sql.literal(admits(transition))} RETURNING workflow`)
            if (woken.length === 0) return false
            yield* event(executionId, kindOf(transition), at, detail ?? undefined)
            return true
          })
        )
  }

  /** `completeDeferred` on PostgreSQL: one statement, then a read of the stored result if it was not applied. */
  const completeDeferredPg = (executionId: string, deferred: WorkflowStore.DeferredRecord) =>
    Effect.gen(function* () {
      const exit = JSON.stringify(deferred.exit)
      const [result] = yield* pg(Pg.completeDeferred, [executionId, deferred.name, exit, deferred.completedAt])
      const { applied, found } = yield* Rows.signal(result)
      if (found === 0) return yield* Effect.fail(noExecution(executionId, deferred.name))
      if (applied > 0) return { applied: true, record: deferred }
      // Not applied: completed before, or refused as its execution was asked to stop (nothing stored then).
      const [existing] = yield* pg(Pg.deferred, [executionId, deferred.name])
      return { applied: false, record: existing === undefined ? deferred : yield* Rows.deferred(executionId, existing) }
    })

  /** `completeDeferred` on SQLite: one transaction (a lone writer, so no statement needs to wait on another). */
  const completeDeferredSqlite = (executionId: string, deferred: WorkflowStore.DeferredRecord) =>
    Effect.gen(function* () {
      const execution = yield* rows(
        sql`SELECT interrupt_requested FROM weft_executions WHERE execution_id = ${executionId}`
      )
      if (execution.length === 0) return yield* Effect.fail(noExecution(executionId, deferred.name))
      // An interrupt wins over a signal that lands after it was requested.
      const inserted = (yield* Rows.interruptRequested(execution[0]))
        ? []
        : yield* rows(sql`INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
            VALUES (${executionId}, ${deferred.name}, ${JSON.stringify(deferred.exit)}, ${deferred.completedAt})
            ON CONFLICT DO NOTHING RETURNING name`)
      const signal = inserted.length === 0 ? T.signalRefused : T.signalApplied
      yield* event(executionId, kindOf(signal), deferred.completedAt, detailOf(signal, deferred.name) ?? undefined)
      if (inserted.length === 0) {
        const existing = yield* rows(
          sql`SELECT * FROM weft_deferreds WHERE execution_id = ${executionId} AND name = ${deferred.name}`
        )
        const record = existing.length === 0 ? deferred : yield* Rows.deferred(executionId, existing[0])
        return { applied: false, record }
      }
      yield* rows(sql`UPDATE weft_executions
        SET ${sql.literal(assignments(T.signalApplied))}, updated_at = ${deferred.completedAt}
        WHERE execution_id = ${executionId} AND ${sql.literal(admits(T.signalApplied))}`)
      return { applied: true, record: deferred }
    }).pipe(inTransaction)

  return {
    create: (execution) =>
      Effect.gen(function* () {
        const claimed = execution.claimFor !== undefined
        if (isPg) {
          // A new execution its creator runs (no announcement, nobody else to wait) can share a statement: on the
          // PgDriver only, as a plain PgClient cannot type an array of nulls (the parents of a batch of roots).
          // (The batch statement stores no clocks: an execution created with some goes alone.)
          return claimed && execution.announce === false && execution.clocks === undefined && Option.isSome(db.driver) &&
              (yield* outsideTransaction)
            ? yield* batchCreate(GroupCommit.withParams(execution, createParams))
            : yield* createAlone(execution)
        }
        const insert = sql`INSERT INTO weft_executions
            (execution_id, workflow, payload, status, parent_execution_id, parent_deferred, created_at, updated_at,
             owner, fence, lease_until, watched, idempotency_key, version)
          VALUES (${execution.executionId}, ${execution.workflow}, ${Column.payloadText(execution.payload)}, ${sql.literal(literal(T.create.to))},
            ${execution.parent?.executionId ?? null}, ${execution.parent?.deferred ?? null}, ${execution.at}, ${execution.at},
            ${execution.claimFor ?? null}, ${claimed ? 1 : 0}, ${claimed ? db.leaseUntil(execution.at) : 0},
            ${execution.awaited === true && !claimed ? 1 : 0}, ${execution.idempotencyKey ?? null}, ${execution.version ?? 1})
          ON CONFLICT (execution_id) DO NOTHING RETURNING *`
        const inserted = yield* inTransaction(
          Effect.tap(rows(insert), (r) =>
            r.length === 0 ? Effect.void : Effect.andThen(
              event(execution.executionId, kindOf(T.create), execution.at),
              Effect.forEach(execution.clocks ?? [], (clock) =>
                rows(sql`INSERT INTO weft_clocks (execution_id, name, wake_at, set_at)
                  VALUES (${execution.executionId}, ${clock.name}, ${clock.wakeAt}, ${clock.setAt ?? execution.at})`), { discard: true })
            )
          )
        )
        if (inserted.length > 0) {
          const { fence, record } = yield* Rows.created(inserted[0])
          return { created: true, record, fence: claimed ? fence : undefined }
        }
        const existing = yield* rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${execution.executionId}`)
        return { created: false, record: yield* Rows.execution(existing[0]) }
      }),

    get: (executionId) =>
      Effect.flatMap(
        isPg ? pg(Pg.get, [executionId]) : rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${executionId}`),
        (r) => (r.length === 0 ? Effect.succeedNone : Effect.map(Rows.execution(r[0]), Option.some))
      ),

    // Never an INSERT: a purge that deleted the execution just before stays done.
    watch: (executionId) =>
      Effect.gen(function* () {
        const watched = isPg
          ? yield* pg(Pg.watch, [executionId])
          : yield* rows(sql`UPDATE weft_executions SET watched = 1 WHERE execution_id = ${executionId}
              AND watched = 0 AND ${sql.literal(LIVE)} RETURNING *`)
        const found = watched.length > 0
          ? watched
          : isPg
          ? yield* pg(Pg.get, [executionId])
          : yield* rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${executionId}`)
        return found.length === 0 ? Option.none() : Option.some(yield* Rows.execution(found[0]))
      }),

    ended: (executionIds) =>
      Effect.flatMap(
        Effect.forEach(Arr.chunksOf(executionIds, ENDED_CHUNK), (ids) =>
          isPg
            ? pg(Pg.ended, [ids])
            : rows(sql`SELECT * FROM weft_executions WHERE execution_id IN ${sql.in(ids)} AND ${sql.literal(TERMINAL)}`)
        ),
        (chunks) => Rows.all(chunks.flat(), Rows.execution)
      ),

    liveChildren: (parentExecutionId) =>
      Effect.flatMap(
        isPg
          ? pg(Pg.liveChildren, [parentExecutionId])
          : rows(sql`SELECT * FROM weft_executions
              WHERE parent_execution_id = ${parentExecutionId} AND ${sql.literal(LIVE)}`),
        (found) => Rows.all(found, Rows.execution)
      ),

    wake: (executionId, at) => wakeWith(executionId, Pg.wake, T.wake, at),

    requestInterrupt: (executionId, at) => wakeWith(executionId, Pg.requestInterrupt, T.requestInterrupt, at),

    reopen: (executionId, at) => wakeWith(executionId, Pg.reopen, T.reopen, at),

    completeDeferred: (executionId, deferred) =>
      isPg ? completeDeferredPg(executionId, deferred) : completeDeferredSqlite(executionId, deferred)
  }
}
