/**
 * The engine service and its Layers: the replay runtime over a `WorkflowStore`. Workflows,
 * activities and durable primitives all run through it.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as MemoryStore from "./MemoryStore.js"
import * as Runtime from "./internal/runtime.js"
import type { WorkflowError } from "./WorkflowError.js"
import { type ExecutionDetail, type ListFilter, type Page, WorkflowStore } from "./WorkflowStore.js"

/** Options of every engine layer. */
export type Options = Runtime.EngineOptions

/** The engine service. Its members are the runtime's; use the `Workflow`, `Activity` and `Durable*` modules. */
export class WorkflowEngine extends Context.Service<WorkflowEngine, Runtime.Engine>()("@weft/workflow/WorkflowEngine") {}

/** The engine over the store in context. Start-up recovers executions that an earlier process left runnable. */
export const layer = (options: Options = {}): Layer.Layer<WorkflowEngine, WorkflowError, WorkflowStore> =>
  Layer.effect(WorkflowEngine, Runtime.make(options))

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
export const list = (filter: ListFilter = {}): Effect.Effect<Page, WorkflowError, WorkflowEngine> =>
  Effect.flatMap(WorkflowEngine, (engine) => engine.store.list(filter))

/** One execution with its payload, status, result, attempts, deferreds, timers and event log. */
export const detail = (executionId: string): Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError, WorkflowEngine> =>
  Effect.flatMap(WorkflowEngine, (engine) => engine.store.detail(executionId))
