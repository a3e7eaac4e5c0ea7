/**
 * A worker process for the many-worker test: registers `Batch` on PostgreSQL and runs until
 * stopped. Given a kill count N, it SIGKILLs itself inside its N-th run of activity `b` (after the
 * body ran, before its result is stored), so it dies with work in flight; it prints `killed-at <ms>` first.
 *
 *   node --conditions=@weft/source --import tsx test/workers/worker.ts <url> <worker id> <lease ms> [kill count]
 */
import * as Fs from "node:fs"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PgEngine } from "@weft/engine-sql/pg"
import { TestHooks } from "@weft/workflow"
import * as Batch from "./Batch.js"

const [url, worker, leaseMs, killCount] = process.argv.slice(2)
if (url === undefined || worker === undefined || leaseMs === undefined) {
  throw new Error("usage: worker.ts <url> <worker id> <lease ms>")
}

// Counted, not timed: a worker that is told to die "later" may by then have no `b` left to die in.
let left = killCount === undefined ? Infinity : Number(killCount)
const hooks = TestHooks.layer((point, _executionId, detail) =>
  Effect.sync(() => {
    if (point === "activity-ran" && detail === "b" && --left <= 0) {
      // The kill time, from the victim itself (written synchronously: nothing of it is lost to the kill).
      Fs.writeSync(1, `killed-at ${Date.now()}\n`)
      process.kill(process.pid, "SIGKILL")
    }
  })
)

const engine = PgEngine.layer({ url, owner: worker, leaseMs: Number(leaseMs), maxConnections: 8 }).pipe(
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
