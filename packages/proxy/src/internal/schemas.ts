/**
 * The schemas of the proxy's requests and answers that do not depend on a group's options: statuses, execution
 * ids and references, poll answers, list filters and pages, result requests, discovery. Re-exported by
 * `WorkflowProxy`.
 */
import type * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { Workflow } from "@weft/workflow"

/** Where an execution stands, as the store records it. */
export const Status = Schema.Literals(["running", "suspended", "succeeded", "failed", "interrupted"])

/** Where an execution stands, as the store records it. */
export type Status = typeof Status.Type

/** What `start` answers: the id of the execution (the same payload always gets the same id). */
export const Started = Schema.Struct({ executionId: Schema.String })

/**
 * An execution id as a request names it: printable ASCII, at most 256 characters (ids Weft makes are 32 hex
 * digits), so no NUL, lone surrogate or megabyte-long id reaches a store.
 */
export const ExecutionId = Schema.String.check(
  Schema.isMaxLength(256),
  Schema.isPattern(/^[\x21-\x7e]+$/, { message: "Expected an execution id (printable ASCII, no spaces)" })
)

/** Names one execution: the RPC payload of poll, interrupt, resume and status. */
export const ExecutionRef = Schema.Struct({ executionId: ExecutionId })

/**
 * The HTTP path parameters naming one execution. Any string decodes here; the server checks it against
 * `ExecutionId` itself, so a bad id answers a 400 with a message rather than HttpApi's empty one.
 */
export const ExecutionParams = Schema.Struct({ executionId: Schema.String })

/** A deferred token as a request carries it: a string of at most 4,096 characters (its signature is checked later). */
export const TokenString = Schema.String.check(Schema.isMaxLength(4_096))

/** The highest workflow version a request may name (`Workflow.make({ version })` takes whole numbers from 1). */
export const maxVersion = 2_147_483_647

/** A workflow version as a request names it: a whole number from 1 to `maxVersion`. */
export const Version = Schema.Number.check(
  Schema.isInt(),
  Schema.isBetween({ minimum: 1, maximum: maxVersion })
)

/** An execution's status by id, whatever its workflow. Times are epoch milliseconds. */
export const Execution = Schema.Struct({
  executionId: Schema.String,
  workflow: Schema.String,
  /**
   * The version of its workflow it started on and runs on to its end (1 for executions stored before versions).
   * Optional to a client, which may read a server from before versions.
   */
  version: Schema.optionalKey(Schema.Number),
  /** The idempotency key it was started with (absent on executions stored before keys were kept, and restarts). */
  idempotencyKey: Schema.optional(Schema.String),
  status: Status,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/**
 * What `poll` answers: the status, and the typed Exit once the execution is complete. The Exit goes over the wire
 * as the engine stores it (`Workflow.exitSchema`): `{"_tag":"Failure","cause":{"_tag":"Fail","error":…}}`. A public
 * read route leaves out the Exit of a failed or interrupted execution unless `publicFailures` is set.
 */
export interface PollResult<S extends Schema.Top, E extends Schema.Top> extends
  Schema.Struct<{
    readonly executionId: Schema.String
    readonly status: typeof Status
    readonly exit: Schema.optional<Schema.Codec<Exit.Exit<S["Type"], E["Type"]>, Schema.Json>>
  }>
{}

/** The poll answer of a workflow with these success and error schemas. */
export const PollResult = <S extends Schema.Top, E extends Schema.Top>(success: S, error: E): PollResult<S, E> =>
  Schema.Struct({
    executionId: Schema.String,
    status: Status,
    exit: Schema.optional(Workflow.exitSchema(success, error))
  })

/**
 * A query parameter as the server receives it: one value, or several when the key is repeated (which the server
 * refuses with a 400 and a message, rather than HttpApi's empty one).
 */
export const QueryValue = Schema.Union([Schema.String, Schema.Array(Schema.String)])

/**
 * The filters of `ListExecutions` over HTTP, as query parameters, all optional and checked by the server: `workflow`
 * (one of the group's), `status`, `version` (executions that started on that version of their workflow),
 * `createdAfter` / `createdBefore` (epoch milliseconds), `parent` (the children of that execution),
 * `idempotencyKeyPrefix` (executions whose idempotency key starts with it), `cursor` (a `nextCursor` answered before)
 * and `limit` (1 to `maxListLimit`, default `defaultListLimit`).
 */
export const ListQuery = Schema.Struct({
  workflow: Schema.optional(QueryValue),
  status: Schema.optional(QueryValue),
  version: Schema.optional(QueryValue),
  createdAfter: Schema.optional(QueryValue),
  createdBefore: Schema.optional(QueryValue),
  parent: Schema.optional(QueryValue),
  idempotencyKeyPrefix: Schema.optional(QueryValue),
  cursor: Schema.optional(QueryValue),
  limit: Schema.optional(QueryValue)
})

/** The filters of `ListExecutions` over RPC: those of `ListQuery`, typed; the server checks them the same way. */
export const ListRequest = Schema.Struct({
  workflow: Schema.optional(Schema.String),
  status: Schema.optional(Status),
  version: Schema.optional(Schema.Number),
  createdAfter: Schema.optional(Schema.Number),
  createdBefore: Schema.optional(Schema.Number),
  parent: Schema.optional(Schema.String),
  idempotencyKeyPrefix: Schema.optional(Schema.String),
  cursor: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Number)
})

/** How many executions a `ListExecutions` page holds when the request does not say. */
export const defaultListLimit = 50

/** The most executions a `ListExecutions` page holds; a larger `limit` is a 400. */
export const maxListLimit = 500

/**
 * A page of `ListExecutions`, newest first. `nextCursor`, when present, asks for the next page; a page may hold
 * fewer than `limit` executions (even none) and still have a next one, as only the group's workflows are listed.
 */
export const ExecutionPage = Schema.Struct({
  items: Schema.Array(Execution),
  nextCursor: Schema.optional(Schema.String)
})

/**
 * The query of `Versions` over HTTP: `workflow`, one of the group's (absent: every workflow of the group), checked by
 * the server.
 */
export const VersionsQuery = Schema.Struct({ workflow: Schema.optional(QueryValue) })

/** The RPC payload of `Versions`: as `VersionsQuery`, typed. */
export const VersionsRequest = Schema.Struct({ workflow: Schema.optional(Schema.String) })

/** Live executions of one (workflow, version): how many are running and how many suspended. */
export const VersionInFlight = Schema.Struct({
  workflow: Schema.String,
  version: Schema.Number,
  running: Schema.Number,
  suspended: Schema.Number
})

/**
 * What `Versions` answers: the versions of the group's workflows with live executions, by workflow then version.
 * During a rolling deploy, a version listed here still needs a worker that registers it.
 */
export const VersionList = Schema.Struct({ versions: Schema.Array(VersionInFlight) })

/**
 * The query of a result long-poll over HTTP: `timeoutMs`, how long the server may hold the request (a whole number
 * of milliseconds; more than the server's `resultTimeout` is cut to it; absent: that bound).
 */
export const ResultQuery = Schema.Struct({ timeoutMs: Schema.optional(QueryValue) })

/** The RPC payload of `<Workflow>Result`: the execution, and how long the server may wait (as `ResultQuery`). */
export const ResultRequest = Schema.Struct({ executionId: ExecutionId, timeoutMs: Schema.optional(Schema.Number) })

/** One schema of a workflow as JSON Schema (draft 2020-12, definitions under `$defs`), or why it has none. */
export const JsonSchemaOf = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("JsonSchema"), schema: Schema.Record(Schema.String, Schema.Json) }),
  Schema.Struct({ _tag: Schema.Literal("Unsupported"), message: Schema.String })
])

/**
 * A workflow as discovery lists it: its name, the version of the definition the group holds (what its starts run,
 * where this process registers no newer one), and the JSON Schemas of its payload, success and error.
 */
export const WorkflowInfo = Schema.Struct({
  name: Schema.String,
  // Optional to a client, which may read a server from before versions.
  version: Schema.optionalKey(Schema.Number),
  versions: Schema.optionalKey(Schema.Array(Schema.Number)),
  payload: JsonSchemaOf,
  success: JsonSchemaOf,
  error: JsonSchemaOf
})

/** What `Workflows` answers: the group's workflows, in the group's order. */
export const WorkflowList = Schema.Struct({ workflows: Schema.Array(WorkflowInfo) })

/**
 * What `ExecutionTrace` answers: the execution and its trace's entries (`WorkflowTrace.Entry`, as JSON: activity
 * attempts, waits, notes, takeovers, events; times in epoch milliseconds). Where the read route is public without
 * `publicFailures`, entries come without values, note data, event details or worker names.
 */
export const TraceAnswer = Schema.Struct({ execution: Execution, entries: Schema.Array(Schema.Json) })

/** A name a request gives (a step, an idempotency key): 1 to 1,024 characters. */
const Name = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1_024))

/** What `<Workflow>Retry` answers: the activities given a fresh round of attempts (none: the body itself failed). */
export const RetryAnswer = Schema.Struct({ executionId: Schema.String, activities: Schema.Array(Schema.String) })

/**
 * The body of `POST .../executions/:executionId/restart`: `fromStep` (the activity to start again from; default the
 * beginning), `idempotencyKey` (the same key restarts once; by default the same restart asked twice is one execution)
 * and `version` (the version of the workflow the new execution runs on; default the source's).
 */
export const RestartBody = Schema.Struct({
  fromStep: Schema.optional(Name),
  idempotencyKey: Schema.optional(Name),
  version: Schema.optional(Version)
})

/** The RPC payload of `<Workflow>Restart`: the execution, and `RestartBody`'s fields. */
export const RestartRequest = Schema.Struct({
  executionId: ExecutionId,
  fromStep: Schema.optional(Name),
  idempotencyKey: Schema.optional(Name),
  version: Schema.optional(Version)
})

/** What `<Workflow>Restart` answers: the new execution, the one it restarts, the step, how many steps it copied. */
export const RestartAnswer = Schema.Struct({
  executionId: Schema.String,
  restartedFrom: Schema.String,
  fromStep: Schema.optional(Schema.String),
  copiedSteps: Schema.Number,
  created: Schema.Boolean
})

/**
 * The body of `Purge`: executions that ended more than `olderThanMs` milliseconds ago (a whole number, at least 0),
 * in `status` (default: any end). It purges the whole store, not only the group's workflows.
 */
export const PurgeBody = Schema.Struct({
  olderThanMs: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
  status: Schema.optional(Schema.Array(Schema.Literals(["succeeded", "failed", "interrupted"])).check(Schema.isMaxLength(3)))
})

/** What `Purge` answers: how many executions it deleted. */
export const PurgeAnswer = Schema.Struct({ deleted: Schema.Number })
