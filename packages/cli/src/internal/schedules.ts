/**
 * `weft schedules`: the durable schedules the store keeps (`WorkflowSchedule`), each with its timing, policies, state
 * and next fire times. Read-only.
 */
import * as Effect from "effect/Effect"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import { WorkflowSchedule } from "@weft/workflow"
import { handler } from "./command.js"

/** `weft schedules [--workflow name]`: every schedule, by id, with its next fire times. */
export const schedules = Command.make("schedules", {
  workflow: Flag.String("workflow").pipe(Flag.withDescription("Only schedules of this workflow"), Flag.optional)
}, handler(({ workflow }) =>
  Effect.gen(function*() {
    const all = (yield* WorkflowSchedule.list())
      .filter((s) => workflow._tag === "None" || s.workflow === workflow.value)
    return { json: { schedules: all.map(scheduleJson) }, text: scheduleText(all) }
  })
)).pipe(
  Command.withDescription("List durable schedules: timing, overlap and catch-up policies, state, next fire times"),
  Command.withExamples([{ command: "weft schedules --json", description: "every schedule as one JSON document" }])
)

/** A schedule as JSON: times as ISO text. */
const scheduleJson = (s: WorkflowSchedule.Schedule) => ({
  id: s.id,
  workflow: s.workflow,
  payload: s.payload,
  timing: timingOf(s),
  ...(s.timezone === undefined ? {} : { timezone: s.timezone }),
  overlap: s.overlap,
  catchUp: s.catchUp,
  jitterMs: s.jitterMs,
  paused: s.paused,
  nextFireTimes: s.nextFireTimes.map((d) => d.toISOString()),
  ...(s.lastFireAt === undefined ? {} : { lastFireAt: s.lastFireAt.toISOString() }),
  ...(s.lastExecutionId === undefined ? {} : { lastExecutionId: s.lastExecutionId }),
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString()
})

const timingOf = (s: WorkflowSchedule.Schedule): string =>
  s.cron !== undefined
    ? `cron ${s.cron}`
    : s.everyMs !== undefined
    ? `every ${s.everyMs} ms`
    : `at ${s.at?.toISOString() ?? "?"}`

/** Schedules as a table for people: one line each, then its next fire times. */
const scheduleText = (all: ReadonlyArray<WorkflowSchedule.Schedule>): string => {
  if (all.length === 0) return "No schedules"
  return all
    .map((s) => {
      const zone = s.timezone === undefined ? "" : ` (${s.timezone})`
      const state = s.paused ? "paused" : s.nextFireTimes.length === 0 ? "done" : "active"
      const next = s.nextFireTimes.length === 0
        ? "  next: none"
        : `  next: ${s.nextFireTimes.slice(0, 3).map((d) => d.toISOString()).join(", ")}`
      const last = s.lastFireAt === undefined
        ? ""
        : `\n  last: ${s.lastFireAt.toISOString()} ${s.lastExecutionId ?? ""}`.trimEnd()
      return `${s.id}  ${s.workflow}  ${timingOf(s)}${zone}  ${state}  overlap=${s.overlap}\n${next}${last}`
    })
    .join("\n")
}
