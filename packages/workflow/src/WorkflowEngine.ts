/**
 * The engine service and its Layers: the replay runtime over a `WorkflowStore`. Workflows,
 * activities and durable primitives all run through it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type { EngineOptions, SigningKey as Key, SigningKeyring as Keyring } from "./internal/definitions.js"
import * as Engine from "./internal/engine.js"
import * as MemoryStore from "./MemoryStore.js"
import type { WorkflowError } from "./WorkflowError.js"
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
  /** Executions, newest first, filtered by workflow, status and creation time; paginated by cursor. */
  readonly list: (filter?: ListFilter) => Effect.Effect<Page, WorkflowError>
  /** One execution with its payload, status, result, attempts, deferreds, timers and event log. */
  readonly detail: (executionId: string) => Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError>
}

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
