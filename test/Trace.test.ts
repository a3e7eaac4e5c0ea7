/**
 * The trace (`WorkflowEngine.trace`, `WorkflowTrace.fromDetail`) and notes (`Workflow.note`), on the memory engine,
 * SQLite and PostgreSQL: one execution with a retried activity, a note, a sleep, a deferred wait, a child, a queue-less
 * compensation, read back as one timeline in time order; a note is written once however often the body replays.
 * Waits are bars from when they were set (older clocks without a set time: their wake time); a takeover is an entry
 * of its own, and the attempt it ran again is marked; `weft show` prints both.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, layer } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { afterAll } from "vitest"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableClock,
  DurableDeferred,
  StoreRules,
  Workflow,
  WorkflowEngine,
  WorkflowStore,
  WorkflowTrace
} from "@weft/workflow"
import * as Render from "../packages/cli/src/internal/render.js"
import { testDatabase } from "./pg.js"
import { suspended } from "./util.js"

class Flaky extends Data.TaggedError("Flaky")<{ readonly attempt: number }> {}
class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Receipt = Workflow.make({
  name: "Receipt",
  payload: { order: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ order }) => order
})

const Order = Workflow.make({
  name: "Order",
  payload: { order: Schema.String, decline: Schema.Boolean },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ order }) => order
})

const bodyRuns = new Map<string, number>()

const Live = Layer.mergeAll(
  Receipt.toLayer(({ order }) => Activity.make({ name: "print", success: Schema.String, execute: Effect.succeed(`receipt ${order}`) })),
  Order.toLayer(({ decline, order }) =>
    Effect.gen(function* () {
      bodyRuns.set(order, (bodyRuns.get(order) ?? 0) + 1)
      yield* Workflow.note("order received", { order })
      const charged = yield* Activity.retry(
        Activity.make({
          name: "charge",
          success: Schema.String,
          error: Schema.Never,
          execute: Effect.gen(function* () {
            const attempt = yield* Activity.CurrentAttempt
            if (attempt < 2) return yield* Effect.die(new Flaky({ attempt }))
            return `charged ${order}`
          })
        }),
        { times: 2, schedule: Schedule.spaced("5 millis"), while: () => true }
      ).pipe(Workflow.withCompensation(() => Effect.void))
      yield* DurableClock.sleep({ name: "cool-off", duration: "10 millis" })
      const { by } = yield* DurableDeferred.await(Approval)
      yield* Workflow.note(`approved by ${by}`)
      const receipt = yield* Effect.orDie(Receipt.execute({ order }))
      if (decline) return yield* new Declined({ reason: "limit" })
      return `${charged}, ${receipt}`
    })
  )
)

const dir = mkdtempSync(join(tmpdir(), "weft-trace-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const engines: ReadonlyArray<readonly [string, Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore>]> = [
  ["memory", WorkflowEngine.layerMemory],
  ["sqlite", SqliteEngine.layer({ filename: join(dir, "trace.db") }).pipe(Layer.orDie)],
  ["postgres", Layer.unwrap(Effect.map(testDatabase(), (url) => PgEngine.layer({ url, maxConnections: 4 }))).pipe(Layer.orDie)]
]

for (const [name, engine] of engines) {
  describe(`the trace on ${name}`, () => {
    layer(Layer.provideMerge(Live, engine), { excludeTestServices: true })((it) => {
      it.effect("one timeline: notes, attempts with outcomes, the backoff, the sleep, the deferred, the child, the compensation, the end", () =>
        Effect.gen(function* () {
          const id = yield* Order.execute({ order: `o-${name}`, decline: true }, { discard: true })
          yield* suspended(Order, id)
          const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Order.name, executionId: id })
          yield* DurableDeferred.succeed(Approval, { token, value: { by: "grace" } })
          const error = yield* Effect.flip(Order.execute({ order: `o-${name}`, decline: true }))
          assert.strictEqual(error._tag, "Declined")

          const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
          assert.strictEqual(trace.execution.status, "failed")
          const entries = trace.entries
          // In time order.
          for (let i = 1; i < entries.length; i++) assert.isAtMost(entries[i - 1]!.at, entries[i]!.at)
          const kinds = entries.map((e) => (e.kind === "event" ? e.event : e.kind))
          assert.strictEqual(kinds[0], "started")
          assert.strictEqual(kinds.at(-1), "failed")

          const notes = entries.filter((e) => e.kind === "note")
          assert.deepStrictEqual(notes.map((n) => [n.message, n.data]), [
            ["order received", { order: `o-${name}` }],
            ["approved by grace", undefined]
          ])
          // Written once each although the body ran more than once (it suspended on the sleep's wait and the deferred).
          assert.isAtLeast(bodyRuns.get(`o-${name}`)!, 2)

          const charges = entries.filter((e) => e.kind === "activity" && e.name === "charge")
          assert.deepStrictEqual(charges.map((c) => c.kind === "activity" && [c.attempt, c.outcome]), [
            [1, "defect"],
            [2, "success"]
          ])
          const wait = entries.find((e) => e.kind === "retry-wait")
          assert.isDefined(wait)
          assert.include(wait, { activity: "charge", attempt: 2 })

          // The sleep is a bar from when it was set to its wake time, 10 ms later.
          const sleep = entries.find((e) => e.kind === "sleep" && e.name === "cool-off")
          assert.isDefined(sleep)
          assert.strictEqual(sleep!.kind === "sleep" && sleep!.until! - sleep!.at, 10)
          // The backoff's set time is when the failed attempt ended (its clock was stored right after it).
          assert.isAtLeast(wait!.at, charges[0]!.kind === "activity" ? charges[0]!.endedAt : Infinity)
          assert.strictEqual(wait!.kind === "retry-wait" && wait!.until - wait!.at, 5)
          // Nothing was taken over: no takeover, no attempt ran again.
          assert.deepStrictEqual(entries.filter((e) => e.kind === "takeover" || (e.kind === "activity" && e.ranAgain !== undefined)), [])
          assert.deepInclude(entries.find((e) => e.kind === "deferred"), {
            name: "approval",
            outcome: "success",
            value: { by: "grace" }
          })
          const child = entries.find((e) => e.kind === "child")
          assert.deepInclude(child, { workflow: "Receipt", childId: Workflow.executionIdFor("Receipt", `o-${name}`), outcome: "success" })
          assert.deepInclude(entries.find((e) => e.kind === "child-result"), { outcome: "success", value: `receipt o-${name}` })
          assert.deepInclude(entries.find((e) => e.kind === "compensation"), { index: 0, outcome: "success" })
          assert.isDefined(entries.find((e) => e.kind === "event" && e.event === "compensated"))
          assert.isDefined(entries.find((e) => e.kind === "event" && e.event === "signal-received" && e.detail === "approval"))
        }))

      it.effect("an unknown execution has no trace", () =>
        Effect.map(WorkflowEngine.trace("0".repeat(32)), (trace) => assert.isTrue(Option.isNone(trace))))

      it.effect("a note whose data is not JSON fails the execution with a defect naming it, nothing stored for it", () =>
        Effect.gen(function* () {
          const Bad = Workflow.make({ name: `BadNote-${name}`, payload: { n: Schema.Number }, idempotencyKey: ({ n }) => String(n) })
          const exit = yield* Effect.exit(
            Bad.execute({ n: 1 }).pipe(Effect.provide(Bad.toLayer(() => Workflow.note("bad", { at: new Date(0) }))))
          )
          assert.isTrue(exit._tag === "Failure")
          const trace = Option.getOrThrow(yield* WorkflowEngine.trace(Workflow.executionIdFor(Bad.name, "1")))
          assert.deepStrictEqual(trace.entries.filter((e) => e.kind === "note"), [])
          assert.strictEqual(trace.execution.status, "failed")
          assert.match(JSON.stringify(trace.execution.result), /@weft\/note\/0/)
        }))
    })
  })
}

describe("WorkflowTrace.outcomeOf", () => {
  const { outcomeOf } = WorkflowTrace
  layer(Layer.empty)((it) => {
    it.effect("reads success, a typed error inside a sequence, a defect, and an interrupt; nothing else", () =>
      Effect.sync(() => {
        assert.deepStrictEqual(outcomeOf({ _tag: "Success", value: 1 }), { outcome: "success", value: 1 })
        assert.deepStrictEqual(
          outcomeOf({ _tag: "Failure", cause: { _tag: "Sequential", left: { _tag: "Die", defect: "x" }, right: { _tag: "Fail", error: "e" } } }),
          { outcome: "failure", value: "e" }
        )
        assert.deepStrictEqual(outcomeOf({ _tag: "Failure", cause: { _tag: "Die", defect: "d" } }), { outcome: "defect", value: "d" })
        assert.deepStrictEqual(outcomeOf({ _tag: "Failure", cause: { _tag: "Interrupt" } }), { outcome: "interrupted" })
        assert.isUndefined(outcomeOf({ _tag: "TimedOut" }))
        assert.isUndefined(outcomeOf(null))
      }))
  })
})

describe("WorkflowTrace.fromDetail: recoveries and waits", () => {
  const T0 = 1_700_000_000_000
  const ok = (value: unknown) => ({ _tag: "Success", value })
  const takeover = StoreRules.takeoverEvent(
    { from: "worker-a", to: "worker-b", leaseEndedAt: T0 + 900, inFlight: [{ name: "charge", attempt: 1 }] },
    T0 + 1_000
  )
  const detail: WorkflowStore.ExecutionDetail = {
    execution: {
      executionId: "e1",
      workflow: "Order",
      payload: {},
      status: "succeeded",
      result: ok("done"),
      parent: undefined,
      createdAt: T0,
      updatedAt: T0 + 60_000,
      wakeSeq: 1,
      interruptRequested: false,
      wakeAt: undefined
    },
    attempts: [
      { name: "reserve", attempt: 1, exit: ok(1), startedAt: T0 + 10, completedAt: T0 + 20 },
      // In flight at worker-a's last heartbeat, stored by worker-b after it took over: it ran again.
      { name: "charge", attempt: 1, exit: ok(2), startedAt: T0 + 1_010, completedAt: T0 + 1_030 },
      { name: "ship", attempt: 1, exit: ok(3), startedAt: T0 + 1_040, completedAt: T0 + 1_050 }
    ],
    deferreds: [],
    clocks: [
      { name: "@weft/clock/cool-off", wakeAt: T0 + 31_050, setAt: T0 + 1_050 },
      // Stored before set times were kept.
      { name: "@weft/clock/legacy", wakeAt: T0 + 50_000 },
      { name: "approval/timeout", wakeAt: T0 + 59_000, setAt: T0 + 31_100 }
    ],
    events: [
      { kind: "started", at: T0, detail: undefined },
      takeover,
      { kind: "completed", at: T0 + 60_000, detail: undefined }
    ]
  }

  layer(Layer.empty)((it) => {
    it.effect("a takeover is an entry naming both workers and what was in flight; the attempt it ran again is marked", () =>
      Effect.sync(() => {
        const { entries } = WorkflowTrace.fromDetail(detail)
        assert.deepStrictEqual(entries.filter((e) => e.kind === "takeover"), [
          {
            kind: "takeover",
            at: T0 + 1_000,
            from: "worker-a",
            to: "worker-b",
            leaseEndedAt: T0 + 900,
            inFlight: [{ name: "charge", attempt: 1 }]
          }
        ])
        // No raw event for it.
        assert.isUndefined(entries.find((e) => e.kind === "event" && e.event === "taken-over"))
        const activities = entries.flatMap((e) => (e.kind === "activity" ? [[e.name, e.ranAgain]] : []))
        assert.deepStrictEqual(activities, [
          ["reserve", undefined],
          ["charge", { from: "worker-a", to: "worker-b" }],
          ["ship", undefined]
        ])
        // The takeover comes before the attempt it ran again.
        const kinds = entries.map((e) => (e.kind === "event" ? e.event : e.kind))
        assert.isBelow(kinds.indexOf("takeover"), entries.findIndex((e) => e.kind === "activity" && e.name === "charge"))
      }))

    it.effect("an in-flight attempt stored before the takeover was finished by the lost worker: not marked", () =>
      Effect.sync(() => {
        const early = {
          ...detail,
          attempts: [{ name: "charge", attempt: 1, exit: ok(2), startedAt: T0 + 500, completedAt: T0 + 600 }]
        }
        const charge = WorkflowTrace.fromDetail(early).entries.find((e) => e.kind === "activity")
        assert.isDefined(charge)
        assert.isTrue(charge!.kind === "activity" && charge!.ranAgain === undefined)
      }))

    it.effect("a takeover of a lease no heartbeat renewed says in flight is unknown", () =>
      Effect.sync(() => {
        const unknown = StoreRules.takeoverEvent({ from: "a", to: "b", leaseEndedAt: T0, inFlight: undefined }, T0 + 1)
        const { entries } = WorkflowTrace.fromDetail({ ...detail, attempts: [], clocks: [], events: [unknown] })
        assert.deepStrictEqual(entries, [
          { kind: "takeover", at: T0 + 1, from: "a", to: "b", leaseEndedAt: T0, inFlight: undefined }
        ])
        assert.match(Render.detailText({ ...detail, attempts: [], clocks: [], events: [unknown] }, T0), /in flight: unknown/)
      }))

    it.effect("sleeps and deferred timeouts with a set time are bars to their wake time; older ones are their wake time", () =>
      Effect.sync(() => {
        const { entries } = WorkflowTrace.fromDetail(detail)
        assert.deepStrictEqual(entries.filter((e) => e.kind === "sleep"), [
          { kind: "sleep", at: T0 + 1_050, until: T0 + 31_050, name: "cool-off" },
          { kind: "sleep", at: T0 + 50_000, name: "legacy" }
        ])
        assert.deepStrictEqual(entries.filter((e) => e.kind === "deferred-timeout"), [
          { kind: "deferred-timeout", at: T0 + 31_100, until: T0 + 59_000, deferred: "approval" }
        ])
      }))

    it.effect("weft show prints the takeover, what was in flight, the attempt that ran again and the waits' durations", () =>
      Effect.sync(() => {
        const text = Render.detailText(detail, T0 + 60_000)
        assert.match(text, /↻\s+taken over by worker-b from worker-a\s+lease ended \S+ \S+; in flight: charge #1$/m)
        assert.match(text, /✓\s+activity charge #1 .*\(ran again after worker-b took over from worker-a\)$/m)
        assert.match(text, /sleep cool-off\s+30\.0s\s+until /)
        assert.match(text, /sleep legacy due/)
        assert.match(text, /deferred approval waited for\s+27\.9s\s+times out /)
        const json = Render.detailJson(detail)
        const taken: Record<string, unknown> | undefined = json.trace.find((e) => e.kind === "takeover")
        assert.deepInclude(taken, { from: "worker-a", to: "worker-b", leaseEndedAt: new Date(T0 + 900).toISOString() })
        assert.deepStrictEqual(json.timers[1], { name: "@weft/clock/legacy", setAt: null, wakeAt: new Date(T0 + 50_000).toISOString() })
      }))
  })
})
