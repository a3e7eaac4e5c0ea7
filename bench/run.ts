/**
 * `npm run bench`: measures each engine's floor, then runs every workload against it (a warm-up,
 * then several measured runs each, every run on a fresh store), prints medians next to their targets
 * and each engine's ratio to its floor, counts the SQL statements per unit of work, and writes it
 * all to `bench/results/`.
 *
 * Flags: `--only=W1,W3` (workload ids; `floor` for the floors, `rt` for the round-trip breakdown),
 * `--engine=sqlite,postgres` (names, or `all`; default: memory, sqlite and postgres when it
 * answers), `--runs=5`, `--warmup=1` and `--warmup-ms=1000` (unmeasured runs: at least this many,
 * and for at least this long), `--pg-connections=20` (the PostgreSQL engine's pool), `--no-save`
 * (print only; use it while profiling).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Path from "effect/Path"
import { createRequire } from "node:module"
import * as Os from "node:os"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { type BenchEngine, engines, type Floor, type FloorPart, FLOOR_STEPS, now, type Ready } from "./engines.js"
import * as Statements from "./statements.js"
import { type Metric, type RoundTrips, roundTrips, type Workload, workloads } from "./workloads.js"

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
  /** How many floor steps (or commits) one unit costs: the engine's overhead over its floor. */
  readonly vsFloor: number | undefined
}

/** One workload on one engine. */
interface WorkloadResult {
  readonly engine: string
  readonly workload: string
  readonly title: string
  readonly metrics: ReadonlyArray<MetricResult>
  /** Medians of the workload's other numbers, reported but not judged. */
  readonly checks: Readonly<Record<string, number>>
}

/** One floor rate, as measured: per-second samples. */
interface FloorSeries {
  readonly label: string
  /** Shown as a rate per second, or as milliseconds per step. */
  readonly as: "perSecond" | "ms"
  readonly unit: string
  readonly samples: ReadonlyArray<number>
  readonly median: number
}

/** Everything measured on one engine. */
interface EngineReport {
  readonly engine: string
  readonly where: string
  readonly sizes: BenchEngine["sizes"]
  readonly floor: { readonly serial: FloorSeries; readonly concurrent: FloorSeries | undefined } | undefined
  readonly results: ReadonlyArray<WorkloadResult>
  readonly roundTrips: Readonly<Record<string, RoundTrips>> | undefined
  readonly error: string | undefined
}

/** One line of the printed table, already formatted (a type, so it is a `Record<string, string>`). */
type Row = {
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
const repeat = <A, E>(
  measure: Effect.Effect<A, E>,
  args: Pick<Args, "runs" | "warmup" | "warmupMs">
): Effect.Effect<ReadonlyArray<A>, E> =>
  Effect.gen(function* () {
    const start = yield* now
    for (let i = 0; i < args.warmup || (yield* now) - start < args.warmupMs; i++) yield* measure
    return yield* Effect.forEach(Array.from({ length: args.runs }), () => measure)
  })

const judge = (
  metric: Metric,
  samples: ReadonlyArray<number>,
  engine: string,
  floor: Floor | undefined
): MetricResult => {
  const value = median(samples)
  const given = metric.targets?.[engine]
  const target = typeof given === "function" ? (floor === undefined ? undefined : given(floor)) : given
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
    vsFloor: metric.vsFloor === undefined || floor === undefined ? undefined : metric.vsFloor(value, floor)
  }
}

const runWorkload = (
  engine: Ready,
  workload: Workload,
  args: Args,
  floor: Floor | undefined
): Effect.Effect<WorkloadResult, unknown> =>
  Effect.gen(function* () {
    const title = workload.title(engine.sizes)
    yield* Console.log(`  ${engine.name} ${workload.id}: ${title}`)
    const cap = engine.durable ? workload.durableRuns : undefined
    const runs = yield* workload.fixedRuns !== undefined
      ? repeat(workload.run(engine), { runs: Math.min(args.runs, workload.fixedRuns), warmup: 0, warmupMs: 0 })
      : repeat(workload.run(engine), cap === undefined ? args : { ...args, runs: Math.min(args.runs, cap) })
    const metrics = workload.metrics.filter((metric) => metric.durableOnly !== true || engine.durable)
    const metricKeys = new Set(workload.metrics.map((metric) => metric.key))
    const checks: Record<string, number> = {}
    for (const key of Object.keys(runs[0] ?? {})) {
      if (!metricKeys.has(key)) checks[key] = median(runs.map((run) => run[key]!))
    }
    return {
      engine: engine.name,
      workload: workload.id,
      title,
      metrics: metrics.map((metric) =>
        judge(metric, runs.map((run) => run[metric.key]!), engine.name, floor)
      ),
      checks
    }
  })

const series = (label: string, as: FloorSeries["as"], unit: string, samples: ReadonlyArray<number>): FloorSeries => ({
  label,
  as,
  unit,
  samples,
  median: median(samples)
})

/** The engine's floor, its workloads and its round trips; a failure ends this engine, not the bench. */
const measureEngine = (engine: Ready, args: Args): Effect.Effect<EngineReport> => {
  let report: EngineReport = {
    engine: engine.name,
    where: engine.where,
    sizes: engine.sizes,
    floor: undefined,
    results: [],
    roundTrips: undefined,
    error: undefined
  }
  const wants = (id: string) => args.only === undefined || args.only.has(id)
  return Effect.gen(function* () {
    yield* Console.log(`${engine.name}: ${engine.where}`)
    if (wants("floor")) {
      yield* Console.log(`  ${engine.name} floor`)
      const floor = yield* Effect.scoped(Effect.gen(function* () {
        const probe = yield* engine.floor
        // Each half opens its own clients (50 connections only while they are measured).
        const measure = (part: FloorPart) => Effect.scoped(Effect.flatMap(part.open, (run) => repeat(run, args)))
        const serial = yield* measure(probe.serial)
        const concurrent = probe.concurrent === undefined ? undefined : yield* measure(probe.concurrent)
        return {
          serial: series(
            probe.serial.label,
            probe.serialAs,
            probe.serialAs === "ms" ? "ms" : "steps/s",
            serial
          ),
          concurrent: probe.concurrent === undefined || concurrent === undefined
            ? undefined
            : series(probe.concurrent.label, "perSecond", "commits/s", concurrent)
        }
      }))
      report = { ...report, floor }
    }
    const rates: Floor | undefined = report.floor === undefined ? undefined : {
      serial: report.floor.serial.median,
      concurrent: (report.floor.concurrent ?? report.floor.serial).median
    }
    const results: Array<WorkloadResult> = []
    for (const workload of workloads) {
      if (!wants(workload.id) || (workload.durableOnly === true && !engine.durable)) continue
      if (workload.engines !== undefined && !workload.engines.includes(engine.name)) continue
      results.push(yield* runWorkload(engine, workload, args, rates))
      report = { ...report, results: [...results] }
    }
    if (engine.durable && wants("rt")) {
      yield* Console.log(`  ${engine.name} round trips by statement kind`)
      report = { ...report, roundTrips: yield* roundTrips(engine) }
    }
    return report
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.as(
        Console.error(`${engine.name} failed; its remaining measurements are skipped:\n${Cause.pretty(cause)}`),
        { ...report, error: Cause.pretty(cause).split("\n")[0] }
      )
    )
  )
}

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

const floorRow = (engine: string, floor: FloorSeries): Row => {
  const shown = floor.as === "ms" ? floor.samples.map((rate) => 1_000 / rate) : floor.samples
  const digits = floor.as === "ms" ? 4 : 0
  return {
    engine,
    workload: "floor",
    metric: `${floor.label} (${floor.unit})`,
    median: format(median(shown), digits),
    spread: `${format(Math.min(...shown), digits)} .. ${format(Math.max(...shown), digits)}`,
    target: "-",
    result: "-",
    vsFloor: "1.0x"
  }
}

const table = <R extends Record<string, string>>(
  header: R,
  rows: ReadonlyArray<R>,
  left: ReadonlySet<keyof R>
): string => {
  const columns = Object.keys(header) as ReadonlyArray<keyof R>
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)))
  const line = (row: R) =>
    columns
      .map((column, i) => (left.has(column) ? row[column]!.padEnd(widths[i]!) : row[column]!.padStart(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n")
}

const resultsTable = (reports: ReadonlyArray<EngineReport>): string =>
  table<Row>(
    {
      engine: "engine",
      workload: "workload",
      metric: "metric",
      median: "median",
      spread: "min .. max",
      target: "target",
      result: "result",
      vsFloor: "x floor"
    },
    reports.flatMap((report) => [
      ...(report.floor === undefined
        ? []
        : [
          floorRow(report.engine, report.floor.serial),
          ...(report.floor.concurrent === undefined ? [] : [floorRow(report.engine, report.floor.concurrent)])
        ]),
      ...report.results.flatMap(rowsOf)
    ]),
    new Set(["engine", "workload", "metric", "result"])
  )

/** The statements of each probe, by kind, as one table. */
const roundTripTable = (probes: Readonly<Record<string, RoundTrips>>): string => {
  const names = Object.keys(probes)
  const kinds = [...new Set(names.flatMap((name) => Object.keys(probes[name]!.byKind)))]
  kinds.sort((a, b) => (probes[names[0]!]!.byKind[b] ?? 0) - (probes[names[0]!]!.byKind[a] ?? 0))
  const header: Record<string, string> = { kind: "statement kind" }
  names.forEach((name, i) => (header[`p${i}`] = name))
  const row = (kind: string, value: (probe: RoundTrips) => number | undefined): Record<string, string> => {
    const out: Record<string, string> = { kind }
    names.forEach((name, i) => {
      const v = value(probes[name]!)
      out[`p${i}`] = v === undefined ? "-" : format(v, 3)
    })
    return out
  }
  return table(
    header,
    [
      ...kinds.map((kind) => row(kind, (probe) => probe.byKind[kind])),
      row("= statements (round trips on PostgreSQL)", (probe) => probe.statements),
      row("  of which commits", (probe) => probe.commits)
    ],
    new Set(["kind"])
  )
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

const sizesLine = (report: EngineReport): string => {
  const s = report.sizes
  return `${report.engine}: W1 ${s.w1Workflows} workflows x 10 activities at concurrency ${s.w1Concurrency}, ` +
    `W2 ${s.w2Executions} executions, W3 1,000 activities, W4 ${s.w4Executions} executions` +
    (report.engine === "postgres" ? `, W6 ${s.w6Executions} executions on 3 workers` : "")
}

const main = Effect.gen(function* () {
  exposeGc()
  Statements.install()
  const args = parseArgs(process.argv.slice(2))
  const timestamp = new Date().toISOString()
  const started = yield* now
  const selected = engines.filter((engine) =>
    args.engine === undefined ? engine.byDefault : args.engine === "all" || args.engine.split(",").includes(engine.name)
  )
  yield* Console.log(
    `Weft bench: warm-up (>= ${args.warmup} run(s), >= ${args.warmupMs} ms), then ${args.runs} measured runs each ` +
      `(W4 on SQL: ${Math.min(args.runs, 3)}; W5: ${Math.min(args.runs, 3)}, no warm-up); every run on a fresh store`
  )

  const notes: Array<string> = []
  const cpus = Os.cpus().length
  const loadBefore = Os.loadavg()[0]!
  if (loadBefore > cpus / 2) {
    notes.push(`load average ${format(loadBefore, 2)} on ${cpus} CPUs at the start: other work shares the machine`)
  }
  const reports: Array<EngineReport> = []
  for (const engine of selected) {
    const ready = yield* engine.open
    if (typeof ready === "string") {
      notes.push(`${engine.name}: ${ready}`)
      yield* Console.log(`${engine.name}: ${ready}`)
      continue
    }
    reports.push(yield* measureEngine(ready, args))
  }

  yield* Console.log(`\n${resultsTable(reports)}`)
  yield* Console.log(
    [
      "x floor: memory: time per step (or the inverse of throughput) over a bare Effect step's.",
      "  SQL: W2, W3: time over one single-row INSERT commit of one client (floor row); W1: inverse throughput",
      "  over the 50-client commit rate (how many of those commits one activity costs). W2's and W3's postgres",
      "  targets are also judged per run against commits timed on the run's own database right before and after",
      "  it (adjacent), W1's against the floor: each as the ratio it had to the machine's commits when it was set",
      "  (0.22 ms per commit, 10,300 commits/s from 50 clients)."
    ].join("\n")
  )
  yield* Console.log("\nsizes:")
  for (const report of reports) yield* Console.log(`  ${sizesLine(report)}`)
  yield* Console.log("\nother numbers (medians):")
  for (const report of reports) {
    for (const result of report.results) {
      const checks = Object.entries(result.checks).map(([key, value]) =>
        `${key} ${format(value, key.includes("/") ? 2 : Number.isInteger(value) ? 0 : value < 1 ? 4 : 1)}`
      )
      if (checks.length > 0) yield* Console.log(`  ${result.engine} ${result.workload}: ${checks.join(", ")}`)
    }
  }
  for (const report of reports) {
    if (report.roundTrips === undefined) continue
    yield* Console.log(`\n${report.engine}: statements per unit of work, by kind (one counted pass, fresh store)`)
    yield* Console.log(roundTripTable(report.roundTrips))
  }
  for (const note of notes.filter((note) => !note.startsWith("load"))) yield* Console.log(`\nnote: ${note}`)
  for (const report of reports) {
    if (report.error !== undefined) yield* Console.log(`\nnote: ${report.engine} failed: ${report.error}`)
  }
  const loadAfter = Os.loadavg()[0]!
  if (loadAfter > cpus / 2) notes.push(`load average ${format(loadAfter, 2)} at the end`)
  for (const note of notes.filter((note) => note.startsWith("load"))) yield* Console.log(`\nnote: ${note}`)
  const missed = reports.flatMap((report) => report.results.flatMap((result) => result.metrics))
    .filter((metric) => metric.pass === false).length
  const durationMs = (yield* now) - started
  yield* Console.log(`\n${missed} target(s) missed; took ${format(durationMs / 1_000, 1)} s`)

  if (args.save) {
    const memoryFloor = reports.find((report) => report.engine === "memory")?.floor?.serial
    const file = yield* save({
      timestamp,
      environment: environment(),
      runs: args.runs,
      warmup: { runs: args.warmup, ms: args.warmupMs },
      durationMs,
      floor: memoryFloor === undefined
        ? undefined
        : { steps: FLOOR_STEPS, stepsPerSecond: memoryFloor.median, samples: memoryFloor.samples },
      notes,
      engines: reports.map(({ results: _, ...rest }) => rest),
      results: reports.flatMap((report) => report.results)
    }, timestamp)
    yield* Console.log(`wrote ${file} and bench/results/latest.json`)
  }
})

NodeRuntime.runMain(main.pipe(Effect.provide(NodeServices.layer)))
