/**
 * The read-only commands: `weft list` (a page of executions), `weft show <id>` (one execution's record, journal
 * and events as a timeline) and `weft versions` (live executions per workflow version). They write nothing.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { CommandError } from "../CommandError.js"
import { handler, versionFlag } from "./command.js"
import * as Render from "./render.js"

/** The most executions one `list` returns. */
export const maxLimit = 1_000

/**
 * `weft list`: executions, newest first, filtered by workflow, version, status, parent and key prefix, a page at a
 * time.
 */
export const list = Command.make("list", {
  workflow: Flag.String("workflow").pipe(Flag.withDescription("Only executions of this workflow"), Flag.optional),
  status: Flag.Literals("status", WorkflowStore.statuses).pipe(
    Flag.withDescription("Only executions with this status"),
    Flag.optional
  ),
  version: versionFlag("Only executions that started on this version of their workflow (Workflow.make({ version }))"),
  parent: Flag.String("parent").pipe(
    Flag.withDescription("Only the children this execution started and awaits"),
    Flag.optional
  ),
  keyPrefix: Flag.String("key-prefix").pipe(
    Flag.withDescription("Only executions whose idempotency key starts with this (e.g. customer-42/)"),
    Flag.optional
  ),
  limit: Flag.Int("limit").pipe(
    Flag.withDescription(`How many executions to show, 1 to ${maxLimit} (default 50)`),
    Flag.filter((n) => n >= 1 && n <= maxLimit, (n) => `--limit must be between 1 and ${maxLimit}, got ${n}`),
    Flag.withDefault(50)
  ),
  cursor: Flag.String("cursor").pipe(
    Flag.withDescription("Continue after the last page (the cursor it printed)"),
    Flag.filter(
      (cursor) => /^-?\d+:.+$/.test(cursor),
      (cursor) => `--cursor must be a cursor printed by an earlier list (<time>:<execution id>), got "${cursor}"`
    ),
    Flag.optional
  )
}, handler((input) =>
  Effect.gen(function*() {
    const page = yield* WorkflowEngine.list({
      workflow: Option.getOrUndefined(input.workflow),
      status: Option.getOrUndefined(input.status),
      version: Option.getOrUndefined(input.version),
      parent: Option.getOrUndefined(input.parent),
      idempotencyKeyPrefix: Option.getOrUndefined(input.keyPrefix),
      cursor: Option.getOrUndefined(input.cursor),
      limit: input.limit
    })
    return { json: Render.pageJson(page), text: Render.pageText(page) }
  })
)).pipe(
  Command.withDescription("List executions, newest first"),
  Command.withExamples([
    { command: "weft list --status failed --limit 20", description: "the last 20 failures" },
    { command: "weft list --workflow Order --version 1", description: "what still runs on Order's version 1" }
  ])
)

/** `weft show <id>`: one execution, its journal and its events. */
export const show = Command.make("show", {
  executionId: Argument.String("execution-id").pipe(Argument.withDescription("The execution to show"))
}, handler(({ executionId }) =>
  Effect.gen(function*() {
    const detail = yield* WorkflowEngine.detail(executionId)
    if (Option.isNone(detail)) {
      return yield* new CommandError({ reason: "NotFound", message: `No execution ${executionId}`, executionId })
    }
    const now = yield* Clock.currentTimeMillis
    return { json: Render.detailJson(detail.value), text: Render.detailText(detail.value, now) }
  })
)).pipe(
  Command.withDescription(
    "Show an execution: its record, then its events, activity attempts (with durations; failures marked ✗), " +
      "deferreds and timers as a timeline relative to its start"
  )
)

/**
 * `weft versions [--workflow W ...]`: per (workflow, version), how many executions are running and suspended; what
 * still needs a worker of an old version during a rolling deploy. This process registers no version, so whether
 * one is registered is not shown: that is a worker's view (`WorkflowEngine.versions` on a worker).
 */
export const versions = Command.make("versions", {
  workflows: Flag.String("workflow").pipe(
    Flag.withDescription("Only this workflow (repeat for several; default: every workflow)"),
    Flag.atLeast(0)
  )
}, handler(({ workflows }) =>
  Effect.gen(function*() {
    const found = yield* WorkflowEngine.versions(workflows.length === 0 ? undefined : workflows)
    return { json: Render.versionsJson(found), text: Render.versionsText(found) }
  })
)).pipe(
  Command.withDescription(
    "List the workflow versions with live executions (running or suspended), with their counts: a version's " +
      "definition must stay registered on some worker until its count is zero"
  ),
  Command.withExamples([{ command: "weft versions --workflow Order", description: "Order's versions in flight" }])
)
