/**
 * Suspension: a run counts the work in progress (activity bodies, short sleeps) and the waits only the outside
 * world can end (deferreds, long sleeps). When nothing is in progress and something waits, it stops its body's
 * fiber; the execution is then only its record in the store until a signal or timer wakes it.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { interruptFork } from "./causes.js"

/** One run's suspension bookkeeping. */
export class Suspension {
  inFlight = 0
  /**
   * The activity attempts in progress, by name (their attempt number): what the heartbeat records with the claim,
   * so a worker that takes the execution over can say which ran again. Made at the first attempt.
   */
  attempts: Map<string, number> | undefined
  blocked = 0
  checking = false
  /** Set once the run decided to suspend and stopped its body. */
  suspended = false
  /** The earliest timer the waits of this run end at, if any. */
  wakeAt: number | undefined
  /** The body's fiber, once started. */
  fiber: Fiber.Fiber<unknown, unknown> | undefined

  /** Keeps the earliest wake time of the run's long waits. */
  waitUntil(wakeAt: number): void {
    if (this.wakeAt === undefined || wakeAt < this.wakeAt) this.wakeAt = wakeAt
  }

  /** Work in progress that keeps the run from suspending (an activity body, a short sleep). */
  busy<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      this.inFlight++
      return Effect.ensuring(effect, this.settled())
    })
  }

  /** Waits on something only the outside world can finish; when nothing else is busy, the run suspends. */
  block<A>(waiter: Effect.Effect<A>): Effect.Effect<A> {
    return Effect.suspend(() => {
      this.blocked++
      return Effect.andThen(
        this.check(),
        Effect.ensuring(waiter, Effect.sync(() => this.blocked--))
      )
    })
  }

  /** Counts an activity's attempt `attempt` as work in progress (ended by `settled(name)`). */
  attemptStarted(name: string, attempt: number): void {
    this.inFlight++
    ;(this.attempts ??= new Map()).set(name, attempt)
  }

  /** The activity attempts in progress, as the heartbeat records them. */
  inFlightAttempts(): Array<{ readonly name: string; readonly attempt: number }> {
    return this.attempts === undefined ? [] : Array.from(this.attempts, ([name, attempt]) => ({ name, attempt }))
  }

  /** Ends one piece of work in progress (started by `inFlight++`, or by `attemptStarted` for activity `name`). */
  settled(name?: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (name !== undefined) this.attempts?.delete(name)
      this.inFlight--
      return this.check()
    })
  }

  private check(): Effect.Effect<void> {
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
}
