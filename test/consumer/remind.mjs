// A new user's program, run by plain `node` against the packed packages (test/Consumer.test.ts): a workflow on
// SQLite with an activity and a durable sleep. `node remind.mjs <db> <sends file> crash` dies (SIGKILL) right
// after the activity's result is stored; run again without `crash`, it resumes from the journal and finishes.
import { appendFileSync } from "node:fs"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableClock, TestHooks, Workflow, WorkflowEngine } from "@weft/workflow"
import { Effect, Layer, Option, Schema } from "effect"

const [filename, sendsFile, mode] = process.argv.slice(2)

const Remind = Workflow.make({
  name: "Remind",
  payload: { to: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ to }) => to
})

const RemindLive = Remind.toLayer(({ to }) =>
  Effect.gen(function* () {
    const sent = yield* Activity.make({
      name: "send",
      success: Schema.String,
      // Each run of the body leaves a line: the test counts them.
      execute: Effect.sync(() => {
        appendFileSync(sendsFile, `${process.pid}\n`)
        return `reminded ${to}`
      })
    })
    // A threshold of 0 makes even this short sleep a stored timer: the execution suspends until it fires.
    yield* DurableClock.sleep({ name: "cool-down", duration: "500 millis", inMemoryThreshold: 0 })
    return `${sent}, then slept`
  })
)

const crashAfterSend =
  mode === "crash"
    ? TestHooks.layer((point, _executionId, detail) =>
        point === "activity-recorded" && detail === "send"
          ? Effect.sync(() => process.kill(process.pid, "SIGKILL"))
          : Effect.void
      )
    : Layer.empty

const program = Effect.gen(function* () {
  const payload = { to: "ada" }
  const result = yield* Remind.execute(payload)
  const detail = yield* WorkflowEngine.detail(yield* Remind.executionId(payload))
  const journal = Option.getOrThrow(detail)
  console.log(JSON.stringify({
    result,
    status: journal.execution.status,
    events: journal.events.map((event) => event.kind),
    clocks: journal.clocks.length
  }))
})

await Effect.runPromise(
  program.pipe(
    Effect.provide(RemindLive),
    Effect.provide(SqliteEngine.layer({ filename, leaseMs: 1_000 }).pipe(Layer.provide(crashAfterSend)))
  )
)
