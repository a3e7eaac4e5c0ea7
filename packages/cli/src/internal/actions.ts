/**
 * The commands that write: `weft interrupt`, `weft resume` and `weft signal` store their request and leave the run
 * to the workers that registered the workflow (woken by PostgreSQL NOTIFY or by SQLite polling): this process
 * registers no workflow, so it takes no claim and ends as soon as the write is done. `weft purge` deletes ended
 * executions itself.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { DurableDeferred, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { CommandError } from "../CommandError.js"
import { handler } from "./command.js"
import * as Render from "./render.js"

const executionId = Argument.String("execution-id")

/** `weft interrupt <id>`: asks a live execution to stop; its workers run its compensations and end it interrupted. */
export const interrupt = Command.make("interrupt", {
  executionId: executionId.pipe(Argument.withDescription("The execution to interrupt"))
}, handler(({ executionId }) =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const before = yield* engine.get(executionId)
    if (WorkflowStore.terminal.has(before.status)) {
      return yield* refused(before, `has already ended (${before.status}): nothing to interrupt`)
    }
    yield* engine.interrupt(executionId)
    const after = yield* engine.get(executionId)
    return {
      json: { executionId, workflow: after.workflow, previousStatus: before.status, ...statusJson(after) },
      text: `Interrupt requested for ${executionId} (workflow ${after.workflow}, was ${before.status}): ` +
        `a worker of ${after.workflow} stops it, runs its compensations and ends it as interrupted.`
    }
  })
)).pipe(Command.withDescription("Interrupt a running or suspended execution (its compensations run)"))

/** `weft resume <id>`: wakes a suspended execution, or re-opens one that failed with a defect. */
export const resume = Command.make("resume", {
  executionId: executionId.pipe(Argument.withDescription("The execution to resume"))
}, handler(({ executionId }) =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const before = yield* engine.get(executionId)
    const defect = before.status === "failed" && Render.outcomeOf(before.result)?.outcome === "defect"
    if (WorkflowStore.terminal.has(before.status) && !defect) {
      return yield* refused(
        before,
        before.status === "failed"
          ? `failed with a typed error: resume only re-runs an execution that failed with a defect; \`weft retry ${before.executionId}\` runs the failed activity again`
          : `has ended (${before.status}): there is nothing to resume`
      )
    }
    yield* engine.resume(executionId)
    const after = yield* engine.get(executionId)
    const what = before.status === "running"
      ? "is already running: nothing to do"
      : defect
      ? "failed with a defect and is re-opened: a worker of its workflow runs it again from its journal"
      : "is woken: a worker of its workflow runs it next"
    return {
      json: { executionId, workflow: after.workflow, previousStatus: before.status, ...statusJson(after) },
      text: `${executionId} (workflow ${after.workflow}) ${what}.`
    }
  })
)).pipe(Command.withDescription("Wake a suspended execution, or re-run one that failed with a defect"))

/**
 * `weft signal <token> <json>`: completes the deferred the token names. The CLI does not know the deferred's
 * schema: the JSON is stored as the deferred's encoded value, and the workflow decodes it with its schema when it
 * resumes (a value that does not decode fails the execution with a defect, as a changed schema would).
 */
export const signal = Command.make("signal", {
  token: Argument.String("token").pipe(Argument.withDescription("The deferred's token (DurableDeferred.token)")),
  value: Argument.String("json").pipe(
    Argument.withDescription("The value, as JSON in its encoded form (null for a deferred of Schema.Void)"),
    Argument.mapTryCatch(
      (text) => JSON.parse(text) as unknown,
      (error) =>
        `JSON (${error instanceof Error ? error.message : String(error)}); quote it for the ` +
        `shell, e.g. '{"approved":true}' or '"text"'`
    )
  ),
  fail: Flag.Boolean("fail").pipe(
    Flag.withDescription("Complete the deferred with this value as its typed error rather than its success"),
    Flag.withDefault(false)
  )
}, handler(({ fail, token, value: parsed }) =>
  Effect.gen(function*() {
    const engine = yield* WorkflowEngine.WorkflowEngine
    const claims = yield* DurableDeferred.readToken(token).pipe(
      Effect.mapError((error) =>
        new CommandError({ reason: "Refused", message: `${error.message}; nothing was written` })
      )
    )
    const detail = yield* engine.detail(claims.executionId)
    if (Option.isNone(detail) || detail.value.execution.workflow !== claims.workflow) {
      return yield* new CommandError({
        reason: "NotFound",
        message: `The token names execution ${claims.executionId} of workflow ${claims.workflow}, which is not ` +
          "in this database",
        executionId: claims.executionId,
        workflow: claims.workflow
      })
    }
    const record = detail.value.execution
    if (WorkflowStore.terminal.has(record.status)) {
      return yield* refused(record, `has ended (${record.status}): deferred ${claims.deferred} is not completed`)
    }
    const earlier = detail.value.deferreds.find((d) => d.name === claims.deferred)
    if (earlier !== undefined) {
      return yield* refused(
        record,
        `already has deferred ${claims.deferred} completed (at ${Render.iso(earlier.completedAt)}): the first ` +
          "completion wins"
      )
    }
    const deferred = yield* Effect.try({
      try: () => DurableDeferred.make(claims.deferred, { success: Schema.Unknown, error: Schema.Unknown }),
      catch: () =>
        new CommandError({
          reason: "Refused",
          message: `Deferred ${claims.deferred} is completed by Weft itself, not by a signal`,
          executionId: record.executionId,
          workflow: record.workflow
        })
    })
    yield* DurableDeferred.done(deferred, { token, exit: fail ? Exit.fail(parsed) : Exit.succeed(parsed) })
    const outcome = fail ? "failure" : "success"
    return {
      json: {
        executionId: record.executionId,
        workflow: record.workflow,
        deferred: claims.deferred,
        outcome,
        value: parsed
      },
      text: `Completed deferred ${claims.deferred} of ${record.executionId} (workflow ${record.workflow}) with ` +
        `${fail ? "the error" : "the value"} ${Render.compact(parsed)}: a worker of ${record.workflow} resumes it ` +
        "and decodes the value with the deferred's schema."
    }
  })
)).pipe(
  Command.withDescription(
    "Complete the deferred a token names with a JSON value (stored as the encoded value; the workflow decodes it " +
      "with its schema)"
  ),
  Command.withExamples([{ command: `weft signal "$TOKEN" '{"approved":true}'`, description: "approve" }])
)

const statusJson = (record: WorkflowStore.ExecutionRecord) => ({
  status: record.status,
  interruptRequested: record.interruptRequested
})

const refused = (record: WorkflowStore.ExecutionRecord, what: string) =>
  Effect.fail(
    new CommandError({
      reason: "Refused",
      message: `Execution ${record.executionId} (workflow ${record.workflow}) ${what}`,
      executionId: record.executionId,
      workflow: record.workflow
    })
  )

/**
 * A duration as `weft` takes it: a number and a unit (`30d`, `12h`, `90m`, `45s`, `500ms`, `2w`), or anything
 * effect's `Duration` reads (`"30 days"`); at least zero.
 */
export const parseDuration = (text: string): Duration.Duration => {
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(text.trim())
  const units = { ms: "millis", s: "seconds", m: "minutes", h: "hours", d: "days", w: "weeks" } as const
  const input = short === null ? text.trim() : `${short[1]} ${units[short[2] as keyof typeof units]}`
  const duration = Duration.fromInput(input as Duration.Input)
  if (Option.isNone(duration) || !Duration.isFinite(duration.value) || Duration.toMillis(duration.value) < 0) {
    throw new Error(`"${text}" is not a duration of at least zero`)
  }
  return duration.value
}

/** `weft purge --older-than 30d [--status succeeded]…`: deletes ended executions and everything of them. */
export const purge = Command.make("purge", {
  olderThan: Flag.String("older-than").pipe(
    Flag.withDescription("Only executions that ended longer ago than this: 30d, 12h, 90m, 45s, 2w or \"30 days\""),
    Flag.mapTryCatch(
      (text) => ({ text, duration: parseDuration(text) }),
      (error) => `--older-than: ${error instanceof Error ? error.message : String(error)} (e.g. 30d, 12h, 90m)`
    )
  ),
  status: Flag.Literals("status", WorkflowStore.terminalStatuses).pipe(
    Flag.withDescription("Only executions that ended so; repeat for several (default: succeeded, failed and interrupted)"),
    Flag.atLeast(0)
  )
}, handler(({ olderThan, status }) =>
  Effect.gen(function*() {
    const statuses = status.length === 0 ? WorkflowStore.terminalStatuses : [...new Set(status)]
    const deleted = yield* WorkflowEngine.purge({ olderThan: olderThan.duration, status: statuses })
    const before = (yield* Clock.currentTimeMillis) - Duration.toMillis(olderThan.duration)
    return {
      json: { deleted, olderThan: olderThan.text, endedBefore: Render.iso(before), statuses },
      text: `Deleted ${deleted} execution(s) (${statuses.join(", ")}) that ended before ${Render.iso(before)} ` +
        `(older than ${olderThan.text}), with their journals, events and queue items.`
    }
  })
)).pipe(
  Command.withDescription(
    "Delete ended executions (never a live one) older than --older-than, with everything of them; starting one " +
      "again with the same idempotency key then makes a new execution"
  ),
  Command.withExamples([{ command: "weft purge --older-than 30d --status succeeded", description: "old successes" }])
)
