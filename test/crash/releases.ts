/**
 * Two releases of one workflow for the rolling-deploy crash test: version 1's body and version 2's body use different
 * activity names, and every body run appends `<name> <pid>` to `WEFT_CRASH_LOG` (read back with `bodyRuns`).
 */
import { appendFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Activity, Workflow } from "@weft/workflow"
import { bodyRuns } from "./fixtures.js"

const log = (): string => {
  const file = process.env.WEFT_CRASH_LOG
  if (file === undefined) throw new Error("WEFT_CRASH_LOG is not set: release bodies run only in release workers")
  return file
}

/** Appends a body run to the log, synchronously: it must be on disk before a SIGKILL can follow. */
const ran = (name: string) => Effect.sync(() => appendFileSync(log(), `${name} ${process.pid}\n`))

const step = (name: string) => Activity.make({ name, success: Schema.String, execute: Effect.as(ran(name), name) })

const options = {
  name: "CrashRelease",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }: { readonly id: string }) => id
} as const

/** Yesterday's release. */
export const ReleaseV1 = Workflow.make(options)

/** Today's release: the same name, a different body. */
export const ReleaseV2 = Workflow.make({ ...options, version: 2 })

/**
 * `v1-reserve`, then `v1-charge` (its first run hangs until its process is killed; a later run ends), then `v1-ship`.
 */
export const ReleaseV1Live = ReleaseV1.toLayer(({ id }) =>
  Effect.gen(function* () {
    const reserved = yield* step("v1-reserve")
    const charged = yield* Activity.make({
      name: "v1-charge",
      success: Schema.String,
      execute: Effect.andThen(ran("v1-charge"), () =>
        bodyRuns(log()).filter((run) => run.name === "v1-charge").length > 1
          ? Effect.succeed("v1-charge")
          : Effect.never
      )
    })
    return `v1:${id}:${reserved}/${charged}/${yield* step("v1-ship")}`
  })
)

/** `v2-reserve`, then `v2-ship`. */
export const ReleaseV2Live = ReleaseV2.toLayer(({ id }) =>
  Effect.gen(function* () {
    const reserved = yield* step("v2-reserve")
    return `v2:${id}:${reserved}/${yield* step("v2-ship")}`
  })
)
