/**
 * Activities: a stored final attempt returns at once; otherwise the next attempt runs, its Exit is written in one
 * store call (with the body, in one transaction, when transactional), and a failure is retried by its policy
 * after a durable backoff. This is where a step's result is written.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type { WorkflowError } from "../WorkflowError.js"
import * as Metrics from "../WorkflowMetrics.js"
import { type ActivityAttempt, isRetriedMarker } from "../WorkflowStore.js"
import { isInterruptedOnly, ownExit } from "./causes.js"
import * as Clocks from "./clocks.js"
import { CurrentRace } from "./deferreds.js"
import type { ActivityDef } from "./definitions.js"
import { diverged, guardKind, sameName } from "./replay.js"
import * as Names from "./reserved.js"
import * as Retry from "./retry.js"
import type { Run } from "./run.js"
import * as StepMode from "./stepMode.js"
import * as Telemetry from "./telemetry.js"

/** The per-activity attempt number, 1 for the first attempt. */
export const CurrentAttempt: Context.Reference<number> = Context.Reference<number>(
  "@weft/workflow/Activity/CurrentAttempt",
  { defaultValue: () => 1 }
)

/** A failed transactional body: its writes roll back, then the failed attempt is recorded on its own. */
class Rollback {
  constructor(readonly exit: Exit.Exit<unknown, unknown>) {}
}

/** Replays or runs an activity: a stored final attempt returns at once; otherwise the next attempt runs. */
export const activity = (run: Run, def: ActivityDef): Effect.Effect<any, any, any> => {
  if (!run.replay.claimName(def.name, def.execute)) return Effect.die(sameName(run, def.name))
  // A step new to the journal under a name the journal holds as a sleep not asked for yet: a changed step kind?
  if (run.replay.heldAs("activity", def.name) !== undefined) {
    return guardKind(run, "activity", def.name, def.name, Effect.suspend(() => asked(run, def)))
  }
  // A journaled step asked for the first time in this run: checked against the steps its fiber asked before.
  if (run.replay.ordered(def.name)) {
    return Effect.withFiber((fiber) => {
      const before = run.replay.outOfOrder(def.name, fiber.id)
      if (before !== undefined) {
        return Effect.die(
          diverged(run, def.name, `the body asks for it after "${before}", but the journal finished it before "${before}" started (a reordered body)`)
        )
      }
      return asked(run, def)
    })
  }
  return asked(run, def)
}

const asked = (run: Run, def: ActivityDef): Effect.Effect<any, any, any> => {
  run.replay.asked.add(def.name)
  if (run.racing > 0) {
    return Effect.withFiber((fiber) => {
      fiber.getRef(CurrentRace)?.add(def.name)
      return step(run, def)
    })
  }
  return step(run, def)
}

const step = (run: Run, def: ActivityDef): Effect.Effect<any, any, any> => {
  const last = run.replay.lastAttempt(def.name)
  if (last !== undefined) {
    const decided = decide(run, def, last)
    if (decided !== undefined) {
      // Answered from the journal: it did not run, so no attempt span, only a mark on the enclosing span.
      if (!run.engine.telemetry.tracing) return decided
      const outcome = Exit.isExit(decided) ? Telemetry.outcomeOf(decided) : "defect"
      return Effect.andThen(
        Telemetry.replayed(run.engine.telemetry, {
          "weft.activity": def.name,
          "weft.attempt": last.attempt,
          "weft.outcome": outcome
        }),
        decided
      )
    }
  }
  return attempt(run, def, (last?.attempt ?? 0) + 1)
}

/** The stored outcome of an attempt, or undefined when another attempt is due. */
const decide = (run: Run, def: ActivityDef, last: ActivityAttempt): Effect.Effect<any, any> | undefined => {
  // An operator retried the execution after this activity failed: a fresh round of attempts is due.
  if (isRetriedMarker(last.exit)) return undefined
  const decoded = def.codec.decodeExit(last.exit)
  if (Result.isFailure(decoded)) return Effect.die(diverged(run, def.name, "its stored result no longer decodes"))
  const exit = decoded.success
  if (Exit.isSuccess(exit)) return exit
  const policy = def.retry
  const left = policy !== undefined && last.attempt - run.replay.retryBase(def.name) <= policy.times
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isSome(failure)) return left && policy!.isRetryable(failure.value) ? undefined : exit
  // A defect is a bug: retried while retries are left, and tried again when an execution is resumed after it.
  return left || !run.replay.ranHere.has(last) ? undefined : exit
}

const attempt = (run: Run, def: ActivityDef, n: number): Effect.Effect<any, any, any> => {
  // Replay tests and `describe` run no activity body: only the engines they build have a step mode. Kept out of
  // `attemptOf`, the hot path, which stays as small as it was.
  const mode = StepMode.of(run.engine)
  if (mode === undefined) return attemptOf(run, def, n)
  const taken = mode(run, def, n)
  return taken._tag === "Stop" ? Effect.die(taken.defect) : attemptOf(run, { ...def, execute: taken.body }, n)
}

const attemptOf = (run: Run, def: ActivityDef, n: number): Effect.Effect<any, any, any> => {
  const engine = run.engine
  // Attempt 1 is the reference's default: providing it would copy the context on every step.
  const provided = n === 1 ? def.execute : Effect.provideService(def.execute, CurrentAttempt, n)
  const body = def.timeoutMs === undefined
    ? provided
    : Effect.timeoutOrElse(provided, {
      duration: def.timeoutMs,
      orElse: () => Effect.die(timedOut(run, def.name, n, def.timeoutMs!))
    })
  const execute = Telemetry.attemptSpan(engine.telemetry, body, run.def.name, run.executionId, def.name, n)
  const suspension = run.suspension
  const once = Effect.uninterruptibleMask((restore) =>
    Effect.clockWith((clock) => {
      if (run.interrupting && !run.compensating) return Effect.interrupt
      if (n > 1) engine.telemetry.metric(Metrics.forActivity(run.def.name, Telemetry.metricName(def.name)).retries, 1)
      suspension.attemptStarted(def.name, n)
      const startedAt = clock.currentTimeMillisUnsafe()
      const body = Effect.exit(restore(execute))
      // An interrupt the run received (a requested interrupt, a suspension, a sibling's failure, a timeout
      // around the step) or a failed store write stops the step unrecorded; one the body made by itself is a
      // failed attempt. `restore(Effect.void)` fails exactly when the run holds a pending interrupt.
      // `retrying`: outside a transaction a write the database did not answer is tried again (the body is done,
      // only its result is missing); inside one, the transaction is lost with it and the run stops.
      const settle = (exit: Exit.Exit<unknown, unknown>, retrying = true): Effect.Effect<ActivityAttempt> =>
        Exit.isFailure(exit) && isInterruptedOnly(exit.cause)
          ? Effect.matchEffect(restore(Effect.void), {
              onFailure: () => Effect.failCause(exit.cause) as Effect.Effect<never>,
              onSuccess: () =>
                run.abort !== undefined
                  ? (Effect.failCause(exit.cause) as Effect.Effect<never>)
                  : record(run, def, n, startedAt, clock, Exit.die(interruptedItself(run, def.name, n)), retrying)
            })
          : record(run, def, n, startedAt, clock, ownExit(exit), retrying)
      const transaction = def.transactional === true ? engine.store.transaction : undefined
      const recorded =
        transaction === undefined
          ? Effect.flatMap(body, settle)
          : transaction(
              Effect.flatMap(body, (exit) => (Exit.isSuccess(exit) ? settle(exit, false) : Effect.fail(new Rollback(exit))))
            ).pipe(
              // Effect 3's `catchAll`: the first typed error even next to a defect (say, a rollback that
              // died), where effect 4's `catch` would let a defect win and lose the attempt's own Exit.
              Effect.catchCause((cause): Effect.Effect<ActivityAttempt> => {
                const error = Cause.findErrorOption(cause)
                if (Option.isNone(error)) return Effect.failCause(cause as Cause.Cause<never>)
                return error.value instanceof Rollback
                  ? settle(error.value.exit)
                  : run.storeFailed(error.value as WorkflowError)
              })
            )
      return Effect.onExit(recorded, () => suspension.settled(def.name))
    })
  )
  const next = Effect.flatMap(once, (stored) => decide(run, def, stored) ?? attempt(run, def, n + 1))
  if (n === 1 || def.retry === undefined) return next
  // Attempts count from the operator's latest retry, if any: its round starts without a backoff.
  const retries = n - 1 - run.replay.retryBase(def.name)
  if (retries === 0) return next
  return Effect.andThen(
    Effect.flatMap(Retry.delay(def.retry.schedule, retries), (delay) =>
      delay === undefined ? Effect.void : Clocks.sleep(run, Names.retryWait(def.name, n), delay)
    ),
    next
  )
}

/**
 * Writes one attempt's Exit: one store call (tried again while the database does not answer, when `retrying`:
 * the body is not run again for a lost write), then the run's journal view and the metrics.
 */
const record = (
  run: Run,
  def: ActivityDef,
  n: number,
  startedAt: number,
  clock: Clock.Clock,
  exit: Exit.Exit<unknown, unknown>,
  retrying: boolean
): Effect.Effect<ActivityAttempt> => {
  const { store, telemetry } = run.engine
  const write = Effect.suspend(() => {
    const attempt: ActivityAttempt = {
      name: def.name,
      attempt: n,
      exit: run.encode(def.codec, exit, `the result of activity "${def.name}"`),
      startedAt,
      completedAt: clock.currentTimeMillisUnsafe()
    }
    const stored = store.recordAttempt(run.executionId, run.fence, attempt)
    return (retrying ? run.persist(stored) : Effect.catch(stored, (error) => run.storeFailed(error))).pipe(
      Effect.map((stored) => {
        const series = Metrics.forActivity(run.def.name, Telemetry.metricName(def.name))
        const outcome = Exit.isSuccess(exit) ? "success" : Telemetry.outcomeOf(exit)
        telemetry.metric(
          outcome === "success" ? series.succeeded : outcome === "failure" ? series.failed : series.defects,
          1
        )
        telemetry.metric(series.duration, attempt.completedAt - startedAt)
        run.replay.addAttempt(stored)
        return stored
      })
    )
  })
  if (!telemetry.hooked) return write
  return Effect.andThen(
    telemetry.hook("activity-ran", run.executionId, def.name),
    Effect.tap(write, () => telemetry.hook("activity-recorded", run.executionId, def.name))
  )
}

/** The defect recorded for an attempt that ran past its activity's `timeout`: a failed attempt, retried by policy. */
const timedOut = (run: Run, activity: string, attempt: number, timeoutMs: number): Error => {
  const error = new Error(
    `Activity "${activity}" of workflow "${run.def.name}" (execution ${run.executionId}) timed out on attempt ` +
      `${attempt}: it ran past its timeout of ${timeoutMs} ms and was interrupted`
  )
  error.name = "ActivityTimedOut"
  return error
}

/** The defect recorded for an attempt whose body interrupted itself: nobody asked, so it is a failure. */
const interruptedItself = (run: Run, activity: string, attempt: number): Error => {
  const error = new Error(
    `Activity "${activity}" of workflow "${run.def.name}" (execution ${run.executionId}) interrupted ` +
      `itself on attempt ${attempt}: an interrupt nobody requested is a failed attempt, retried by the ` +
      `activity's retry policy`
  )
  error.name = "ActivityInterrupted"
  return error
}
