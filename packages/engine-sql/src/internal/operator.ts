/**
 * An operator's writes: `retry` (a failed execution made running again, with its retry markers) and `fork` (a new
 * execution holding part of another's journal: a restart), each one transaction, announced on PostgreSQL.
 */
import * as Effect from "effect/Effect"
import { WorkflowError, type WorkflowStore } from "@weft/workflow"
import * as Column from "./columns.js"
import { type Database, failure } from "./database.js"
import * as Rows from "./rows.js"
import { admits, assignments, kindOf, literal, notice, T } from "./sqlRules.js"

/** The operator's part of the store. */
export type Operator = Required<Pick<WorkflowStore.Service, "retry" | "fork">>

/** A write that must leave nothing behind: the transaction rolls back and the call answers `false`. */
class Refused {
  readonly _tag = "Refused"
}

/** The operator's writes over `db`. */
export const make = (db: Database): Operator => {
  const { event, inTransaction, isPg, rows, sql } = db

  /** Inserts attempts, every one or none: false when one of them exists. */
  const insertAttempts = (executionId: string, attempts: ReadonlyArray<WorkflowStore.ActivityAttempt>) =>
    Effect.forEach(
      attempts,
      (a) =>
        Effect.map(
          rows(sql`INSERT INTO weft_attempts (execution_id, name, attempt, exit, started_at, completed_at)
            VALUES (${executionId}, ${a.name}, ${a.attempt}, ${JSON.stringify(a.exit)}, ${a.startedAt}, ${a.completedAt})
            ON CONFLICT DO NOTHING RETURNING attempt`),
          (inserted) => inserted.length > 0
        ),
      { concurrency: 1 }
    ).pipe(Effect.map((written) => written.every(Boolean)))

  const announce = (kind: WorkflowStore.Notification["kind"], executionId: string, workflow: string) =>
    isPg ? rows(sql`SELECT pg_notify('weft', ${`${kind}:${executionId}:${workflow}`})`) : Effect.succeed([])

  /** Runs `write` in one transaction; `Refused` inside it rolls it back and answers `onRefused`. */
  const refusable = <A>(
    write: Effect.Effect<A, WorkflowError.WorkflowError | Refused>,
    onRefused: A
  ): Effect.Effect<A, WorkflowError.WorkflowError> =>
    sql.withTransaction(write).pipe(
      Effect.catchIf((error): error is Refused => error instanceof Refused, () => Effect.succeed(onRefused)),
      Effect.mapError((error) => (error instanceof WorkflowError.WorkflowError ? error : failure(error)))
    )

  return {
    retry: (executionId, request) =>
      refusable(
        Effect.gen(function* () {
          const changed = yield* rows(sql`UPDATE weft_executions
            SET ${sql.literal(assignments(T.retry))}, updated_at = ${request.at}
            WHERE execution_id = ${executionId} AND ${sql.literal(admits(T.retry))}
              AND updated_at = ${request.expectedUpdatedAt}
            RETURNING workflow`)
          if (changed.length === 0) return false
          if (!(yield* insertAttempts(executionId, request.markers))) return yield* Effect.fail(new Refused())
          yield* event(executionId, kindOf(T.retry), request.at, request.detail)
          const workflow = (changed[0] as { readonly workflow: string }).workflow
          yield* announce(notice(T.retry), executionId, workflow)
          return true
        }),
        false
      ),

    fork: (request) =>
      inTransaction(
        Effect.gen(function* () {
          const { execution } = request
          const inserted = yield* rows(sql`INSERT INTO weft_executions
              (execution_id, workflow, payload, status, parent_execution_id, parent_deferred, created_at, updated_at,
               owner, fence, lease_until, watched, version)
            VALUES (${execution.executionId}, ${execution.workflow}, ${Column.payloadText(execution.payload)},
              ${sql.literal(literal(T.create.to))}, ${execution.parent?.executionId ?? null},
              ${execution.parent?.deferred ?? null}, ${execution.at}, ${execution.at}, NULL, 0, 0, 0, ${execution.version ?? 1})
            ON CONFLICT (execution_id) DO NOTHING RETURNING *`)
          if (inserted.length === 0) {
            const existing = yield* rows(sql`SELECT * FROM weft_executions WHERE execution_id = ${execution.executionId}`)
            return { created: false, record: yield* Rows.execution(existing[0]) }
          }
          const id = execution.executionId
          yield* insertAttempts(id, request.attempts)
          yield* Effect.forEach(
            request.deferreds,
            (d) =>
              rows(sql`INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
                VALUES (${id}, ${d.name}, ${JSON.stringify(d.exit)}, ${d.completedAt})`),
            { discard: true }
          )
          yield* Effect.forEach(
            request.clocks,
            (c) =>
              rows(sql`INSERT INTO weft_clocks (execution_id, name, wake_at, set_at)
                VALUES (${id}, ${c.name}, ${c.wakeAt}, ${c.setAt ?? null})`),
            { discard: true }
          )
          yield* event(id, kindOf(T.create), execution.at, request.startedDetail)
          yield* event(request.source, "restarted", execution.at, request.sourceDetail)
          if (execution.announce !== false) yield* announce(notice(T.create), id, execution.workflow)
          return { created: true, record: yield* Rows.execution(inserted[0]) }
        })
      )
  }
}
