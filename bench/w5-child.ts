/**
 * W5's worker process: builds the SQL engine (leaseMs 500) on the store `WEFT_BENCH_DB` names
 * (`sqlite:<file>` or `pg:<url>`), registers a five-activity workflow and executes it with the payload
 * id `WEFT_BENCH_KEY`. Every activity body appends its name to `WEFT_BENCH_LOG` before it returns.
 *
 * With `WEFT_BENCH_KILL=<activity>` it SIGKILLs itself at the `activity-recorded` point of that
 * activity (its result is in the store, the next one has not started). Otherwise it prints
 * `up <ms>` once the engine is built and `result <ms> <value>` when the execution's result is in
 * (wall-clock epoch milliseconds), and exits 0.
 *
 * Run: node --conditions=@weft/source --import tsx bench/w5-child.ts
 */
import { appendFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, TestHooks, Workflow } from "@weft/workflow"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const database = required("WEFT_BENCH_DB")
const log = required("WEFT_BENCH_LOG")
const key = required("WEFT_BENCH_KEY")
const kill = process.env.WEFT_BENCH_KILL

const wallClock = () => performance.timeOrigin + performance.now()
const say = (line: string) => process.stdout.write(`${line}\n`)

// Written synchronously: the line must be on disk before a SIGKILL can follow.
const step = (n: number) =>
  Activity.make({
    name: `step-${n}`,
    success: Schema.String,
    execute: Effect.sync(() => {
      appendFileSync(log, `step-${n}\n`)
      return `s${n}`
    })
  })
const steps = [1, 2, 3, 4, 5].map(step)

const Steps = Workflow.make({
  name: "bench/W5",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})
const StepsLive = Steps.toLayer(() =>
  Effect.gen(function* () {
    const results: Array<string> = []
    for (const activity of steps) results.push(yield* activity)
    return results.join("/")
  })
)

const engine = database.startsWith("sqlite:")
  ? SqliteEngine.layer({ filename: database.slice("sqlite:".length), leaseMs: 500 })
  : PgEngine.layer({ url: database.slice("pg:".length), maxConnections: 4, leaseMs: 500 })

const hooks = TestHooks.layer((point, _executionId, detail) =>
  Effect.sync(() => {
    if (point === "activity-recorded" && detail === kill) process.kill(process.pid, "SIGKILL")
  })
)

const main = Effect.gen(function* () {
  say(`up ${wallClock()}`)
  const result = yield* Steps.execute({ id: key })
  say(`result ${wallClock()} ${result}`)
}).pipe(
  Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.fail(new Error("W5: no result in 20 seconds")) }),
  Effect.provide(Layer.provideMerge(StepsLive, kill === undefined ? engine : engine.pipe(Layer.provide(hooks))))
)

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
