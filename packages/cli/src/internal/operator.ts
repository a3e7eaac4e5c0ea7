/**
 * `weft retry` and `weft restart`: an operator's second chances. Like the other writes, they store the request and
 * leave the run to the workers that registered the workflow (this process registers none).
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { handler, versionFlag } from "./command.js"

/** `weft retry <id>`: runs a failed execution again; the activities whose failure ended it run again. */
export const retry = Command.make("retry", {
  executionId: Argument.String("execution-id").pipe(Argument.withDescription("The failed execution to run again"))
}, handler(({ executionId }) =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const { activities } = yield* engine.retry(executionId)
    const after = yield* engine.get(executionId)
    const what = activities.length === 0
      ? "no activity failed last (the body itself failed, or someone retried it meanwhile): it runs again from its journal"
      : `${activities.map((name) => JSON.stringify(name)).join(", ")} run${activities.length === 1 ? "s" : ""} again; every completed step keeps its result`
    return {
      json: { executionId, workflow: after.workflow, status: after.status, activities },
      text: `Retrying ${executionId} (workflow ${after.workflow}): ${what}. A worker of ${after.workflow} runs it next.`
    }
  })
)).pipe(
  Command.withDescription(
    "Run a failed execution (a typed error or a defect) again where it stands: the activities whose failure ended " +
      "it get a fresh round of attempts, every completed step keeps its result"
  )
)

/**
 * `weft restart <id> [--from-step <activity>] [--key <k>] [--version N]`: a new execution from a copy of the journal
 * up to a step, on the source's version or the one given.
 */
export const restart = Command.make("restart", {
  executionId: Argument.String("execution-id").pipe(Argument.withDescription("The ended execution to restart")),
  fromStep: Flag.String("from-step").pipe(
    Flag.withDescription("The activity to start again from: the steps stored before it keep their results (default: the beginning)"),
    Flag.optional
  ),
  key: Flag.String("key").pipe(
    Flag.withDescription("An idempotency key: the same key restarts once (default: the same restart asked again is the same execution; give a key to make another)"),
    Flag.optional
  ),
  version: versionFlag(
    "The version of the workflow the new execution runs on (default: the source's); a worker that registers it runs it"
  )
}, handler(({ executionId, fromStep, key, version }) =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const step = Option.getOrUndefined(fromStep)
    const restarted = yield* engine.restart(executionId, {
      fromStep: step,
      idempotencyKey: Option.getOrUndefined(key),
      version: Option.getOrUndefined(version)
    })
    const record = yield* engine.get(restarted.executionId)
    const onVersion = WorkflowStore.versionOf(record)
    return {
      json: { ...restarted, workflow: record.workflow, version: onVersion, status: record.status },
      text: restarted.created
        ? `Restarted ${executionId} as ${restarted.executionId} (workflow ${record.workflow} ` +
          `version ${onVersion}) from ` +
          `${step === undefined ? "the beginning" : `step ${JSON.stringify(step)}`}: ${restarted.copiedSteps} step(s) ` +
          `copied, the rest runs on a worker of ${record.workflow}.`
        : `${executionId} was already restarted with this key, as ${restarted.executionId} (${record.status}): nothing new was written.`
    }
  })
)).pipe(
  Command.withDescription(
    "Start a new execution from an ended one: a copy of its journal up to --from-step, the rest runs again " +
      "(Temporal's reset, DBOS's fork)"
  ),
  Command.withExamples([
    { command: "weft restart 3f9c… --from-step ship", description: "ship again" },
    { command: "weft restart 3f9c… --version 2", description: "run it again on version 2 of its workflow" }
  ])
)
