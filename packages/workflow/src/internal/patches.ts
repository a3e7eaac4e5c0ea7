/**
 * Patches (`Workflow.patched`): ship a change under running executions. The first time an execution reaches a patch,
 * the answer is stored as a marker step (`@weft/patch/<id>`): true when the execution reaches it under the new code
 * past everything its journal holds, false when it is replaying a journal that already went past that point under
 * the old code. Every later replay answers the stored value. `deprecatePatch` removes the old path: an execution
 * that took it is stopped with `NonDeterminismError` rather than silently taking the new one.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Activities from "./activities.js"
import * as Codec from "./codec.js"
import * as NameRules from "./nameRules.js"
import { diverged } from "./replay.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"

const patchCodec = Codec.make(undefined, Schema.Boolean, Schema.Never)

/** Checks a patch id as activity names are checked (1 to 1,024 UTF-8 bytes, no NUL, no lone surrogate). */
const checked = (id: string): Error | undefined => {
  const problem = NameRules.problem(id)
  return problem === undefined ? undefined : new Error(`Workflow.patched: the patch id ${JSON.stringify(id)} ${problem}`)
}

/** Whether the execution takes patch `id`'s new path: the stored answer, or decided now and stored. */
export const patched = (run: Run, id: string): Effect.Effect<boolean> => {
  const bad = checked(id)
  if (bad !== undefined) return Effect.die(bad)
  const name = Names.patch(id)
  // Decided before the marker is asked for: past the journal, the new path; replaying it, the old one.
  const decision = run.replay.lastAttempt(name) === undefined ? run.replay.atFrontier() : true
  return Activities.activity(run, {
    name,
    codec: patchCodec,
    execute: Effect.succeed(decision),
    retry: undefined
  }) as Effect.Effect<boolean>
}

/**
 * Patch `id`'s old path is gone from the code: an execution that stored `false` for it cannot replay and dies with
 * `NonDeterminismError` naming the patch (wait for those to end before deprecating). Stores nothing.
 */
export const deprecate = (run: Run, id: string): Effect.Effect<void> => {
  const bad = checked(id)
  if (bad !== undefined) return Effect.die(bad)
  const name = Names.patch(id)
  const stored = run.replay.lastAttempt(name)
  if (stored === undefined) return Effect.void
  run.replay.asked.add(name)
  const decoded = patchCodec.decodeExit(stored.exit)
  const tookOldPath = Result.isSuccess(decoded) && decoded.success._tag === "Success" && decoded.success.value === false
  return tookOldPath
    ? Effect.die(
      diverged(run, name, `it took the old path of patch "${id}", which deprecatePatch says the code no longer has`)
    )
    : Effect.void
}
