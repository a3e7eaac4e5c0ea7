/**
 * `weft export`: a finished execution's journal as a replay fixture (`WorkflowReplayer`), printed or written to a
 * file, for a test that replays it against today's code.
 */
import { writeFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Option from "effect/Option"
import { WorkflowReplayer } from "@weft/workflow"
import { CommandError } from "../CommandError.js"
import { handler } from "./command.js"

/** `weft export <id> [--out file]`: the execution's fixture as JSON, on stdout or in `file`. */
export const exportCommand = Command.make("export", {
  executionId: Argument.String("execution-id").pipe(Argument.withDescription("The finished execution to export")),
  out: Flag.String("out").pipe(Flag.withDescription("Write the fixture to this file instead of stdout"), Flag.optional)
}, handler(({ executionId, out }) =>
  Effect.gen(function*() {
    const fixture = yield* WorkflowReplayer.exportExecution(executionId)
    const text = WorkflowReplayer.toJson(fixture)
    if (Option.isNone(out)) return { json: fixture, text: text.trimEnd() }
    const file = out.value
    yield* Effect.try({
      try: () => writeFileSync(file, text),
      catch: (error) =>
        new CommandError({ reason: "Failed", message: `Could not write ${file}: ${String(error)}`, executionId })
    })
    const summary = { file, executionId, workflow: fixture.execution.workflow, status: fixture.execution.status }
    return {
      json: summary,
      text: `Wrote ${file}: execution ${executionId} of ${summary.workflow} (${summary.status}), ` +
        `${fixture.attempts.length} attempt(s), ${fixture.deferreds.length} deferred(s), ` +
        `${fixture.clocks.length} timer(s)`
    }
  })
)).pipe(
  Command.withDescription(
    "Export a finished execution's journal as a replay fixture (JSON: the record, attempts, deferreds, timers, " +
      "events) for WorkflowReplayer.replay in a test"
  ),
  Command.withExamples([{
    command: "weft export 3f2a… --out test/fixtures/replay/order.json",
    description: "record an execution to replay in CI"
  }])
)
