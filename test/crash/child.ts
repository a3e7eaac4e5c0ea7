/**
 * A worker process of the crash tests: builds the SQL engine on the database its environment names,
 * registers one workflow, optionally starts one execution, and SIGKILLs itself at a named fault point.
 * Otherwise it waits until the execution completes here, prints `complete <status>` and exits 0.
 *
 * Environment: WEFT_CRASH_DB (`sqlite:<file>` or `pg:<url>`), WEFT_CRASH_SCENARIO (a key of
 * `scenarios`), WEFT_CRASH_KEY (the payload id), WEFT_CRASH_LOG (the body-run log), and optionally
 * WEFT_CRASH_START=1 (execute the workflow), WEFT_CRASH_KILL (`point` or `point:detail`),
 * WEFT_CRASH_POLL_MS (the engine's poll interval).
 *
 * Run: node --conditions=@weft/source --import tsx test/crash/child.ts
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { TestHooks, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { waitUntil } from "../util.js"
import { type Scenario, scenarios } from "./fixtures.js"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const database = required("WEFT_CRASH_DB")
const scenario: Scenario = (scenarios as Record<string, Scenario>)[required("WEFT_CRASH_SCENARIO")]!
const key = required("WEFT_CRASH_KEY")
const [killPoint, killDetail] = (process.env.WEFT_CRASH_KILL ?? "").split(":")
const pollIntervalMs = process.env.WEFT_CRASH_POLL_MS

const say = (line: string) => process.stdout.write(`${line}\n`)

const engineOptions = {
  leaseMs: 500,
  ...(pollIntervalMs === undefined ? {} : { pollIntervalMs: Number(pollIntervalMs) })
}

const engine = database.startsWith("sqlite:")
  ? SqliteEngine.layer({ filename: database.slice("sqlite:".length), ...engineOptions })
  : PgEngine.layer({ url: database.slice("pg:".length), maxConnections: 4, ...engineOptions })

const main = Effect.gen(function* () {
  const executionId = yield* scenario.workflow.executionId({ id: key })
  const completed = yield* Deferred.make<void>()
  const hooks = TestHooks.layer((point, id, detail) =>
    Effect.sync(() => {
      if (id !== executionId) return
      say(`hook ${point}${detail === undefined ? "" : ` ${detail}`}`)
      // Pipes to the parent are written synchronously on Linux, so the line above is out before the kill.
      if (point === killPoint && (killDetail === undefined || detail === killDetail)) {
        process.kill(process.pid, "SIGKILL")
      }
      if (point === "after-complete") Deferred.doneUnsafe(completed, Effect.void)
    })
  )
  yield* Effect.gen(function* () {
    if (process.env.WEFT_CRASH_START === "1") yield* scenario.workflow.execute({ id: key }, { discard: true })
    // Its own clock's time, for tests that need it ready before a timer's wake time; its name in claims.
    say(`ready-at ${Date.now()}`)
    say(`owner ${(yield* WorkflowEngine.WorkflowEngine).owner}`)
    say("ready")
    yield* Deferred.await(completed)
    for (const child of yield* scenario.children?.(key) ?? Effect.succeed([])) {
      yield* waitUntil(
        Effect.map(WorkflowEngine.detail(child), (d) => Option.isSome(d) && WorkflowStore.terminal.has(d.value.execution.status)),
        `child ${child} ended`
      )
    }
    const detail = yield* WorkflowEngine.detail(executionId)
    say(`complete ${Option.match(detail, { onNone: () => "missing", onSome: (d) => d.execution.status })}`)
  }).pipe(
    Effect.timeoutOrElse({
      duration: "20 seconds",
      orElse: () => Effect.fail(new Error(`execution ${executionId} did not complete in this worker`))
    }),
    Effect.provide(Layer.provideMerge(scenario.live, engine.pipe(Layer.provide(hooks))))
  )
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
