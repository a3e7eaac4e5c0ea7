/**
 * The timer loop: claims and starts the executions the store says are runnable (due timers, expired claims, work
 * left for want of room), as many as there are free run slots, then sleeps until the next timer, a poll or a wake-up.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type { Engine } from "./definitions.js"
import { MAX_TIMER_MS, sleepLive } from "./time.js"

/** One pass of the loop: start what is runnable, then wait for the next reason to look. */
export const wakeDue = (engine: Engine): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const { scheduler, settings, store } = engine
    const now = yield* Clock.currentTimeMillis
    const workflows = [...engine.registry.keys()]
    const poll = settings.pollIntervalMs === undefined ? Effect.never : sleepLive(settings.pollIntervalMs)
    const free = scheduler.room()
    if (free <= 0) {
      // Full: the next run to end (or place given back) wakes this loop; due timers wait for room.
      scheduler.leftWork = true
      return yield* Effect.raceFirst(Queue.take(scheduler.timerWake), poll)
    }
    scheduler.leftWork = false
    if (settings.heartbeatMs !== undefined) {
      // Claimed here, a small batch at a time and never more than there are free run slots, each run started
      // with its claim at once: a claim does not wait for a connection behind hundreds of others, and the
      // heartbeat renews it from the moment it is taken.
      for (;;) {
        const want = Math.min(scheduler.room(), settings.claimBatch)
        if (want <= 0) {
          scheduler.leftWork = true
          break
        }
        const claimed = yield* scheduler.claimBatch(store.claimRunnable(engine.owner, now, want, workflows, engine.claimable))
        if (claimed < want) break
      }
    } else {
      // Without a heartbeat, runs here are listed too (their claims lapse): they take no place, and are not
      // claimed anew under themselves (each run claims for itself).
      const limit = Math.min(free + scheduler.running.size, 1_000)
      const ready = yield* store.runnable(now, limit, workflows, engine.claimable)
      let started = 0
      for (const { executionId } of ready) {
        if (!scheduler.running.has(executionId)) {
          if (started >= free) break
          started++
        }
        yield* scheduler.schedule(executionId)
      }
      if (started >= free || ready.length >= limit) scheduler.leftWork = true
    }
    // With work left over, due timers are among it: wait for room, not for them.
    const next = scheduler.leftWork ? Option.none() : yield* store.nextWakeAt(workflows)
    // Capped: a JS timer longer than MAX_TIMER_MS never fires, so a far timer is looked at again then.
    const timer = Option.match(next, {
      onNone: () => Effect.never,
      onSome: (at) => Effect.sleep(Math.min(MAX_TIMER_MS, Math.max(0, at - now)))
    })
    yield* Effect.raceAll([timer, poll, Queue.take(scheduler.timerWake)])
  })
