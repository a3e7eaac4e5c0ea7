/**
 * Who runs what: finding runnable executions, claiming one with a lease (its whole journal in the same read),
 * renewing a worker's claims in one heartbeat, and giving a claim up.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { WorkflowStore } from "@weft/workflow"
import type { Database } from "./database.js"
import * as Pg from "./pgStatements.js"
import * as Rows from "./rows.js"

/** The claims' part of the store. */
export type Claims = Pick<WorkflowStore.Service, "claim" | "release" | "renew" | "runnable" | "nextWakeAt">

/** The claims' statements over `db`. */
export const make = (db: Database): Claims => {
  const { driver, isPg, journalColumns, leaseMs, pg, q, rows, sql } = db
  return {
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
        r.length === 0 ? Effect.succeedNone : Effect.map(Rows.journal(r[0]), Option.some)
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
      // One statement for the whole heartbeat; a claim holds, and is extended, only if its row still names this
      // owner and fence (a fence the same owner superseded extends nothing).
      // On PostgreSQL with the driver, on a connection of its own: it must not queue behind the runs' writes.
      const ids = claims.map((c) => c.executionId)
      const fences = claims.map((c) => c.fence)
      const renewed = !isPg
        ? rows(sql`UPDATE weft_executions SET lease_until = ${now + leaseMs}
            WHERE owner = ${owner} AND ${
          sql.or(claims.map((c) => sql`(execution_id = ${c.executionId} AND fence = ${c.fence})`))
        }
            RETURNING execution_id, fence, interrupt_requested`)
        : Option.isSome(driver)
        ? q(driver.value.queryOwn(Pg.renew, [owner, ids, fences, now + leaseMs]))
        : pg(Pg.renew, [owner, ids, fences, now + leaseMs])
      return Effect.flatMap(renewed, (r) =>
        Effect.map(Rows.all(r, Rows.renewed), (rows) => {
          const found = new Map(rows.map((row) => [row.execution_id, row]))
          return claims.map(({ executionId, fence }) => {
            const row = found.get(executionId)
            return row === undefined || row.fence !== fence
              ? { held: false, interruptRequested: false }
              : { held: true, interruptRequested: row.interrupt_requested }
          })
        })
      )
    },

    runnable: (now, limit, workflows) =>
      Effect.gen(function* () {
        if (workflows.length === 0) return []
        const names = sql.in(workflows as Array<string>)
        yield* rows(sql`UPDATE weft_executions SET status = 'running', wake_seq = wake_seq + 1, wake_at = NULL, updated_at = ${now}
          WHERE status = 'suspended' AND wake_at <= ${now} AND workflow IN ${names}`)
        const ready = yield* rows(sql`SELECT execution_id, workflow FROM weft_executions
          WHERE status = 'running' AND workflow IN ${names} AND (owner IS NULL OR lease_until <= ${now})
          ORDER BY updated_at LIMIT ${limit}`)
        return yield* Rows.all(ready, Rows.runnable)
      }),

    nextWakeAt: (workflows) =>
      workflows.length === 0
        ? Effect.succeedNone
        : Effect.flatMap(
            rows(sql`SELECT min(wake_at) AS next FROM weft_executions
              WHERE status = 'suspended' AND workflow IN ${sql.in(workflows as Array<string>)}`),
            (r) => (r.length === 0 ? Effect.succeedNone : Effect.map(Rows.nextWake(r[0]), Option.fromNullishOr))
          )
  }
}
