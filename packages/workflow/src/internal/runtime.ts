/**
 * The replay runtime: claims executions, replays their bodies against the journal, records each
 * step once, suspends when nothing can progress, and completes. Every store runs this one loop.
 */
import { randomBytes } from "node:crypto"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Pull from "effect/Pull"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import { TestHooks, type Point } from "../TestHooks.js"
import { NonDeterminismError, WorkflowError } from "../WorkflowError.js"
import {
  type ActivityAttempt,
  type DeferredRecord,
  type EncodedExit,
  type ExecutionRecord,
  type Claim,
  type Journal,
  type Notification,
  type ParentLink,
  terminal,
  WorkflowStore,
  type Service as StoreService
} from "../WorkflowStore.js"
import * as Metrics from "../WorkflowMetrics.js"
import * as Codec from "./codec.js"
import { stableId } from "./hash.js"
import * as Token from "./token.js"

/** What the runtime knows of a workflow definition. */
export interface WorkflowDef {
  readonly name: string
  readonly codec: Codec.Codec
  readonly idempotencyKey: (payload: any) => string
}

/** When and how often a failed activity is tried again. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly times: number
  readonly schedule: Schedule.Schedule<any, unknown>
  readonly isRetryable: (error: unknown) => boolean
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

/** A failed transactional body: its writes roll back, then the failed attempt is recorded on its own. */
class Rollback {
  constructor(readonly exit: Exit.Exit<unknown, unknown>) {}
}

/** A registered workflow: its definition, body and the context the body runs in. */
interface Registration {
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

/** The per-activity attempt number, 1 for the first attempt. */
export const CurrentAttempt: Context.Reference<number> = Context.Reference<number>(
  "@weft/workflow/Activity/CurrentAttempt",
  { defaultValue: () => 1 }
)

const RESERVED = "@weft/"

/** Journal name prefixes of a child workflow's start (an activity) and of its result (a deferred). */
export const CHILD_START = `${RESERVED}start/`
export const CHILD_RESULT = `${RESERVED}child/`

// A clock of its own (the reference's default is the live one), so no installed `TestClock` is used.
const liveClock = Clock.Clock.defaultValue()

/** The longest wait a JS timer keeps (about 24.8 days); Effect treats a longer one as never firing. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A clock's wake time `millis` after `now`, as stored: see `clock`. */
const wakeTime = (now: number, millis: number): number =>
  Number.isNaN(millis) ? now : Math.min(Number.MAX_SAFE_INTEGER, Math.ceil(now + Math.max(0, millis)))

/**
 * Sleeps in real time whatever `Clock` is installed: polling, heartbeats and store retries are
 * about processes and databases, not durable time, so `TestClock.adjust("3 days")` must not spin them.
 */
export const sleepLive = (millis: number): Effect.Effect<void> =>
  Effect.provideService(Effect.sleep(millis), Clock.Clock, liveClock)

/**
 * The activities asked for inside the `raceAll` being run, so a replay of its stored winner accounts for them.
 * A context reference: the race's contender fibers start from the racing fiber's context, so they see it.
 */
const CurrentRace = Context.Reference<Set<string> | undefined>("@weft/workflow/internal/CurrentRace", {
  defaultValue: () => undefined
})
const voidCodec = Codec.make(undefined, Schema.Void, Schema.Never)

/** As effect 3's `Cause.isInterruptedOnly`: neither a typed failure nor a defect (so an empty cause counts). */
const isInterruptedOnly = (cause: Cause.Cause<unknown>): boolean => cause.reasons.every(Cause.isInterruptReason)

/**
 * A failure's own cause: the interrupts of other fibers (a sibling stopped by the failure, the run stopped to
 * suspend) are dropped when it also holds an error or a defect, as their fiber ids mean nothing past this process.
 */
const ownCause = <E>(cause: Cause.Cause<E>): Cause.Cause<E> =>
  isInterruptedOnly(cause)
    ? cause
    : Cause.fromReasons(cause.reasons.filter((reason) => !Cause.isInterruptReason(reason)))

/** An Exit with its failure's own cause (see `ownCause`). */
const ownExit = <A, E>(exit: Exit.Exit<A, E>): Exit.Exit<A, E> =>
  Exit.isFailure(exit) && !isInterruptedOnly(exit.cause) && exit.cause.reasons.some(Cause.isInterruptReason)
    ? Exit.failCause(ownCause(exit.cause))
    : exit

/** Two different activities under one name in one execution: a bug in the workflow's code, named by the runtime. */
class DuplicateActivityName extends Error {
  override readonly name = "DuplicateActivityName"
}

/** Whether a cause holds a defect. */
const hasDefect = (cause: Cause.Cause<unknown>): boolean => cause.reasons.some(Cause.isDieReason)

/**
 * Interrupts `fiber` from a new detached fiber and returns at once, as effect 3's `Fiber.interruptFork`: the
 * interrupt arrives asynchronously, never on the caller's stack (an immediate one would run the target's
 * finalizers there), and the caller does not wait for the target to end.
 */
const interruptFork = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<void> =>
  Effect.asVoid(Effect.forkDetach(Fiber.interrupt(fiber)))

/** Effect 3's defect for an empty race, under its effect 3 name, so it is stored as effect 3 stored it. */
const emptyRace = (): Error => {
  const error = new Cause.IllegalArgumentError("Received an empty collection of effects")
  Object.defineProperty(error, "name", { value: "IllegalArgumentException", configurable: true, writable: true })
  return error
}

/**
 * Effect 3's `Effect.raceAll`: the first contender to succeed wins and the others are interrupted (and
 * awaited). When every contender fails, the race fails with all their causes, the last to fail first, as
 * effect 3 combined them; effect 4's `raceAll` would list them the other way round and turn typed errors
 * into defects next to a defect, changing the Exit stored for the race and what the body can catch.
 * An empty race is a defect, as in effect 3 (effect 4's would never end).
 */
const raceAllFirstSuccess = <A, E, R>(effects: Iterable<Effect.Effect<A, E, R>>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const all = Array.from(effects)
    if (all.length === 0) return Effect.die(emptyRace())
    let failures: Array<Cause.Reason<E>> = []
    let failed = 0
    const contenders = all.map((effect) =>
      Effect.onExit(effect, (exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit)) {
            failed++
            failures = [...exit.cause.reasons, ...failures]
          }
        })
      )
    )
    return Effect.catchCause(Effect.raceAll(contenders), (cause) =>
      Effect.failCause(failed === all.length ? Cause.fromReasons(failures) : cause)
    )
  })

interface Compensation {
  readonly name: string
  readonly run: (cause: Cause.Cause<unknown>) => Effect.Effect<void, unknown, any>
}

/** The state of one run of one execution: the journal in memory and the bookkeeping that decides suspension. */
export class Instance {
  readonly attempts = new Map<string, Array<ActivityAttempt>>()
  readonly deferreds = new Map<string, DeferredRecord>()
  readonly clocks = new Map<string, number>()
  readonly asked = new Set<string>()
  /** Children the body asked for in this run, started or not: a start may have run without being recorded. */
  readonly askedChildren = new Set<string>()
  readonly ranHere = new Set<ActivityAttempt>()
  /**
   * The work (the `execute` effect) each activity name was first asked with in this run. Every run replays the
   * body from the top, so two pieces of work under one name meet in the same run, on replay too, and the check
   * needs nothing stored. The same activity value, or a copy of it (`Activity.retry`), brings the same work.
   */
  private readonly work = new Map<string, Effect.Effect<any, any, any>>()
  readonly compensations: Array<Compensation> = []
  waiters: Map<string, Deferred.Deferred<DeferredRecord>> | undefined
  inFlight = 0
  blocked = 0
  racing = 0
  suspended = false
  checking = false
  interrupting: boolean
  /** Compensations run even while interrupting: `interrupting` stays set, so a late interrupt request is a no-op. */
  compensating = false
  abort: WorkflowError | undefined
  wakeAt: number | undefined
  fiber: Fiber.Fiber<unknown, unknown> | undefined

  constructor(
    readonly engine: Engine,
    readonly def: WorkflowDef,
    readonly executionId: string,
    readonly fence: number,
    journal: Journal
  ) {
    for (const attempt of journal.attempts) {
      const list = this.attempts.get(attempt.name)
      if (list === undefined) this.attempts.set(attempt.name, [attempt])
      else list.push(attempt)
    }
    for (const list of this.attempts.values()) if (list.length > 1) list.sort((a, b) => a.attempt - b.attempt)
    for (const deferred of journal.deferreds) this.deferreds.set(deferred.name, deferred)
    for (const clock of journal.clocks) this.clocks.set(clock.name, clock.wakeAt)
    this.interrupting = journal.execution.interruptRequested
  }

  /** Replays or runs an activity: a stored final attempt returns at once; otherwise the next attempt runs. */
  activity(def: ActivityDef): Effect.Effect<any, any, any> {
    if (!def.name.startsWith(RESERVED)) {
      const first = this.work.get(def.name)
      if (first === undefined) this.work.set(def.name, def.execute)
      else if (first !== def.execute) return Effect.die(this.sameName(def.name))
    }
    this.asked.add(def.name)
    if (this.racing > 0) {
      return Effect.withFiber((fiber) => {
        fiber.getRef(CurrentRace)?.add(def.name)
        return this.step(def)
      })
    }
    return this.step(def)
  }

  private step(def: ActivityDef): Effect.Effect<any, any, any> {
    const attempts = this.attempts.get(def.name)
    const last = attempts === undefined ? undefined : attempts[attempts.length - 1]
    if (last !== undefined) {
      const decided = this.decide(def, last)
      if (decided !== undefined) return decided
    }
    return this.attempt(def, (last?.attempt ?? 0) + 1)
  }

  /** The stored outcome of an attempt, or undefined when another attempt is due. */
  private decide(def: ActivityDef, last: ActivityAttempt): Effect.Effect<any, any> | undefined {
    const decoded = def.codec.decodeExit(last.exit)
    if (Result.isFailure(decoded)) return this.nonDeterminism(def.name, "its stored result no longer decodes")
    const exit = decoded.success
    if (Exit.isSuccess(exit)) return exit
    const policy = def.retry
    const left = policy !== undefined && last.attempt <= policy.times
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isSome(failure)) return left && policy!.isRetryable(failure.value) ? undefined : exit
    // A defect is a bug: retried while retries are left, and tried again when an execution is resumed after it.
    return left || !this.ranHere.has(last) ? undefined : exit
  }

  private attempt(def: ActivityDef, n: number): Effect.Effect<any, any, any> {
    // Attempt 1 is the reference's default: providing it would copy the context on every step.
    const body = n === 1 ? def.execute : Effect.provideService(def.execute, CurrentAttempt, n)
    const execute = this.engine.tracing
      ? Effect.withSpan(body, `weft.activity ${def.name}`, {
          attributes: { "weft.execution_id": this.executionId, "weft.activity": def.name, "weft.attempt": n },
          captureStackTrace: false
        })
      : body
    const run = Effect.uninterruptibleMask((restore) =>
      Effect.clockWith((clock) => {
        if (this.interrupting && !this.compensating) return Effect.interrupt
        this.inFlight++
        const startedAt = clock.currentTimeMillisUnsafe()
        const body = Effect.exit(restore(execute))
        // An interrupt the run received (a requested interrupt, a suspension, a sibling's failure, a timeout
        // around the step) or a failed store write stops the step unrecorded; one the body made by itself is a
        // failed attempt. `restore(Effect.void)` fails exactly when the run holds a pending interrupt.
        const settle = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<ActivityAttempt> =>
          Exit.isFailure(exit) && isInterruptedOnly(exit.cause)
            ? Effect.matchEffect(restore(Effect.void), {
                onFailure: () => Effect.failCause(exit.cause) as Effect.Effect<never>,
                onSuccess: () =>
                  this.abort !== undefined
                    ? (Effect.failCause(exit.cause) as Effect.Effect<never>)
                    : this.record(def, n, startedAt, clock, Exit.die(this.interruptedItself(def.name, n)))
              })
            : this.record(def, n, startedAt, clock, ownExit(exit))
        const transaction = def.transactional === true ? this.engine.store.transaction : undefined
        const recorded =
          transaction === undefined
            ? Effect.flatMap(body, settle)
            : transaction(
                Effect.flatMap(body, (exit) => (Exit.isSuccess(exit) ? settle(exit) : Effect.fail(new Rollback(exit))))
              ).pipe(
                // Effect 3's `catchAll`: the first typed error even next to a defect (say, a rollback that
                // died), where effect 4's `catch` would let a defect win and lose the attempt's own Exit.
                Effect.catchCause((cause): Effect.Effect<ActivityAttempt> => {
                  const error = Cause.findErrorOption(cause)
                  if (Option.isNone(error)) return Effect.failCause(cause as Cause.Cause<never>)
                  return error.value instanceof Rollback
                    ? settle(error.value.exit)
                    : this.abortWith(error.value as WorkflowError)
                })
              )
        return Effect.onExit(recorded, () => this.settled())
      })
    )
    const attempt = Effect.flatMap(run, (stored) => this.decide(def, stored) ?? this.attempt(def, n + 1))
    if (n === 1 || def.retry === undefined) return attempt
    return Effect.andThen(
      Effect.flatMap(this.engine.retryDelay(def.retry.schedule, n - 1), (delay) =>
        delay === undefined ? Effect.void : this.sleep(`${def.name}/retry-${n}`, delay)
      ),
      attempt
    )
  }

  private record(
    def: ActivityDef,
    n: number,
    startedAt: number,
    clock: Clock.Clock,
    exit: Exit.Exit<unknown, unknown>
  ): Effect.Effect<ActivityAttempt> {
    const write = Effect.suspend(() => {
      const attempt: ActivityAttempt = {
        name: def.name,
        attempt: n,
        exit: this.encode(def.codec, exit, `the result of activity "${def.name}"`),
        startedAt,
        completedAt: clock.currentTimeMillisUnsafe()
      }
      return this.engine.store.recordAttempt(this.executionId, this.fence, attempt).pipe(
        Effect.catch((error) => this.abortWith(error)),
        Effect.map((stored) => {
          this.engine.metric(Exit.isSuccess(exit) ? Metrics.activitySucceeded : Metrics.activityFailed, 1)
          this.engine.metric(Metrics.activityDuration, attempt.completedAt - startedAt)
          const list = this.attempts.get(def.name)
          if (list === undefined) this.attempts.set(def.name, [stored])
          else list.push(stored)
          this.ranHere.add(stored)
          return stored
        })
      )
    })
    if (!this.engine.hooked) return write
    return Effect.andThen(
      this.engine.hook("activity-ran", this.executionId, def.name),
      Effect.tap(write, () => this.engine.hook("activity-recorded", this.executionId, def.name))
    )
  }

  /** The defect for a second, different activity under a name already used in this execution. */
  private sameName(activity: string): DuplicateActivityName {
    return new DuplicateActivityName(
      `Execution ${this.executionId} of workflow "${this.def.name}" asked for two different activities ` +
        `named "${activity}". An activity's name is its key in the journal, so the second would get the first ` +
        `one's stored result: give each piece of work a unique name (say "${activity}/<item id>"), or yield ` +
        `the same activity value again to reuse its result`
    )
  }

  /** The defect recorded for an attempt whose body interrupted itself: nobody asked, so it is a failure. */
  private interruptedItself(activity: string, attempt: number): Error {
    const error = new Error(
      `Activity "${activity}" of workflow "${this.def.name}" (execution ${this.executionId}) interrupted ` +
        `itself on attempt ${attempt}: an interrupt nobody requested is a failed attempt, retried by the ` +
        `activity's retry policy`
    )
    error.name = "ActivityInterrupted"
    return error
  }

  /** Encodes an Exit; a value that does not fit its schema is stored as a defect naming what was wrong. */
  encode(codec: Codec.Codec, exit: Exit.Exit<unknown, unknown>, what: string): EncodedExit {
    const encoded = codec.encodeExit(exit)
    if (Result.isSuccess(encoded)) return encoded.success
    const error = Codec.invalid("InvalidResult", what, encoded.failure, {
      workflow: this.def.name,
      executionId: this.executionId
    })
    return Result.getOrThrow(codec.encodeExit(Exit.die(error)))
  }

  /** Durable sleep under `name`: the wake time is stored once; short waits sleep here, long ones suspend. */
  sleep(name: string, millis: number, threshold = this.engine.inMemoryThreshold): Effect.Effect<void> {
    return Effect.flatMap(this.clock(name, millis), (wakeAt) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const remaining = wakeAt - now
        if (remaining <= 0) return Effect.void
        if (this.interrupting) return Effect.interrupt
        if (remaining <= Math.min(threshold, MAX_TIMER_MS)) return this.busy(Effect.sleep(remaining))
        this.waitUntil(wakeAt)
        return this.block(Effect.never)
      })
    )
  }

  /**
   * The stored wake time of clock `name`, storing now + millis the first time: a whole millisecond, rounded
   * up (never early); an infinite or too distant one is the latest time a store keeps, so it never fires.
   */
  clock(name: string, millis: number): Effect.Effect<number> {
    const stored = this.clocks.get(name)
    if (stored !== undefined) return Effect.succeed(stored)
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      this.engine.store.recordClock(this.executionId, this.fence, { name, wakeAt: wakeTime(now, millis) }).pipe(
        Effect.catch((error) => this.abortWith(error)),
        Effect.map((clock) => {
          this.clocks.set(name, clock.wakeAt)
          return clock.wakeAt
        })
      )
    )
  }

  /**
   * Awaits deferred `name`: its stored result, or a signal delivered while running, or suspension.
   * With `timeoutMillis`, a durable timer stores a timeout marker first-wins; None means it timed out.
   */
  awaitDeferred(
    name: string,
    codec: Codec.Codec,
    timeoutMillis?: number
  ): Effect.Effect<Option.Option<unknown>, unknown> {
    const stored = this.deferreds.get(name)
    if (stored !== undefined) return this.decodeDeferred(name, codec, stored)
    const waiting = (waiter: Effect.Effect<DeferredRecord>) =>
      Effect.flatMap(waiter, (record) => this.decodeDeferred(name, codec, record))
    if (timeoutMillis === undefined) {
      if (this.interrupting) return Effect.interrupt
      return waiting(this.block(Deferred.await(this.waiter(name))))
    }
    return Effect.flatMap(this.clock(`${name}/timeout`, timeoutMillis), (wakeAt) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const timeout = this.recordDeferred({ name, exit: Codec.timedOut, completedAt: now })
        const remaining = wakeAt - now
        if (remaining <= 0) return waiting(timeout)
        if (this.interrupting) return Effect.interrupt
        const signal = Deferred.await(this.waiter(name))
        if (remaining <= Math.min(this.engine.inMemoryThreshold, MAX_TIMER_MS)) {
          return waiting(
            Effect.raceFirst(signal, this.busy(Effect.andThen(Effect.sleep(remaining), timeout)))
          )
        }
        this.waitUntil(wakeAt)
        return waiting(this.block(signal))
      })
    )
  }

  /**
   * Runs `effects` concurrently once; the winner's Exit is stored, with the activities the race
   * asked for, and every replay returns that winner without racing again.
   */
  raceAll(name: string, codec: Codec.Codec, effects: Iterable<Effect.Effect<any, any, any>>) {
    const replay = (record: DeferredRecord) => {
      const race = record.exit as { readonly exit: EncodedExit; readonly activities: ReadonlyArray<string> }
      for (const activity of race.activities) this.asked.add(activity)
      return Effect.map(this.decodeDeferred(name, codec, { ...record, exit: race.exit }), Option.getOrThrow)
    }
    const stored = this.deferreds.get(name)
    if (stored !== undefined) return replay(stored)
    const activities = new Set<string>()
    const race = Effect.suspend(() => {
      this.racing++
      return raceAllFirstSuccess(effects).pipe(
        Effect.provideService(CurrentRace, activities),
        Effect.ensuring(Effect.sync(() => this.racing--)),
        Effect.exit
      )
    })
    return Effect.flatMap(race, (exit) => {
      if (Exit.isFailure(exit) && isInterruptedOnly(exit.cause)) return Effect.failCause(exit.cause)
      const encoded = this.encode(codec, ownExit(exit), `the winner of race "${name}"`)
      return Effect.flatMap(
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          this.recordDeferred({ name, exit: { exit: encoded, activities: [...activities] }, completedAt: now })
        ),
        replay
      )
    })
  }

  private recordDeferred(record: DeferredRecord): Effect.Effect<DeferredRecord> {
    return this.engine.store.recordDeferred(this.executionId, this.fence, record).pipe(
      Effect.catch((error) => this.abortWith(error)),
      Effect.tap((stored) => Effect.sync(() => this.deferreds.set(stored.name, stored)))
    )
  }

  private decodeDeferred(name: string, codec: Codec.Codec, record: DeferredRecord) {
    if (Codec.isTimedOut(record.exit)) return Effect.succeedNone
    const decoded = codec.decodeExit(record.exit)
    if (Result.isFailure(decoded)) return this.nonDeterminism(name, "its stored result no longer decodes")
    return Effect.map(decoded.success, Option.some)
  }

  private waiter(name: string): Deferred.Deferred<DeferredRecord> {
    const waiters = (this.waiters ??= new Map())
    let waiter = waiters.get(name)
    if (waiter === undefined) waiters.set(name, (waiter = Deferred.makeUnsafe()))
    return waiter
  }

  /** A signal that arrived while this run is live goes straight to its waiter. */
  deliver(record: DeferredRecord): void {
    if (!this.deferreds.has(record.name)) this.deferreds.set(record.name, record)
    const waiter = this.waiters?.get(record.name)
    if (waiter !== undefined) Deferred.doneUnsafe(waiter, Exit.succeed(this.deferreds.get(record.name)!))
  }

  /** Registers a compensation for the current step; it runs if the execution finally fails. */
  addCompensation(run: Compensation["run"]): void {
    this.compensations.push({ name: `${RESERVED}compensation/${this.compensations.length}`, run })
  }

  private waitUntil(wakeAt: number) {
    if (this.wakeAt === undefined || wakeAt < this.wakeAt) this.wakeAt = wakeAt
  }

  /** Work in progress that keeps the run from suspending (an activity body, a short sleep). */
  private busy<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      this.inFlight++
      return Effect.ensuring(effect, this.settled())
    })
  }

  /** Waits on something only the outside world can finish; when nothing else is busy, the run suspends. */
  private block<A>(waiter: Effect.Effect<A>): Effect.Effect<A> {
    return Effect.suspend(() => {
      this.blocked++
      return Effect.andThen(
        this.checkSuspend(),
        Effect.ensuring(waiter, Effect.sync(() => this.blocked--))
      )
    })
  }

  private settled(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.inFlight--
      return this.checkSuspend()
    })
  }

  private checkSuspend(): Effect.Effect<void> {
    if (this.inFlight > 0 || this.blocked === 0 || this.checking || this.suspended) return Effect.void
    this.checking = true
    // Let sibling fibers reach their next step first: suspending between two steps only costs a replay.
    // A detached fiber started at once (as effect 3's `runFork` did), in the caller's context so it runs on
    // the same scheduler (a `TestClock`'s tracks the tasks of the fibers it wakes).
    const check = Effect.yieldNow.pipe(
      Effect.andThen(Effect.yieldNow),
      Effect.andThen(Effect.yieldNow),
      Effect.andThen(
        Effect.suspend(() => {
          this.checking = false
          if (this.inFlight > 0 || this.blocked === 0 || this.suspended || this.fiber === undefined) {
            return Effect.void
          }
          this.suspended = true
          return interruptFork(this.fiber)
        })
      )
    )
    return Effect.asVoid(Effect.forkDetach(check, { startImmediately: true }))
  }

  /** A store write failed: stop the run without recording anything more; the runtime decides what next. */
  private abortWith(error: WorkflowError): Effect.Effect<never> {
    this.abort ??= error
    return Effect.interrupt
  }

  private nonDeterminism(activity: string, why: string): Effect.Effect<never> {
    return Effect.die(
      new NonDeterminismError({
        workflow: this.def.name,
        executionId: this.executionId,
        activity,
        message: `Execution ${this.executionId} of workflow "${this.def.name}" diverged from its journal at "${activity}": ${why}`
      })
    )
  }

  /** A journaled activity the finished body never asked for, if any. */
  skipped(): string | undefined {
    for (const name of this.attempts.keys()) {
      if (!this.asked.has(name) && !name.startsWith(RESERVED)) return name
    }
    return undefined
  }

  /**
   * The children this execution may have started whose result it has not received: those its journal
   * records and those asked for in this run (linked or not, existing or not: the caller checks).
   */
  openChildren(): Array<string> {
    const open = new Set(this.askedChildren)
    for (const [name, list] of this.attempts) {
      if (!name.startsWith(CHILD_START)) continue
      const exit = list[list.length - 1]!.exit as { readonly _tag?: string; readonly value?: unknown }
      if (exit._tag === "Success" && typeof exit.value === "string") open.add(exit.value)
    }
    if (open.size === 0) return []
    for (const name of this.deferreds.keys()) {
      // A child's result is stored under its name and id: `<CHILD_RESULT><workflow>/<id>`.
      if (name.startsWith(CHILD_RESULT)) open.delete(name.slice(name.lastIndexOf("/") + 1))
    }
    return [...open]
  }

  runCompensations(cause: Cause.Cause<unknown>): Effect.Effect<void, never, any> {
    this.compensating = true
    return Effect.forEach(
      [...this.compensations].reverse(),
      (compensation) =>
        Effect.exit(
          this.activity({ name: compensation.name, codec: voidCodec, execute: compensation.run(cause), retry: undefined })
        ),
      { discard: true }
    ).pipe(Effect.ensuring(Effect.sync(() => (this.compensating = false))))
  }

  skippedError(name: string) {
    return new NonDeterminismError({
      workflow: this.def.name,
      executionId: this.executionId,
      activity: name,
      message: `Execution ${this.executionId} of workflow "${this.def.name}" finished without asking for activity "${name}", which its journal holds`
    })
  }
}

/** The instance of the execution whose body is running: present only inside a workflow. */
export class WorkflowInstance extends Context.Service<WorkflowInstance, Instance>()("@weft/workflow/WorkflowInstance") {}

interface RunState {
  rerun: boolean
  instance: Instance | undefined
  /** A claim taken when the execution was created: the first run uses it instead of claiming. */
  claimed: Claim | undefined
}

type RunOutcome = "done" | "again" | "retry"

/** The engine: registry, run loops, timers, signals and result waiters over one store. */
export interface Engine {
  readonly store: StoreService
  readonly owner: string
  readonly inMemoryThreshold: number
  readonly register: (registration: Registration) => Effect.Effect<void>
  readonly isRegistered: (name: string) => boolean
  readonly start: (
    def: WorkflowDef,
    payload: unknown,
    parent?: ParentLink
  ) => Effect.Effect<{ readonly executionId: string; readonly record: ExecutionRecord }, WorkflowError>
  /** Starts (or joins) the execution for `payload` and waits for its decoded result. */
  readonly execute: (def: WorkflowDef, payload: unknown) => Effect.Effect<unknown, unknown>
  readonly decodeResult: (def: WorkflowDef, record: ExecutionRecord) => Effect.Effect<Exit.Exit<unknown, unknown>, WorkflowError>
  readonly get: (workflow: string | undefined, executionId: string) => Effect.Effect<ExecutionRecord, WorkflowError>
  readonly interrupt: (workflow: string | undefined, executionId: string) => Effect.Effect<void, WorkflowError>
  readonly resume: (workflow: string | undefined, executionId: string) => Effect.Effect<void, WorkflowError>
  readonly sign: (workflow: string, executionId: string, deferred: string) => string
  readonly verify: (token: string) => Effect.Effect<Token.TokenClaims, WorkflowError>
  /** With `workflow` known and not registered here, the woken execution is left to the workers that registered it. */
  readonly completeDeferred: (
    executionId: string,
    name: string,
    exit: EncodedExit,
    workflow?: string | undefined
  ) => Effect.Effect<boolean, WorkflowError>
  readonly schedule: (executionId: string) => Effect.Effect<void>
  readonly retryDelay: (schedule: Schedule.Schedule<any, unknown>, retry: number) => Effect.Effect<number | undefined>
  readonly hook: (point: Point, executionId: string, detail?: string) => Effect.Effect<void>
  /** Whether test hooks are installed (production skips the hook calls entirely). */
  readonly hooked: boolean
  /** Whether runs and activity attempts get spans. */
  readonly tracing: boolean
  readonly queueSignal: (queue: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  readonly pollIntervalMs: number | undefined
  readonly heartbeatMs: number | undefined
  readonly notifyQueue: (queue: string) => void
  /** How many executions have a live run in this process (a suspended one has none). */
  readonly activeRuns: () => number
  /** Adds `value` to one of the engine's metrics, in the metric registry the engine was built with. */
  readonly metric: <In>(metric: Metric.Metric<In, unknown>, value: In) => void
}

/** Builds an engine over the store in context and starts its timer loop and start-up recovery in the scope. */
export const make = (options: EngineOptions = {}): Effect.Effect<Engine, WorkflowError, WorkflowStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* WorkflowStore
    const scope = yield* Effect.scope
    const hooks = yield* Effect.serviceOption(TestHooks)
    // Effect 3 kept one global registry; effect 4 reads the registry from the context (by default one
    // global map too), so the engine writes where it was built, and nothing else of that context is taken.
    const metricContext = Context.make(Metric.MetricRegistry, yield* Metric.MetricRegistry)
    const metric: Engine["metric"] = (series, value) => series.updateUnsafe(value, metricContext)
    const owner = options.owner ?? randomBytes(8).toString("hex")
    const inMemoryThreshold = options.inMemoryThreshold ?? 60_000
    const storeRetryMs = options.storeRetryMs ?? 1_000
    const key =
      options.signingKey === undefined
        ? yield* store.signingKey(() => randomBytes(32))
        : typeof options.signingKey === "string"
        ? Buffer.from(options.signingKey, "utf8")
        : options.signingKey
    const registry = new Map<string, Registration>()
    const running = new Map<string, RunState>()
    /** Result waiters by execution, with how many `execute` calls await each. */
    const results = new Map<string, { readonly done: Deferred.Deferred<EncodedExit, WorkflowError>; callers: number }>()
    const queueWaiters = new Map<string, Set<Queue.Queue<void>>>()
    const timerWake = yield* Queue.sliding<void>(1)
    const maxRuns = Math.max(1, options.maxRuns ?? 1_000)
    // Places held by creates in flight that will schedule what they claim.
    let reserved = 0
    const room = () => maxRuns - running.size - reserved
    const hasRoom = () => room() > 0
    // Set when work was left in the store for want of room: the next run to end looks for it again.
    let leftWork = false

    const hooked = Option.isSome(hooks)
    // Spans cost more than a step; without an exporter nobody would see them.
    const tracing = options.tracing ?? (yield* Effect.tracer) !== Tracer.nativeTracer
    const hook: Engine["hook"] = Option.isNone(hooks)
      ? () => Effect.void
      : (point, executionId, detail) => hooks.value.at(point, executionId, detail)

    const notFound = (workflow: string | undefined, executionId: string) =>
      new WorkflowError({
        reason: "ExecutionNotFound",
        executionId,
        ...(workflow === undefined ? {} : { workflow }),
        message: `No execution ${executionId}${workflow === undefined ? "" : ` of workflow "${workflow}"`}`
      })

    // Set when the engine's scope closes: its run loops are gone, so nobody would answer a waiter or a poll.
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const waiter of results.values()) Deferred.doneUnsafe(waiter.done, Exit.interrupt())
        results.clear()
      })
    )

    const get: Engine["get"] = (workflow, executionId) =>
      Effect.suspend(() =>
        closed
          ? Effect.interrupt
          : Effect.flatMap(store.get(executionId), (record) =>
              Option.isSome(record) && (workflow === undefined || record.value.workflow === workflow)
                ? Effect.succeed(record.value)
                : Effect.fail(notFound(workflow, executionId))
            )
      )

    const notifyResult = (executionId: string, result: EncodedExit) => {
      const waiter = results.get(executionId)
      if (waiter !== undefined) {
        results.delete(executionId)
        Deferred.doneUnsafe(waiter.done, Exit.succeed(result))
      }
    }

    /** Runs an execution here unless it runs already (then once more) or the engine is full (an interrupt is let in). */
    const schedule = (executionId: string, claimed?: Claim, interrupting = false): Effect.Effect<void> =>
      Effect.suspend(() => {
        const existing = running.get(executionId)
        if (existing !== undefined) {
          existing.rerun = true
          return Effect.void
        }
        if (claimed === undefined && !interrupting && !hasRoom()) {
          leftWork = true
          return Effect.void
        }
        const state: RunState = { rerun: false, instance: undefined, claimed }
        running.set(executionId, state)
        return Effect.asVoid(Effect.forkIn(loop(executionId, state), scope))
      })

    const finished = (executionId: string, state: RunState) =>
      Effect.sync(() => {
        if (state.rerun) return false
        running.delete(executionId)
        if (leftWork) {
          leftWork = false
          Queue.offerUnsafe(timerWake, undefined)
        }
        return true
      })

    const loop = (executionId: string, state: RunState): Effect.Effect<void> =>
      Effect.suspend(() => {
        state.rerun = false
        return runOnce(executionId, state).pipe(
          Effect.catchCause((cause) =>
            Effect.as(
              Effect.logError(`Weft: the run of execution ${executionId} failed; it will be retried`, cause),
              "retry" as const
            )
          ),
          Effect.flatMap((outcome) => {
            if (outcome === "again") return loop(executionId, state)
            const next = Effect.flatMap(finished(executionId, state), (done) => (done ? Effect.void : loop(executionId, state)))
            return outcome === "retry" ? Effect.andThen(sleepLive(storeRetryMs), loop(executionId, state)) : next
          })
        )
      })

    const runOnce = (executionId: string, state: RunState): Effect.Effect<RunOutcome, WorkflowError> =>
      Effect.gen(function* () {
        const preclaimed = state.claimed
        state.claimed = undefined
        const claimed =
          preclaimed === undefined
            ? yield* store.claim(executionId, owner, yield* Clock.currentTimeMillis)
            : Option.some(preclaimed)
        if (Option.isNone(claimed)) return "done"
        const { fence, journal } = claimed.value
        const record = journal.execution
        const registration = registry.get(record.workflow)
        if (registration === undefined) {
          yield* store.release(executionId, fence)
          yield* Effect.logDebug(
            `Weft: execution ${executionId} belongs to workflow "${record.workflow}", which this engine has not registered`
          )
          return "done"
        }
        if (hooked) yield* hook("run-claimed", executionId)
        const def = registration.def
        const instance = new Instance(engine, def, executionId, fence, journal)
        const payload = def.codec.decodePayload(record.payload)
        const body = Result.isFailure(payload)
          ? Effect.die(Codec.invalid("InvalidPayload", "The stored payload", payload.failure, { workflow: def.name, executionId }))
          : registration.handler(payload.success, executionId)
        metric(Metrics.runs, 1)
        const provided = Effect.provideService(
          Effect.provideContext(body, registration.context),
          WorkflowInstance,
          instance
        ).pipe((effect) =>
          tracing
            ? Effect.withSpan(effect, `weft.workflow ${def.name}`, {
                attributes: { "weft.workflow": def.name, "weft.execution_id": executionId, "weft.fence": fence },
                captureStackTrace: false
              })
            : effect
        ) as Effect.Effect<unknown, unknown>
        state.instance = instance
        // A child of this run's fiber, so it is interrupted with it (the engine's scope closing).
        const fiber = yield* Effect.forkChild(provided)
        instance.fiber = fiber
        let exit = ownExit(yield* Fiber.await(fiber))
        state.instance = undefined

        if (instance.abort !== undefined) {
          yield* Effect.ignore(store.release(executionId, fence))
          if (instance.abort.reason === "LeaseLost" && results.has(executionId)) {
            yield* watchElsewhere(record, yield* Clock.currentTimeMillis)
          }
          if (!instance.abort.isRetryable || instance.abort.reason === "LeaseLost") return "done"
          return yield* Effect.fail(instance.abort)
        }
        const interruptedOnly = Exit.isFailure(exit) && isInterruptedOnly(exit.cause)
        if (interruptedOnly && instance.suspended && !instance.interrupting) {
          if (hooked) yield* hook("before-suspend", executionId)
          const at = yield* Clock.currentTimeMillis
          // A waiter here must hear of the end once another worker may run the rest.
          const suspended = yield* store.suspend(executionId, fence, record.wakeSeq, instance.wakeAt, at, results.has(executionId))
          if (hooked) yield* hook("after-suspend", executionId)
          if (!suspended) return "again"
          metric(Metrics.suspensions, 1)
          if (instance.wakeAt !== undefined) yield* Queue.offer(timerWake, undefined)
          return "done"
        }
        // A replay that already diverged names the step where it did; the steps it then never reached are no news.
        const diverged =
          Exit.isFailure(exit) &&
          exit.cause.reasons.some(
            (reason) =>
              Cause.isDieReason(reason) &&
              (reason.defect instanceof NonDeterminismError || reason.defect instanceof DuplicateActivityName)
          )
        if (!interruptedOnly && !diverged) {
          const skipped = instance.skipped()
          if (skipped !== undefined) exit = Exit.die(instance.skippedError(skipped))
        }
        // A defect leaves the execution resumable once the code is fixed, so its children wait for it. Any
        // other end stops them first, before the parent's own compensations (a saga undoes newest first).
        if (Exit.isSuccess(exit) || !hasDefect(exit.cause)) yield* interruptChildren(instance)
        if (Exit.isFailure(exit) && instance.compensations.length > 0) {
          yield* Effect.provideService(
            Effect.provideContext(instance.runCompensations(exit.cause), registration.context),
            WorkflowInstance,
            instance
          ) as Effect.Effect<void>
          if (instance.abort !== undefined) return yield* Effect.fail(instance.abort)
          yield* store.appendEvent(executionId, {
            kind: "compensated",
            at: yield* Clock.currentTimeMillis,
            detail: `${instance.compensations.length} compensation(s)`
          })
        }
        const status = Exit.isSuccess(exit) ? "succeeded" : interruptedOnly ? "interrupted" : "failed"
        const result = instance.encode(def.codec, exit, `the result of workflow "${def.name}"`)
        if (hooked) yield* hook("before-complete", executionId)
        yield* store.complete(executionId, fence, { status, result, at: yield* Clock.currentTimeMillis })
        metric(Metrics.completedBy[status], 1)
        if (hooked) yield* hook("after-complete", executionId)
        notifyResult(executionId, result)
        if (record.parent !== undefined) {
          yield* Effect.catch(completeDeferred(record.parent.executionId, record.parent.deferred, result), (error) =>
            Effect.logWarning(`Weft: could not report execution ${executionId} to its parent`, error)
          )
        }
        return "done"
      })

    /**
     * A parent that ends takes its awaited children with it: each one still running is asked to stop
     * (an interrupt, so its compensations run). Asked before the parent's end is stored, so a crash in
     * between asks again on the next run; a child started with `discard` is not linked and goes on.
     * Those the journal names and has no result of, read at once where the store can (`liveChildren`), else
     * one read per child. An unreachable store fails the run (it is tried again); a child that cannot
     * be read is skipped.
     */
    const interruptChildren = (instance: Instance): Effect.Effect<void, WorkflowError> => {
      const open = instance.openChildren()
      if (open.length === 0) return Effect.void
      const parentId = instance.executionId
      const stop = (child: ExecutionRecord) =>
        Effect.catch(interruptRecord(child), (error) => skipUnlessUnavailable(error, child.executionId))
      const skipUnlessUnavailable = (error: WorkflowError, childId: string) =>
        error.reason === "StoreUnavailable"
          ? Effect.fail(error)
          : Effect.logWarning(`Weft: could not interrupt child ${childId} of execution ${parentId}`, error)
      const oneByOne = Effect.forEach(
        open,
        (childId) =>
          Effect.flatMap(store.get(childId), (child) =>
            Option.isSome(child) && child.value.parent?.executionId === parentId && !terminal.has(child.value.status)
              ? stop(child.value)
              : Effect.void
          ).pipe(Effect.catch((error) => skipUnlessUnavailable(error, childId))),
        { concurrency: 8, discard: true }
      )
      if (store.liveChildren === undefined) return oneByOne
      // Should the one read fail on a row that no longer reads, one read per child skips just that one.
      return store.liveChildren(parentId).pipe(
        Effect.matchEffect({
          onFailure: (error) => (error.reason === "StoreUnavailable" ? Effect.fail(error) : oneByOne),
          // Only those the journal still counts as open: a child whose result the parent has is no longer its
          // to stop (resumed by hand after a defect, say).
          onSuccess: (children) => {
            const named = new Set(open)
            return Effect.forEach(children.filter((child) => named.has(child.executionId)), stop, {
              concurrency: 8,
              discard: true
            })
          }
        })
      )
    }

    /**
     * Another worker took the execution over while a waiter here waits: its end must be announced (a join
     * that waits marks it so), or, if it ended already, handed to the waiter now.
     */
    const watchElsewhere = (record: ExecutionRecord, at: number) =>
      Effect.ignore(
        Effect.flatMap(
          store.create({
            executionId: record.executionId,
            workflow: record.workflow,
            payload: record.payload,
            parent: record.parent,
            at,
            awaited: true
          }),
          ({ record: now }) =>
            Effect.sync(() => {
              if (terminal.has(now.status)) notifyResult(now.executionId, now.result)
            })
        )
      )

    /**
     * The worker's heartbeat: one renewal for every live run. A lost claim stops its run; a requested
     * interrupt interrupts it.
     */
    const heartbeat = (every: number): Effect.Effect<never> =>
      Effect.forever(
        Effect.gen(function* () {
          yield* sleepLive(every)
          const live: Array<Instance> = []
          for (const state of running.values()) {
            if (state.instance?.fiber !== undefined) live.push(state.instance)
          }
          if (live.length === 0) return
          // Uninterruptible: @effect/sql-pg cancels an interrupted statement by backend pid, which can
          // hit the next statement on that connection.
          const renewed = yield* Effect.result(
            Effect.uninterruptible(
              store.renew(
                owner,
                live.map((instance) => ({ executionId: instance.executionId, fence: instance.fence })),
                yield* Clock.currentTimeMillis
              )
            )
          )
          if (Result.isFailure(renewed)) return
          for (const [i, instance] of live.entries()) {
            const { held, interruptRequested } = renewed.success[i]!
            if (!held) {
              instance.abort ??= new WorkflowError({
                reason: "LeaseLost",
                executionId: instance.executionId,
                message: `The claim on execution ${instance.executionId} expired and was taken over`
              })
              yield* interruptFork(instance.fiber!)
            } else if (interruptRequested && !instance.interrupting) {
              instance.interrupting = true
              yield* interruptFork(instance.fiber!)
            }
          }
        })
      )

    const completeDeferred: Engine["completeDeferred"] = (executionId, name, exit, workflow) =>
      Effect.gen(function* () {
        const at = yield* Clock.currentTimeMillis
        const { applied, record } = yield* store.completeDeferred(executionId, { name, exit, completedAt: at })
        if (!applied) return false
        running.get(executionId)?.instance?.deliver(record)
        // As in `start`: claiming a workflow this engine cannot run would race its workers' wake-up and win.
        if (workflow === undefined || registry.has(workflow)) yield* schedule(executionId)
        return true
      })

    /** Validates a start: the workflow can run (or be submitted) and the payload fits its schema. Writes nothing. */
    const admit = (def: WorkflowDef, payload: unknown): WorkflowError | { executionId: string; encoded: unknown } => {
      if (!registry.has(def.name) && options.acceptUnregistered !== true) {
        return new WorkflowError({
          reason: "NotRegistered",
          workflow: def.name,
          message: `Workflow "${def.name}" is not registered with this engine: provide its layer (${def.name}.toLayer(...))`
        })
      }
      const encoded = def.codec.encodePayload(payload)
      if (Result.isFailure(encoded)) return Codec.invalid("InvalidPayload", "The payload", encoded.failure, { workflow: def.name })
      return { executionId: stableId(def.name, def.idempotencyKey(payload)), encoded: encoded.success }
    }

    const create = (
      def: WorkflowDef,
      admitted: { executionId: string; encoded: unknown },
      parent: ParentLink | undefined,
      awaiting: boolean
    ) => {
      let holds = false
      const unreserve = Effect.sync(() => {
        if (!holds) return
        holds = false
        reserved--
        // A place given back without a run in it: work left for want of room can have it now.
        if (leftWork) {
          leftWork = false
          Queue.offerUnsafe(timerWake, undefined)
        }
      })
      return Effect.gen(function* () {
        const { executionId } = admitted
        const at = yield* Clock.currentTimeMillis
        // A workflow this engine only submits runs on the workers that registered it: claiming it here would
        // only hold it from them until the claim is released (without a wake-up) or expires. One it runs
        // itself needs no announcement: the others would only race it for the claim.
        const runsHere = registry.has(def.name)
        // An engine with no room leaves a new execution unclaimed, for whichever worker has room first. A
        // create that may claim holds a place until it is scheduled, so concurrent ones cannot overfill.
        const full = runsHere && !running.has(executionId) && !hasRoom()
        const claimFor = runsHere && !running.has(executionId) && !full ? owner : undefined
        if (claimFor !== undefined) {
          reserved++
          holds = true
        }
        const { created, record, fence } = yield* store.create({
          executionId,
          workflow: def.name,
          payload: admitted.encoded,
          parent,
          at,
          announce: !runsHere || full,
          claimFor,
          awaited: awaiting
        })
        if (created) metric(Metrics.executionsStarted, 1)
        if (created && fence !== undefined) {
          yield* schedule(executionId, { fence, journal: { execution: record, attempts: [], deferreds: [], clocks: [] } })
        } else if (runsHere && (created || (record.status === "running" && !running.has(executionId)))) {
          // It existed: the place held for it is free again, for this very run.
          yield* unreserve
          yield* schedule(executionId)
        }
        if (!created && parent !== undefined && terminal.has(record.status)) {
          yield* completeDeferred(parent.executionId, parent.deferred, record.result, def.name)
        }
        return { executionId, record }
      }).pipe(Effect.ensuring(unreserve))
    }

    const start: Engine["start"] = (def, payload, parent) =>
      Effect.suspend(() => {
        if (closed) return Effect.interrupt
        const admitted = admit(def, payload)
        return admitted instanceof WorkflowError ? Effect.fail(admitted) : create(def, admitted, parent, false)
      })

    const execute: Engine["execute"] = (def, payload) =>
      Effect.suspend(() => {
        if (closed) return Effect.interrupt
        const admitted = admit(def, payload)
        if (admitted instanceof WorkflowError) return Effect.fail(admitted)
        const { executionId } = admitted
        // The waiter exists before the execution does, so no completion can slip between the two.
        let waiter = results.get(executionId)
        if (waiter === undefined) {
          results.set(executionId, (waiter = { done: Deferred.makeUnsafe(), callers: 0 }))
        }
        const awaited = waiter
        awaited.callers++
        return create(def, admitted, undefined, true).pipe(
          Effect.flatMap(({ record }) => {
            if (terminal.has(record.status)) notifyResult(executionId, record.result)
            return Effect.flatMap(Deferred.await(awaited.done), (encoded) =>
              Effect.flatten(decodeResult(def, { ...record, result: encoded }))
            )
          }),
          // The last caller to give up (an error, an interrupt) takes the waiter away: nobody polls for it then.
          Effect.ensuring(
            Effect.sync(() => {
              if (--awaited.callers === 0 && results.get(executionId) === awaited) results.delete(executionId)
            })
          )
        )
      })

    const decodeResult: Engine["decodeResult"] = (def, record) => {
      const decoded = def.codec.decodeExit(record.result)
      return Result.isSuccess(decoded)
        ? Effect.succeed(decoded.success)
        : Effect.fail(
            Codec.invalid("InvalidResult", "The stored result", decoded.failure, {
              workflow: def.name,
              executionId: record.executionId
            })
          )
    }

    /**
     * The fallback for waiters whose execution runs elsewhere (a completion NOTIFY can be missed): one
     * look-up per waiter and poll, from one loop, so a waiter costs no fiber or timer of its own.
     */
    const pollResults = (every: number): Effect.Effect<never> =>
      Effect.forever(
        Effect.andThen(
          sleepLive(every),
          Effect.suspend(() => {
            // A run here hands its result to the waiter itself.
            const remote = [...results.keys()].filter((executionId) => !running.has(executionId))
            if (remote.length === 0) return Effect.void
            if (store.ended === undefined) return pollEach(remote)
            // One read for every waiter; should it fail (a row that no longer reads), one per waiter, so
            // the bad row fails only its own.
            return Effect.uninterruptible(store.ended(remote)).pipe(
              Effect.flatMap((ended) =>
                Effect.sync(() => {
                  for (const record of ended) notifyResult(record.executionId, record.result)
                })
              ),
              // Effect 3's `Cause.isFailType`: the cause is that one typed error and nothing else.
              Effect.catchCause((cause) => {
                const only = cause.reasons.length === 1 ? cause.reasons[0]! : undefined
                return only !== undefined && Cause.isFailReason(only) && only.error.reason === "StoreUnavailable"
                  ? Effect.void
                  : pollEach(remote)
              })
            )
          })
        )
      )

    /** The per-waiter poll: a row that no longer reads fails its own waiters only. */
    const pollEach = (remote: ReadonlyArray<string>) =>
      Effect.forEach(
        remote,
        (executionId) =>
          // Uninterruptible for the same reason as renewals: a cancelled read can hit the next statement.
          Effect.uninterruptible(store.get(executionId)).pipe(
            Effect.catchDefect((defect) =>
              Effect.as(Effect.logWarning(`Weft: could not poll the result of ${executionId}`, defect), Option.none())
            ),
            Effect.match({
              // A stored row that no longer reads fails its waiters; an unreachable store is tried again.
              onFailure: (error) => {
                const waiter = results.get(executionId)
                if (error.reason !== "StoreUnavailable" && waiter !== undefined) {
                  results.delete(executionId)
                  Deferred.doneUnsafe(waiter.done, Exit.fail(error))
                }
              },
              onSuccess: (record) => {
                if (Option.isSome(record) && terminal.has(record.value.status)) {
                  notifyResult(executionId, record.value.result)
                }
              }
            })
          ),
        { concurrency: 4, discard: true }
      )

    const interrupt: Engine["interrupt"] = (workflow, executionId) =>
      Effect.flatMap(get(workflow, executionId), (record) =>
        terminal.has(record.status) ? Effect.void : interruptRecord(record)
      )

    /**
     * Flags a live execution for interruption and stops it where it runs here, or wakes it to stop. An
     * engine that cannot run the workflow leaves the run to its workers (woken by the store): a claim here
     * would only be released again, and could win the race with the worker's own claim.
     */
    const interruptRecord = ({ executionId, workflow }: ExecutionRecord): Effect.Effect<void, WorkflowError> =>
      Effect.gen(function* () {
        const requested = yield* store.requestInterrupt(executionId, yield* Clock.currentTimeMillis)
        if (!requested) return
        const instance = running.get(executionId)?.instance
        if (instance !== undefined && instance.fiber !== undefined) {
          instance.interrupting = true
          yield* interruptFork(instance.fiber)
        }
        if (registry.has(workflow)) yield* schedule(executionId, undefined, true)
      })

    const resume: Engine["resume"] = (workflow, executionId) =>
      Effect.gen(function* () {
        const record = yield* get(workflow, executionId)
        const at = yield* Clock.currentTimeMillis
        const woken =
          record.status === "suspended"
            ? yield* store.wake(executionId, at)
            : record.status === "failed" && Codec.isDefect(record.result)
            ? yield* store.reopen(executionId, at)
            : record.status === "running"
        // As for an interrupt: only an engine that runs the workflow claims it.
        if (woken && registry.has(record.workflow)) yield* schedule(executionId)
      })

    /**
     * The delay before retry number `retry` (1 for the second attempt): the schedule stepped from its start,
     * each step at the time the previous delay ends, as effect 3's `Schedule.run` over `Schedule.delays` did.
     * A schedule that ends at exactly that step gives 0 (effect 3's `delays` output for its last decision),
     * one that ended before gives undefined.
     */
    const retryDelay: Engine["retryDelay"] = (policy, retry) =>
      Effect.gen(function* () {
        const step = yield* Schedule.toStep(policy)
        let now = yield* Clock.currentTimeMillis
        for (let i = 1; i <= retry; i++) {
          const delay = yield* Pull.catchDone(
            Effect.map(step(now, undefined), ([, delay]) => Duration.toMillis(delay)),
            () => Effect.succeed(undefined)
          )
          if (delay === undefined) return i === retry ? 0 : undefined
          if (i === retry) return Math.max(0, Math.round(delay))
          now += delay
        }
        return undefined
      })

    const queueSignal: Engine["queueSignal"] = (queue) =>
      Effect.gen(function* () {
        const signal = yield* Queue.sliding<void>(1)
        let set = queueWaiters.get(queue)
        if (set === undefined) queueWaiters.set(queue, (set = new Set()))
        set.add(signal)
        yield* Effect.addFinalizer(() => Effect.sync(() => void set!.delete(signal)))
        return Queue.take(signal)
      })

    const notifyQueue = (queue: string) => {
      for (const signal of queueWaiters.get(queue) ?? []) Queue.offerUnsafe(signal, undefined)
    }

    const engine: Engine = {
      store,
      owner,
      inMemoryThreshold,
      register: (registration) =>
        Effect.suspend(() => {
          registry.set(registration.def.name, registration)
          // Executions of this workflow left runnable by an earlier process are picked up now.
          return Queue.offer(timerWake, undefined)
        }),
      isRegistered: (name) => registry.has(name),
      start,
      execute,
      decodeResult,
      get,
      interrupt,
      resume,
      sign: (workflow, executionId, deferred) => Token.sign(key, { workflow, executionId, deferred }),
      verify: (token) => {
        const claims = Token.verify(key, token)
        return typeof claims === "string"
          ? Effect.fail(new WorkflowError({ reason: "InvalidToken", message: `The deferred token is rejected: ${claims}` }))
          : Effect.succeed(claims)
      },
      completeDeferred,
      schedule,
      retryDelay,
      hook,
      hooked,
      tracing,
      queueSignal,
      pollIntervalMs: options.pollIntervalMs,
      heartbeatMs: options.heartbeatMs,
      notifyQueue,
      activeRuns: () => running.size,
      metric
    }

    const onNotification = (notification: Notification): Effect.Effect<void, WorkflowError> => {
      switch (notification.kind) {
        case "queue":
          return Effect.sync(() => notifyQueue(notification.id))
        case "done":
          return results.has(notification.id)
            ? Effect.flatMap(store.get(notification.id), (record) =>
                Effect.sync(() => {
                  if (Option.isSome(record) && terminal.has(record.value.status)) {
                    notifyResult(notification.id, record.value.result)
                  }
                })
              )
            : Effect.void
        case "wake":
        case "interrupt": {
          if (notification.workflow !== undefined && !registry.has(notification.workflow)) return Effect.void
          const interrupt = notification.kind === "interrupt"
          const instance = running.get(notification.id)?.instance
          // An interrupt gets in even when this engine is full, as one requested here does.
          if (instance === undefined) return schedule(notification.id, undefined, interrupt)
          // A live run here needs no new run (its suspension would see the moved wakeSeq); an interrupt stops it.
          if (interrupt && !instance.interrupting && instance.fiber !== undefined) {
            instance.interrupting = true
            return interruptFork(instance.fiber)
          }
          return Effect.void
        }
      }
    }

    const wakeDue = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const workflows = [...registry.keys()]
      const free = room()
      if (free <= 0) {
        // Full: the next run to end (or place given back) wakes this loop; due timers wait for room.
        leftWork = true
        const poll = options.pollIntervalMs === undefined ? Effect.never : sleepLive(options.pollIntervalMs)
        return yield* Effect.raceFirst(Queue.take(timerWake), poll)
      }
      leftWork = false
      // Without a heartbeat, runs here are listed too (their claims lapse): they take no place.
      const limit = Math.min(free + (options.heartbeatMs === undefined ? running.size : 0), 1_000)
      const ready = yield* store.runnable(now, limit, workflows)
      let started = 0
      for (const { executionId } of ready) {
        if (!running.has(executionId)) {
          if (started >= free) break
          started++
        }
        yield* schedule(executionId)
      }
      if (started >= free || ready.length >= limit) leftWork = true
      // With work left over, due timers are among it: wait for room, not for them.
      const next = leftWork ? Option.none() : yield* store.nextWakeAt(workflows)
      // Capped: a JS timer longer than MAX_TIMER_MS never fires, so a far timer is looked at again then.
      const timer = Option.match(next, {
        onNone: () => Effect.never,
        onSome: (at) => Effect.sleep(Math.min(MAX_TIMER_MS, Math.max(0, at - now)))
      })
      const poll = options.pollIntervalMs === undefined ? Effect.never : sleepLive(options.pollIntervalMs)
      yield* Effect.raceAll([timer, poll, Queue.take(timerWake)])
    })
    if (options.heartbeatMs !== undefined) yield* Effect.forkIn(heartbeat(options.heartbeatMs), scope)
    if (options.pollIntervalMs !== undefined) yield* Effect.forkIn(pollResults(options.pollIntervalMs), scope)
    const notifications = store.notifications
    if (notifications !== undefined) {
      yield* Effect.forkIn(
        Stream.runForEach(notifications, (notification) =>
          Effect.catchCause(onNotification(notification), (cause) =>
            Effect.logWarning("Weft: could not act on a notification", cause)
          )
        ),
        scope
      )
    }
    yield* Effect.forkIn(
      Effect.forever(
        Effect.catchCause(wakeDue, (cause) =>
          Effect.andThen(Effect.logError("Weft: the timer loop failed; retrying", cause), sleepLive(storeRetryMs))
        )
      ),
      scope
    )
    return engine
  })
