/**
 * OpenTelemetry through `@effect/opentelemetry`: a run, each activity attempt, each durable sleep and each deferred
 * wait is a span with its workflow, execution, step and outcome; a replayed step is a `weft.replayed` event on the
 * run, never a span; the engine's metrics are labelled by workflow and activity.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { assert, describe, it } from "@effect/vitest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { suspended, waitUntil } from "./util.js"

describe("OpenTelemetry", () => {
  it.live("exports a span per run, attempt, sleep and wait, with a replayed step as an event of its run", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      const program = Effect.gen(function* () {
        const id = yield* Billing.execute({ order: "o1" }, { discard: true })
        yield* suspended(Billing, id)
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Billing.name, executionId: id })
        yield* DurableDeferred.succeed(Approval, { token, value: { by: "ada" } })
        assert.strictEqual(yield* Billing.execute({ order: "o1" }), "charged o1 on attempt 2, approved by ada, shipped")
        return { id, spans: yield* exported(exporter, "weft.workflow Billing", 2) }
      })
      const { id, spans } = yield* program.pipe(Effect.provide(engine(exporter)))
      const named = (name: string) => spans.filter((span) => span.name === name)
      const parentOf = (span: ReadableSpan) =>
        spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId)

      // Two runs: the first suspends on the approval, the second (woken by the signal) ends the execution.
      const runs = named("weft.workflow Billing")
      assert.deepStrictEqual(runs.map((run) => run.attributes["weft.outcome"]), ["suspended", "success"])
      for (const run of runs) {
        assert.strictEqual(run.attributes["weft.workflow"], "Billing")
        assert.strictEqual(run.attributes["weft.execution_id"], id)
        assert.strictEqual(run.attributes["weft.workflow.version"], 1)
      }
      const [first, second] = runs as [ReadableSpan, ReadableSpan]
      assert.deepStrictEqual(runs.map((run) => parentOf(run)?.name), ["Workflow.execute", "DurableDeferred.succeed"])

      // Each attempt of `charge` ran in the first run, its child, with its number and outcome; none in the second.
      const charges = named("weft.activity charge")
      assert.deepStrictEqual(
        charges.map((span) => [span.attributes["weft.attempt"], span.attributes["weft.outcome"]]),
        [[1, "failure"], [2, "success"]]
      )
      for (const span of charges) {
        assert.strictEqual(parentOf(span), first)
        assert.strictEqual(span.attributes["weft.workflow"], "Billing")
        assert.strictEqual(span.attributes["weft.execution_id"], id)
        assert.strictEqual(span.attributes["weft.activity"], "charge")
      }
      const ships = named("weft.activity ship")
      assert.strictEqual(ships.length, 1)
      assert.strictEqual(parentOf(ships[0]!), second)
      assert.strictEqual(ships[0]!.attributes["weft.outcome"], "success")

      // The retry's backoff and the cool-off are durable sleeps waited in the first run.
      for (const name of ["weft.sleep charge/retry-2", "weft.sleep cool-off"]) {
        const sleeps = named(name)
        assert.strictEqual(sleeps.length, 1, name)
        assert.strictEqual(parentOf(sleeps[0]!), first)
        assert.strictEqual(sleeps[0]!.attributes["weft.outcome"], "success")
        assert.strictEqual(typeof sleeps[0]!.attributes["weft.wake_at"], "number")
      }

      const coolOff = named("weft.sleep cool-off")[0]!

      // The first run suspended on the approval; the second found it stored and did not wait.
      const waits = named("weft.deferred approval")
      assert.strictEqual(waits.length, 1)
      assert.strictEqual(parentOf(waits[0]!), first)
      assert.strictEqual(waits[0]!.attributes["weft.outcome"], "suspended")

      // What the second run took from the journal is marked on it, zero-length, in the order the body asked.
      assert.deepStrictEqual(
        second.events.map((event) => [event.name, event.attributes]),
        [
          ["weft.replayed", { "weft.activity": "charge", "weft.attempt": 2, "weft.outcome": "success" }],
          ["weft.replayed", { "weft.sleep": "cool-off", "weft.wake_at": coolOff.attributes["weft.wake_at"] }],
          ["weft.replayed", { "weft.deferred": "approval" }]
        ]
      )
      assert.deepStrictEqual(first.events, [])
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("marks a defect on the attempt and the run, and counts by workflow and activity", () =>
    Effect.gen(function* () {
      const exporter = new InMemorySpanExporter()
      const program = Effect.gen(function* () {
        yield* Billing.execute({ order: "o2" }, { discard: true })
        yield* suspended(Billing, yield* Billing.executionId({ order: "o2" }))
        const token = yield* DurableDeferred.tokenFor(Approval, {
          workflow: Billing.name,
          executionId: yield* Billing.executionId({ order: "o2" })
        })
        yield* DurableDeferred.succeed(Approval, { token, value: { by: "bob" } })
        yield* Billing.execute({ order: "o2" })
        const exit = yield* Effect.exit(Broken.execute({ id: "b1" }))
        return { exit, spans: yield* exported(exporter, "weft.workflow Broken", 1) }
      })
      const { exit, spans } = yield* program.pipe(Effect.provide(engine(exporter)))
      assert.strictEqual(exit._tag, "Failure")
      const attempt = spans.find((span) => span.name === "weft.activity explode")
      assert.strictEqual(attempt?.attributes["weft.outcome"], "defect")
      const run = spans.find((span) => span.name === "weft.workflow Broken")
      assert.strictEqual(run?.attributes["weft.outcome"], "defect")
      assert.strictEqual(attempt?.parentSpanContext?.spanId, run?.spanContext().spanId)

      const snapshot = yield* Metric.snapshot
      const value = (id: string, attributes: Record<string, string>): unknown => {
        const found = snapshot.filter(
          (metric) =>
            metric.id === id &&
            Object.keys(attributes).length === Object.keys(metric.attributes ?? {}).length &&
            Object.entries(attributes).every(([key, value]) => metric.attributes?.[key] === value)
        )
        assert.strictEqual(found.length, 1, `${id} ${JSON.stringify(attributes)}`)
        const state = found[0]!.state as { readonly count: number }
        return state.count
      }
      const billing = { workflow: "Billing" }
      const charge = { workflow: "Billing", activity: "charge" }
      assert.strictEqual(value("weft_executions_started_total", billing), 1)
      assert.strictEqual(value("weft_executions_completed_total", { ...billing, status: "succeeded" }), 1)
      assert.strictEqual(value("weft_executions_completed_total", { workflow: "Broken", status: "failed" }), 1)
      assert.strictEqual(value("weft_suspensions_total", billing), 1)
      assert.strictEqual(value("weft_runs_total", billing), 2)
      assert.strictEqual(value("weft_activity_attempts_total", { ...charge, outcome: "failure" }), 1)
      assert.strictEqual(value("weft_activity_attempts_total", { ...charge, outcome: "success" }), 1)
      const ship = { workflow: "Billing", activity: "ship" }
      assert.strictEqual(value("weft_activity_attempts_total", { ...ship, outcome: "success" }), 1)
      assert.strictEqual(value("weft_activity_attempts_total", { workflow: "Broken", activity: "explode", outcome: "defect" }), 1)
      assert.strictEqual(value("weft_activity_retries_total", charge), 1)
      // The latency histogram holds one observation per recorded attempt; the replay added none.
      assert.strictEqual(value("weft_activity_duration_ms", charge), 2)
      assert.strictEqual(value("weft_activity_duration_ms", ship), 1)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})

/**
 * The spans exported once `count` spans named `name` ended (a run's span ends just after its waiters hear of the
 * end), read before the layer closes: the SDK's shutdown empties the in-memory exporter.
 */
const exported = (exporter: InMemorySpanExporter, name: string, count: number) =>
  Effect.andThen(
    waitUntil(
      Effect.sync(() => exporter.getFinishedSpans().filter((span) => span.name === name).length >= count),
      `${count} span(s) ${name}`
    ),
    Effect.sync(() => [...exporter.getFinishedSpans()])
  )

/** A memory engine running the fixtures, built where `@effect/opentelemetry` installed its tracer. */
const engine = (exporter: InMemorySpanExporter) =>
  Layer.provideMerge(
    Layer.provideMerge(Layer.mergeAll(BillingLive, BrokenLive), WorkflowEngine.layerMemory),
    NodeSdk.layer(() => ({ resource: { serviceName: "weft-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  )

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { attempt: Schema.Number }) {}

class Boom extends Data.TaggedError("Boom")<{}> {}

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Billing = Workflow.make({
  name: "Billing",
  payload: { order: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ order }) => order
})

const BillingLive = Billing.toLayer(({ order }) =>
  Effect.gen(function* () {
    const charged = yield* Activity.retry(
      Activity.make({
        name: "charge",
        success: Schema.String,
        error: CardDeclined,
        execute: Effect.gen(function* () {
          const attempt = yield* Activity.CurrentAttempt
          if (attempt < 2) return yield* new CardDeclined({ attempt })
          return `charged ${order} on attempt ${attempt}`
        })
      }),
      { times: 2, schedule: Schedule.spaced("5 millis") }
    ).pipe(Effect.orDie)
    yield* DurableClock.sleep({ name: "cool-off", duration: "10 millis" })
    const { by } = yield* DurableDeferred.await(Approval)
    const shipped = yield* Activity.make({ name: "ship", success: Schema.String, execute: Effect.succeed("shipped") })
    return `${charged}, approved by ${by}, ${shipped}`
  })
)

const Broken = Workflow.make({ name: "Broken", payload: { id: Schema.String }, idempotencyKey: ({ id }) => id })

const BrokenLive = Broken.toLayer(() => Activity.make({ name: "explode", execute: Effect.die(new Boom()) }))
