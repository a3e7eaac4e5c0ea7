/**
 * A worker process for the lease tests: registers `Step` on PostgreSQL with the engine's defaults (up to
 * 1,000 runs at once) over a small pool, and runs until stopped.
 *
 *   node --conditions=@weft/source --import tsx test/workers/stepWorker.ts <url> <worker id> <lease ms> <step ms> <connections>
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PgEngine } from "@weft/engine-sql/pg"
import * as Step from "./Step.js"

const [url, worker, leaseMs, stepMs, connections] = process.argv.slice(2)
if (url === undefined || worker === undefined || leaseMs === undefined || stepMs === undefined || connections === undefined) {
  throw new Error("usage: stepWorker.ts <url> <worker id> <lease ms> <step ms> <connections>")
}

const engine = PgEngine.layer({ url, owner: worker, leaseMs: Number(leaseMs), maxConnections: Number(connections) })

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function* () {
      yield* Layer.build(Step.layer(worker, Number(stepMs)).pipe(Layer.provideMerge(engine)))
      process.stdout.write("ready\n")
      return yield* Effect.never
    })
  )
)
