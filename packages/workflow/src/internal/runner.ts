/**
 * One run of one execution: claim it with its journal, replay the body against it, then store what became of
 * it — suspended until a signal or timer, or ended (children stopped, compensations run, result stored, waiters
 * and parent told). A failed store write stops the run; the scheduler decides whether to run it again.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import type * as Tracer from "effect/Tracer"
import type { WorkflowError } from "../WorkflowError.js"
import { type Completion, terminal, versionOf } from "../WorkflowStore.js"
import { CurrentAttempt } from "./activities.js"
import * as Metrics from "../WorkflowMetrics.js"
import { hasDefect, isInterruptedOnly, ownExit } from "./causes.js"
import * as Children from "./children.js"
import * as InvalidInput from "./invalidInput.js"
import * as Compensation from "./compensation.js"
import * as Deadline from "./deadline.js"
import { CurrentRace } from "./deferreds.js"
import type { Engine } from "./definitions.js"
import { isDivergence, skippedStep } from "./replay.js"
import * as Results from "./results.js"
import * as Retry from "./retry.js"
import { Run, WorkflowInstance } from "./run.js"
import type { Outcome, RunState } from "./scheduler.js"
import * as Signals from "./signals.js"
import * as Telemetry from "./telemetry.js"
import * as Versioning from "./versioning.js"

/** Claims and runs an execution once (or uses the claim its create took). */
export const runOnce = (
  engine: Engine,
  executionId: string,
  state: RunState
): Effect.Effect<Outcome, WorkflowError> => {
  // The run's span (when tracing) is ended once the runner knows what became of the run.
  let span: Tracer.Span | undefined
  let outcome: Telemetry.Outcome = "stopped"
  let ended: Exit.Exit<unknown, unknown> | undefined
  return Effect.gen(function* () {
    const { store, telemetry } = engine
    const { hooked, hook } = telemetry
    const preclaimed = state.claimed
    state.claimed = undefined
    // A claim handed over that a newer claim of this loop superseded is not used: claimed anew instead.
    const claimed =
      preclaimed === undefined || preclaimed.fence < state.fence
        ? yield* store.claim(executionId, engine.owner, yield* Clock.currentTimeMillis, engine.claimable)
        : Option.some(preclaimed)
    if (Option.isNone(claimed)) return "done"
    const { fence, journal } = claimed.value
    state.fence = Math.max(state.fence, fence)
    const record = journal.execution
    // The store's claim takes only versions this engine registers; a store that ignores the filter is caught here.
    const registration = Versioning.registrationOf(engine, record)
    if (registration === undefined) {
      yield* store.release(executionId, fence)
      yield* Effect.logDebug(
        `Weft: execution ${executionId} belongs to workflow "${record.workflow}" version ${versionOf(record)}, ` +
          `which this engine has not registered`
      )
      return "done"
    }
    const def = registration.def
    const run = new Run(engine, def, executionId, fence, journal)
    const deadline = Deadline.has(run) ? yield* Deadline.arm(run, record.createdAt) : undefined
    const series = Metrics.forWorkflow(def.name)
    span = yield* Telemetry.startRun(telemetry, def.name, executionId, fence, def.version)
    // Live from the claim on: the heartbeat renews it before the body starts, too.
    state.run = run
    if (hooked) yield* hook("run-claimed", executionId)
    const payload = def.codec.decodePayload(record.payload)
    const body = Result.isFailure(payload)
      ? Effect.die(InvalidInput.invalid("InvalidPayload", "The stored payload", payload.failure, { workflow: def.name, executionId }))
      : // A handler that throws as it builds the body (an `Activity.make` refusing its name) dies like a body.
        Effect.suspend(() => registration.handler(payload.success, executionId))
    telemetry.metric(series.runs, 1)
    // The registration holds the services the body needs, never a scope: the body's scope is the execution's.
    // The run loop was forked from whoever woke it (an activity of another execution, say): what that caller
    // set for its own step (its attempt number, a race it runs) is reset here.
    const inRun = <A, E>(effect: Effect.Effect<A, E, any>) =>
      Effect.provideContext(effect, registration.context).pipe(
        Effect.provideService(Scope.Scope, run.scope),
        Effect.provideService(WorkflowInstance, run),
        Effect.provideService(CurrentAttempt, 1),
        Effect.provideService(CurrentRace, undefined)
      ) as Effect.Effect<A, E>
    const provided = Telemetry.inRun(span, inRun(body))
    // A child of this run's fiber, so it is interrupted with it (the engine's scope closing).
    // Not started at all if the heartbeat found the claim lost meanwhile.
    const fiber = yield* Effect.forkChild(Effect.suspend(() => (run.abort !== undefined ? Effect.interrupt : provided)))
    run.suspension.fiber = fiber
    const watching = deadline === undefined || run.interrupting ? undefined : yield* Effect.forkChild(Deadline.watch(run, deadline, record.createdAt))
    let exit = ownExit(yield* Fiber.await(fiber))
    if (watching !== undefined) yield* Fiber.interrupt(watching)

    if (run.abort !== undefined) {
      ended = Exit.fail(run.abort)
      state.run = undefined
      yield* Effect.ignore(store.release(executionId, fence))
      if (run.abort.reason === "LeaseLost" && engine.results.has(executionId)) {
        yield* Results.watchElsewhere(engine, record)
      }
      if (!run.abort.isRetryable || run.abort.reason === "LeaseLost") return "done"
      return yield* Effect.fail(run.abort)
    }
    const interruptedOnly = Exit.isFailure(exit) && isInterruptedOnly(exit.cause)
    if (interruptedOnly && run.suspension.suspended && !run.interrupting) {
      state.run = undefined
      if (hooked) yield* hook("before-suspend", executionId)
      const at = yield* Clock.currentTimeMillis
      const wakeAt = run.suspension.wakeAt
      // A waiter here must hear of the end once another worker may run the rest.
      const suspended = yield* store.suspend(executionId, fence, record.wakeSeq, wakeAt, at, engine.results.has(executionId))
      if (hooked) yield* hook("after-suspend", executionId)
      ended = exit
      if (!suspended) {
        outcome = "rerun"
        return "again"
      }
      outcome = "suspended"
      telemetry.metric(series.suspended, 1)
      if (wakeAt !== undefined) engine.scheduler.wakeTimerLoop()
      return "done"
    }
    // A replay that already diverged names the step where it did; the steps it then never reached are no news.
    const diverged =
      Exit.isFailure(exit) &&
      exit.cause.reasons.some((reason) => Cause.isDieReason(reason) && isDivergence(reason.defect))
    if (!interruptedOnly && !diverged) {
      const skipped = run.replay.skipped()
      if (skipped !== undefined) exit = Exit.die(skippedStep(run, skipped))
    }
    // A defect leaves the execution resumable once the code is fixed, so its children wait for it. Any
    // other end stops them first, before the parent's own compensations (a saga undoes newest first).
    if (Exit.isSuccess(exit) || !hasDefect(exit.cause)) yield* Children.interruptOpen(run)
    if (Exit.isFailure(exit) && run.compensations.length > 0) {
      yield* Telemetry.inRun(span, inRun(Compensation.runAll(run, exit.cause)))
      if (run.abort !== undefined) return yield* Effect.fail(run.abort)
      yield* store.appendEvent(executionId, fence, {
        kind: "compensated",
        at: yield* Clock.currentTimeMillis,
        detail: `${run.compensations.length} compensation(s)`
      })
    }
    // Before the end is stored, so a crash in between runs them again on the next run (at least once). Closing
    // is uninterruptible: waited for from here, so a finalizer that never ends cannot hold up a shutdown.
    const closing = yield* Effect.forkDetach(
      Effect.catchCause(Scope.close(run.scope, exit), (cause) =>
        Effect.logError(`Weft: a finalizer of execution ${executionId} failed`, cause)
      )
    )
    yield* Fiber.await(closing)
    const status = Exit.isSuccess(exit) ? "succeeded" : interruptedOnly ? "interrupted" : "failed"
    const result = run.encode(def.codec, exit, `the result of workflow "${def.name}"`)
    if (hooked) yield* hook("before-complete", executionId)
    const stored = yield* complete(run, { status, result, at: yield* Clock.currentTimeMillis })
    // Live until its end is stored: the heartbeat keeps renewing the claim through compensations and finalizers.
    state.run = undefined
    telemetry.metric(series[stored.status], 1)
    ended = exit
    outcome = Telemetry.endOutcome(stored.status, exit)
    if (hooked) yield* hook("after-complete", executionId)
    engine.results.notify(executionId, stored.result)
    if (record.parent !== undefined) {
      const parentId = record.parent.executionId
      // A parent that is gone (purged once it ended) has nobody to report to: noted once, never tried again.
      yield* Effect.catch(Signals.completeDeferred(engine, parentId, record.parent.deferred, stored.result), (error) =>
        error.reason === "ExecutionNotFound"
          ? Effect.logInfo(`Weft: execution ${executionId} ended; its parent ${parentId} no longer exists (purged)`)
          : Effect.logWarning(`Weft: could not report execution ${executionId} to its parent`, error)
      )
    }
    return "done"
  }).pipe(
    // A run that failed (a store write, say) is live no more while the loop waits to run it again.
    Effect.ensuring(Effect.sync(() => (state.run = undefined))),
    (once) =>
      engine.telemetry.tracing
        ? Effect.onExit(once, (exit) => Telemetry.endRun(span, outcome, Exit.isFailure(exit) ? exit : (ended ?? exit)))
        : once
  )
}

/**
 * Stores the run's end and returns the end stored. Tried again while the database does not answer (compensations
 * and finalizers ran: a lost write would run the finalizers again); a write that committed but whose answer was
 * lost then finds its claim released, and the end stored is read back. An end the database refuses (its result,
 * say) is stored instead as a defect naming the cause: the execution ends, resumable, rather than running again.
 */
const complete = (run: Run, completion: Completion): Effect.Effect<Completion, WorkflowError> => {
  const { engine, executionId, fence } = run
  let retried = false
  const write = (completion: Completion) =>
    Effect.as(
      Retry.storeWrite(
        engine.store.complete(executionId, fence, completion),
        Retry.writeBudgetMs(engine.settings),
        () => (retried = run.abort === undefined)
      ),
      completion
    )
  return Effect.catch(write(completion), (error): Effect.Effect<Completion, WorkflowError> => {
    if (error.reason === "LeaseLost" && retried) {
      return Effect.flatMap(engine.store.get(executionId), (record) =>
        Option.isSome(record) && terminal.has(record.value.status)
          ? Effect.succeed({ status: record.value.status as Completion["status"], result: record.value.result, at: record.value.updatedAt })
          : Effect.fail(error)
      )
    }
    if (error.reason !== "StoreRejected") return Effect.fail(error)
    const result = run.encode(run.def.codec, Exit.die(run.rejected(error)), `the result of workflow "${run.def.name}"`)
    return Effect.andThen(
      Effect.logError(`Weft: the database refused the end of execution ${executionId}; it ends failed`, error),
      write({ status: "failed", result, at: completion.at })
    )
  })
}
