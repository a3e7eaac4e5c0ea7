/**
 * Durable clocks: a wake time is stored once per name, so a replay never sleeps again what already passed.
 * Short waits sleep in the fiber; longer ones set the run's wake time and suspend it.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { guardKind } from "./replay.js"
import { SLEEP } from "./reserved.js"
import type { Run } from "./run.js"
import * as Telemetry from "./telemetry.js"
import { MAX_TIMER_MS, wakeTime } from "./time.js"

/** Durable sleep under `name`: the wake time is stored once; short waits sleep here, long ones suspend. */
export const sleep = (run: Run, name: string, millis: number, threshold?: number): Effect.Effect<void> => {
  // A sleep new to the journal under a name the journal holds as an activity not asked for yet: a changed step kind?
  if (run.replay.heldAs("sleep", name) !== undefined) {
    const next = Effect.suspend(() => sleepOf(run, name, millis, threshold))
    return guardKind(run, "sleep", name, name.slice(SLEEP.length), next)
  }
  return sleepOf(run, name, millis, threshold)
}

const sleepOf = (run: Run, name: string, millis: number, threshold: number | undefined): Effect.Effect<void> => {
  const { telemetry } = run.engine
  const replayed = run.replay.clocks.has(name)
  return Effect.flatMap(clock(run, name, millis), (wakeAt) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const remaining = wakeAt - now
      if (remaining <= 0) {
        // A sleep a past run waited for (and suspended on) is over: a mark on the enclosing span, no span.
        if (!replayed) return Effect.void
        return Telemetry.replayed(telemetry, { "weft.sleep": Telemetry.sleepName(name), "weft.wake_at": wakeAt })
      }
      if (run.interrupting) return Effect.interrupt
      const traced = (wait: Effect.Effect<void>) =>
        telemetry.tracing
          ? Telemetry.sleepSpan(telemetry, wait, run.def.name, run.executionId, name, wakeAt, () =>
              Telemetry.interruptedAs(run)
            )
          : wait
      if (remaining <= Math.min(threshold ?? run.engine.settings.inMemoryThreshold, MAX_TIMER_MS)) {
        return traced(run.suspension.busy(Effect.sleep(remaining)))
      }
      run.suspension.waitUntil(wakeAt)
      return traced(run.suspension.block(Effect.never))
    })
  )
}

/** The stored wake time of clock `name`, storing it (see `wakeTime`) the first time it is asked for. */
export const clock = (run: Run, name: string, millis: number): Effect.Effect<number> => {
  run.replay.askedClocks.add(name)
  const stored = run.replay.clocks.get(name)
  if (stored !== undefined) return Effect.succeed(stored)
  return Effect.flatMap(Clock.currentTimeMillis, (now) =>
    // `setAt` rides on the clock's one write: the trace draws the wait from it to the wake time.
    run.persist(
      run.engine.store.recordClock(run.executionId, run.fence, { name, wakeAt: wakeTime(now, millis), setAt: now })
    ).pipe(
      Effect.map((clock) => {
        run.replay.clocks.set(name, clock.wakeAt)
        return clock.wakeAt
      })
    )
  )
}
