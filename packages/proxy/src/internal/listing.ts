/**
 * Listing executions over HTTP and RPC: the filters as a transport carries them, each checked (a bad one is a 400
 * naming its field), then a bounded number of store pages read, keeping the group's own workflows; and the versions
 * of those workflows with live executions.
 */
import * as Effect from "effect/Effect"
import { type Workflow, WorkflowEngine, WorkflowError, WorkflowStore } from "@weft/workflow"
import * as WorkflowProxy from "../WorkflowProxy.js"

/** A filter of `ListExecutions` as a transport carries it: a query's strings (one per key) or RPC's typed values. */
export interface RawFilter {
  readonly workflow?: string | undefined
  readonly status?: string | undefined
  readonly version?: string | number | undefined
  readonly createdAfter?: string | number | undefined
  readonly createdBefore?: string | number | undefined
  readonly parent?: string | undefined
  readonly idempotencyKeyPrefix?: string | undefined
  readonly cursor?: string | undefined
  readonly limit?: string | number | undefined
}

const listKeys = [
  "workflow",
  "status",
  "version",
  "createdAfter",
  "createdBefore",
  "parent",
  "idempotencyKeyPrefix",
  "cursor",
  "limit"
] as const

/** The query's filters, each given at most once (a repeated key is a 400). */
export const singles = (query: Readonly<Record<string, unknown>>): Effect.Effect<RawFilter, WorkflowError.WorkflowError> =>
  Effect.suspend(() => {
    const filter: Record<string, unknown> = {}
    for (const key of listKeys) {
      const value = single(key, query[key])
      if (value instanceof WorkflowError.WorkflowError) return Effect.fail(value)
      if (value !== undefined) filter[key] = value
    }
    return Effect.succeed(filter as RawFilter)
  })

/** One query value: a key given more than once is refused. */
export function single(key: string, value: unknown): unknown {
  return Array.isArray(value)
    ? value.length === 1 ? value[0] : badInput(key, "one value", `${value.length} values`)
    : value
}

/**
 * Executions of the group's workflows, newest first: the filters checked (a bad one is a 400 naming it), then at
 * most `maxListReads` pages read from the store, keeping the group's own executions. Bounded work per request.
 */
export const list = (workflows: ReadonlyArray<Workflow.Any>, raw: RawFilter) =>
  Effect.gen(function*() {
    const names = workflows.map((w) => w.name)
    const filter = yield* checkFilter(names, raw)
    const engine = yield* WorkflowEngine.WorkflowEngine
    const own = new Set(names)
    // One workflow asked for (or the group's only one): the store filters; else this keeps the group's own.
    const workflow = filter.workflow ?? (names.length === 1 ? names[0] : undefined)
    const items: Array<typeof WorkflowProxy.Execution.Type> = []
    let cursor = filter.cursor
    for (let reads = 0; reads < maxListReads && items.length < filter.limit; reads++) {
      const page = yield* engine.list({ ...filter, workflow, cursor, limit: filter.limit - items.length })
      for (const record of page.items) {
        if (own.has(record.workflow)) {
          items.push(executionOf(record))
        }
      }
      cursor = page.nextCursor
      if (cursor === undefined) break
    }
    return cursor === undefined ? { items } : { items, nextCursor: cursor }
  })

/** The most store pages one `ListExecutions` request reads to fill its page with the group's executions. */
const maxListReads = 8

const statuses: ReadonlySet<string> = new Set(WorkflowProxy.Status.literals)

/** A cursor as Weft's stores write it (`<createdAt>:<executionId>`): anything else is refused before the store. */
const cursorPattern = /^\d{1,16}:[\x21-\x7e]{1,256}$/

/** Text a store keeps as it is: no U+0000 (PostgreSQL refuses it) and no lone surrogate (not UTF-8). */
const isWellFormedText = (text: string): boolean =>
  !text.includes("\u0000") && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)

/** An execution id as a filter names it (as `WorkflowProxy.ExecutionId`). */
const executionIdPattern = /^[\x21-\x7e]{1,256}$/

const checkFilter = (
  names: ReadonlyArray<string>,
  raw: RawFilter
): Effect.Effect<
  {
    readonly workflow: string | undefined
    readonly status: WorkflowProxy.Status | undefined
    readonly version: number | undefined
    readonly createdAfter: number | undefined
    readonly createdBefore: number | undefined
    readonly parent: string | undefined
    readonly idempotencyKeyPrefix: string | undefined
    readonly cursor: string | undefined
    readonly limit: number
  },
  WorkflowError.WorkflowError
> =>
  Effect.suspend(() => {
    const { cursor, status, workflow } = raw
    if (workflow !== undefined && !names.includes(workflow)) {
      return Effect.fail(badInput("workflow", `one of this API's workflows: ${names.join(", ")}`, workflow))
    }
    if (status !== undefined && !statuses.has(status)) {
      return Effect.fail(badInput("status", [...statuses].join(", "), status))
    }
    if (raw.parent !== undefined && !executionIdPattern.test(raw.parent)) {
      return Effect.fail(badInput("parent", "an execution id (printable ASCII, at most 256 characters)", raw.parent))
    }
    const prefix = raw.idempotencyKeyPrefix
    if (prefix !== undefined && (prefix.length === 0 || prefix.length > 1_024 || !isWellFormedText(prefix))) {
      return Effect.fail(
        badInput("idempotencyKeyPrefix", "1 to 1,024 characters, with no U+0000 and no lone surrogate", prefix.slice(0, 64))
      )
    }
    if (cursor !== undefined && !cursorPattern.test(cursor)) {
      return Effect.fail(badInput("cursor", "a nextCursor this API answered", cursor))
    }
    const version = wholeNumber("version", raw.version, 1, WorkflowProxy.maxVersion)
    if (version instanceof WorkflowError.WorkflowError) return Effect.fail(version)
    const createdAfter = wholeNumber("createdAfter", raw.createdAfter, 0)
    if (createdAfter instanceof WorkflowError.WorkflowError) return Effect.fail(createdAfter)
    const createdBefore = wholeNumber("createdBefore", raw.createdBefore, 0)
    if (createdBefore instanceof WorkflowError.WorkflowError) return Effect.fail(createdBefore)
    const limit = wholeNumber("limit", raw.limit, 1, WorkflowProxy.maxListLimit)
    if (limit instanceof WorkflowError.WorkflowError) return Effect.fail(limit)
    return Effect.succeed({
      workflow,
      status: status as WorkflowProxy.Status | undefined,
      version,
      createdAfter,
      createdBefore,
      parent: raw.parent,
      idempotencyKeyPrefix: prefix,
      cursor,
      limit: limit ?? WorkflowProxy.defaultListLimit
    })
  })

/** A whole number from `min` to `max` (epoch milliseconds by default), given as digits or as a number. */
const wholeNumber = (
  field: string,
  value: string | number | undefined,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER
): number | undefined | WorkflowError.WorkflowError => {
  if (value === undefined) return undefined
  const n = typeof value === "string" ? (/^\d{1,16}$/.test(value) ? Number(value) : NaN) : value
  return Number.isSafeInteger(n) && n >= min && n <= max
    ? n
    : badInput(field, `a whole number from ${min} to ${max}`, value)
}

/** A request's field that does not fit: `InvalidPayload` (HTTP 400) naming the field and what it expects. */
export const badInput = (field: string, expected: string, value: unknown): WorkflowError.WorkflowError =>
  new WorkflowError.WorkflowError({
    reason: "InvalidPayload",
    field,
    expected,
    message: `"${field}" must be ${expected}; got ${preview(value)}`
  })

const preview = (value: unknown): string => {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value)
  return text.length <= 80 ? text : `${text.slice(0, 80)}…`
}

/**
 * The versions of the group's workflows with live executions (`WorkflowEngine.versions`), of `workflow` when given
 * (one of the group's, else a 400). Whether the engine here registers a version is left out: a proxy may run no
 * workflow itself.
 */
export const versions = (workflows: ReadonlyArray<Workflow.Any>, workflow: unknown) =>
  Effect.gen(function*() {
    const names = workflows.map((w) => w.name)
    if (workflow instanceof WorkflowError.WorkflowError) return yield* Effect.fail(workflow)
    if (workflow !== undefined && (typeof workflow !== "string" || !names.includes(workflow))) {
      return yield* Effect.fail(badInput("workflow", `one of this API's workflows: ${names.join(", ")}`, workflow))
    }
    const found = yield* WorkflowEngine.versions(workflow === undefined ? names : [workflow])
    return {
      versions: found.map((v) => ({
        workflow: v.workflow,
        version: v.version,
        running: v.running,
        suspended: v.suspended
      }))
    }
  })

/** An execution as the status, list and trace routes answer it. */
export const executionOf = (record: WorkflowStore.ExecutionRecord): typeof WorkflowProxy.Execution.Type => ({
  executionId: record.executionId,
  workflow: record.workflow,
  version: WorkflowStore.versionOf(record),
  ...(record.idempotencyKey === undefined ? {} : { idempotencyKey: record.idempotencyKey }),
  status: record.status,
  createdAt: record.createdAt,
  updatedAt: record.updatedAt
})
