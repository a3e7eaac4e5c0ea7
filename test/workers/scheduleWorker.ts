/**
 * A worker process for the schedule restart test: runs `ScheduledTick` on a SQLite file and, when told, ensures the
 * schedule "survivor" (every 100 ms, every fire caught up) first; prints "ready" and runs until killed.
 *
 *   node --conditions=@weft/source --import tsx test/workers/scheduleWorker.ts <sqlite file> [ensure]
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Workflow, WorkflowSchedule } from "@weft/workflow"

const [filename, ensure] = process.argv.slice(2)
if (filename === undefined) throw new Error("usage: scheduleWorker.ts <sqlite file> [ensure]")

/** The same workflow as test/Schedules.test.ts's fixture. */
const Tick = Workflow.make({
  name: "ScheduledTick",
  payload: { label: Schema.String },
  idempotencyKey: ({ label }) => label
})

const engine = SqliteEngine.layer({ filename, pollIntervalMs: 20, leaseMs: 500 })

const main = Effect.gen(function* () {
  if (ensure === "ensure") {
    yield* WorkflowSchedule.ensure(Tick, { label: "survivor" }, {
      id: "survivor",
      every: "100 millis",
      overlap: "allow",
      catchUp: { window: "10 minutes" }
    })
  }
  process.stdout.write("ready\n")
  return yield* Effect.never
}).pipe(Effect.provide(Layer.provideMerge(Tick.toLayer(() => Effect.void), engine)))

NodeRuntime.runMain(main)
