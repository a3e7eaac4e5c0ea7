/**
 * Durable schedules' rows (`weft_schedules`): each written whole under a revision, so advancing a fire is a
 * compare-and-set one statement long; the runtime decides which fires run. Not hot-path statements.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Statement from "effect/sql/Statement"
import { WorkflowError, type WorkflowStore } from "@weft/workflow"
import * as Column from "./columns.js"
import type { Database } from "./database.js"
import { CHANNEL } from "./notifications.js"

/** The schedules' part of the store. */
export type Schedules = Required<Pick<WorkflowStore.Service, "schedules">>

type ScheduleRecord = WorkflowStore.ScheduleRecord

/** A row of `weft_schedules`. */
const ScheduleRow = Schema.Struct({
  schedule_id: Schema.String,
  workflow: Schema.String,
  payload: Column.Payload,
  spec: Column.JsonOf(Schema.Unknown),
  paused: Column.Flag,
  next_fire_at: Column.OptionalInt,
  due_at: Column.OptionalInt,
  last_fire_at: Column.OptionalInt,
  last_execution_id: Schema.NullishOr(Schema.String),
  buffered_at: Column.OptionalInt,
  revision: Column.Int,
  created_at: Column.Int,
  updated_at: Column.Int
})

const decodeRow = Schema.decodeUnknownResult(ScheduleRow)

/** A row as a record; one that no longer decodes is `InvalidResult` naming the schedule. */
const record = (row: unknown): Exit.Exit<ScheduleRecord, WorkflowError.WorkflowError> => {
  const decoded = decodeRow(row)
  if (Result.isFailure(decoded)) {
    const id = typeof row === "object" && row !== null ? String((row as { schedule_id?: unknown }).schedule_id) : "?"
    return Exit.fail(
      new WorkflowError.WorkflowError({
        reason: "InvalidResult",
        message: `A stored row no longer decodes: schedule ${id}: ${decoded.failure.message}`
      })
    )
  }
  const r = decoded.success
  return Exit.succeed({
    scheduleId: r.schedule_id,
    workflow: r.workflow,
    payload: r.payload,
    spec: r.spec,
    paused: r.paused,
    nextFireAt: r.next_fire_at,
    dueAt: r.due_at,
    lastFireAt: r.last_fire_at,
    lastExecutionId: r.last_execution_id ?? undefined,
    bufferedAt: r.buffered_at,
    revision: r.revision,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  })
}

const all = (rows: ReadonlyArray<unknown>) =>
  Effect.forEach(rows, (row) => record(row) as Effect.Effect<ScheduleRecord, WorkflowError.WorkflowError>)

/** A `min(due_at)` column: none for NULL (PostgreSQL returns a bigint as text). */
const nextOf = (next: unknown): Option.Option<number> =>
  next === null || next === undefined ? Option.none() : Option.some(Number(next))

const first = (rows: ReadonlyArray<unknown>) =>
  rows.length === 0 ? Effect.succeedNone : Effect.map(record(rows[0]), Option.some)

/** The schedules' statements over `db`. */
export const make = (db: Database): Schedules => {
  const { rows, sql } = db
  // On PostgreSQL a write announces itself in its own statement (`schedule:<id>:<workflow>`), so the schedule loops of
  // other processes wake at once; SQLite has no notifications (its processes see the write at their poll).
  const announced = (write: Statement.Statement<any>) =>
    db.isPg
      ? sql`WITH written AS (${write}),
          announced AS (SELECT pg_notify(${CHANNEL}, 'schedule:' || schedule_id || ':' || workflow) FROM written)
        SELECT written.*, (SELECT count(*) FROM announced) AS announced FROM written`
      : write
  const values = (s: WorkflowStore.ScheduleWrite) => ({
    payload: Column.payloadText(s.payload),
    spec: JSON.stringify(s.spec ?? null),
    paused: s.paused ? 1 : 0,
    next: s.nextFireAt ?? null,
    due: s.dueAt ?? null,
    last: s.lastFireAt ?? null,
    lastExecution: s.lastExecutionId ?? null,
    buffered: s.bufferedAt ?? null
  })
  return {
    schedules: {
      put: (s, expectedRevision) => {
        const v = values(s)
        return Effect.flatMap(
          expectedRevision === undefined
            ? rows(announced(sql`INSERT INTO weft_schedules (schedule_id, workflow, payload, spec, paused, next_fire_at,
                due_at, last_fire_at, last_execution_id, buffered_at, revision, created_at, updated_at)
              VALUES (${s.scheduleId}, ${s.workflow}, ${v.payload}, ${v.spec}, ${v.paused}, ${v.next}, ${v.due},
                ${v.last}, ${v.lastExecution}, ${v.buffered}, 1, ${s.updatedAt}, ${s.updatedAt})
              ON CONFLICT (schedule_id) DO NOTHING RETURNING *`))
            : rows(announced(sql`UPDATE weft_schedules SET workflow = ${s.workflow}, payload = ${v.payload},
                spec = ${v.spec}, paused = ${v.paused}, next_fire_at = ${v.next}, due_at = ${v.due}, last_fire_at = ${v.last},
                last_execution_id = ${v.lastExecution}, buffered_at = ${v.buffered}, revision = revision + 1,
                updated_at = ${s.updatedAt}
              WHERE schedule_id = ${s.scheduleId} AND revision = ${expectedRevision} RETURNING *`)),
          first
        )
      },
      get: (scheduleId) =>
        Effect.flatMap(rows(sql`SELECT * FROM weft_schedules WHERE schedule_id = ${scheduleId}`), first),
      list: (workflows) =>
        Effect.flatMap(
          workflows === undefined
            ? rows(sql`SELECT * FROM weft_schedules ORDER BY schedule_id`)
            : workflows.length === 0
            ? Effect.succeed([])
            : rows(sql`SELECT * FROM weft_schedules WHERE workflow IN ${sql.in(workflows as Array<string>)}
                ORDER BY schedule_id`),
          all
        ),
      remove: (scheduleId) =>
        Effect.map(
          rows(announced(sql`DELETE FROM weft_schedules WHERE schedule_id = ${scheduleId}
            RETURNING schedule_id, workflow`)),
          (r) => r.length > 0
        ),
      setPaused: (scheduleId, paused, at) =>
        Effect.flatMap(
          rows(announced(sql`UPDATE weft_schedules SET paused = ${paused ? 1 : 0}, revision = revision + 1,
            updated_at = ${at} WHERE schedule_id = ${scheduleId} RETURNING *`)),
          first
        ),
      due: (now, workflows, limit) =>
        workflows.length === 0
          ? Effect.succeed({ schedules: [], nextDueAt: Option.none() })
          : Effect.flatMap(
              // One row per due schedule (none: one row of NULLs), each carrying the next due time after `now`.
              rows(sql`SELECT n.weft_next, s.* FROM
                (SELECT min(due_at) AS weft_next FROM weft_schedules
                  WHERE paused = 0 AND workflow IN ${sql.in(workflows as Array<string>)} AND due_at > ${now}) n
                LEFT JOIN (SELECT * FROM weft_schedules
                  WHERE paused = 0 AND workflow IN ${sql.in(workflows as Array<string>)}
                    AND (due_at <= ${now} OR buffered_at IS NOT NULL)
                  ORDER BY due_at IS NULL, due_at, schedule_id LIMIT ${Math.max(0, limit)}) s ON true
                ORDER BY s.due_at IS NULL, s.due_at, s.schedule_id`),
              (r) =>
                Effect.map(
                  all(r.filter((row) => (row as { schedule_id?: unknown }).schedule_id != null)),
                  (schedules) => ({
                    schedules,
                    nextDueAt: nextOf((r[0] as { weft_next?: unknown } | undefined)?.weft_next)
                  })
                )
            ),
      nextDueAt: (workflows) =>
        workflows.length === 0
          ? Effect.succeedNone
          : Effect.flatMap(
              rows(sql`SELECT min(due_at) AS next FROM weft_schedules
                WHERE paused = 0 AND workflow IN ${sql.in(workflows as Array<string>)}`),
              (r) => Effect.succeed(nextOf((r[0] as { next?: unknown } | undefined)?.next))
            )
    }
  }
}
