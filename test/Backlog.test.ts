/**
 * The runnable backlog gauge (`weft_runnable_backlog`): what a worker's workflows have waiting that nobody runs,
 * sampled in real time by one count query per interval; zero again once the work is done.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Workflow, WorkflowEngine, WorkflowMetrics } from "@weft/workflow"
import { waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-backlog-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const engines = {
  memory: (_name: string) => WorkflowEngine.layerMemoryWith({ maxRuns: 1, backlogIntervalMs: 10 }).pipe(Layer.orDie),
  sqlite: (name: string) => SqliteEngine.layer({ filename: join(dir, `${name}.db`), maxRuns: 1, backlogIntervalMs: 10 })
} as const

const backlog = (workflow: string) => Effect.map(Metric.value(WorkflowMetrics.backlogOf(workflow)), (state) => state.value)

describe("weft_runnable_backlog", () => {
  for (const backend of ["memory", "sqlite"] as const) {
    it.live(`counts the executions waiting for a free run, and falls to zero once they ran (${backend})`, () =>
      Effect.gen(function* () {
        // A workflow per backend: the gauge is process-wide, labelled by workflow.
        const Gate = Workflow.make({
          name: `Gate-${backend}`,
          payload: { n: Schema.Number },
          idempotencyKey: ({ n }) => String(n)
        })
        const open = yield* Deferred.make<void>()
        const context = yield* Layer.build(
          Layer.provideMerge(Gate.toLayer(() => Deferred.await(open)), engines[backend](`gate-${backend}`))
        )
        yield* Effect.gen(function* () {
          // One run at a time: the first holds the only run slot, the other four wait in the store.
          for (let n = 0; n < 5; n++) yield* Gate.execute({ n }, { discard: true })
          yield* waitUntil(Effect.map(backlog(Gate.name), (v) => v === 4), "a backlog of four")
          yield* Deferred.succeed(open, undefined)
          yield* waitUntil(
            Effect.map(WorkflowEngine.list({ workflow: Gate.name, status: "succeeded" }), (page) => page.items.length === 5),
            "all five ran"
          )
          yield* waitUntil(Effect.map(backlog(Gate.name), (v) => v === 0), "no backlog")
        }).pipe(Effect.provide(context))
      }))
  }

  it("an interval that is not a number above zero is refused where the engine is built", async () => {
    for (const backlogIntervalMs of [0, -5, Number.NaN]) {
      const exit = await Effect.runPromiseExit(
        Effect.scoped(Layer.build(WorkflowEngine.layerMemoryWith({ backlogIntervalMs })))
      )
      assert.match(String(exit._tag === "Failure" ? exit.cause : ""), /backlogIntervalMs must be a number of milliseconds above zero/)
    }
  })
})
