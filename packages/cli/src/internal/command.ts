/**
 * What every `weft` command shares: the `--json` setting, the engine over the selected database, and how output
 * and failures are printed.
 */
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import type { WorkflowEngine, WorkflowError } from "@weft/workflow"
import { CommandError, fromWorkflowError } from "../CommandError.js"
import * as Database from "../Database.js"

/** `--json`: print one JSON document on stdout, and errors as JSON on stderr. */
export const Json = GlobalFlag.Setting("json")({
  flag: Flag.Boolean("json").pipe(
    Flag.withDescription("Print one JSON document on stdout (errors as JSON on stderr)"),
    Flag.withDefault(false)
  )
})

/** The highest workflow version (`Workflow.make({ version })`) a `--version` flag takes. */
export const maxVersion = 2_147_483_647

/** `--version N`: a workflow version, a whole number from 1 (a bad one is a usage error, exit 2). */
export const versionFlag = (description: string) =>
  Flag.Int("version").pipe(
    Flag.withDescription(description),
    Flag.filter(
      (n) => n >= 1 && n <= maxVersion,
      (n) => `--version must be a whole number from 1 to ${maxVersion}, got ${n}`
    ),
    Flag.optional
  )

/** What a command prints: the JSON document of `--json`, and the text for people. */
export interface Output {
  readonly json: unknown
  readonly text: string
}

/** The settings a command handler reads. */
export type Settings = GlobalFlag.Setting.Identifier<
  "json" | "db" | "database-url" | "signing-key" | "signing-keyring"
>

/**
 * A command's handler: `body` runs with the engine over the selected database, its output is printed as text or
 * JSON, and a failure is printed (as JSON under `--json`) and ends the command with the reason's exit code.
 */
export const handler = <A>(
  body: (input: A) => Effect.Effect<Output, CommandError | WorkflowError.WorkflowError, WorkflowEngine.WorkflowEngine>
) =>
(input: A): Effect.Effect<void, Reported, Settings> =>
  Effect.gen(function*() {
    const json = yield* Json
    const result = yield* Effect.exit(
      Effect.gen(function*() {
        const target = yield* Database.target
        const signingKey = yield* Database.signingKey
        return yield* Effect.provide(body(input), Database.engine(target, signingKey))
      })
    )
    if (result._tag === "Success") {
      yield* Console.log(json ? JSON.stringify(result.value.json, null, 2) : result.value.text)
      return
    }
    if (Cause.hasInterruptsOnly(result.cause)) return yield* Effect.interrupt
    return yield* Effect.fail(yield* report(result.cause, json))
  })

/** A failure already printed, with the exit code it ends the process with. */
export class Reported extends Data.TaggedError("Reported")<{ readonly exitCode: number }> {}

/** Prints a failure (as JSON under `--json`) on stderr and returns it as `Reported`. */
export const report = (cause: Cause.Cause<unknown>, json: boolean): Effect.Effect<Reported> => {
  const error = Cause.squash(cause)
  const failure = error instanceof CommandError
    ? error
    : isWorkflowError(error)
    ? fromWorkflowError(error)
    : new CommandError({
      reason: "Failed",
      message: `Unexpected failure: ${error instanceof Error ? error.message : Cause.pretty(cause)}`
    })
  const document = {
    error: {
      reason: failure.reason,
      message: failure.message,
      exitCode: failure.exitCode,
      ...(failure.executionId === undefined ? {} : { executionId: failure.executionId }),
      ...(failure.workflow === undefined ? {} : { workflow: failure.workflow })
    }
  }
  return Effect.as(
    Console.error(json ? JSON.stringify(document) : `weft: ${failure.message}`),
    new Reported({ exitCode: failure.exitCode })
  )
}

const isWorkflowError = (u: unknown): u is WorkflowError.WorkflowError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "WorkflowError"

