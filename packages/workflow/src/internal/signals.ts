/**
 * Signals from outside a run: a deferred completed (by a token, a child's end, a queue worker), an interrupt or
 * a resume requested, and the store's notifications from other processes. Each is stored first, then wakes the
 * execution here or is left to the workers that run its workflow.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { WorkflowError } from "../WorkflowError.js"
import { type EncodedExit, type ExecutionRecord, type Notification, terminal } from "../WorkflowStore.js"
import { interruptFork } from "./causes.js"
import * as Deferreds from "./deferreds.js"
import type { Engine } from "./definitions.js"
import * as ExitEncoding from "./exitEncoding.js"
import * as Results from "./results.js"
import * as Token from "./token.js"

/**
 * Completes deferred `name` of an execution, first completion wins; the woken execution is scheduled here unless
 * `workflow` is known and not registered here (then it is left to the workers that registered it).
 */
export const completeDeferred = (
  engine: Engine,
  executionId: string,
  name: string,
  exit: EncodedExit,
  workflow?: string | undefined
): Effect.Effect<boolean, WorkflowError> =>
  Effect.gen(function* () {
    const at = yield* Clock.currentTimeMillis
    const { applied, record } = yield* engine.store.completeDeferred(executionId, { name, exit, completedAt: at })
    if (!applied) return false
    const run = engine.scheduler.live(executionId)
    if (run !== undefined) Deferreds.deliver(run, record)
    // As in `start`: claiming a workflow this engine cannot run would race its workers' wake-up and win.
    if (workflow === undefined || engine.registry.has(workflow)) yield* engine.scheduler.schedule(executionId)
    return true
  })

/** Interrupts an execution unless it has ended. */
export const interrupt = (engine: Engine, executionId: string, workflow?: string): Effect.Effect<void, WorkflowError> =>
  Effect.flatMap(engine.get(executionId, workflow), (record) =>
    terminal.has(record.status) ? Effect.void : interruptRecord(engine, record)
  )

/**
 * Flags a live execution for interruption and stops it where it runs here, or wakes it to stop. An
 * engine that cannot run the workflow leaves the run to its workers (woken by the store): a claim here
 * would only be released again, and could win the race with the worker's own claim.
 */
export const interruptRecord = (
  engine: Engine,
  { executionId, workflow }: ExecutionRecord
): Effect.Effect<void, WorkflowError> =>
  Effect.gen(function* () {
    const requested = yield* engine.store.requestInterrupt(executionId, yield* Clock.currentTimeMillis)
    if (!requested) return
    const run = engine.scheduler.live(executionId)
    if (run !== undefined && run.suspension.fiber !== undefined) {
      run.interrupting = true
      yield* interruptFork(run.suspension.fiber)
    }
    if (engine.registry.has(workflow)) yield* engine.scheduler.schedule(executionId, undefined, true)
  })

/** Schedules a suspended execution again, or re-opens one that failed by a defect. */
export const resume = (engine: Engine, executionId: string, workflow?: string): Effect.Effect<void, WorkflowError> =>
  Effect.gen(function* () {
    const record = yield* engine.get(executionId, workflow)
    const at = yield* Clock.currentTimeMillis
    const woken =
      record.status === "suspended"
        ? yield* engine.store.wake(executionId, at)
        : record.status === "failed" && ExitEncoding.isDefect(record.result)
        ? yield* engine.store.reopen(executionId, at)
        : record.status === "running"
    // As for an interrupt: only an engine that runs the workflow claims it.
    if (woken && engine.registry.has(record.workflow)) yield* engine.scheduler.schedule(executionId)
  })

/**
 * Acts on a notification from the store (another process woke, interrupted or ended an execution, or queued). A
 * written schedule's is the schedule loop's (`Schedules.onNotification`): the engine hands it there.
 */
export const onNotification = (engine: Engine, notification: Notification): Effect.Effect<void, WorkflowError> => {
  switch (notification.kind) {
    case "queue":
      return Effect.sync(() => notifyQueue(engine, notification.id))
    case "schedule":
      return Effect.void
    case "done":
      return engine.results.has(notification.id)
        ? Effect.flatMap(engine.store.get(notification.id), (record) =>
            Effect.sync(() => Results.notifyIfEnded(engine, record))
          )
        : Effect.void
    case "wake":
    case "interrupt": {
      if (notification.workflow !== undefined && !engine.registry.has(notification.workflow)) return Effect.void
      const interrupt = notification.kind === "interrupt"
      const run = engine.scheduler.live(notification.id)
      // An interrupt gets in even when this engine is full, as one requested here does.
      if (run === undefined) return engine.scheduler.schedule(notification.id, undefined, interrupt)
      // A live run here needs no new run (its suspension would see the moved wakeSeq); an interrupt stops it.
      if (interrupt && !run.interrupting && run.suspension.fiber !== undefined) {
        run.interrupting = true
        return interruptFork(run.suspension.fiber)
      }
      return Effect.void
    }
  }
}

/** A signal that an item may be waiting in `queue`, for one worker loop; taken from the set when the scope closes. */
export const queueSignal = (engine: Engine, queue: string): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const signal = yield* Queue.sliding<void>(1)
    let set = engine.queueWaiters.get(queue)
    if (set === undefined) engine.queueWaiters.set(queue, (set = new Set()))
    set.add(signal)
    yield* Effect.addFinalizer(() => Effect.sync(() => void set!.delete(signal)))
    return Queue.take(signal)
  })

/** Tells this process's workers of `queue` that an item may be waiting. */
export const notifyQueue = (engine: Engine, queue: string): void => {
  for (const signal of engine.queueWaiters.get(queue) ?? []) Queue.offerUnsafe(signal, undefined)
}

/** The signed token of deferred `deferred` of an execution. */
export const sign = (engine: Engine, workflow: string, executionId: string, deferred: string): string =>
  Token.sign(engine.signingKey, { workflow, executionId, deferred })

/** What a token names, once its signature holds; a forged or tampered token is an `InvalidToken` error. */
export const verify = (engine: Engine, token: string): Effect.Effect<Token.TokenClaims, WorkflowError> => {
  const claims = Token.verify(engine.signingKey, token)
  return typeof claims === "string"
    ? Effect.fail(new WorkflowError({ reason: "InvalidToken", message: `The deferred token is rejected: ${claims}` }))
    : Effect.succeed(claims)
}
