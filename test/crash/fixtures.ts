/**
 * Workflows of the crash tests, shared by the test and its worker processes. Every activity body
 * appends one line to the file named by `WEFT_CRASH_LOG`, so body runs are counted across processes.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { Activity, DurableChannel, DurableClock, DurableDeferred, Workflow, type WorkflowEngine } from "@weft/workflow"

/** One run of one activity body: its name and the process it ran in. */
export interface BodyRun {
  readonly name: string
  readonly pid: number
}

/** Appends a body run to the log, synchronously: it must be on disk before a SIGKILL can follow. */
const ran = (name: string) =>
  Effect.sync(() => {
    const log = process.env.WEFT_CRASH_LOG
    if (log === undefined) throw new Error("WEFT_CRASH_LOG is not set: activity bodies run only in crash workers")
    appendFileSync(log, `${name} ${process.pid}\n`)
  })

/** Every body run recorded in `log`, oldest first. */
export const bodyRuns = (log: string): ReadonlyArray<BodyRun> =>
  existsSync(log)
    ? readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => {
          const [name, pid] = line.split(" ")
          return { name: name!, pid: Number(pid) }
        })
    : []

const step = (name: string, result: string) =>
  Activity.make({ name, success: Schema.String, execute: Effect.as(ran(name), result) })

/** A workflow of the crash tests: keyed by an id, returning a string. */
const define = <const Name extends string>(name: Name) =>
  Workflow.make({ name, payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

/** Five activities in a row. */
export const Steps = define("CrashSteps")

const StepsLive = Steps.toLayer(() =>
  Effect.gen(function* () {
    const results: Array<string> = []
    for (let n = 1; n <= 5; n++) results.push(yield* step(`step-${n}`, `s${n}`))
    return results.join("/")
  })
)

/** An activity, an activity that never ends in the first process that runs it, and an activity after them. */
export const Stall = define("CrashStall")

const StallLive = Stall.toLayer(() =>
  Effect.gen(function* () {
    const prepared = yield* step("prepare", "prepared")
    const stalled = yield* Activity.make({
      name: "stall",
      success: Schema.String,
      // Its first run hangs until its process is killed; a run after that (by the worker that took over) ends.
      execute: Effect.andThen(ran("stall"), () =>
        bodyRuns(process.env.WEFT_CRASH_LOG!).filter((run) => run.name === "stall").length > 1
          ? Effect.succeed("unstuck")
          : Effect.never
      )
    })
    return `${prepared}/${stalled}/${yield* step("finish", "finished")}`
  })
)

/** Settling was declined: the typed failure an operator's retry gets past. */
export class Declined extends Schema.TaggedError<Declined>()("Declined", { run: Schema.Number }) {}

/** `prepare`, then `settle`: declined on its first run, hanging on its second (until killed), done on its third. */
export const Flaky = Workflow.make({
  name: "CrashFlaky",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const FlakyLive = Flaky.toLayer(() =>
  Effect.gen(function* () {
    const prepared = yield* step("prepare", "prepared")
    const settled = yield* Activity.make({
      name: "settle",
      success: Schema.String,
      error: Declined,
      execute: Effect.andThen(ran("settle"), () => {
        const run = bodyRuns(process.env.WEFT_CRASH_LOG!).filter((r) => r.name === "settle").length
        return run === 1 ? Effect.fail(new Declined({ run })) : run === 2 ? Effect.never : Effect.succeed("settled")
      })
    })
    return `${prepared}/${settled}`
  })
)

/** An activity, a durable sleep long enough to suspend, and an activity after it. */
export const Nap = define("CrashNap")

/** How long `Nap` sleeps: longer than a worker takes to start, so the second worker waits for the timer. */
export const napMillis = 2_000

const NapLive = Nap.toLayer(() =>
  Effect.gen(function* () {
    const before = yield* step("before", "before")
    yield* DurableClock.sleep({ name: "nap", duration: napMillis, inMemoryThreshold: "100 millis" })
    return `${before}/${yield* step("after", "after")}`
  })
)

/** The approval `Approve` waits for. */
export const Approval = DurableDeferred.make("crash-approval", { success: Schema.Struct({ by: Schema.String }) })

/** An activity, a wait for `Approval`, and an activity after it. */
export const Approve = define("CrashApprove")

const ApproveLive = Approve.toLayer(() =>
  Effect.gen(function* () {
    yield* step("before", "before")
    const { by } = yield* DurableDeferred.await(Approval)
    return yield* step("after", `approved by ${by}`)
  })
)

/** The user table `Ledger`'s transactional activity writes to. */
export const ledgerTable = "crash_ledger"

/** An activity, a transactional activity that inserts a row through the engine's `SqlClient`, and a last activity. */
export const Ledger = define("CrashLedger")

const LedgerLive = Ledger.toLayer((_, executionId) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* step("prepare", "prepared")
    const inserted = yield* Activity.transactional(
      Activity.make({
        name: "insert-row",
        success: Schema.String,
        execute: Effect.gen(function* () {
          yield* Effect.orDie(
            sql`INSERT INTO ${sql(ledgerTable)} (execution_id, pid) VALUES (${executionId}, ${process.pid})`
          )
          yield* ran("insert-row")
          return "inserted"
        })
      })
    )
    return `${inserted}/${yield* step("finish", "finished")}`
  })
)

/** A parent that awaits one `Approve` child, keyed `<id>-child`. */
export const Family = define("CrashFamily")

const FamilyLive = Family.toLayer(({ id }) => Effect.orDie(Approve.execute({ id: `${id}-child` })))

/** The channel `Chat` receives from. */
export const ChatMessages = DurableChannel.make("crash-chat", { message: Schema.Struct({ text: Schema.String }) })

/** Two receives of `ChatMessages`, each message handled by an activity named after it (`handle-<text>`). */
export const Chat = define("CrashChat")

const ChatLive = Chat.toLayer(() =>
  Effect.gen(function* () {
    const first = yield* DurableChannel.receive(ChatMessages)
    yield* step(`handle-${first.text}`, first.text)
    const second = yield* DurableChannel.receive(ChatMessages)
    yield* step(`handle-${second.text}`, second.text)
    return `${first.text}/${second.text}`
  })
)

/** A workflow a worker can run, with the layer that registers it. */
export interface Scenario {
  readonly workflow: Workflow.Any
  readonly live: Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient>
  /** Executions the worker also waits to see ended before it exits (a parent's children). */
  readonly children?: (key: string) => Effect.Effect<ReadonlyArray<string>>
}

/** The scenarios a worker can run, by name. */
export const scenarios = {
  steps: { workflow: Steps, live: StepsLive },
  nap: { workflow: Nap, live: NapLive },
  stall: { workflow: Stall, live: StallLive },
  flaky: { workflow: Flaky, live: FlakyLive },
  approve: { workflow: Approve, live: ApproveLive },
  ledger: { workflow: Ledger, live: LedgerLive },
  chat: { workflow: Chat, live: ChatLive },
  family: {
    workflow: Family,
    live: Layer.merge(FamilyLive, ApproveLive),
    children: (key) => Effect.map(Approve.executionId({ id: `${key}-child` }), (id) => [id])
  }
} satisfies Record<string, Scenario>
