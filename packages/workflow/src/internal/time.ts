/**
 * Real time and durable time. Polls, heartbeats and store retries are about processes and databases, so they
 * sleep in real time whatever `Clock` is installed; a durable clock's wake time is stored in whole milliseconds.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

// A clock of its own (the reference's default is the live one), so no installed `TestClock` is used.
const liveClock = Clock.Clock.defaultValue()

/** The longest wait a JS timer keeps (about 24.8 days); Effect treats a longer one as never firing. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Sleeps in real time: `TestClock.adjust("3 days")` must not spin polls, heartbeats or store retries. */
export const sleepLive = (millis: number): Effect.Effect<void> =>
  Effect.provideService(Effect.sleep(millis), Clock.Clock, liveClock)

/**
 * A clock's wake time `millis` after `now`, as stored: a whole millisecond, rounded up (never early); an
 * infinite or too distant one is the latest time a store keeps, so it never fires.
 */
export const wakeTime = (now: number, millis: number): number =>
  Number.isNaN(millis) ? now : Math.min(Number.MAX_SAFE_INTEGER, Math.ceil(now + Math.max(0, millis)))
