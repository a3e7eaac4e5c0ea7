/**
 * Activity retries: the policy an activity carries and the durable delay before each retry, stepped from
 * `effect`'s `Schedule` exactly as the effect 3 build stepped it (so stored backoff timers keep their times).
 */
import * as Duration from "effect/Duration"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Schedule from "effect/Schedule"

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
