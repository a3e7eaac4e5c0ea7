/**
 * `npm run bench`: runs every workload against the selected engines (a warm-up, then several
 * measured runs each), prints medians next to their targets and writes them to `bench/results/`.
 *
 * Flags: `--only=W1,W3` (workload ids; `floor` for the floor row), `--engine=sqlite` (names, or
 * `all`; default: the engines marked `byDefault`), `--runs=5`, `--warmup=1` and `--warmup-ms=1000`
 * (unmeasured runs: at least this many, and for at least this long), `--no-save` (print only; use
 * it while profiling).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { createRequire } from "node:module"
import * as Os from "node:os"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { type BenchEngine, engines } from "./engines.js"
import { floor, FLOOR_STEPS, type Metric, now, type Workload, workloads } from "./workloads.js"

/** The command line. */
interface Args {
  readonly only: ReadonlySet<string> | undefined
  readonly engine: string | undefined
  readonly runs: number
  readonly warmup: number
  readonly warmupMs: number
  readonly save: boolean
}

/** A metric's median over the measured runs, judged against its target. */
interface MetricResult {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly digits: number
  readonly target: number | undefined
  readonly better: Metric["better"]
  readonly median: number
  readonly min: number
  readonly max: number
  readonly samples: ReadonlyArray<number>
  readonly pass: boolean | undefined
  /** How many bare floor steps one unit costs: the engine's overhead over the floor. */
  readonly vsFloor: number | undefined
}

/** One workload on one engine. */
interface WorkloadResult {
  readonly engine: string
  readonly workload: string
  readonly title: string
  readonly metrics: ReadonlyArray<MetricResult>
  /** Medians of the workload's extra counts, reported but not judged. */
  readonly checks: Readonly<Record<string, number>>
}

/** One line of the printed table, already formatted. */
interface Row {
  readonly engine: string
  readonly workload: string
  readonly metric: string
  readonly median: string
  readonly spread: string
  readonly target: string
  readonly result: string
  readonly vsFloor: string
}

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  const value = (name: string) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
  const only = value("only")
  return {
    only: only === undefined ? undefined : new Set(only.split(",").map((id) => id.trim())),
    engine: value("engine"),
    runs: Number(value("runs") ?? 5),
    warmup: Number(value("warmup") ?? 1),
    warmupMs: Number(value("warmup-ms") ?? 1_000),
    save: !argv.includes("--no-save")
  }
}

// `npm run bench` passes --expose-gc; when run some other way, expose it here so W4 still measures.
const exposeGc = () => {
  if (globalThis.gc !== undefined) return
  setFlagsFromString("--expose-gc")
  globalThis.gc = runInNewContext("gc")
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Runs `measure` unmeasured at least `warmup` times and for at least `warmupMs` (short workloads need
 * many runs before the JIT settles), then `runs` times; returns the measured runs. No forced
 * collection between runs: V8 shrinks the young generation after one, which makes the next run
 * several times slower.
 */
const repeat = <A, E>(measure: Effect.Effect<A, E>, args: Args): Effect.Effect<ReadonlyArray<A>, E> =>
  Effect.gen(function* () {
    const start = yield* now
    for (let i = 0; i < args.warmup || (yield* now) - start < args.warmupMs; i++) yield* measure
    return yield* Effect.forEach(Array.from({ length: args.runs }), () => measure)
  })

const judge = (
  metric: Metric,
  samples: ReadonlyArray<number>,
  floorStepsPerSecond: number | undefined,
  judged: boolean
): MetricResult => {
  const value = median(samples)
  const target = judged ? metric.target : undefined
  return {
    key: metric.key,
    label: metric.label,
    unit: metric.unit,
    digits: metric.digits,
    target,
    better: metric.better,
    median: value,
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
    pass: target === undefined ? undefined : metric.better === "higher" ? value >= target : value <= target,
    vsFloor: metric.vsFloor === undefined || floorStepsPerSecond === undefined
      ? undefined
      : metric.vsFloor(value, floorStepsPerSecond)
  }
}

const runWorkload = (
  engine: BenchEngine,
  workload: Workload,
  args: Args,
  floorStepsPerSecond: number | undefined
): Effect.Effect<WorkloadResult, unknown> =>
  Effect.gen(function* () {
    yield* Console.log(`  ${engine.name} ${workload.id}: ${workload.title}`)
    const runs = yield* repeat(workload.run(engine.layer), args)
    const column = (key: string) => runs.map((run) => run[key]!)
    const checks: Record<string, number> = {}
    for (const key of workload.checks ?? []) checks[key] = median(column(key))
    return {
      engine: engine.name,
      workload: workload.id,
      title: workload.title,
      metrics: workload.metrics.map((metric) => judge(metric, column(metric.key), floorStepsPerSecond, engine.judged)),
      checks
    }
  })

const format = (value: number, digits: number): string =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

const rowsOf = (result: WorkloadResult): ReadonlyArray<Row> =>
  result.metrics.map((metric) => ({
    engine: result.engine,
    workload: result.workload,
    metric: `${metric.label} (${metric.unit})`,
    median: format(metric.median, metric.digits),
    spread: `${format(metric.min, metric.digits)} .. ${format(metric.max, metric.digits)}`,
    target: metric.target === undefined
      ? "-"
      : `${metric.better === "higher" ? ">=" : "<="} ${format(metric.target, metric.digits)}`,
    result: metric.pass === undefined ? "-" : metric.pass ? "PASS" : "FAIL",
    vsFloor: metric.vsFloor === undefined ? "-" : `${format(metric.vsFloor, 1)}x`
  }))

const floorRow = (samples: ReadonlyArray<number>): Row => ({
  engine: "-",
  workload: "floor",
  metric: "bare Effect step (steps/s)",
  median: format(median(samples), 0),
  spread: `${format(Math.min(...samples), 0)} .. ${format(Math.max(...samples), 0)}`,
  target: "-",
  result: "-",
  vsFloor: "1.0x"
})

const table = (rows: ReadonlyArray<Row>): string => {
  const header: Row = {
    engine: "engine",
    workload: "workload",
    metric: "metric",
    median: "median",
    spread: "min .. max",
    target: "target",
    result: "result",
    vsFloor: "x floor"
  }
  const columns = Object.keys(header) as ReadonlyArray<keyof Row>
  const numeric: ReadonlySet<keyof Row> = new Set(["median", "spread", "target", "vsFloor"])
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)))
  const line = (row: Row) =>
    columns
      .map((column, i) => (numeric.has(column) ? row[column].padStart(widths[i]!) : row[column].padEnd(widths[i]!)))
      .join("  ")
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n")
}

const environment = () => {
  const require = createRequire(import.meta.url)
  const cpus = Os.cpus()
  return {
    node: process.version,
    effect: (require("effect/package.json") as { readonly version: string }).version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    loadAverage: Os.loadavg()
  }
}

const save = (report: object, timestamp: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = path.join(path.dirname(yield* path.fromFileUrl(new URL(import.meta.url))), "results")
    yield* fs.makeDirectory(dir, { recursive: true })
    const json = `${JSON.stringify(report, null, 2)}\n`
    const file = path.join(dir, `${timestamp.replace(/[:.]/g, "-")}.json`)
    yield* fs.writeFileString(file, json)
    yield* fs.writeFileString(path.join(dir, "latest.json"), json)
    return path.relative(process.cwd(), file)
  })

const main = Effect.gen(function* () {
  exposeGc()
  const args = parseArgs(process.argv.slice(2))
  const timestamp = new Date().toISOString()
  const started = yield* now
  const selected = workloads.filter((workload) => args.only === undefined || args.only.has(workload.id))
  const measured = engines.filter((engine) =>
    args.engine === undefined ? engine.byDefault : args.engine === "all" || args.engine.split(",").includes(engine.name)
  )
  yield* Console.log(
    `Weft bench: warm-up (>= ${args.warmup} run(s), >= ${args.warmupMs} ms), then ${args.runs} measured runs each`
  )

  const floorRuns = args.only === undefined || args.only.has("floor") ? yield* repeat(floor, args) : []
  const floorStepsPerSecond = floorRuns.length === 0 ? undefined : median(floorRuns)
  const results: Array<WorkloadResult> = []
  for (const engine of measured) {
    for (const workload of selected) results.push(yield* runWorkload(engine, workload, args, floorStepsPerSecond))
  }

  const rows = [...(floorRuns.length === 0 ? [] : [floorRow(floorRuns)]), ...results.flatMap(rowsOf)]
  yield* Console.log(`\n${table(rows)}`)
  yield* Console.log("x floor: time per step (or the inverse of throughput) over the floor's, per the floor row")
  for (const result of results) {
    const checks = Object.entries(result.checks).map(([key, value]) => `${key} ${format(value, 1)}`)
    if (checks.length > 0) yield* Console.log(`${result.engine} ${result.workload}: ${checks.join(", ")}`)
  }
  const missed = results.flatMap((result) => result.metrics).filter((metric) => metric.pass === false).length
  const durationMs = (yield* now) - started
  yield* Console.log(`\n${missed} target(s) missed; took ${format(durationMs / 1_000, 1)} s`)

  if (args.save) {
    const file = yield* save({
      timestamp,
      environment: environment(),
      runs: args.runs,
      warmup: { runs: args.warmup, ms: args.warmupMs },
      durationMs,
      floor: floorStepsPerSecond === undefined
        ? undefined
        : { steps: FLOOR_STEPS, stepsPerSecond: floorStepsPerSecond, samples: floorRuns },
      results
    }, timestamp)
    yield* Console.log(`wrote ${file} and bench/results/latest.json`)
  }
})

NodeRuntime.runMain(main.pipe(Effect.provide(NodeContext.layer)))
