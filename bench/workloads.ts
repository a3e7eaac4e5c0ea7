/**
 * The benchmark workloads (W1–W4) and the floor they are compared with. Each workload runs once
 * per call against a freshly built engine layer and returns its metrics for that run.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Supervisor from "effect/Supervisor"
import { Activity, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"

/** One number a workload reports, with its target. */
export interface Metric {
  readonly key: string
  readonly label: string
  readonly unit: string
  /** None for a number that is only reported. */
  readonly target?: number | undefined
  /** Whether a measured value passes when it is at least (`higher`) or at most (`lower`) the target. */
  readonly better: "higher" | "lower"
  readonly digits: number
  /** How many bare floor steps one unit of this metric costs, given the floor's steps per second. */
  readonly vsFloor?: ((value: number, floorStepsPerSecond: number) => number) | undefined
}

/** One workload: its metrics and one measured run against an engine layer. */
export interface Workload {
  readonly id: string
  readonly title: string
  readonly metrics: ReadonlyArray<Metric>
  /** Extra numbers the run returns, reported but not judged (how long W4 took to suspend). */
  readonly checks?: ReadonlyArray<string> | undefined
  readonly run: (
    engine: Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>
  ) => Effect.Effect<Readonly<Record<string, number>>, unknown>
}

/** Milliseconds from a monotonic clock. */
export const now: Effect.Effect<number> = Effect.sync(() => performance.now())

// A full collection; the runner makes sure `gc` is exposed.
const collect: Effect.Effect<void> = Effect.sync(() => {
  globalThis.gc?.()
  globalThis.gc?.()
})

const numbered = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) =>
    Activity.make({ name: `${prefix}-${i}`, success: Schema.Number, execute: Effect.succeed(i) })
  )

const byId = { id: Schema.Number }
const idKey = ({ id }: { readonly id: number }) => String(id)

const sequence = (activities: ReadonlyArray<Activity.Activity<typeof Schema.Number, typeof Schema.Never, never>>) =>
  Effect.gen(function* () {
    let sum = 0
    for (const activity of activities) sum += yield* activity
    return sum
  })

const check = (ok: boolean, what: string): Effect.Effect<void> => (ok ? Effect.void : Effect.dieMessage(what))

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

// W1: throughput of many short workflows at once.
const W1_WORKFLOWS = 2_000
const W1_ACTIVITIES = 10
const W1_CONCURRENCY = 50
const w1Steps = numbered("step", W1_ACTIVITIES)
const W1Flow = Workflow.make({ name: "bench/W1", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W1Live = W1Flow.toLayer(() => sequence(w1Steps))
const W1_SUM = (W1_ACTIVITIES * (W1_ACTIVITIES - 1)) / 2

// W2: start-to-result latency of the smallest workflow.
const W2_EXECUTIONS = 200
const w2Step = Activity.make({ name: "only", success: Schema.Number, execute: Effect.succeed(1) })
const W2Flow = Workflow.make({ name: "bench/W2", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W2Live = W2Flow.toLayer(() => w2Step)

// W3: the per-step cost inside one long execution.
const W3_ACTIVITIES = 1_000
const w3Steps = numbered("link", W3_ACTIVITIES)
const W3Flow = Workflow.make({ name: "bench/W3", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W3Live = W3Flow.toLayer(() => sequence(w3Steps))
const W3_SUM = (W3_ACTIVITIES * (W3_ACTIVITIES - 1)) / 2

// W4: what a suspended execution costs while it waits. Only the V8 heap counts: a SQL store's rows
// live in the database (or SQLite's native memory), so there the number is the engine's own share.
const W4_EXECUTIONS = 10_000
const Approval = DurableDeferred.make("approval", { success: Schema.Boolean })
const W4Flow = Workflow.make({ name: "bench/W4", payload: byId, success: Schema.Boolean, idempotencyKey: idKey })
const W4Live = W4Flow.toLayer(() => DurableDeferred.await(Approval))

const countSuspended = Effect.map(
  WorkflowEngine.list({ workflow: W4Flow.name, status: "suspended", limit: W4_EXECUTIONS }),
  (page) => page.items.length
)

// Polls the store between scheduler turns (no timed sleeps), so the runs it waits for make progress.
const awaitSuspended = (count: number, polls = 0): Effect.Effect<number, unknown, WorkflowEngine.WorkflowEngine> =>
  Effect.flatMap(countSuspended, (suspended) =>
    suspended >= count
      ? Effect.succeed(polls)
      : Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 63), awaitSuspended(count, polls + 1))
  )

// A run loop finishes a few steps after its store write; give live fibers a bounded number of turns to end.
const settleFibers = (
  tracker: Supervisor.Supervisor<Array<unknown>>,
  baseline: number,
  turns = 0
): Effect.Effect<number> =>
  Effect.flatMap(tracker.value, (fibers) =>
    fibers.length <= baseline || turns >= 1_000
      ? Effect.succeed(fibers.length - baseline)
      : Effect.zipRight(Effect.yieldNow(), settleFibers(tracker, baseline, turns + 1))
  )

const perFloorStep = (ms: number, floorStepsPerSecond: number) => ms / (1_000 / floorStepsPerSecond)

/** W1–W4, in table order. */
export const workloads: ReadonlyArray<Workload> = [
  {
    id: "W1",
    title: `${W1_WORKFLOWS} workflows x ${W1_ACTIVITIES} activities, concurrency ${W1_CONCURRENCY}`,
    metrics: [
      {
        key: "activitiesPerSecond",
        label: "throughput",
        unit: "activities/s",
        target: 100_000,
        better: "higher",
        digits: 0,
        vsFloor: (value, floor) => floor / value
      }
    ],
    run: (engine) =>
      Effect.gen(function* () {
        const ids = Array.from({ length: W1_WORKFLOWS }, (_, id) => id)
        const start = yield* now
        yield* Effect.forEach(
          ids,
          (id) => Effect.flatMap(W1Flow.execute({ id }), (sum) => check(sum === W1_SUM, `W1: wrong result ${sum}`)),
          { concurrency: W1_CONCURRENCY, discard: true }
        )
        const seconds = ((yield* now) - start) / 1_000
        return { activitiesPerSecond: (W1_WORKFLOWS * W1_ACTIVITIES) / seconds }
      }).pipe(Effect.provide(Layer.provideMerge(W1Live, engine)))
  },
  {
    id: "W2",
    title: `start -> result latency, 1-activity workflow, ${W2_EXECUTIONS} sequential`,
    metrics: [
      { key: "p50", label: "p50", unit: "ms", target: 0.05, better: "lower", digits: 4, vsFloor: perFloorStep },
      { key: "p99", label: "p99", unit: "ms", better: "lower", digits: 4 }
    ],
    run: (engine) =>
      Effect.gen(function* () {
        const samples: Array<number> = []
        for (let id = 0; id < W2_EXECUTIONS; id++) {
          const start = yield* now
          const result = yield* W2Flow.execute({ id })
          samples.push((yield* now) - start)
          yield* check(result === 1, `W2: wrong result ${result}`)
        }
        samples.sort((a, b) => a - b)
        return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) }
      }).pipe(Effect.provide(Layer.provideMerge(W2Live, engine)))
  },
  {
    id: "W3",
    title: `one workflow, ${W3_ACTIVITIES} sequential activities`,
    metrics: [
      {
        key: "msPerActivity",
        label: "per activity",
        unit: "ms",
        target: 0.01,
        better: "lower",
        digits: 4,
        vsFloor: perFloorStep
      }
    ],
    run: (engine) =>
      Effect.gen(function* () {
        const start = yield* now
        const sum = yield* W3Flow.execute({ id: 0 })
        const elapsed = (yield* now) - start
        yield* check(sum === W3_SUM, `W3: wrong result ${sum}`)
        return { msPerActivity: elapsed / W3_ACTIVITIES }
      }).pipe(Effect.provide(Layer.provideMerge(W3Live, engine)))
  },
  {
    id: "W4",
    title: `${W4_EXECUTIONS} executions suspended on a DurableDeferred`,
    metrics: [
      { key: "bytesPerExecution", label: "heap", unit: "bytes/execution", target: 1_000, better: "lower", digits: 0 },
      { key: "fibersHeld", label: "fibers held", unit: "fibers", target: 0, better: "lower", digits: 0 }
    ],
    checks: ["suspendMs", "polls"],
    run: (engine) =>
      Effect.gen(function* () {
        const tracker = yield* Supervisor.track
        // The engine is built inside the supervised region, so its own fibers count in the baseline.
        return yield* Effect.gen(function* () {
          // Let the engine's timer loop reach its wait (it forks a race) before counting.
          yield* Effect.repeatN(Effect.yieldNow(), 63)
          yield* collect
          const baselineFibers = (yield* tracker.value).length
          const before = process.memoryUsage().heapUsed
          const start = yield* now
          yield* Effect.forEach(
            Array.from({ length: W4_EXECUTIONS }, (_, id) => id),
            (id) => W4Flow.execute({ id }, { discard: true }),
            { discard: true }
          )
          const polls = yield* awaitSuspended(W4_EXECUTIONS)
          const suspendMs = (yield* now) - start
          const fibersHeld = yield* settleFibers(tracker, baselineFibers)
          yield* collect
          const after = process.memoryUsage().heapUsed
          return { bytesPerExecution: (after - before) / W4_EXECUTIONS, fibersHeld, suspendMs, polls }
        }).pipe(Effect.provide(Layer.provideMerge(W4Live, engine)), Effect.supervised(tracker))
      })
  }
]

/** Steps the floor takes per run: as many as W1's activities. */
export const FLOOR_STEPS = W1_WORKFLOWS * W1_ACTIVITIES

const floorEncode = Schema.encodeEither(
  Schema.Exit({ success: Schema.Number, failure: Schema.Never, defect: Schema.Defect })
)
const floorNames = Array.from({ length: FLOOR_STEPS }, (_, i) => `step-${i}`)

/**
 * The floor: the least a journaled step can cost in Effect. Per step it looks the name up in a
 * map, runs an `Effect.succeed`, encodes the Exit with a precompiled schema encoder (as the
 * runtime stores Exits) and stores it in a Map. Returns steps per second.
 */
export const floor: Effect.Effect<number> = Effect.gen(function* () {
  const journal = new Map<string, unknown>()
  const start = yield* now
  yield* Effect.forEach(
    floorNames,
    (name, i) =>
      Effect.flatMap(Effect.sync(() => journal.get(name)), (stored) =>
        stored !== undefined
          ? Effect.void
          : Effect.map(Effect.succeed(i), (value) => {
            journal.set(name, Either.getOrThrow(floorEncode(Exit.succeed(value))))
          })),
    { discard: true }
  )
  const seconds = ((yield* now) - start) / 1_000
  return FLOOR_STEPS / seconds
})
