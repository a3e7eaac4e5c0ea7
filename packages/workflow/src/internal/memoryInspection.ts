/**
 * The memory store's reads for operators: a page of executions (filtered, newest first, with a cursor), one
 * execution's detail, and the live executions per (workflow, version). They only read the store's maps.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Entry } from "../MemoryStore.js"
import { type ExecutionRecord, live, type Page, type Service, versionOf } from "../WorkflowStore.js"

/** The reads over the store's executions (`entries`) and its live ones (`open`). */
export const make = (
  entries: ReadonlyMap<string, Entry>,
  open: ReadonlySet<string>
): Pick<Service, "list" | "detail" | "versions"> => ({
  list: (filter) =>
    Effect.sync((): Page => {
      const limit = filter.limit ?? 100
      const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor)
      const matching: Array<ExecutionRecord> = []
      for (const { record } of entries.values()) {
        if (filter.workflow !== undefined && record.workflow !== filter.workflow) continue
        if (filter.status !== undefined && record.status !== filter.status) continue
        if (filter.createdAfter !== undefined && record.createdAt < filter.createdAfter) continue
        if (filter.createdBefore !== undefined && record.createdAt >= filter.createdBefore) continue
        if (filter.parent !== undefined && record.parent?.executionId !== filter.parent) continue
        if (filter.version !== undefined && versionOf(record) !== filter.version) continue
        const prefix = filter.idempotencyKeyPrefix
        if (prefix !== undefined && (record.idempotencyKey === undefined || !record.idempotencyKey.startsWith(prefix))) {
          continue
        }
        if (after !== undefined && compareNewestFirst(record, after) <= 0) continue
        matching.push(record)
      }
      matching.sort(compareNewestFirst)
      const items = matching.slice(0, limit)
      const last = items.at(-1)
      return {
        items,
        nextCursor: matching.length > limit && last !== undefined ? `${last.createdAt}:${last.executionId}` : undefined
      }
    }),

  detail: (executionId) =>
    Effect.sync(() =>
      Option.map(Option.fromNullishOr(entries.get(executionId)), (entry) => ({
        execution: entry.record,
        attempts: [...(entry.attempts ?? [])],
        deferreds: [...(entry.deferreds ?? [])],
        clocks: [...(entry.clocks ?? [])],
        events: [...(entry.events ?? [])]
      }))
    ),

  versions: (workflows) =>
    Effect.sync(() => {
      const counts = new Map<string, { workflow: string; version: number; running: number; suspended: number }>()
      for (const id of open) {
        const record = entries.get(id)!.record
        if (!live.has(record.status) || (workflows !== undefined && !workflows.includes(record.workflow))) continue
        const version = versionOf(record)
        const key = `${version}:${record.workflow}`
        let found = counts.get(key)
        if (found === undefined) counts.set(key, (found = { workflow: record.workflow, version, running: 0, suspended: 0 }))
        if (record.status === "running") found.running++
        else found.suspended++
      }
      return [...counts.values()].sort((a, b) => byCodePoint(a.workflow, b.workflow) || a.version - b.version)
    })
})

/** Strings by code point, as SQLite's bytes and PostgreSQL's "C" collation order them (not UTF-16 code units). */
const byCodePoint = (a: string, b: string): number => {
  if (a === b) return 0
  const x = [...a]
  const y = [...b]
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!
  }
  return x.length - y.length
}

const compareNewestFirst = (a: { createdAt: number; executionId: string }, b: { createdAt: number; executionId: string }) =>
  a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.executionId < b.executionId ? -1 : a.executionId > b.executionId ? 1 : 0

const decodeCursor = (cursor: string) => {
  const i = cursor.indexOf(":")
  return { createdAt: Number(cursor.slice(0, i)), executionId: cursor.slice(i + 1) }
}
