/**
 * Compensation (sagas): a step registers how to undo itself; when the execution finally fails or is interrupted,
 * compensations run newest first, each as a journaled step, so each runs to completion once.
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Activities from "./activities.js"
import * as Codec from "./codec.js"
import * as Names from "./reserved.js"
import type { Compensation, Run } from "./run.js"

const voidCodec = Codec.make(undefined, Schema.Void, Schema.Never)

/** Registers a compensation for the current step; it runs if the execution finally fails. */
export const add = (run: Run, compensate: Compensation["run"]): void => {
  run.compensations.push({ name: Names.compensation(run.compensations.length), run: compensate })
}

/** Runs the registered compensations, newest first, each once; their failures do not stop the others. */
export const runAll = (run: Run, cause: Cause.Cause<unknown>): Effect.Effect<void, never, any> => {
  run.compensating = true
  return Effect.forEach(
    [...run.compensations].reverse(),
    (compensation) =>
      Effect.exit(
        Activities.activity(run, {
          name: compensation.name,
          codec: voidCodec,
          execute: compensation.run(cause),
          retry: undefined
        })
      ),
    { discard: true }
  ).pipe(Effect.ensuring(Effect.sync(() => (run.compensating = false))))
}
