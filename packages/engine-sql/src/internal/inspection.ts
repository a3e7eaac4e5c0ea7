/**
 * What operators read: a page of executions (filtered by workflow, status, creation time and parent, newest first,
 * with a cursor), and one execution's detail: its journal and its event log.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { WorkflowStore } from "@weft/workflow"
import type { Database } from "./database.js"
import * as Rows from "./rows.js"
import { LIVE } from "./sqlRules.js"

/** The inspection's part of the store. */
export type Inspection = Pick<WorkflowStore.Service, "list" | "detail" | "versions">

/** The inspection's queries over `db`. */
export const make = (db: Database): Inspection => {
  const { isPg, journalColumns, rows, sql } = db
  return {
    list: (filter) =>
      Effect.gen(function* () {
        const limit = filter.limit ?? 100
        const conditions = [sql`1 = 1`]
        if (filter.workflow !== undefined) conditions.push(sql`workflow = ${filter.workflow}`)
        if (filter.status !== undefined) conditions.push(sql`status = ${filter.status}`)
        if (filter.createdAfter !== undefined) conditions.push(sql`created_at >= ${filter.createdAfter}`)
        if (filter.createdBefore !== undefined) conditions.push(sql`created_at < ${filter.createdBefore}`)
        if (filter.parent !== undefined) conditions.push(sql`parent_execution_id = ${filter.parent}`)
        if (filter.version !== undefined) conditions.push(sql`version = ${filter.version}`)
        if (filter.idempotencyKeyPrefix !== undefined) {
          // Characters (code points) on both databases, as the prefix is counted here; LIKE would read % and _.
          const length = [...filter.idempotencyKeyPrefix].length
          conditions.push(
            isPg
              ? sql`left(idempotency_key, ${length}) = ${filter.idempotencyKeyPrefix}`
              : sql`substr(idempotency_key, 1, ${length}) = ${filter.idempotencyKeyPrefix}`
          )
        }
        if (filter.cursor !== undefined) {
          const i = filter.cursor.indexOf(":")
          const at = Number(filter.cursor.slice(0, i))
          const id = filter.cursor.slice(i + 1)
          conditions.push(sql`(created_at < ${at} OR (created_at = ${at} AND execution_id > ${id}))`)
        }
        const found = yield* rows(sql`SELECT * FROM weft_executions WHERE ${sql.and(conditions)}
          ORDER BY created_at DESC, execution_id ASC LIMIT ${limit + 1}`)
        const items = yield* Rows.all(found.slice(0, limit), Rows.execution)
        const last = items.at(-1)
        return {
          items,
          nextCursor: found.length > limit && last !== undefined ? `${last.createdAt}:${last.executionId}` : undefined
        }
      }),

    // Not a hot-path read: an operator's, and each registration's check once it settles.
    versions: (workflows) =>
      workflows?.length === 0 ? Effect.succeed([]) : Effect.flatMap(
        rows(sql`SELECT workflow, version, sum(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
            sum(CASE WHEN status = 'suspended' THEN 1 ELSE 0 END) AS suspended
          FROM weft_executions
          WHERE ${sql.literal(LIVE)}${
          workflows === undefined ? sql`` : sql` AND workflow IN ${sql.in(workflows as Array<string>)}`
        }
          GROUP BY workflow, version ORDER BY workflow${sql.literal(isPg ? ` COLLATE "C"` : "")}, version`),
        (found) => Rows.all(found, Rows.versionInFlight)
      ),

    detail: (executionId) =>
      Effect.gen(function* () {
        const found = yield* rows(
          sql`SELECT c.*, ${journalColumns} FROM weft_executions c WHERE c.execution_id = ${executionId}`
        )
        if (found.length === 0) return Option.none()
        const { journal } = yield* Rows.journal(found[0])
        const events = yield* rows(
          sql`SELECT kind, at, detail FROM weft_events WHERE execution_id = ${executionId} ORDER BY id`
        )
        return Option.some({ ...journal, events: yield* Rows.all(events, Rows.event) })
      })
  }
}
