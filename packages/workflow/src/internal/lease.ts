/**
 * The worker's lease: one renewal statement for every claim held here, on the heartbeat. A lost claim stops its run
 * (another worker has it now); an interrupt requested elsewhere stops it too.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import { WorkflowError } from "../WorkflowError.js"
import { interruptFork } from "./causes.js"
import type { Engine } from "./definitions.js"
import type { Claim } from "../WorkflowStore.js"
import type { LiveRun, RunState } from "./scheduler.js"
import { sleepLive } from "./time.js"

/** Renews every claim held here every `every` milliseconds, for as long as the engine lives. */
export const heartbeat = (engine: Engine, every: number): Effect.Effect<never> =>
  Effect.forever(
    Effect.gen(function* () {
      yield* sleepLive(every)
      // Every claim from the moment it is taken: runs (started or not) and claims waiting for their run.
      const held: Array<{ readonly state: RunState; readonly run?: LiveRun; readonly claim?: Claim }> = []
      for (const state of engine.scheduler.running.values()) {
        if (state.run !== undefined) held.push({ state, run: state.run })
        if (state.claimed !== undefined) held.push({ state, claim: state.claimed })
      }
      if (held.length === 0) return
      // Uninterruptible: @effect/sql-pg cancels an interrupted statement by backend pid, which can
      // hit the next statement on that connection.
      const renewed = yield* Effect.result(
        Effect.uninterruptible(
          engine.store.renew(
            engine.owner,
            // With each claim, the activity attempts its run has in flight (none while it waits for its run): what a
            // worker that takes the execution over after this one is lost logs as run again.
            held.map(({ claim, run }) =>
              run !== undefined
                ? { executionId: run.executionId, fence: run.fence, inFlight: run.suspension.inFlightAttempts() }
                : { executionId: claim!.journal.execution.executionId, fence: claim!.fence, inFlight: [] }
            ),
            yield* Clock.currentTimeMillis
          )
        )
      )
      if (Result.isFailure(renewed)) return
      for (const [i, { claim, run, state }] of held.entries()) {
        const { held: holds, interruptRequested } = renewed.success[i]!
        if (run === undefined) {
          // A claim lost before its run began: the run claims anew (and finds it taken, or free again).
          if (!holds && state.claimed === claim) state.claimed = undefined
          continue
        }
        const fiber = run.suspension.fiber
        if (!holds) {
          run.abort ??= new WorkflowError({
            reason: "LeaseLost",
            executionId: run.executionId,
            message: `The claim on execution ${run.executionId} expired and was taken over`
          })
          if (fiber !== undefined) yield* interruptFork(fiber)
        } else if (interruptRequested && !run.interrupting && fiber !== undefined) {
          run.interrupting = true
          yield* interruptFork(fiber)
        }
      }
    })
  )
