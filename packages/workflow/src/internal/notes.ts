/**
 * Notes: what a body says about its own progress (`Workflow.note`), journaled once like a step, so a replay
 * neither writes it again nor loses it. They are the runtime's own steps (`@weft/note/<n>`, numbered in the order
 * the body writes them): a body changed to write fewer notes is not a divergence.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Activities from "./activities.js"
import * as Codec from "./codec.js"
import * as InvalidInput from "./invalidInput.js"
import { asJson } from "./jsonData.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"

/** What a note stores. */
export const Note = Schema.Struct({ message: Schema.String, data: Schema.optional(Schema.Unknown) })

const noteCodec = Codec.make(undefined, Note, Schema.Never)

/** Writes the body's next note, once: a replay returns at once. Data that is not JSON is a defect naming the note. */
export const write = (run: Run, message: string, data: unknown): Effect.Effect<void> => {
  const name = Names.note(run.notes++)
  // Checked here, not by the store: a Date or a class instance would come back as something else.
  const json = data === undefined ? Result.succeed(undefined) : asJson(Result.succeed(data))
  if (Result.isFailure(json)) {
    const what = `the data of note "${message}" (${name})`
    return Effect.die(InvalidInput.invalid("InvalidResult", what, json.failure, run))
  }
  // A note's step never fails: its only failures are defects (a refused write).
  return Effect.asVoid(
    Activities.activity(run, {
      name,
      codec: noteCodec,
      execute: Effect.succeed(data === undefined ? { message } : { message, data }),
      retry: undefined
    }) as Effect.Effect<unknown>
  )
}
