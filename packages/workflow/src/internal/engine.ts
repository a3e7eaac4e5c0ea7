/**
 * The engine: what its mechanisms share (the store, settings, registry, live runs, result waiters) and the
 * wiring that starts its background loops. Each mechanism lives in its own module: `scheduler.ts` (run slots
 * and run loops), `runner.ts` (claim, replay, suspend, complete), `starts.ts`, `results.ts`, `signals.ts`,
 * `lease.ts`, `timerLoop.ts`.
 */
import { randomBytes } from "node:crypto"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Service } from "../WorkflowEngine.js"
import { WorkflowError } from "../WorkflowError.js"
import {
  type ExecutionDetail,
  type ExecutionRecord,
  type ListFilter,
  type Page,
  WorkflowStore,
  type Service as StoreService
} from "../WorkflowStore.js"
import type * as Codec from "./codec.js"
import * as Lease from "./lease.js"
import * as Results from "./results.js"
import type { RetryPolicy } from "./retry.js"
import { Scheduler } from "./scheduler.js"
import * as Signals from "./signals.js"
import * as Telemetry from "./telemetry.js"
import { sleepLive } from "./time.js"
import * as TimerLoop from "./timerLoop.js"

/** What the runtime knows of a workflow definition. */
export interface WorkflowDef {
  readonly name: string
  readonly codec: Codec.Codec
  readonly idempotencyKey: (payload: any) => string
}

/** What the runtime knows of an activity. */
export interface ActivityDef {
  readonly name: string
  readonly codec: Codec.Codec
  readonly execute: Effect.Effect<any, any, any>
  readonly retry: RetryPolicy | undefined
  /** Run the body in the store's transaction together with the write of its result. */
  readonly transactional?: boolean | undefined
}

/** A registered workflow: its definition, body and the services the body runs with. */
export interface Registration {
  readonly def: WorkflowDef
  readonly handler: (payload: any, executionId: string) => Effect.Effect<any, any, any>
  readonly context: Context.Context<never>
}

/** Engine options shared by every store. */
export interface EngineOptions {
  /** This worker's name in claims. Default: a random id. */
  readonly owner?: string | undefined
  /** Sleeps up to this long stay in the fiber; longer ones suspend. Default 60 seconds. */
  readonly inMemoryThreshold?: number | undefined
  /** The key that signs deferred tokens. Default: generated once and kept by the store. */
  readonly signingKey?: string | Uint8Array | undefined
  /**
   * How often to look for work other processes made runnable (expired claims, timers, queue items).
   * Only needed when several processes share a store. Default: never.
   */
  readonly pollIntervalMs?: number | undefined
  /** Delay before re-running an execution whose store write failed transiently. Default 1 second. */
  readonly storeRetryMs?: number | undefined
  /** Renew a run's claim this often (stores shared by several processes). Default: never. */
  readonly heartbeatMs?: number | undefined
  /**
   * How many executions this engine runs at once (a suspended one holds no run and does not count).
   * Work past it is left in the store, for other workers or for this one once a run ends. Default 1,000.
   */
  readonly maxRuns?: number | undefined
  /**
   * Let `execute` start workflows this engine has not registered, for processes that only submit
   * work that other workers run. Default false: starting one is a `NotRegistered` error.
   */
  readonly acceptUnregistered?: boolean | undefined
  /**
   * Give every run and every executed activity attempt a span. Default: on when a tracer other than
   * Effect's built-in one (an exporter, such as OpenTelemetry's) is installed where the engine is built.
   */
  readonly tracing?: boolean | undefined
}

/** The options with their defaults applied. */
export interface Settings {
  readonly inMemoryThreshold: number
  readonly storeRetryMs: number
  readonly pollIntervalMs: number | undefined
  readonly heartbeatMs: number | undefined
  readonly maxRuns: number
  readonly acceptUnregistered: boolean
}

/** The engine behind the `WorkflowEngine` service: its public members, and the state its mechanisms share. */
export class Engine implements Service {
  readonly registry = new Map<string, Registration>()
  /** Queue workers waiting for items, by queue name. */
  readonly queueWaiters = new Map<string, Set<Queue.Queue<void>>>()
  readonly results = new Results.Results()
  readonly scheduler: Scheduler
  /** Set when the engine's scope closes: its run loops are gone, so nobody would answer a waiter or a poll. */
  closed = false

  constructor(
    readonly store: StoreService,
    readonly owner: string,
    readonly settings: Settings,
    readonly telemetry: Telemetry.Telemetry,
    readonly signingKey: Uint8Array,
    readonly scope: Scope.Scope,
    timerWake: Queue.Queue<void>
  ) {
    this.scheduler = new Scheduler(this, timerWake)
  }

  readonly activeRuns = (): number => this.scheduler.running.size

  readonly get = (executionId: string, workflow?: string): Effect.Effect<ExecutionRecord, WorkflowError> =>
    Effect.suspend(() =>
      this.closed
        ? Effect.interrupt
        : Effect.flatMap(this.store.get(executionId), (record) =>
            record._tag === "Some" && (workflow === undefined || record.value.workflow === workflow)
              ? Effect.succeed(record.value)
              : Effect.fail(notFound(executionId, workflow))
          )
    )

  readonly interrupt = (executionId: string, workflow?: string): Effect.Effect<void, WorkflowError> =>
    Signals.interrupt(this, executionId, workflow)

  readonly resume = (executionId: string, workflow?: string): Effect.Effect<void, WorkflowError> =>
    Signals.resume(this, executionId, workflow)

  readonly list = (filter: ListFilter = {}): Effect.Effect<Page, WorkflowError> => this.store.list(filter)

  readonly detail = (executionId: string): Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError> =>
    this.store.detail(executionId)

  /** Registers a workflow body; executions of it left runnable by an earlier process are picked up now. */
  register(registration: Registration): Effect.Effect<void> {
    return Effect.sync(() => {
      this.registry.set(registration.def.name, registration)
      this.scheduler.wakeTimerLoop()
    })
  }
}

/** The engine behind a `WorkflowEngine` service value. */
export const of = (service: Service): Engine => {
  if (service instanceof Engine) return service
  throw new Error("This WorkflowEngine service was not built by WorkflowEngine.layer: provide a Weft engine layer")
}

/** The typed error of an unknown execution. */
export const notFound = (executionId: string, workflow: string | undefined): WorkflowError =>
  new WorkflowError({
    reason: "ExecutionNotFound",
    executionId,
    ...(workflow === undefined ? {} : { workflow }),
    message: `No execution ${executionId}${workflow === undefined ? "" : ` of workflow "${workflow}"`}`
  })

/** Builds an engine over the store in context and starts its timer loop and start-up recovery in the scope. */
export const make = (options: EngineOptions = {}): Effect.Effect<Engine, WorkflowError, WorkflowStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* WorkflowStore
    const scope = yield* Effect.scope
    const telemetry = yield* Telemetry.make(options.tracing)
    const signingKey =
      options.signingKey === undefined
        ? yield* store.signingKey(() => randomBytes(32))
        : typeof options.signingKey === "string"
        ? Buffer.from(options.signingKey, "utf8")
        : options.signingKey
    const settings: Settings = {
      inMemoryThreshold: options.inMemoryThreshold ?? 60_000,
      storeRetryMs: options.storeRetryMs ?? 1_000,
      pollIntervalMs: options.pollIntervalMs,
      heartbeatMs: options.heartbeatMs,
      maxRuns: Math.max(1, options.maxRuns ?? 1_000),
      acceptUnregistered: options.acceptUnregistered === true
    }
    const engine = new Engine(
      store,
      options.owner ?? randomBytes(8).toString("hex"),
      settings,
      telemetry,
      signingKey,
      scope,
      yield* Queue.sliding<void>(1)
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        engine.closed = true
        engine.results.releaseAll()
      })
    )
    if (settings.heartbeatMs !== undefined) yield* Effect.forkIn(Lease.heartbeat(engine, settings.heartbeatMs), scope)
    if (settings.pollIntervalMs !== undefined) {
      yield* Effect.forkIn(Results.poll(engine, settings.pollIntervalMs), scope)
    }
    if (store.notifications !== undefined) {
      yield* Effect.forkIn(
        Stream.runForEach(store.notifications, (notification) =>
          Effect.catchCause(Signals.onNotification(engine, notification), (cause) =>
            Effect.logWarning("Weft: could not act on a notification", cause)
          )
        ),
        scope
      )
    }
    yield* Effect.forkIn(
      Effect.forever(
        Effect.catchCause(TimerLoop.wakeDue(engine), (cause) =>
          Effect.andThen(Effect.logError("Weft: the timer loop failed; retrying", cause), sleepLive(settings.storeRetryMs))
        )
      ),
      scope
    )
    return engine
  })
