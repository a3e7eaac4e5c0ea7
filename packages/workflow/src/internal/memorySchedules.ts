/**
 * The memory store's schedules (`WorkflowStore.ScheduleStore`): rows by id, written whole; a write that expects a
 * revision applies only while it is current.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ScheduleRecord, ScheduleStore } from "../WorkflowStore.js"

/** A fresh, empty schedule table. */
export const make = (): ScheduleStore => {
  const rows = new Map<string, ScheduleRecord>()
  const byId = (a: ScheduleRecord, b: ScheduleRecord) => (a.scheduleId < b.scheduleId ? -1 : a.scheduleId > b.scheduleId ? 1 : 0)
  const active = (row: ScheduleRecord, workflows: ReadonlyArray<string>) => !row.paused && workflows.includes(row.workflow)
  return {
    put: (schedule, expectedRevision) =>
      Effect.sync(() => {
        const stored = rows.get(schedule.scheduleId)
        if (expectedRevision === undefined ? stored !== undefined : stored?.revision !== expectedRevision) {
          return Option.none()
        }
        const row: ScheduleRecord = {
          ...schedule,
          revision: (stored?.revision ?? 0) + 1,
          createdAt: stored?.createdAt ?? schedule.updatedAt
        }
        rows.set(row.scheduleId, row)
        return Option.some(row)
      }),
    get: (scheduleId) => Effect.sync(() => Option.fromNullishOr(rows.get(scheduleId))),
    list: (workflows) =>
      Effect.sync(() => [...rows.values()].filter((r) => workflows === undefined || workflows.includes(r.workflow)).sort(byId)),
    remove: (scheduleId) => Effect.sync(() => rows.delete(scheduleId)),
    setPaused: (scheduleId, paused, at) =>
      Effect.sync(() => {
        const stored = rows.get(scheduleId)
        if (stored === undefined) return Option.none()
        const row = { ...stored, paused, revision: stored.revision + 1, updatedAt: at }
        rows.set(scheduleId, row)
        return Option.some(row)
      }),
    due: (now, workflows, limit) =>
      Effect.sync(() => {
        let next: number | undefined
        for (const r of rows.values()) {
          const later = r.dueAt !== undefined && r.dueAt > now
          if (later && active(r, workflows) && (next === undefined || r.dueAt! < next)) next = r.dueAt
        }
        const schedules = [...rows.values()]
          .filter((r) => active(r, workflows) && ((r.dueAt !== undefined && r.dueAt <= now) || r.bufferedAt !== undefined))
          .sort((a, b) => (a.dueAt ?? Infinity) - (b.dueAt ?? Infinity) || byId(a, b))
          .slice(0, Math.max(0, limit))
        return { schedules, nextDueAt: Option.fromNullishOr(next) }
      }),
    nextDueAt: (workflows) =>
      Effect.sync(() => {
        let next: number | undefined
        for (const r of rows.values()) {
          if (active(r, workflows) && r.dueAt !== undefined && (next === undefined || r.dueAt < next)) next = r.dueAt
        }
        return Option.fromNullishOr(next)
      })
  }
}
