/**
 * Retention: ended executions deleted in batches, each with its journal, events and queue items, in one transaction
 * per batch; on PostgreSQL one purger at a time (a transaction-scoped advisory lock, tried, never waited for).
 */
import * as Effect from "effect/Effect"
import type { WorkflowStore } from "@weft/workflow"
import type { Database } from "./database.js"
import * as Rows from "./rows.js"
import { literal, TERMINAL } from "./sqlRules.js"

/** Retention's part of the store. */
export type Retention = Required<Pick<WorkflowStore.Service, "purge">>

/** The advisory lock one purger holds on PostgreSQL: (namespace, key) as two int4 keys. */
const LOCK = "hashtext('weft'), hashtext('purge')"

/** The tables keyed by `execution_id` that belong to an execution (its row aside). */
const JOURNAL_TABLES = ["weft_attempts", "weft_deferreds", "weft_clocks", "weft_events"] as const

/**
 * PostgreSQL, $1 the ids deleted: every row of theirs, queue items (`<executionId>/<key>`) included. A statement
 * after the executions' DELETE in the same transaction, so it reads rows committed until their rows were locked.
 */
const deleteJournalPg = `WITH ids AS (SELECT unnest($1::text[]) AS id),
  ${JOURNAL_TABLES.map((table, i) => `j${i} AS (DELETE FROM ${table} WHERE execution_id IN (SELECT id FROM ids))`).join(",\n  ")}
  DELETE FROM weft_queue q WHERE EXISTS (SELECT 1 FROM ids WHERE left(q.item_id, length(ids.id) + 1) = ids.id || '/')`

/** The purge over `db`. */
export const make = (db: Database): Retention => {
  const { inTransaction, isPg, rows, sql } = db

  /** The executions' DELETE: at most `limit` ended ones of `statuses` last changed before `before`. */
  const deleteExecutions = (filter: WorkflowStore.PurgeFilter) => {
    const statuses = sql.literal(`(${filter.statuses.map(literal).join(", ")})`)
    return isPg
      ? // A CTE runs once: a LIMIT subquery under IN may be scanned again per row, each time taking other rows.
        sql`WITH victims AS MATERIALIZED (
          SELECT execution_id FROM weft_executions
          WHERE status IN ${statuses} AND ${sql.literal(TERMINAL)} AND updated_at < ${filter.before}
          LIMIT ${filter.limit} FOR UPDATE SKIP LOCKED)
        DELETE FROM weft_executions e USING victims v
        WHERE e.execution_id = v.execution_id AND e.status IN ${statuses} AND e.updated_at < ${filter.before}
        RETURNING e.execution_id, e.status`
      : sql`DELETE FROM weft_executions WHERE execution_id IN (
          SELECT execution_id FROM weft_executions
          WHERE status IN ${statuses} AND ${sql.literal(TERMINAL)} AND updated_at < ${filter.before}
          LIMIT ${filter.limit})
        RETURNING execution_id, status`
  }

  const deleteJournalSqlite = (ids: string) =>
    Effect.andThen(
      Effect.forEach(
        JOURNAL_TABLES,
        (table) =>
          rows(sql`DELETE FROM ${sql.literal(table)} WHERE execution_id IN (SELECT value FROM json_each(${ids}))`),
        { discard: true }
      ),
      rows(sql`DELETE FROM weft_queue WHERE EXISTS (SELECT 1 FROM json_each(${ids}) j
        WHERE substr(weft_queue.item_id, 1, length(j.value) + 1) = j.value || '/')`)
    )

  return {
    purge: (filter) =>
      filter.statuses.length === 0 || filter.limit < 1
        ? Effect.succeed([])
        : inTransaction(
            Effect.gen(function* () {
              if (isPg) {
                const [lock] = yield* rows(sql.unsafe(`SELECT pg_try_advisory_xact_lock(${LOCK}) AS held`))
                // Another worker purges now: this call leaves it to that one.
                if ((lock as { readonly held?: unknown } | undefined)?.held !== true) return []
              }
              // The executions' rows first: on SQLite that takes the write lock before anything is read.
              const purged = yield* Effect.flatMap(rows(deleteExecutions(filter)), (r) => Rows.all(r, Rows.purged))
              if (purged.length === 0) return purged
              const ids = purged.map((p) => p.executionId)
              yield* isPg ? rows(sql.unsafe(deleteJournalPg, [ids])) : deleteJournalSqlite(JSON.stringify(ids))
              return purged
            })
          )
  }
}
