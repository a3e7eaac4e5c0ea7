/**
 * Test helpers: wait on state (never on time), and read the journal.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Workflow, WorkflowEngine, type WorkflowStore } from "@weft/workflow"

/**
 * Re-checks `check` between scheduler turns and I/O turns until it holds. Not a sleep: it gives
 * up only when the state has not come after 30 seconds of wall time, to fail instead of hang.
 */
export const waitUntil = <E, R>(check: Effect.Effect<boolean, E, R>, label: string): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function* () {
    const deadline = performance.now() + 30_000
    for (let i = 0; performance.now() < deadline; i++) {
      if (yield* check) return
      if (i % 8 === 7) yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      else yield* Effect.yieldNow
    }
    return yield* Effect.fail(new Error(`state never reached: ${label}`))
  })

/** The stored record of an execution. */
export const record = (executionId: string): Effect.Effect<WorkflowStore.ExecutionDetail, unknown, WorkflowEngine.WorkflowEngine> =>
  Effect.flatMap(WorkflowEngine.detail(executionId), (detail) =>
    Option.match(detail, {
      onNone: () => Effect.fail(new Error(`no execution ${executionId}`)),
      onSome: Effect.succeed
    })
  )

/** Whether the execution is stored as `status` (false while it does not exist yet). */
export const hasStatus = (executionId: string, status: WorkflowStore.ExecutionStatus) =>
  Effect.map(WorkflowEngine.detail(executionId), (detail) =>
    Option.isSome(detail) && detail.value.execution.status === status
  )

/** Waits until the execution is suspended and no run of it is live in this process. */
export const suspended = (workflow: Workflow.Any, executionId: string) =>
  waitUntil(
    Effect.zipWith(hasStatus(executionId, "suspended"), Effect.service(WorkflowEngine.WorkflowEngine), (is, engine) => is && engine.activeRuns() === 0),
    `${workflow.name} ${executionId} suspended`
  )

/** Activity names of an execution's journal with their attempt numbers, oldest first (none while it does not exist). */
export const attempts = (executionId: string) =>
  Effect.map(WorkflowEngine.detail(executionId), (detail) =>
    Option.isSome(detail) ? detail.value.attempts.map((a) => `${a.name}#${a.attempt}`) : []
  )

/** Counts how often each body ran, keyed by test-chosen names. */
export class Counter {
  private readonly counts = new Map<string, number>()
  bump(key: string): Effect.Effect<void> {
    return Effect.sync(() => void this.counts.set(key, (this.counts.get(key) ?? 0) + 1))
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0
  }
}
