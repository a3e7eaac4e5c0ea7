/**
 * The engine service and its Layers: the replay runtime over a `WorkflowStore`. Workflows,
 * activities and durable primitives all run through it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type { EngineOptions, SigningKey as Key, SigningKeyring as Keyring } from "./internal/definitions.js"
import * as Discovery from "./internal/discovery.js"
import * as Engine from "./internal/engine.js"
import type * as Operator from "./internal/operator.js"
import type * as Results from "./internal/results.js"
import type * as Retention from "./internal/retention.js"
import type * as Versioning from "./internal/versioning.js"
import * as MemoryStore from "./MemoryStore.js"
import type { WorkflowError } from "./WorkflowError.js"
import * as WorkflowTrace from "./WorkflowTrace.js"
import type { ExecutionDetail, ExecutionRecord, ListFilter, Page, WorkflowStore } from "./WorkflowStore.js"

/** Options of every engine layer. */
export type Options = EngineOptions

/** A key that signs deferred tokens: text (its UTF-8 bytes) or bytes, plain or `Redacted`; 32 bytes or more. */
export type SigningKey = Key

/**
 * Named signing keys, for rotation: new tokens are signed with `current`; tokens of a `previous` key stay valid
 * while it is in the ring.
 *
 * @example
 * const signingKey: WorkflowEngine.SigningKeyring = {
 *   current: { id: "2025-06", key: Redacted.make(process.env.WEFT_KEY_2025_06!) },
 *   previous: [{ id: "2025-01", key: Redacted.make(process.env.WEFT_KEY_2025_01!) }]
 * }
 */
export type SigningKeyring = Keyring

/**
 * What a running engine offers outside workflow definitions: inspection and operator actions. Starting,
 * awaiting and signalling go through `Workflow`, `DurableDeferred` and `DurableQueue`.
 */
export interface Service {
  /** This worker's name in claims and leases. */
  readonly owner: string
  /** How many executions have a live run in this process (a suspended one has none). */
  readonly activeRuns: () => number
  /** An execution's record; with `workflow`, only if it belongs to that workflow. Unknown: `ExecutionNotFound`. */
  readonly get: (executionId: string, workflow?: string) => Effect.Effect<ExecutionRecord, WorkflowError>
  /** Interrupts a live execution: compensations run and it ends as interrupted. An ended one is left alone. */
  readonly interrupt: (executionId: string, workflow?: string) => Effect.Effect<void, WorkflowError>
  /** Schedules a suspended execution again, or re-runs one that failed by a defect. */
  readonly resume: (executionId: string, workflow?: string) => Effect.Effect<void, WorkflowError>
  /**
   * Runs a failed execution (a typed error or a defect) again where it stands: the activities whose failure ended it
   * get a fresh round of attempts, every completed step keeps its result. Journaled (`retried`). Not failed, or
   * its compensations ran, or it stopped a child: `InvalidState`, saying what to do instead (`restart`).
   */
  readonly retry: (executionId: string, workflow?: string) => Effect.Effect<RetryResult, WorkflowError>
  /**
   * Starts a new execution (new id) of an ended one's workflow and payload, holding a copy of its journal up to
   * `fromStep` (default: nothing), and runs the rest. Journaled on both. A live one: `InvalidState`; an unknown
   * step: `InvalidPayload` listing the steps.
   */
  readonly restart: (executionId: string, options?: RestartOptions) => Effect.Effect<RestartResult, WorkflowError>
  /** Executions, newest first, filtered by workflow, status and creation time; paginated by cursor. */
  readonly list: (filter?: ListFilter) => Effect.Effect<Page, WorkflowError>
  /** One execution with its payload, status, result, attempts, deferreds, timers and event log. */
  readonly detail: (executionId: string) => Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError>
  /**
   * Waits for an execution's end by id, whichever process runs it: its terminal record, or None once `timeout`
   * passes. With `workflow`, only an execution of that workflow. Unknown: `ExecutionNotFound`.
   */
  readonly result: (
    executionId: string,
    options?: ResultOptions & { readonly workflow?: string | undefined }
  ) => Effect.Effect<Option.Option<ExecutionRecord>, WorkflowError>
  /**
   * Deletes the executions that ended more than `olderThan` ago (by their `updatedAt`) in `status` (default: any
   * end), with everything of them, in batches; returns how many. Never a live one. A negative age or a live status
   * is `InvalidPayload` naming the field, and nothing is deleted. A start with a purged execution's idempotency
   * key makes a new execution: the idempotency window is the retention period.
   */
  readonly purge: (options: PurgeOptions) => Effect.Effect<number, WorkflowError>
  /** The workflows registered on this engine, by name, with their payload, success and error JSON Schemas. */
  readonly workflows: () => Effect.Effect<ReadonlyArray<WorkflowInfo>>
  /**
   * The versions with live executions (running or suspended), of `workflows` when given, by workflow then version,
   * each with whether this engine runs it: during a rolling deploy, what still needs an old version's worker.
   */
  readonly versions: (workflows?: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<VersionInfo>, WorkflowError>
}

/** Live executions of one (workflow, version), and whether the engine asked registers that version. */
export type VersionInfo = Versioning.VersionInfo

/** What `retry` did: the activities given a fresh round of attempts (none when the body itself failed). */
export type RetryResult = Operator.RetryResult

/** Options of `restart`: `fromStep` (default: the beginning), `idempotencyKey` (default: the same restart asked twice is one execution), `workflow`. */
export type RestartOptions = Operator.RestartOptions

/** What `restart` did: the new execution's id, the source, the step, how many steps it copied. */
export type RestartResult = Operator.RestartResult

/** What `purge` deletes: executions that ended more than `olderThan` ago, in `status` (default: any end). */
export type PurgeOptions = Retention.PurgeOptions

/** The `retention` option: `PurgeOptions` run at start and then `every` (default one hour). */
export type RetentionOptions = Retention.RetentionOptions

/** Options of `result`: `timeout`, after which the answer is `Option.none()` (default: wait until it ends). */
export type ResultOptions = Results.ResultOptions

/** A registered workflow as discovery lists it: its name and the JSON Schemas of its payload, success and error. */
export type WorkflowInfo = Discovery.WorkflowInfo

/** One schema as JSON Schema (draft 2020-12, definitions under `$defs`), or `Unsupported` with why not. */
export type JsonSchemaOf = Discovery.JsonSchemaOf

/** The engine service. */
export class WorkflowEngine extends Context.Service<WorkflowEngine, Service>()("@weft/workflow/WorkflowEngine") {}

/** The engine over the store in context. Start-up recovers executions that an earlier process left runnable. */
export const layer = (options: Options = {}): Layer.Layer<WorkflowEngine, WorkflowError, WorkflowStore> =>
  Layer.effect(WorkflowEngine, Engine.make(options))

/** The engine over a fresh in-memory store. */
export const layerMemoryWith = (
  options: Options & MemoryStore.Options = {}
): Layer.Layer<WorkflowEngine | WorkflowStore, WorkflowError> =>
  layer(options).pipe(Layer.provideMerge(MemoryStore.layer(options)))

/**
 * The engine over a fresh in-memory store: for tests and development.
 *
 * @example
 * Effect.runPromise(Greet.execute({ name: "Ada" }).pipe(Effect.provide(GreetLive), Effect.provide(WorkflowEngine.layerMemory)))
 */
export const layerMemory: Layer.Layer<WorkflowEngine | WorkflowStore> = layerMemoryWith().pipe(Layer.orDie)

/** Executions, newest first, filtered by workflow, status and creation time; paginated by cursor. */
export const list: (filter?: ListFilter) => Effect.Effect<Page, WorkflowError, WorkflowEngine> = Effect.fn(
  "WorkflowEngine.list"
)(function* (filter: ListFilter = {}) {
  return yield* (yield* WorkflowEngine).list(filter)
})

/** One execution with its payload, status, result, attempts, deferreds, timers and event log. */
export const detail: (
  executionId: string
) => Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowEngine.detail")(
  function* (executionId: string) {
    return yield* (yield* WorkflowEngine).detail(executionId)
  }
)

/** An execution's record (status, payload, result, timestamps), whatever its workflow. */
export const get: (executionId: string) => Effect.Effect<ExecutionRecord, WorkflowError, WorkflowEngine> = Effect.fn(
  "WorkflowEngine.get"
)(function* (executionId: string) {
  return yield* (yield* WorkflowEngine).get(executionId)
})

/**
 * An execution's trace: its attempts with durations and outcomes, backoff waits, sleeps, deferreds, children,
 * queue hand-overs, compensations, notes and events, as one timeline (`WorkflowTrace`). None for an unknown id.
 */
export const trace: (
  executionId: string
) => Effect.Effect<Option.Option<WorkflowTrace.Trace>, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowEngine.trace")(
  function* (executionId: string) {
    return Option.map(yield* (yield* WorkflowEngine).detail(executionId), WorkflowTrace.fromDetail)
  }
)

/**
 * Waits for the end of any execution by id, from any process, without its payload: its terminal record (status and
 * encoded result), or None once `timeout` passes. Unknown id: `ExecutionNotFound`. `Workflow.result` decodes it.
 *
 * @example
 * const ended = yield* WorkflowEngine.result(executionId, { timeout: "30 seconds" })
 */
export const result: (
  executionId: string,
  options?: ResultOptions
) => Effect.Effect<Option.Option<ExecutionRecord>, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowEngine.result")(
  function* (executionId: string, options?: ResultOptions) {
    return yield* (yield* WorkflowEngine).result(executionId, options)
  }
)

/**
 * Deletes the executions that ended more than `olderThan` ago in `status` (default: any end), in batches; returns
 * how many. After it, the same idempotency key starts a new execution.
 *
 * @example
 * const deleted = yield* WorkflowEngine.purge({ olderThan: "30 days", status: ["succeeded"] })
 */
export const purge: (options: PurgeOptions) => Effect.Effect<number, WorkflowError, WorkflowEngine> = Effect.fn(
  "WorkflowEngine.purge"
)(function* (options: PurgeOptions) {
  return yield* (yield* WorkflowEngine).purge(options)
})

/**
 * Runs a failed execution again where it stands: the activities whose failure ended it get a fresh round of
 * attempts; completed steps keep their results.
 *
 * @example
 * const { activities } = yield* WorkflowEngine.retry(executionId) // e.g. ["charge"]
 */
export const retry: (executionId: string) => Effect.Effect<RetryResult, WorkflowError, WorkflowEngine> = Effect.fn(
  "WorkflowEngine.retry"
)(function* (executionId: string) {
  return yield* (yield* WorkflowEngine).retry(executionId)
})

/**
 * Starts a new execution from an ended one's journal up to `fromStep`: the steps before it keep their results,
 * it and the rest run anew.
 *
 * @example
 * const { executionId: newId } = yield* WorkflowEngine.restart(executionId, { fromStep: "ship" })
 */
export const restart: (
  executionId: string,
  options?: RestartOptions
) => Effect.Effect<RestartResult, WorkflowError, WorkflowEngine> = Effect.fn("WorkflowEngine.restart")(
  function* (executionId: string, options?: RestartOptions) {
    return yield* (yield* WorkflowEngine).restart(executionId, options)
  }
)

/** The workflows registered on this engine, by name, with the JSON Schemas of their payload, success and error. */
export const workflows: Effect.Effect<ReadonlyArray<WorkflowInfo>, never, WorkflowEngine> = Effect.flatMap(
  WorkflowEngine,
  (engine) => engine.workflows()
)

/**
 * The versions with live executions, by workflow then version, each marked with whether this engine registers it.
 *
 * @example
 * const inFlight = yield* WorkflowEngine.versions(["Order"])
 * // [{ workflow: "Order", version: 1, running: 0, suspended: 12, registered: true }, { ..., version: 2, ... }]
 */
export const versions = (
  workflows?: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<VersionInfo>, WorkflowError, WorkflowEngine> =>
  Effect.flatMap(WorkflowEngine, (engine) => engine.versions(workflows))

/** A workflow definition described as `workflows` lists it, whether or not an engine registered it. */
export const describe = (workflow: {
  readonly name: string
  readonly version?: number | undefined
  readonly payloadSchema: Schema.Top
  readonly successSchema: Schema.Top
  readonly errorSchema: Schema.Top
}): WorkflowInfo =>
  Discovery.describe(
    workflow.name,
    { payload: workflow.payloadSchema, success: workflow.successSchema, error: workflow.errorSchema },
    workflow.version ?? 1
  )
