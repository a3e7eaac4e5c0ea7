/**
 * How an execution's end reaches the result waiters here (`waiters.ts`), whichever worker runs it. A run here
 * hands its result over itself; a run elsewhere is heard of through the store's notifications, with a poll of
 * every waiter from one loop as the fallback.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type ExecutionRecord, terminal } from "../WorkflowStore.js"
import type { Engine } from "./definitions.js"
import { sleepLive } from "./time.js"

/** Hands the result of a finished execution to its waiters, if any wait and it has ended. */
export const notifyIfEnded = (engine: Engine, record: Option.Option<ExecutionRecord>): void => {
  if (Option.isSome(record) && terminal.has(record.value.status)) {
    engine.results.notify(record.value.executionId, record.value.result)
  }
}

/**
 * Another worker took the execution over while a waiter here waits: its end must be announced (a join
 * that waits marks it so), or, if it ended already, handed to the waiter now.
 */
export const watchElsewhere = (engine: Engine, record: ExecutionRecord, at: number): Effect.Effect<void> =>
  Effect.ignore(
    Effect.flatMap(
      engine.store.create({
        executionId: record.executionId,
        workflow: record.workflow,
        payload: record.payload,
        parent: record.parent,
        at,
        awaited: true
      }),
      ({ record: now }) => Effect.sync(() => notifyIfEnded(engine, Option.some(now)))
    )
  )

/**
 * The fallback for waiters whose execution runs elsewhere (a completion NOTIFY can be missed): one
 * look-up per waiter and poll, from one loop, so a waiter costs no fiber or timer of its own.
 */
export const poll = (engine: Engine, every: number): Effect.Effect<never> =>
  Effect.forever(
    Effect.andThen(
      sleepLive(every),
      Effect.suspend(() => {
        const store = engine.store
        // A run here hands its result to the waiter itself.
        const remote = engine.results.ids().filter((executionId) => !engine.scheduler.running.has(executionId))
        if (remote.length === 0) return Effect.void
        if (store.ended === undefined) return pollEach(engine, remote)
        // One read for every waiter; should it fail (a row that no longer reads), one per waiter, so
        // the bad row fails only its own.
        return Effect.uninterruptible(store.ended(remote)).pipe(
          Effect.flatMap((ended) =>
            Effect.sync(() => {
              for (const record of ended) engine.results.notify(record.executionId, record.result)
            })
          ),
          // Effect 3's `Cause.isFailType`: the cause is that one typed error and nothing else.
          Effect.catchCause((cause) => {
            const only = cause.reasons.length === 1 ? cause.reasons[0]! : undefined
            return only !== undefined && Cause.isFailReason(only) && only.error.reason === "StoreUnavailable"
              ? Effect.void
              : pollEach(engine, remote)
          })
        )
      })
    )
  )

/** The per-waiter poll: a row that no longer reads fails its own waiters only. */
const pollEach = (engine: Engine, remote: ReadonlyArray<string>) =>
  Effect.forEach(
    remote,
    (executionId) =>
      // Uninterruptible: @effect/sql-pg cancels an interrupted statement by backend pid, which can hit the
      // next statement on that connection.
      Effect.uninterruptible(engine.store.get(executionId)).pipe(
        Effect.catchDefect((defect) =>
          Effect.as(Effect.logWarning(`Weft: could not poll the result of ${executionId}`, defect), Option.none())
        ),
        Effect.match({
          // A stored row that no longer reads fails its waiters; an unreachable store is tried again.
          onFailure: (error) => {
            if (error.reason !== "StoreUnavailable") engine.results.fail(executionId, error)
          },
          onSuccess: (record) => notifyIfEnded(engine, record)
        })
      ),
    { concurrency: 4, discard: true }
  )
