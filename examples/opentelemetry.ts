/**
 * A workflow traced with OpenTelemetry: `@effect/opentelemetry`'s `NodeSdk` installs the tracer where the engine is
 * built, so every run, activity attempt, durable sleep and deferred wait is a span. An in-memory exporter keeps the
 * spans, printed as a tree at the end, with the engine's metrics (swap in an OTLP exporter to send them away).
 *
 *   npx tsx --conditions=@weft/source examples/opentelemetry.ts
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Activity, DurableClock, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { Console, Effect, Layer, Metric, Schedule, Schema } from "effect"

/** The typed error of a declined card: the charge is retried on it. */
export class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { attempt: Schema.Number }) {}

/** The warehouse's go-ahead, a signal from outside. */
export const Packed = DurableDeferred.make("packed")

/** One order: a charge retried once, a short cool-off, a wait for the warehouse, then the shipment. */
export const Order = Workflow.make({
  name: "Order",
  payload: { orderId: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ orderId }) => orderId
})

export const OrderLive = Order.toLayer(({ orderId }) =>
  Effect.gen(function* () {
    yield* Activity.retry(
      Activity.make({
        name: "charge",
        error: CardDeclined,
        execute: Effect.gen(function* () {
          const attempt = yield* Activity.CurrentAttempt
          if (attempt === 1) return yield* new CardDeclined({ attempt })
        })
      }),
      { times: 2, schedule: Schedule.spaced("10 millis") }
    ).pipe(Effect.orDie)
    yield* DurableClock.sleep({ name: "cool-off", duration: "20 millis" })
    yield* DurableDeferred.await(Packed)
    return yield* Activity.make({ name: "ship", success: Schema.String, execute: Effect.succeed(`shipped ${orderId}`) })
  })
)

const exporter = new InMemorySpanExporter()

/** The OpenTelemetry SDK: a span processor (and, for metrics, a `metricReader`) is all it needs. */
const Otel = NodeSdk.layer(() => ({
  resource: { serviceName: "weft-example" },
  spanProcessor: new SimpleSpanProcessor(exporter)
}))

const program = Effect.gen(function* () {
  const executionId = yield* Order.execute({ orderId: "o-1" }, { discard: true })
  // The run suspends on `packed`; the warehouse's signal (here, the same process) wakes it for a second run.
  const token = yield* DurableDeferred.tokenFor(Packed, { workflow: Order.name, executionId })
  const status = Effect.map(WorkflowEngine.detail(executionId), (d) => (d._tag === "Some" ? d.value.execution.status : undefined))
  yield* waitFor(Effect.map(status, (status) => status === "suspended"))
  yield* DurableDeferred.succeed(Packed, { token, value: undefined })
  yield* Console.log(yield* Order.execute({ orderId: "o-1" }))
  // A run's span ends just after its result is handed over.
  const runs = Effect.sync(() => exporter.getFinishedSpans().filter((s) => s.name === "weft.workflow Order").length)
  yield* waitFor(Effect.map(runs, (n) => n === 2))
  yield* Console.log(tree(exporter.getFinishedSpans()))
  for (const metric of yield* Metric.snapshot) {
    if (!metric.id.startsWith("weft_")) continue
    const state = metric.state as { readonly count?: number }
    if (state.count === undefined) continue
    yield* Console.log(`${metric.id}${JSON.stringify(metric.attributes ?? {})} ${state.count}`)
  }
})

/** Spans as an indented tree: name, then the weft attributes and events (a replayed step is an event). */
const tree = (spans: ReadonlyArray<ReadableSpan>): string => {
  const lines: Array<string> = []
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  // A root: no parent, or one that is not among the spans.
  const children = (parent: string | undefined) =>
    spans.filter((span) => {
      const of = span.parentSpanContext?.spanId
      return parent === undefined ? of === undefined || !ids.has(of) : of === parent
    })
  const walk = (span: ReadableSpan, depth: number) => {
    const attributes = Object.entries(span.attributes)
      .filter(([key]) => ["weft.outcome", "weft.attempt"].includes(key))
      .map(([key, value]) => `${key.slice(5)}=${String(value)}`)
    lines.push(`${"  ".repeat(depth)}${span.name}${attributes.length > 0 ? `  (${attributes.join(", ")})` : ""}`)
    for (const event of span.events) {
      const what = Object.values(event.attributes ?? {})[0]
      lines.push(`${"  ".repeat(depth + 1)}· ${event.name} ${String(what)}`)
    }
    for (const child of children(span.spanContext().spanId)) walk(child, depth + 1)
  }
  // Only the calls that set a run going: the start, then the signal.
  for (const root of children(undefined)) if (children(root.spanContext().spanId).length > 0) walk(root, 0)
  return lines.join("\n")
}

/** Re-checks `check` between event-loop turns until it holds: waiting on state, not on time. */
const waitFor = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<void, E, R> =>
  Effect.flatMap(check, (done) => (done ? Effect.void : Effect.andThen(Effect.yieldNow, waitFor(check))))

program.pipe(
  Effect.provide(Layer.provideMerge(Layer.provideMerge(OrderLive, WorkflowEngine.layerMemory), Otel)),
  Effect.runPromise
)
