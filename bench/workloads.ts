/**
 * The benchmark workloads (W1–W6). Each runs once per call against a fresh store of an engine and
 * returns that run's numbers: its metrics, and on SQL engines the statements it sent per unit of work.
 * `roundTrips` breaks the statements of W2 and W3 down by kind.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { FiberRuntimeMetrics, type FiberRuntimeMetricsService } from "effect/Metric"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SqlClient from "effect/sql/SqlClient"
import { spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Activity, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { type Floor, now, pgConnections, pgEngine, type Ready, type Sizes } from "./engines.js"
import * as Cpu from "./cpu.js"
import * as Statements from "./statements.js"

/** A target: a number, or one that follows from the engine's floor. */
export type Target = number | ((floor: Floor) => number)

/** One number a workload reports, with its targets. */
export interface Metric {
  readonly key: string
  readonly label: string
  readonly unit: string
  /** Targets by engine name; an engine without one is only reported. */
  readonly targets?: Readonly<Record<string, Target>> | undefined
  /** Whether a measured value passes when it is at least (`higher`) or at most (`lower`) the target. */
  readonly better: "higher" | "lower"
  readonly digits: number
  /** How many floor steps (or commits) one unit of this metric costs. */
  readonly vsFloor?: ((value: number, floor: Floor) => number) | undefined
  /** Only measured on engines whose executions outlive the process. */
  readonly durableOnly?: boolean | undefined
}

/** One workload: its metrics and one measured run against an engine. */
export interface Workload {
  readonly id: string
  readonly title: (sizes: Sizes) => string
  readonly metrics: ReadonlyArray<Metric>
  /** Only for engines whose executions outlive the process. */
  readonly durableOnly?: boolean | undefined
  /** Only on these engines, by name (a workload of one back-end's features). */
  readonly engines?: ReadonlyArray<string> | undefined
  /** At most this many measured runs, without warm-up (a workload that runs in fresh processes). */
  readonly fixedRuns?: number | undefined
  /** At most this many measured runs on a durable engine (a long workload that measures no latency). */
  readonly durableRuns?: number | undefined
  /** Numbers a run returns beyond its metrics are reported, not judged (statements per activity, …). */
  readonly run: (engine: Ready) => Effect.Effect<Readonly<Record<string, number>>, unknown>
}

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

const check = (ok: boolean, what: string): Effect.Effect<void> => (ok ? Effect.void : Effect.die(new Error(what)))

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!

/** Where a workload's counted stretch starts and (when it is not the end of the run) stops. */
interface Marks {
  readonly start: Effect.Effect<void>
  readonly stop: Effect.Effect<void>
}

/**
 * Runs `measure` (which returns its own metrics) with the store layer of a fresh store, and on SQL
 * engines adds the statements and commits sent between `marks.start` and `marks.stop` (or the end),
 * per `units` of work.
 */
const counted = (
  engine: Ready,
  unit: string,
  units: number,
  measure: (marks: Marks) => Effect.Effect<Record<string, number>, unknown, WorkflowEngine.WorkflowEngine>,
  live: Layer.Layer<never, never, WorkflowEngine.WorkflowEngine>
): Effect.Effect<Record<string, number>, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* engine.fresh
      let before = Statements.tally()
      let after: Statements.Tally | undefined
      const marks: Marks = {
        start: Effect.sync(() => {
          before = Statements.tally()
        }),
        stop: Effect.sync(() => {
          after = Statements.tally()
        })
      }
      const metrics = yield* measure(marks).pipe(Effect.provide(Layer.provideMerge(live, store.layer)))
      if (!engine.durable) return metrics
      const sent = Statements.since(before, after)
      return { ...metrics, [`statements/${unit}`]: sent.statements / units, [`commits/${unit}`]: sent.commits / units }
    })
  )

const ADJACENT_COMMITS = 100

/**
 * Milliseconds per single-row INSERT commit through the engine's own driver (PostgreSQL: the `PgDriver`
 * pool its statements use; SQLite: its SqlClient), on the run's own database, right now: the floor next
 * to a measurement, so load that comes and goes on a shared machine moves both alike. None on an engine
 * without a SqlClient.
 */
const adjacentCommitMs: Effect.Effect<number | undefined, unknown> = Effect.gen(function* () {
  const client = yield* Effect.serviceOption(SqlClient.SqlClient)
  if (Option.isNone(client)) return undefined
  const { PgDriver } = yield* pgEngine
  const driver = yield* Effect.serviceOption(PgDriver.PgDriver)
  if (Option.isSome(driver)) {
    yield* driver.value.queryText("CREATE TABLE IF NOT EXISTS bench_commit (id BIGSERIAL, v TEXT)", [])
    const start = yield* now
    for (let i = 0; i < ADJACENT_COMMITS; i++) yield* driver.value.queryText("INSERT INTO bench_commit (v) VALUES ($1)", ["x"])
    return ((yield* now) - start) / ADJACENT_COMMITS
  }
  const sql = client.value
  const id = sql.onDialectOrElse({ pg: () => "BIGSERIAL", orElse: () => "INTEGER PRIMARY KEY" })
  yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS bench_commit (id ${id}, v TEXT)`)
  const start = yield* now
  for (let i = 0; i < ADJACENT_COMMITS; i++) yield* sql`INSERT INTO bench_commit (v) VALUES (${"x"})`
  return ((yield* now) - start) / ADJACENT_COMMITS
})

// W1: throughput of many short workflows at once.
const W1_ACTIVITIES = 10
const w1Steps = numbered("step", W1_ACTIVITIES)
const W1Flow = Workflow.make({ name: "bench/W1", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W1Live = W1Flow.toLayer(() => sequence(w1Steps))
const W1_SUM = (W1_ACTIVITIES * (W1_ACTIVITIES - 1)) / 2

// W2: start-to-result latency of the smallest workflow.
const w2Step = Activity.make({ name: "only", success: Schema.Number, execute: Effect.succeed(1) })
const W2Flow = Workflow.make({ name: "bench/W2", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W2Live = W2Flow.toLayer(() => w2Step)

// W3: the per-step cost inside one long execution (the same size on every engine).
const W3_ACTIVITIES = 1_000
const w3Steps = numbered("link", W3_ACTIVITIES)
const W3Flow = Workflow.make({ name: "bench/W3", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const W3Live = W3Flow.toLayer(() => sequence(w3Steps))
const W3_SUM = (W3_ACTIVITIES * (W3_ACTIVITIES - 1)) / 2

// W4: what a suspended execution costs while it waits. Only the V8 heap counts: a SQL store's rows
// live in the database (or SQLite's native memory), so there the number is the engine's own share.
const Approval = DurableDeferred.make("approval", { success: Schema.Boolean })
const W4_SIGNALS = 100
const W4Flow = Workflow.make({ name: "bench/W4", payload: byId, success: Schema.Boolean, idempotencyKey: idKey })
const W4Live = W4Flow.toLayer(() => DurableDeferred.await(Approval))

const countSuspended = (limit: number) =>
  Effect.map(WorkflowEngine.list({ workflow: W4Flow.name, status: "suspended", limit }), (page) => page.items.length)

// Polls the store until `count` executions are suspended. In memory it polls between scheduler turns
// (no timed sleeps), so the runs it waits for make progress; on SQL it pauses 20 ms between queries.
const awaitSuspended = (
  count: number,
  durable: boolean,
  polls = 0
): Effect.Effect<number, unknown, WorkflowEngine.WorkflowEngine> =>
  Effect.flatMap(countSuspended(count), (suspended) =>
    suspended >= count
      ? Effect.succeed(polls)
      : Effect.andThen(
        durable ? Effect.sleep("20 millis") : Effect.repeat(Effect.yieldNow, { times: 63 }),
        awaitSuspended(count, durable, polls + 1)
      ))

/**
 * Counts the live fibers started inside a region: effect 4 has no `Supervisor`, but it reports every fiber's
 * start and end to the `Metric.FiberRuntimeMetrics` service in its context, which fibers forked there inherit.
 */
interface FiberTracker {
  /** Fibers started under `track` and not yet ended. */
  readonly live: Effect.Effect<number>
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const fiberTracker = (): FiberTracker => {
  let live = 0
  const service: FiberRuntimeMetricsService = {
    recordFiberStart: () => {
      live++
    },
    recordFiberEnd: () => {
      live--
    }
  }
  return {
    live: Effect.sync(() => live),
    track: (effect) => Effect.provideService(effect, FiberRuntimeMetrics, service)
  }
}

// A run loop finishes a few steps after its store write; give live fibers a bounded time to end
// (scheduler turns in memory; up to 3 s of 5 ms pauses on SQL, where the last writes are I/O).
const settleFibers = (
  tracker: FiberTracker,
  baseline: number,
  durable: boolean,
  turns = 0
): Effect.Effect<number> =>
  Effect.flatMap(tracker.live, (fibers) =>
    fibers <= baseline || turns >= (durable ? 600 : 1_000)
      ? Effect.succeed(fibers - baseline)
      : Effect.andThen(
        durable ? Effect.sleep("5 millis") : Effect.yieldNow,
        settleFibers(tracker, baseline, durable, turns + 1)
      ))

// W5: a worker is SIGKILLed right after activity 2 of 5 is recorded; a new one finishes the execution.
const W5_ACTIVITIES = 5
const W5_KILL_AFTER = "step-2"
const W5_CHILD = join(dirname(fileURLToPath(import.meta.url)), "w5-child.ts")
const W5_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const W5_TIMEOUT_MS = 30_000

// W6: three workers in one process, each a PgEngine of its own (own pools, own owner name) on one database, drain
// a backlog of 1-activity executions queued by a submit-only engine. A trigger logs each claim taken from another
// owner: every worker lives throughout, so each is a takeover from a live worker (a lease that ran out on it).
const W6_WORKERS = 3
const W6Flow = Workflow.make({ name: "bench/W6", payload: byId, success: Schema.Number, idempotencyKey: idKey })

/** Worker `worker`'s registration of W6, counting the bodies it runs (one per execution, unless one runs again). */
const w6Live = (bodies: Array<number>, worker: number) => {
  const step = Activity.make({
    name: "only",
    success: Schema.Number,
    execute: Effect.sync(() => {
      bodies[worker]!++
      return 1
    })
  })
  return W6Flow.toLayer(() => step)
}

/** Made once the engine's tables exist: the log of claims that changed hands between two owners. */
const W6_TAKEOVER_LOG = [
  "CREATE TABLE bench_takeovers (execution_id TEXT NOT NULL, old_owner TEXT NOT NULL, owner TEXT NOT NULL)",
  `CREATE FUNCTION bench_log_takeover() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
     INSERT INTO bench_takeovers VALUES (NEW.execution_id, OLD.owner, NEW.owner);
     RETURN NEW;
   END $$`,
  `CREATE TRIGGER bench_log_takeover AFTER UPDATE ON weft_executions FOR EACH ROW
     WHEN (NEW.fence <> OLD.fence AND OLD.owner IS NOT NULL AND NEW.owner IS NOT NULL AND NEW.owner <> OLD.owner)
     EXECUTE FUNCTION bench_log_takeover()`
]

/** Wall-clock milliseconds, to compare times across processes. */
export const wallClock = (): number => performance.timeOrigin + performance.now()

interface ChildRun {
  readonly lines: ReadonlyArray<string>
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Runs the W5 worker with `env` until it exits (or `W5_TIMEOUT_MS`, when it is killed). */
const runChild = (env: Record<string, string>): Effect.Effect<ChildRun, Error> =>
  Effect.callback<ChildRun, Error>((resume) => {
    const child = spawn(process.execPath, ["--conditions=@weft/source", "--import", "tsx", W5_CHILD], {
      cwd: W5_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), W5_TIMEOUT_MS)
    child.on("error", (error) => {
      clearTimeout(timer)
      resume(Effect.fail(error))
    })
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code !== 0 && code !== null) resume(Effect.fail(new Error(`W5 worker exited ${code}: ${err.slice(-2_000)}`)))
      else resume(Effect.succeed({ lines: out.split("\n").filter((line) => line !== ""), code, signal }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const lineValue = (lines: ReadonlyArray<string>, word: string): Array<string> | undefined =>
  lines.find((line) => line.startsWith(`${word} `))?.split(" ").slice(1)

let w5Runs = 0

const perCommit = (ms: number, floor: Floor) => ms / (1_000 / floor.serial)

/**
 * What PostgreSQL committed on this machine when its targets were set: 0.22 ms per single-row commit
 * from one client, 10,300 commits/s from 50. The disk and CPU it shares with other work vary over
 * hours by 2-3x, so each target is also judged as the same ratio to the floor measured in the run.
 */
const TARGET_COMMIT_MS = 0.22
const TARGET_CONCURRENT_COMMITS = 10_300

/** W1–W5, in table order. */
export const workloads: ReadonlyArray<Workload> = [
  {
    id: "W1",
    title: (s) => `${s.w1Workflows} workflows x ${W1_ACTIVITIES} activities, concurrency ${s.w1Concurrency}`,
    metrics: [
      {
        key: "activitiesPerSecond",
        label: "throughput",
        unit: "activities/s",
        targets: { memory: 100_000, postgres: 10_000 },
        better: "higher",
        digits: 0,
        vsFloor: (value, floor) => floor.concurrent / value
      },
      {
        // The same target at the speed this run's 50-client floor commits: 10,000 x floor / 10,300.
        key: "activitiesPerSecond",
        label: "throughput, target scaled to floor",
        unit: "activities/s",
        targets: { postgres: (floor) => (10_000 * floor.concurrent) / TARGET_CONCURRENT_COMMITS },
        better: "higher",
        digits: 0,
        durableOnly: true
      }
    ],
    run: (engine) => {
      const { w1Concurrency, w1Workflows } = engine.sizes
      return counted(engine, "activity", w1Workflows * W1_ACTIVITIES, (marks) =>
        Effect.gen(function* () {
          const ids = Array.from({ length: w1Workflows }, (_, id) => id)
          yield* marks.start
          const start = yield* now
          const cpu = Cpu.sample(engine.name === "postgres")
          yield* Effect.forEach(
            ids,
            (id) => Effect.flatMap(W1Flow.execute({ id }), (sum) => check(sum === W1_SUM, `W1: wrong result ${sum}`)),
            { concurrency: w1Concurrency, discard: true }
          )
          const seconds = ((yield* now) - start) / 1_000
          const activities = w1Workflows * W1_ACTIVITIES
          return { activitiesPerSecond: activities / seconds, ...Cpu.perUnit(cpu, Cpu.sample(engine.name === "postgres"), activities) }
        }), W1Live)
    }
  },
  {
    id: "W2",
    title: (s) => `start -> result latency, 1-activity workflow, ${s.w2Executions} sequential`,
    metrics: [
      {
        key: "p50",
        label: "p50",
        unit: "ms",
        targets: { memory: 0.05, postgres: 1.5 },
        better: "lower",
        digits: 4,
        vsFloor: perCommit
      },
      { key: "p99", label: "p99", unit: "ms", targets: { postgres: 8 }, better: "lower", digits: 4, vsFloor: perCommit },
      {
        // The same targets as multiples of single-row commits timed on the run's own database just
        // before and after it (as W3's): 1.5 ms and 8 ms over 0.22 ms.
        key: "p50PerAdjacentCommit",
        label: "p50 / adjacent commit",
        unit: "x",
        targets: { postgres: 1.5 / TARGET_COMMIT_MS },
        better: "lower",
        digits: 2,
        durableOnly: true
      },
      {
        key: "p99PerAdjacentCommit",
        label: "p99 / adjacent commit",
        unit: "x",
        targets: { postgres: 8 / TARGET_COMMIT_MS },
        better: "lower",
        digits: 2,
        durableOnly: true
      }
    ],
    run: (engine) => {
      const executions = engine.sizes.w2Executions
      return counted(engine, "workflow", executions, (marks) =>
        Effect.gen(function* () {
          const samples: Array<number> = []
          const before = yield* adjacentCommitMs
          yield* marks.start
          for (let id = 0; id < executions; id++) {
            const start = yield* now
            const result = yield* W2Flow.execute({ id })
            samples.push((yield* now) - start)
            yield* check(result === 1, `W2: wrong result ${result}`)
          }
          yield* marks.stop
          const after = yield* adjacentCommitMs
          samples.sort((a, b) => a - b)
          const p50 = quantile(samples, 0.5)
          const p99 = quantile(samples, 0.99)
          if (before === undefined || after === undefined) return { p50, p99 }
          const commitMs = (before + after) / 2
          return { p50, p99, p50PerAdjacentCommit: p50 / commitMs, p99PerAdjacentCommit: p99 / commitMs, adjacentCommitMs: commitMs }
        }), W2Live)
    }
  },
  {
    id: "W3",
    title: () => `one workflow, ${W3_ACTIVITIES} sequential activities`,
    metrics: [
      {
        key: "msPerActivity",
        label: "per activity",
        unit: "ms",
        targets: { memory: 0.01 },
        better: "lower",
        digits: 4,
        vsFloor: perCommit
      },
      {
        // The PostgreSQL target: at most 1.5 single-row commits of the same client, measured on the
        // run's own database just before and after it (robust to load that comes and goes).
        key: "perAdjacentCommit",
        label: "per activity / adjacent commit",
        unit: "x",
        targets: { postgres: 1.5 },
        better: "lower",
        digits: 2,
        durableOnly: true
      }
    ],
    run: (engine) =>
      counted(engine, "activity", W3_ACTIVITIES, (marks) =>
        Effect.gen(function* () {
          const before = yield* adjacentCommitMs
          yield* marks.start
          const start = yield* now
          const sum = yield* W3Flow.execute({ id: 0 })
          const elapsed = (yield* now) - start
          yield* marks.stop
          const after = yield* adjacentCommitMs
          yield* check(sum === W3_SUM, `W3: wrong result ${sum}`)
          const msPerActivity = elapsed / W3_ACTIVITIES
          if (before === undefined || after === undefined) return { msPerActivity }
          const commitMs = (before + after) / 2
          return { msPerActivity, perAdjacentCommit: msPerActivity / commitMs, adjacentCommitMs: commitMs }
        }), W3Live)
  },
  {
    id: "W4",
    title: (s) => `${s.w4Executions} executions suspended on a DurableDeferred`,
    durableRuns: 3,
    metrics: [
      {
        key: "bytesPerExecution",
        label: "heap",
        unit: "bytes/execution",
        targets: { memory: 1_000, postgres: 1_000 },
        better: "lower",
        digits: 0
      },
      {
        key: "fibersHeld",
        label: "fibers held",
        unit: "fibers",
        targets: { memory: 0, postgres: 0 },
        better: "lower",
        digits: 0
      },
      // Then some of them, one at a time: a token completes the deferred, the caller awaits the result.
      { key: "signalP50Ms", label: `signal -> result p50, ${W4_SIGNALS} one by one`, unit: "ms", better: "lower", digits: 3 }
    ],
    run: (engine) => {
      const executions = engine.sizes.w4Executions
      const durable = engine.durable
      return Effect.suspend(() => {
        const tracker = fiberTracker()
        // The engine is built inside the tracked region, so its own fibers count in the baseline.
        return counted(engine, "execution", executions, (marks) =>
          Effect.gen(function* () {
            // Let the engine's timer loop reach its wait (it forks a race) before counting.
            yield* Effect.repeat(Effect.yieldNow, { times: 63 })
            if (durable) yield* Effect.sleep("50 millis")
            yield* collect
            const baselineFibers = yield* tracker.live
            const before = process.memoryUsage().heapUsed
            yield* marks.start
            const start = yield* now
            yield* Effect.forEach(
              Array.from({ length: executions }, (_, id) => id),
              (id) => W4Flow.execute({ id }, { discard: true }),
              { discard: true }
            )
            const polls = yield* awaitSuspended(executions, durable)
            const suspendMs = (yield* now) - start
            const fibersHeld = yield* settleFibers(tracker, baselineFibers, durable)
            yield* collect
            const after = process.memoryUsage().heapUsed
            yield* marks.stop
            const latencies: Array<number> = []
            const signals = Math.min(W4_SIGNALS, executions)
            const sent = Statements.tally()
            for (let id = 0; id < signals; id++) {
              const executionId = yield* W4Flow.executionId({ id })
              const started = yield* now
              const token = yield* DurableDeferred.tokenFor(Approval, { workflow: W4Flow.name, executionId })
              yield* DurableDeferred.succeed(Approval, { token, value: true })
              yield* check((yield* W4Flow.execute({ id })) === true, "W4: an approved execution returns true")
              latencies.push((yield* now) - started)
            }
            latencies.sort((a, b) => a - b)
            const signalled = Statements.since(sent)
            return {
              ...(durable ? { "statements/signal": signalled.statements / signals, "commits/signal": signalled.commits / signals } : {}),
              bytesPerExecution: (after - before) / executions,
              fibersHeld,
              suspendMs,
              polls,
              signalP50Ms: quantile(latencies, 0.5)
            }
          }), W4Live).pipe(tracker.track)
      })
    }
  },
  {
    id: "W5",
    title: () =>
      `SIGKILL right after activity 2 of ${W5_ACTIVITIES} is recorded, restart (leaseMs 500): ` +
      "body runs, restart -> result",
    durableOnly: true,
    fixedRuns: 3,
    metrics: [
      { key: "restartMs", label: "restart -> result", unit: "ms", better: "lower", digits: 0 },
      { key: "recoverMs", label: "engine up -> result", unit: "ms", better: "lower", digits: 1 },
      { key: "reruns", label: "bodies run again", unit: "runs", targets: { postgres: 0 }, better: "lower", digits: 0 }
    ],
    run: (engine) =>
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* engine.fresh
          const log = join(tmpdir(), `weft-bench-w5-${process.pid}-${w5Runs++}.log`)
          yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(log, { force: true })))
          const env = { WEFT_BENCH_DB: store.spec!, WEFT_BENCH_LOG: log, WEFT_BENCH_KEY: "w5" }
          const first = yield* runChild({ ...env, WEFT_BENCH_KILL: W5_KILL_AFTER })
          yield* check(first.signal === "SIGKILL", `W5: the first worker was not killed (${first.lines.join(" | ")})`)
          const spawned = wallClock()
          const second = yield* runChild(env)
          const up = Number(lineValue(second.lines, "up")?.[0])
          const [at, value] = lineValue(second.lines, "result") ?? []
          yield* check(value === "s1/s2/s3/s4/s5", `W5: wrong result ${value} (${second.lines.join(" | ")})`)
          const runs = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((line) => line !== "") : []
          const per: Record<string, number> = {}
          for (let n = 1; n <= W5_ACTIVITIES; n++) per[`runs step-${n}`] = runs.filter((r) => r === `step-${n}`).length
          return {
            restartMs: Number(at) - spawned,
            recoverMs: Number(at) - up,
            reruns: runs.length - W5_ACTIVITIES,
            startMs: up - spawned,
            ...per
          }
        })
      )
  },
  {
    id: "W6",
    title: (s) =>
      `${W6_WORKERS} workers in one process (a PgEngine each) drain ${s.w6Executions} queued 1-activity executions`,
    durableOnly: true,
    engines: ["postgres"],
    durableRuns: 3,
    metrics: [
      { key: "executionsPerSecond", label: "throughput", unit: "executions/s", better: "higher", digits: 0 },
      {
        key: "takeovers",
        label: "takeovers from live workers",
        unit: "claims",
        targets: { postgres: 0 },
        better: "lower",
        digits: 0
      }
    ],
    run: (engine) => w6Run(engine)
  }
]

// ---------------------------------------------------------------------------------------------
// W6, one run

const w6Run = (engine: Ready): Effect.Effect<Record<string, number>, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const executions = engine.sizes.w6Executions
      const store = yield* engine.fresh
      const url = store.spec!.replace(/^pg:/, "")
      const { PgEngine } = yield* pgEngine
      // The submitter migrates the database, then queues every execution before any worker starts.
      const submitter = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, maxConnections: 8 }))
      const sql = Context.get(submitter, SqlClient.SqlClient)
      for (const statement of W6_TAKEOVER_LOG) yield* sql.unsafe(statement)
      const queueing = yield* now
      yield* Effect.forEach(
        Array.from({ length: executions }, (_, id) => id),
        (id) => W6Flow.execute({ id }, { discard: true }),
        { concurrency: 32, discard: true }
      ).pipe(Effect.provideContext(submitter))
      const start = yield* now
      const bodies = Array.from({ length: W6_WORKERS }, () => 0)
      const connections = Math.max(2, Math.floor(pgConnections() / W6_WORKERS))
      yield* Effect.forEach(
        bodies.map((_, worker) => worker),
        (worker) =>
          Layer.build(
            w6Live(bodies, worker).pipe(
              Layer.provideMerge(PgEngine.layer({ url, owner: `w${worker + 1}`, maxConnections: connections }))
            )
          ),
        { concurrency: "unbounded", discard: true }
      )
      const up = yield* now
      for (;;) {
        const [done] = yield* sql<{ readonly n: number }>`
          SELECT count(*)::int AS n FROM weft_executions WHERE status = 'succeeded'`
        if (done!.n >= executions) break
        yield* Effect.sleep("10 millis")
      }
      const drainMs = (yield* now) - start
      const [takeovers] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM bench_takeovers`
      const ran = bodies.reduce((a, b) => a + b, 0)
      return {
        executionsPerSecond: executions / (drainMs / 1_000),
        takeovers: takeovers!.n,
        queueMs: start - queueing,
        workersUpMs: up - start,
        reruns: ran - executions,
        "least worker share": Math.min(...bodies) / ran,
        "most worker share": Math.max(...bodies) / ran
      }
    })
  )

// ---------------------------------------------------------------------------------------------
// Round trips by kind

const RT_W2_EXECUTIONS = 50
const RT_W3_ACTIVITIES = 400
const RT_W3_FROM = 100
const RT_W3_TO = 300

const rtMarks = new Map<number, Statements.Tally>()
const rtSteps = Array.from({ length: RT_W3_ACTIVITIES }, (_, i) =>
  Activity.make({
    name: `rt-${i}`,
    success: Schema.Number,
    execute: i === RT_W3_FROM || i === RT_W3_TO
      ? Effect.sync(() => {
        rtMarks.set(i, Statements.tally(true))
        return i
      })
      : Effect.succeed(i)
  }))
const RtW3Flow = Workflow.make({ name: "bench/RT-W3", payload: byId, success: Schema.Number, idempotencyKey: idKey })
const RtW3Live = RtW3Flow.toLayer(() => sequence(rtSteps))

/** Statements (and commits) per unit, broken down by kind. */
export interface RoundTrips {
  readonly unit: string
  readonly units: number
  readonly statements: number
  readonly commits: number
  readonly byKind: Readonly<Record<string, number>>
}

const perUnit = (tally: Statements.Tally, unit: string, units: number): RoundTrips => ({
  unit,
  units,
  statements: tally.statements / units,
  commits: tally.commits / units,
  byKind: Object.fromEntries(
    [...tally.byKind].sort((a, b) => b[1] - a[1]).map(([kind, n]) => [kind, n / units])
  )
})

/**
 * What one unit of work sends, by statement kind, on a fresh store: a W2 workflow (start -> result,
 * one activity), a W3 activity in steady state (activities 100..300 of 400, counted from inside the
 * bodies) and a whole 400-activity W3 execution per activity. The engine's timer loop keeps polling
 * meanwhile (its statements show as their own kinds).
 */
export const roundTrips = (engine: Ready): Effect.Effect<Readonly<Record<string, RoundTrips>>, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const store = yield* engine.fresh
      return yield* Effect.gen(function* () {
        for (let id = 0; id < 5; id++) yield* W2Flow.execute({ id: -1 - id })
        const w2Before = Statements.tally(true)
        for (let id = 0; id < RT_W2_EXECUTIONS; id++) yield* W2Flow.execute({ id })
        const w2 = Statements.since(w2Before)
        rtMarks.clear()
        const w3Before = Statements.tally(true)
        yield* RtW3Flow.execute({ id: 0 })
        const w3 = Statements.since(w3Before)
        const steady = Statements.since(rtMarks.get(RT_W3_FROM)!, rtMarks.get(RT_W3_TO)!)
        return {
          "W2 (per workflow)": perUnit(w2, "workflow", RT_W2_EXECUTIONS),
          "W3 steady state (per activity)": perUnit(steady, "activity", RT_W3_TO - RT_W3_FROM),
          [`W3 whole execution of ${RT_W3_ACTIVITIES} (per activity)`]: perUnit(w3, "activity", RT_W3_ACTIVITIES)
        }
      }).pipe(Effect.provide(Layer.provideMerge(Layer.mergeAll(W2Live, RtW3Live), store.layer)))
    })
  )
