/**
 * The engine, assembled: the state its mechanisms share (`definitions.ts`), the public members of the
 * `WorkflowEngine` service, and the wiring that starts its background loops. Each mechanism lives in its own
 * module: `scheduler.ts`, `runner.ts`, `starts.ts`, `results.ts`, `signals.ts`, `lease.ts`, `timerLoop.ts`.
 */
import { randomBytes } from "node:crypto"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { WorkflowError } from "../WorkflowError.js"
import {
  type ExecutionDetail,
  type ExecutionRecord,
  type ListFilter,
  type Page,
  WorkflowStore,
  type Service as StoreService
} from "../WorkflowStore.js"
import type { Engine, EngineOptions, Registration, Settings } from "./definitions.js"
import * as Backlog from "./backlog.js"
import * as Discovery from "./discovery.js"
import * as Lease from "./lease.js"
import * as NameRules from "./nameRules.js"
import * as Operator from "./operator.js"
import * as Results from "./results.js"
import * as Retention from "./retention.js"
import * as Runner from "./runner.js"
import * as Schedules from "./schedules.js"
import { Scheduler } from "./scheduler.js"
import * as Signals from "./signals.js"
import * as Starts from "./starts.js"
import * as Telemetry from "./telemetry.js"
import { sleepLive } from "./time.js"
import * as TimerLoop from "./timerLoop.js"
import * as Versioning from "./versioning.js"
import * as Token from "./token.js"
import { Waiters } from "./waiters.js"

/** The shortest signing key the engine accepts, in bytes (HMAC-SHA256's output size). */
export const MIN_SIGNING_KEY_BYTES = Token.MIN_KEY_BYTES

/** The engine behind the `WorkflowEngine` service: the shared state, and the service's members over it. */
export class Live implements Engine {
  readonly registry = new Map<string, Registration>()
  readonly registered = new Map<string, Map<number, Registration>>()
  readonly claimable = new Map<string, ReadonlyArray<number>>()
  readonly queueWaiters = new Map<string, Set<Queue.Queue<void>>>()
  readonly results = new Waiters()
  readonly scheduler: Scheduler
  closed = false

  constructor(
    readonly store: StoreService,
    readonly owner: string,
    readonly settings: Settings,
    readonly telemetry: Telemetry.Telemetry,
    readonly signingKey: Token.Signer,
    readonly scope: Scope.Scope,
    timerWake: Queue.Queue<void>,
    context: Context.Context<never>
  ) {
    this.scheduler = new Scheduler({
      maxRuns: settings.maxRuns,
      storeRetryMs: settings.storeRetryMs,
      scope,
      context,
      tracing: telemetry.tracing,
      timerWake,
      runOnce: (executionId, state) => Runner.runOnce(this, executionId, state)
    })
  }

  readonly activeRuns = (): number => this.scheduler.running.size

  readonly get = (executionId: string, workflow?: string): Effect.Effect<ExecutionRecord, WorkflowError> =>
    Effect.suspend(() =>
      this.closed
        ? Effect.interrupt
        : NameRules.problem(executionId) !== undefined
        ? Effect.fail(notFound(executionId, workflow)) // no store keeps such an id (U+0000, a lone surrogate…)
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

  readonly retry = (executionId: string, workflow?: string): Effect.Effect<Operator.RetryResult, WorkflowError> =>
    Effect.suspend(() => (this.closed ? Effect.interrupt : Operator.retry(this, executionId, workflow)))

  readonly restart = (
    executionId: string,
    options?: Operator.RestartOptions
  ): Effect.Effect<Operator.RestartResult, WorkflowError> =>
    Effect.suspend(() => (this.closed ? Effect.interrupt : Operator.restart(this, executionId, options)))

  readonly list = (filter: ListFilter = {}): Effect.Effect<Page, WorkflowError> => this.store.list(filter)

  readonly detail = (executionId: string): Effect.Effect<Option.Option<ExecutionDetail>, WorkflowError> =>
    NameRules.problem(executionId) !== undefined ? Effect.succeedNone : this.store.detail(executionId)

  readonly result = (
    executionId: string,
    options?: Results.ResultOptions & { readonly workflow?: string | undefined }
  ): Effect.Effect<Option.Option<ExecutionRecord>, WorkflowError> => Results.result(this, executionId, options)

  readonly purge = (options: Retention.PurgeOptions): Effect.Effect<number, WorkflowError> =>
    Effect.suspend(() => (this.closed ? Effect.interrupt : Retention.purge(this, options)))

  readonly versions = (workflows?: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<Versioning.VersionInfo>, WorkflowError> =>
    Versioning.inFlight(this, workflows)

  readonly workflows = (): Effect.Effect<ReadonlyArray<Discovery.WorkflowInfo>> =>
    Effect.sync(() =>
      Array.from(this.registry.values(), ({ def }) =>
        Discovery.describe(def.name, def.codec.schemas, def.version, this.claimable.get(def.name))
      ).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      )
    )

  /**
   * Registers a workflow body (a version of it: new starts run the newest registered); executions of it left
   * runnable by an earlier process are picked up now.
   */
  register(registration: Registration): Effect.Effect<void> {
    return Effect.suspend(() => {
      const { name, version } = registration.def
      let versions = this.registered.get(name)
      if (versions === undefined) this.registered.set(name, (versions = new Map()))
      versions.set(version, registration)
      const newest = Math.max(...versions.keys())
      this.registry.set(name, versions.get(newest)!)
      this.claimable.set(name, [...versions.keys()].sort((a, b) => a - b))
      Starts.noteRegistered(this, name)
      this.scheduler.wakeTimerLoop()
      Schedules.wake(this)
      return Versioning.checkInFlight(this, name)
    })
  }
}

/** The engine behind a `WorkflowEngine` service value. */
export const of = (service: object): Live => {
  if (service instanceof Live) return service
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
export const make = (options: EngineOptions = {}): Effect.Effect<Live, WorkflowError, WorkflowStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* WorkflowStore
    const scope = yield* Effect.scope
    const telemetry = yield* Telemetry.make(options.tracing)
    const signingKey = yield* Token.make(options, store)
    if (options.claimBatch !== undefined && !(Number.isInteger(options.claimBatch) && options.claimBatch >= 1)) {
      return yield* Effect.die(
        new Error(`WorkflowEngine option claimBatch must be a whole number of at least 1, got ${options.claimBatch}`)
      )
    }
    const noWorker = options.noWorkerWarningMs
    if (noWorker !== undefined && !(typeof noWorker === "number" && noWorker >= 0)) {
      return yield* Effect.die(
        new Error(`WorkflowEngine option noWorkerWarningMs must be a number of milliseconds (>= 0, or Infinity), got ${noWorker}`)
      )
    }
    const retention = options.retention === undefined ? undefined : Retention.checkOption(options.retention)
    if (retention !== undefined) return yield* Effect.die(new Error(retention))
    const backlogIntervalMs = options.backlogIntervalMs ?? 15_000
    const backlog = Backlog.checkOption(backlogIntervalMs)
    if (backlog !== undefined) return yield* Effect.die(new Error(backlog))
    const settings: Settings = {
      inMemoryThreshold: options.inMemoryThreshold ?? 60_000,
      storeRetryMs: options.storeRetryMs ?? 1_000,
      pollIntervalMs: options.pollIntervalMs,
      heartbeatMs: options.heartbeatMs,
      maxRuns: Math.max(1, options.maxRuns ?? 1_000),
      claimBatch: options.claimBatch ?? 32,
      acceptUnregistered: options.acceptUnregistered === true,
      noWorkerWarningMs: options.noWorkerWarningMs ?? 30_000
    }
    const engine = new Live(
      store,
      options.owner ?? randomBytes(8).toString("hex"),
      settings,
      telemetry,
      signingKey,
      scope,
      yield* Queue.sliding<void>(1),
      yield* Effect.context<never>()
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        engine.closed = true
        Starts.forgetEngine(engine)
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
          notification.kind === "schedule"
            ? Effect.sync(() => Schedules.onNotification(engine, notification))
            : Effect.catchCause(Signals.onNotification(engine, notification), (cause) =>
              Effect.logWarning("Weft: could not act on a notification", cause)
            )
        ),
        scope
      )
    }
    if (options.retention !== undefined) yield* Effect.forkIn(Retention.periodic(engine, options.retention), scope)
    if (store.schedules !== undefined) yield* Effect.forkIn(Schedules.loop(engine, store.schedules), scope)
    if (store.backlog !== undefined && Number.isFinite(backlogIntervalMs)) {
      yield* Effect.forkIn(Backlog.periodic(engine, backlogIntervalMs), scope)
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
