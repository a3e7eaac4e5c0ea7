/**
 * Activity retries: the policy an activity carries and the durable delay before each retry, stepped from
 * `effect`'s `Schedule` exactly as the effect 3 build stepped it (so stored backoff timers keep their times).
 * Also the bounded retry of a step's store write while the database is unreachable (`storeWrite`).
 */
import * as Duration from "effect/Duration"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import type { WorkflowError } from "../WorkflowError.js"
import type { Settings } from "./definitions.js"
import { sleepLive } from "./time.js"

/** When and how often a failed activity is tried again. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly times: number
  readonly schedule: Schedule.Schedule<any, unknown>
  readonly isRetryable: (error: unknown) => boolean
}

/**
 * The delay before retry number `retry` (1 for the second attempt): the schedule stepped from its start,
 * each step at the time the previous delay ends, as effect 3's `Schedule.run` over `Schedule.delays` did.
 * A schedule that ends at exactly that step gives 0 (effect 3's `delays` output for its last decision),
 * one that ended before gives undefined.
 */
export const delay = (policy: Schedule.Schedule<any, unknown>, retry: number): Effect.Effect<number | undefined> =>
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

/** The backoff between tries of a store write: exponential from 50 ms, at most 1 s apart. */
const writeBackoff: Schedule.Schedule<Duration.Duration, unknown> = Schedule.exponential("50 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(1))))
)

/**
 * How long a step's store write is tried again, in real time: two heartbeats where there is one (a third of the
 * SQL engines' lease each, so the claim outlives the tries), else 2 s.
 */
export const writeBudgetMs = (settings: Settings): number =>
  settings.heartbeatMs === undefined ? 2_000 : 2 * settings.heartbeatMs

/**
 * `write`, tried again while it fails with `StoreUnavailable` (the database did not answer), with backoff, for at
 * most `budgetMs` of real time and only while `holds()` (the run keeps its claim). Any other failure, or the
 * last `StoreUnavailable`, is the result. Safe because every step write is first-wins under its fence: a write
 * that committed but whose answer was lost returns the stored row when tried again. Costs nothing on success.
 */
export const storeWrite = <A>(
  write: Effect.Effect<A, WorkflowError>,
  budgetMs: number,
  holds: () => boolean
): Effect.Effect<A, WorkflowError> =>
  Effect.catch(write, (error) =>
    error.reason === "StoreUnavailable" && holds() ? writeAgain(write, error, budgetMs, holds) : Effect.fail(error)
  )

const liveClock = Clock.Clock.defaultValue()

/** `storeWrite` after its first try failed with `first` (a `StoreUnavailable`). */
export const writeAgain = <A>(
  write: Effect.Effect<A, WorkflowError>,
  first: WorkflowError,
  budgetMs: number,
  holds: () => boolean
): Effect.Effect<A, WorkflowError> =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(writeBackoff)
    const start = liveClock.currentTimeMillisUnsafe()
    let error = first
    while (true) {
      const now = liveClock.currentTimeMillisUnsafe()
      const delay = yield* Pull.catchDone(
        Effect.map(step(now, error), ([, delay]) => Duration.toMillis(delay)),
        () => Effect.succeed(undefined)
      )
      if (delay === undefined || now + delay - start > budgetMs) return yield* Effect.fail(error)
      yield* sleepLive(delay)
      if (!holds()) return yield* Effect.fail(error)
      const result = yield* Effect.result(write)
      if (Result.isSuccess(result)) return result.success
      error = result.failure
      if (error.reason !== "StoreUnavailable" || !holds()) return yield* Effect.fail(error)
    }
  })
