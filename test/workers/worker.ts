/**
 * A worker process for the many-worker test: registers `Batch` on PostgreSQL and runs until
 * stopped. After a SIGUSR2 it SIGKILLs itself the next time it is inside activity `b` (after the
 * body ran, before its result is stored), so it dies with work in flight.
 *
 *   node --import tsx test/workers/worker.ts <url> <worker id> <lease ms>
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlEngine } from "@weft/engine-sql"
import { TestHooks } from "@weft/workflow"
import * as Batch from "./Batch.js"

const [url, worker, leaseMs] = process.argv.slice(2)
if (url === undefined || worker === undefined || leaseMs === undefined) {
  throw new Error("usage: worker.ts <url> <worker id> <lease ms>")
}

let armed = false
process.on("SIGUSR2", () => {
  armed = true
})
const hooks = TestHooks.layer((point, _executionId, detail) =>
  Effect.sync(() => {
    if (armed && point === "activity-ran" && detail === "b") process.kill(process.pid, "SIGKILL")
  })
)

const engine = SqlEngine.layerPg({ url, owner: worker, leaseMs: Number(leaseMs), maxConnections: 8 }).pipe(
  Layer.provide(hooks)
)

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function* () {
      yield* Layer.build(Batch.layer(worker).pipe(Layer.provideMerge(engine)))
      process.stdout.write("ready\n")
      return yield* Effect.never
    })
  )
)
