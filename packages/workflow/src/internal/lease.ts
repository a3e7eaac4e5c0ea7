/**
 * The worker's lease: one renewal statement for every live run, on the heartbeat. A lost claim stops its run
 * (another worker has it now); an interrupt requested elsewhere stops it too.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { WorkflowError } from "../WorkflowError.js"
import { interruptFork } from "./causes.js"
import type { Engine } from "./definitions.js"
import type { LiveRun } from "./scheduler.js"
import { sleepLive } from "./time.js"

/** Renews the claims of every live run here every `every` milliseconds, for as long as the engine lives. */
export const heartbeat = (engine: Engine, every: number): Effect.Effect<never> =>
  Effect.forever(
    Effect.gen(function* () {
      yield* sleepLive(every)
      const live: Array<LiveRun> = []
      for (const state of engine.scheduler.running.values()) {
        if (state.run?.suspension.fiber !== undefined) live.push(state.run)
      }
      if (live.length === 0) return
      // Uninterruptible: @effect/sql-pg cancels an interrupted statement by backend pid, which can
      // hit the next statement on that connection.
      const renewed = yield* Effect.result(
        Effect.uninterruptible(
          engine.store.renew(
            engine.owner,
            live.map((run) => ({ executionId: run.executionId, fence: run.fence })),
            yield* Clock.currentTimeMillis
          )
        )
      )
      if (Result.isFailure(renewed)) return
      for (const [i, run] of live.entries()) {
        const { held, interruptRequested } = renewed.success[i]!
        const fiber = run.suspension.fiber!
        if (!held) {
          run.abort ??= new WorkflowError({
            reason: "LeaseLost",
            executionId: run.executionId,
            message: `The claim on execution ${run.executionId} expired and was taken over`
          })
          yield* interruptFork(fiber)
        } else if (interruptRequested && !run.interrupting) {
          run.interrupting = true
          yield* interruptFork(fiber)
        }
      }
    })
  )
