/**
 * Deferreds inside a run: an await returns the stored result, or a signal delivered while the run is live, or
 * suspends; a timeout is a durable timer that stores a marker first-wins; a race stores its winner once.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type { DeferredRecord, EncodedExit } from "../WorkflowStore.js"
import { isInterruptedOnly, ownExit, raceAllFirstSuccess } from "./causes.js"
import * as Clocks from "./clocks.js"
import * as Codec from "./codec.js"
import * as ExitEncoding from "./exitEncoding.js"
import { diverged, guardKind } from "./replay.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
import type { LiveRun } from "./scheduler.js"
import * as Telemetry from "./telemetry.js"
import { MAX_TIMER_MS } from "./time.js"

/**
 * The activities asked for inside the `raceAll` being run, so a replay of its stored winner accounts for them.
 * A context reference: the race's contender fibers start from the racing fiber's context, so they see it.
 */
export const CurrentRace = Context.Reference<Set<string> | undefined>("@weft/workflow/internal/CurrentRace", {
  defaultValue: () => undefined
})

/**
 * Awaits deferred `name`: its stored result, or a signal delivered while running, or suspension.
 * With `timeoutMillis`, a durable timer stores a timeout marker first-wins; None means it timed out.
 */
export const await_ = (
  run: Run,
  name: string,
  codec: Codec.Codec,
  timeoutMillis?: number
): Effect.Effect<Option.Option<unknown>, unknown> => {
  // An await new to the journal under a name the journal holds as an activity or a sleep not asked for yet.
  if (run.replay.heldAs("deferred", name) !== undefined) {
    return guardKind(run, "deferred", name, name, Effect.suspend(() => awaitOf(run, name, codec, timeoutMillis)))
  }
  return awaitOf(run, name, codec, timeoutMillis)
}

const awaitOf = (
  run: Run,
  name: string,
  codec: Codec.Codec,
  timeoutMillis: number | undefined
): Effect.Effect<Option.Option<unknown>, unknown> => {
  const { telemetry } = run.engine
  run.replay.askedDeferreds.add(name)
  const stored = run.replay.deferreds.get(name)
  if (stored !== undefined) {
    // Answered from the journal (or by a signal that came before the await): a mark on the enclosing span, no span.
    if (!telemetry.tracing) return decode(run, name, codec, stored)
    return Effect.andThen(Telemetry.replayed(telemetry, { "weft.deferred": name }), decode(run, name, codec, stored))
  }
  const waited = wait(run, name, codec, timeoutMillis)
  if (!telemetry.tracing) return waited
  return Telemetry.waitSpan(telemetry, waited, run.def.name, run.executionId, name, timeoutMillis, () =>
    Telemetry.interruptedAs(run)
  )
}

/** Awaits deferred `name`, not stored yet: a signal delivered while running, a timeout, or suspension. */
const wait = (
  run: Run,
  name: string,
  codec: Codec.Codec,
  timeoutMillis: number | undefined
): Effect.Effect<Option.Option<unknown>, unknown> => {
  const waiting = (waiter: Effect.Effect<DeferredRecord>) =>
    Effect.flatMap(waiter, (record) => decode(run, name, codec, record))
  if (timeoutMillis === undefined) {
    if (run.interrupting) return Effect.interrupt
    return waiting(run.suspension.block(Deferred.await(waiter(run, name))))
  }
  return Effect.flatMap(Clocks.clock(run, Names.timeout(name), timeoutMillis), (wakeAt) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const timeout = record(run, { name, exit: ExitEncoding.timedOut, completedAt: now })
      const remaining = wakeAt - now
      if (remaining <= 0) return waiting(timeout)
      if (run.interrupting) return Effect.interrupt
      const signal = Deferred.await(waiter(run, name))
      if (remaining <= Math.min(run.engine.settings.inMemoryThreshold, MAX_TIMER_MS)) {
        return waiting(Effect.raceFirst(signal, run.suspension.busy(Effect.andThen(Effect.sleep(remaining), timeout))))
      }
      run.suspension.waitUntil(wakeAt)
      return waiting(run.suspension.block(signal))
    })
  )
}

/** Whether deferred `name` has a stored result in this run's journal. */
export const isStored = (run: Run, name: string): boolean => run.replay.deferreds.has(name)

/**
 * Runs `effects` concurrently once; the winner's Exit is stored, with the activities the race
 * asked for, and every replay returns that winner without racing again.
 */
export const raceAll = (
  run: Run,
  name: string,
  codec: Codec.Codec,
  effects: Iterable<Effect.Effect<any, any, any>>
): Effect.Effect<any, any, any> => {
  const replay = (stored: DeferredRecord) => {
    const race = stored.exit as { readonly exit: EncodedExit; readonly activities: ReadonlyArray<string> }
    for (const activity of race.activities) run.replay.asked.add(activity)
    return Effect.map(decode(run, name, codec, { ...stored, exit: race.exit }), Option.getOrThrow)
  }
  run.replay.askedDeferreds.add(name)
  const stored = run.replay.deferreds.get(name)
  if (stored !== undefined) return replay(stored)
  const activities = new Set<string>()
  const race = Effect.suspend(() => {
    run.racing++
    return raceAllFirstSuccess(effects).pipe(
      Effect.provideService(CurrentRace, activities),
      Effect.ensuring(Effect.sync(() => run.racing--)),
      Effect.exit
    )
  })
  return Effect.flatMap(race, (exit) => {
    if (Exit.isFailure(exit) && isInterruptedOnly(exit.cause)) return Effect.failCause(exit.cause)
    const encoded = run.encode(codec, ownExit(exit), `the winner of race "${name}"`)
    return Effect.flatMap(
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        record(run, { name, exit: { exit: encoded, activities: [...activities] }, completedAt: now })
      ),
      replay
    )
  })
}

/** A signal that arrived while this run is live goes straight to its waiter. */
export const deliver = (run: LiveRun, stored: DeferredRecord): void => {
  if (!run.replay.deferreds.has(stored.name)) run.replay.deferreds.set(stored.name, stored)
  const waiter = run.waiters?.get(stored.name)
  if (waiter !== undefined) Deferred.doneUnsafe(waiter, Exit.succeed(run.replay.deferreds.get(stored.name)!))
}

const record = (run: Run, deferred: DeferredRecord): Effect.Effect<DeferredRecord> =>
  run.persist(run.engine.store.recordDeferred(run.executionId, run.fence, deferred)).pipe(
    Effect.tap((stored) => Effect.sync(() => run.replay.deferreds.set(stored.name, stored)))
  )

const decode = (run: Run, name: string, codec: Codec.Codec, stored: DeferredRecord) => {
  if (ExitEncoding.isTimedOut(stored.exit)) return Effect.succeedNone
  const decoded = codec.decodeExit(stored.exit)
  if (Result.isFailure(decoded)) return Effect.die(diverged(run, name, "its stored result no longer decodes"))
  return Effect.map(decoded.success, Option.some)
}

const waiter = (run: Run, name: string): Deferred.Deferred<DeferredRecord> => {
  const waiters = (run.waiters ??= new Map())
  let waiter = waiters.get(name)
  if (waiter === undefined) waiters.set(name, (waiter = Deferred.makeUnsafe()))
  return waiter
}
