/**
 * The workflow the lease tests run: one activity whose body records the run (worker, fence, time) in
 * `body_runs` (see `Batch.instrumentation`) and then takes `stepMs` of real time.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { Activity, Workflow } from "@weft/workflow"

/** One step; the result is `step<n>`. */
export const Step = Workflow.make({
  name: "Step",
  payload: { n: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ n }) => String(n)
})

/** Registers `Step` for worker `worker`: its body records itself, then sleeps `stepMs`. */
export const layer = (worker: string, stepMs: number) => {
  const step = Activity.make({
    name: "step",
    success: Schema.String,
    execute: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { executionId, fence } = yield* Workflow.WorkflowInstance
      const at = yield* Clock.currentTimeMillis
      // Uninterruptible (a run is interrupted when its claim is lost): @effect/sql-pg cancels an interrupted
      // statement by backend pid, which can hit whatever statement runs next on that connection.
      yield* Effect.uninterruptible(
        sql`INSERT INTO body_runs (execution_id, activity, worker, fence, at)
          VALUES (${executionId}, 'step', ${worker}, ${fence}, ${at})`
      ).pipe(Effect.orDie)
      yield* Effect.sleep(stepMs)
      return "step"
    })
  })
  return Step.toLayer(({ n }) => Effect.map(step, (result) => `${result}${n}`))
}
