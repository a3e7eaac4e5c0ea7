/**
 * Workflow deadlines (`Workflow.make({ deadline })`): an execution that has not ended `deadline` after its start is
 * interrupted wherever it is — running, sleeping or waiting — and its compensations run. The deadline is a durable
 * timer stored on the execution's first run (one write per execution), so every later run and every worker agrees
 * on it; a suspended execution wakes at it, and a live run is interrupted when it passes.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { WorkflowError } from "../WorkflowError.js"
import type { ClockRecord } from "../WorkflowStore.js"
import { interruptFork } from "./causes.js"
import * as Names from "./reserved.js"
import type { Run } from "./run.js"
import { MAX_TIMER_MS, wakeTime } from "./time.js"

/** The deadline timer of an execution started at `at` that must end within `ms`. */
export const clock = (at: number, ms: number): ClockRecord => ({ name: Names.DEADLINE, wakeAt: wakeTime(at, ms), setAt: at })

/** Whether a run has a deadline to arm: its workflow's, or its own given at its start (stored with it). */
export const has = (run: Run): boolean => run.def.deadlineMs !== undefined || run.replay.clocks.has(Names.DEADLINE)

/**
 * Arms the run's deadline, if it has one (`has`): the stored deadline (its own, stored at its start; else its
 * workflow's, stored now from the execution's start on its first run), the suspension's wake time no later than it,
 * and — when it has passed — the run interrupting from its start. Returns the deadline, to `watch` while the body runs.
 */
export const arm = (run: Run, createdAt: number): Effect.Effect<number | undefined, WorkflowError> =>
  Effect.gen(function* () {
    const ms = run.def.deadlineMs
    let at = run.replay.clocks.get(Names.DEADLINE)
    if (ms === undefined && at === undefined) return undefined
    run.replay.askedClocks.add(Names.DEADLINE)
    if (at === undefined && ms !== undefined) {
      const stored = yield* run.engine.store.recordClock(run.executionId, run.fence, {
        name: Names.DEADLINE,
        wakeAt: wakeTime(createdAt, ms),
        setAt: createdAt
      })
      at = stored.wakeAt
      run.replay.clocks.set(Names.DEADLINE, at)
    }
    run.suspension.waitUntil(at!)
    if ((yield* Clock.currentTimeMillis) >= at! && !run.interrupting) yield* passed(run, at!, createdAt)
    return at
  })

/** While the body runs: when the deadline passes, the run is interrupted (unless it ended or was stopped first). */
export const watch = (run: Run, at: number, createdAt: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    const remaining = at - (yield* Clock.currentTimeMillis)
    if (remaining > 0) yield* Effect.sleep(Math.min(remaining, MAX_TIMER_MS))
    if ((yield* Clock.currentTimeMillis) < at) return yield* watch(run, at, createdAt)
    const fiber = run.suspension.fiber
    if (run.interrupting || run.abort !== undefined || fiber === undefined || fiber.pollUnsafe() !== undefined) return
    yield* Effect.ignore(passed(run, at, createdAt))
    yield* interruptFork(fiber)
  })

/** Marks the run interrupting and logs why (an `interrupt-requested` event naming the deadline), in the run's claim. */
const passed = (run: Run, at: number, createdAt: number): Effect.Effect<void, WorkflowError> => {
  run.interrupting = true
  return Effect.flatMap(Clock.currentTimeMillis, (now) =>
    run.engine.store.appendEvent(run.executionId, run.fence, {
      kind: "interrupt-requested",
      at: now,
      detail: `deadline passed (${at - createdAt} ms after the start, at ${new Date(at).toISOString()})`
    })
  )
}
