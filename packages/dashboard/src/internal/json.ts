/**
 * What the dashboard's JSON routes read and answer: the list filter from a query string, execution summaries, a
 * trace with its large values cut, and an action's body. Input that does not fit is a message, never a throw.
 */
import * as Result from "effect/Result"
import { WorkflowStore, WorkflowTrace } from "@weft/workflow"
import type * as DashboardAction from "../DashboardAction.js"

/** The most executions one page lists. */
export const maxLimit = 200

/** The most trace entries answered (the newest are dropped past it, and `truncated` says so). */
export const maxEntries = 2000

/** The longest JSON text of one value (payload, result, note data) answered whole; a longer one is cut. */
export const maxValueChars = 8_000

const statuses: ReadonlySet<string> = new Set<string>(WorkflowStore.statuses)

/** The list filter of `?workflow=&status=&createdAfter=&createdBefore=&cursor=&limit=`. */
export const listFilter = (params: URLSearchParams): Result.Result<WorkflowStore.ListFilter, string> => {
  const known = new Set(["workflow", "status", "createdAfter", "createdBefore", "cursor", "limit"])
  const filter: {
    workflow?: string
    status?: WorkflowStore.ExecutionStatus
    createdAfter?: number
    createdBefore?: number
    cursor?: string
    limit?: number
  } = {}
  for (const key of new Set(params.keys())) {
    if (!known.has(key)) return Result.fail(`Unknown query parameter ${JSON.stringify(cut(key, 50))}`)
    const values = params.getAll(key)
    if (values.length > 1) return Result.fail(`The query parameter ${key} is given more than once`)
    const value = values[0]!
    if (value === "") continue
    switch (key) {
      case "workflow":
        if (value.length > 200) return Result.fail("workflow must be at most 200 characters")
        filter.workflow = value
        break
      case "status":
        if (!statuses.has(value)) return Result.fail(`status must be one of ${[...statuses].join(", ")}`)
        filter.status = value as WorkflowStore.ExecutionStatus
        break
      case "createdAfter":
      case "createdBefore": {
        const at = instant(value)
        if (at === undefined) return Result.fail(`${key} must be epoch milliseconds or an ISO 8601 date`)
        filter[key] = at
        break
      }
      case "cursor":
        if (value.length > 1000) return Result.fail("cursor must be at most 1000 characters")
        filter.cursor = value
        break
      case "limit": {
        const limit = /^\d{1,4}$/.test(value) ? Number(value) : NaN
        if (!(limit >= 1 && limit <= maxLimit)) return Result.fail(`limit must be a whole number from 1 to ${maxLimit}`)
        filter.limit = limit
        break
      }
    }
  }
  return Result.succeed({ limit: 50, ...filter })
}

/** An execution in the list: no payload or result, which the detail view shows. */
export const summary = (record: WorkflowStore.ExecutionRecord) => ({
  executionId: record.executionId,
  workflow: record.workflow,
  version: WorkflowStore.versionOf(record),
  status: record.status,
  createdAt: record.createdAt,
  updatedAt: record.updatedAt,
  parent: record.parent?.executionId ?? null,
  outcome: record.result === undefined ? null : WorkflowTrace.outcomeOf(record.result)?.outcome ?? null
})

/** One execution's trace as the detail view reads it; `now` places the bars of what is still open. */
export const trace = (detail: WorkflowStore.ExecutionDetail, now: number) => {
  const { entries, execution } = WorkflowTrace.fromDetail(detail)
  const ended = execution.result === undefined ? undefined : WorkflowTrace.outcomeOf(execution.result)
  return {
    now,
    execution: {
      executionId: execution.executionId,
      workflow: execution.workflow,
      version: WorkflowStore.versionOf(execution),
      status: execution.status,
      createdAt: execution.createdAt,
      updatedAt: execution.updatedAt,
      parent: execution.parent?.executionId ?? null,
      interruptRequested: execution.interruptRequested,
      payload: clip(execution.payload),
      outcome: ended?.outcome ?? null,
      ...(ended !== undefined && "value" in ended ? { value: clip(ended.value) } : {})
    },
    truncated: entries.length > maxEntries,
    entries: entries.slice(0, maxEntries).map((entry) => {
      const out: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(entry)) {
        out[key] = key === "value" || key === "data" ? clip(value) : value
      }
      return out
    })
  }
}

/** A value whose JSON is too long becomes `{ "…": "<the first characters>", "bytes": n }`. */
export const clip = (value: unknown): unknown => {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    return { "…": "(not JSON)" }
  }
  if (text === undefined || text.length <= maxValueChars) return value
  return { "…": text.slice(0, maxValueChars), bytes: text.length }
}

/** An action's body: `{ workflow?, <the action's fields> }`, strings only, nothing else. */
export const actionInput = (
  body: unknown,
  action: DashboardAction.Action
): Result.Result<{ readonly workflow: string | undefined; readonly fields: Record<string, string> }, string> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Result.fail("The request body must be a JSON object")
  }
  const names = new Set(["workflow", ...action.fields.map((field) => field.name)])
  for (const key of Object.keys(body)) {
    if (!names.has(key)) return Result.fail(`Unknown field ${JSON.stringify(cut(key, 50))} for ${action.name}`)
  }
  const record = body as Record<string, unknown>
  const workflow = record.workflow
  if (workflow !== undefined && (typeof workflow !== "string" || workflow.length === 0 || workflow.length > 200)) {
    return Result.fail("workflow must be a string of 1 to 200 characters")
  }
  const fields: Record<string, string> = {}
  for (const field of action.fields) {
    const value = record[field.name]
    if (value === undefined || value === "") {
      if (field.required) return Result.fail(`${field.name} is required for ${action.name}`)
      continue
    }
    if (typeof value !== "string" || value.length > 1000) {
      return Result.fail(`${field.name} must be a string of at most 1000 characters`)
    }
    fields[field.name] = value
  }
  return Result.succeed({ workflow, fields })
}

/** Epoch milliseconds, or an ISO 8601 date (`2025-01-31`, `2025-01-31T12:00:00Z`). */
const instant = (text: string): number | undefined => {
  if (/^\d{1,15}$/.test(text)) return Number(text)
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isFinite(at) ? at : undefined
}

const cut = (text: string, max: number): string => text.length <= max ? text : `${text.slice(0, max)}…`
