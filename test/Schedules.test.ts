/**
 * Durable schedules (`WorkflowSchedule`): one execution per fire time, in a named time zone across DST, under the
 * overlap and catch-up policies, paused and resumed, ensured on every boot, across workers and restarts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { execFile } from "node:child_process"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import { PgDriver, PgEngine } from "@weft/engine-sql/pg"
import { SqlStore } from "@weft/engine-sql"
import { SqliteClient, SqliteEngine } from "@weft/engine-sql/sqlite"
import { MemoryStore, Workflow, WorkflowEngine, WorkflowError, WorkflowSchedule, WorkflowStore } from "@weft/workflow"
import { adminQuery, testDatabase } from "./pg.js"
import { Counter, waitUntil } from "./util.js"
import { start } from "./workers/processes.js"

const dir = mkdtempSync(join(tmpdir(), "weft-schedules-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** The idempotency keys of a schedule's executions, sorted (a fire's key is `<id>@<ISO fire time>`). */
const keys = (scheduleId: string) =>
  Effect.map(WorkflowEngine.list({ idempotencyKeyPrefix: `${scheduleId}@`, limit: 1_000 }), (page) =>
    page.items.map((r) => r.idempotencyKey!).sort()
  )

const waitKeys = (scheduleId: string, count: number) =>
  waitUntil(Effect.map(keys(scheduleId), (k) => k.length >= count), `${count} executions of ${scheduleId}`)

const key = (scheduleId: string, at: number | string) => WorkflowSchedule.fireKey(scheduleId, new Date(at))

/** The schedule, which must exist. */
const scheduleOf = (id: string) =>
  Effect.map(WorkflowSchedule.get(id), (s) => (Option.isSome(s) ? s.value : assert.fail(`no schedule ${id}`)))

/** Waits until the schedule has dealt with the fire at `at` (started, skipped or buffered it). */
const firedThrough = (id: string, at: number) =>
  waitUntil(Effect.map(scheduleOf(id), (s) => s.lastFireAt !== undefined && s.lastFireAt.getTime() >= at), `${id} past ${at}`)

/** A memory engine running `Tick` with `body`, built in the test's scope (so under its `TestClock`). */
const memoryEngine = (body: (label: string, executionId: string) => Effect.Effect<void>) =>
  Layer.build(Layer.provideMerge(Tick.toLayer(({ label }, id) => body(label, id)), WorkflowEngine.layerMemory))

describe("WorkflowSchedule", () => {
  it.effect("a 2am cron in America/New_York fires once per local day across the March DST change", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2026-03-06T12:00:00Z"))
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        const schedule = yield* WorkflowSchedule.ensure(Tick, { label: "ny" }, {
          id: "ny-2am",
          cron: "0 2 * * *",
          timezone: "America/New_York"
        })
        assert.deepStrictEqual(schedule.nextFireTimes.slice(0, 3).map((d) => d.toISOString()), [
          "2026-03-07T07:00:00.000Z",
          "2026-03-08T07:00:00.000Z", // 2am does not exist that day: the instant after the gap, 3am EDT
          "2026-03-09T06:00:00.000Z"
        ])
        for (let day = 1; day <= 5; day++) {
          yield* TestClock.adjust("1 day")
          yield* waitKeys("ny-2am", day)
        }
        assert.deepStrictEqual(yield* keys("ny-2am"), [
          key("ny-2am", "2026-03-07T07:00:00Z"), // 2am EST (UTC-5)
          key("ny-2am", "2026-03-08T07:00:00Z"), // the change: 3am EDT
          key("ny-2am", "2026-03-09T06:00:00Z"), // 2am EDT (UTC-4)
          key("ny-2am", "2026-03-10T06:00:00Z"),
          key("ny-2am", "2026-03-11T06:00:00Z")
        ])
      }).pipe(Effect.provide(context))
    }))

  it.effect("ensure twice is one schedule; a changed spec updates it in place", () =>
    Effect.gen(function* () {
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        const first = yield* WorkflowSchedule.ensure(Tick, { label: "a" }, { id: "boot", every: "1 hour" })
        const again = yield* WorkflowSchedule.ensure(Tick, { label: "a" }, { id: "boot", every: "1 hour" })
        assert.deepStrictEqual(again, first)
        assert.strictEqual((yield* WorkflowSchedule.list()).length, 1)
        const changed = yield* WorkflowSchedule.ensure(Tick, { label: "b" }, { id: "boot", every: "2 hours", overlap: "allow" })
        const all = yield* WorkflowSchedule.list()
        assert.strictEqual(all.length, 1)
        assert.deepStrictEqual(all[0], changed)
        assert.strictEqual(changed.everyMs, 2 * HOUR)
        assert.strictEqual(changed.overlap, "allow")
        assert.deepStrictEqual(changed.payload, { label: "b" })
        assert.strictEqual(changed.nextFireTimes[0]!.getTime(), 2 * HOUR)
        assert.strictEqual(changed.createdAt.getTime(), first.createdAt.getTime())
        yield* TestClock.adjust("2 hours")
        yield* waitKeys("boot", 1)
        assert.deepStrictEqual(yield* keys("boot"), [key("boot", 2 * HOUR)])
        const update = yield* WorkflowSchedule.update("boot", { cron: "30 * * * *" })
        assert.strictEqual(update.cron, "30 * * * *")
        assert.strictEqual(update.overlap, "allow")
        assert.strictEqual(update.nextFireTimes[0]!.toISOString(), "1970-01-01T02:30:00.000Z")
        assert.isTrue(yield* WorkflowSchedule.remove("boot"))
        assert.deepStrictEqual(yield* WorkflowSchedule.list(), [])
      }).pipe(Effect.provide(context))
    }))

  it.effect("a paused schedule fires nothing; resumed, it fires again from now", () =>
    Effect.gen(function* () {
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.ensure(Tick, { label: "p" }, { id: "pausable", every: "1 hour" })
        yield* TestClock.adjust("1 hour")
        yield* waitKeys("pausable", 1)
        assert.isTrue((yield* WorkflowSchedule.pause("pausable")).paused)
        yield* TestClock.adjust("3 hours")
        const resumed = yield* WorkflowSchedule.resume("pausable")
        assert.isFalse(resumed.paused)
        assert.strictEqual(resumed.nextFireTimes[0]!.getTime(), 5 * HOUR)
        yield* TestClock.adjust("1 hour")
        yield* waitKeys("pausable", 2)
        // Nothing for 2h, 3h, 4h: the fires while paused neither ran then nor were caught up.
        assert.deepStrictEqual(yield* keys("pausable"), [key("pausable", HOUR), key("pausable", 5 * HOUR)])
      }).pipe(Effect.provide(context))
    }))

  for (const [policy, expected, what] of [
    [{ window: "3 hours" }, [3, 4, 5], "every missed fire within the window"],
    ["latest", [5], "only the latest missed fire"],
    [{ window: "20 minutes" }, [], "nothing when every missed fire is older than the window"]
  ] as const) {
    it.effect(`after downtime, catchUp ${JSON.stringify(policy)} runs ${what}`, () =>
      Effect.gen(function* () {
        // No worker runs Tick for five and a half hours; then one starts.
        const engine = yield* Layer.build(WorkflowEngine.layerMemory)
        yield* Effect.gen(function* () {
          yield* WorkflowSchedule.ensure(Tick, { label: "c" }, { id: "catch", every: "1 hour", overlap: "allow", catchUp: policy })
          yield* TestClock.adjust("330 minutes")
          assert.deepStrictEqual(yield* keys("catch"), [])
          yield* Layer.build(Tick.toLayer(() => Effect.void))
          // Advanced past the downtime (its fires, if any, started before).
          yield* waitUntil(
            Effect.map(scheduleOf("catch"), (s) => s.nextFireTimes[0]!.getTime() === 6 * HOUR),
            "advanced to the sixth hour"
          )
          assert.deepStrictEqual(yield* keys("catch"), expected.map((h) => key("catch", h * HOUR)))
        }).pipe(Effect.provide(engine))
      }))
  }

  it.effect("overlap skip: a fire while the previous execution is live starts nothing", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const context = yield* memoryEngine(() => Deferred.await(gate))
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.ensure(Tick, { label: "s" }, { id: "skip", every: "1 minute" })
        for (let m = 1; m <= 3; m++) {
          yield* TestClock.adjust("1 minute")
          yield* firedThrough("skip", m * MINUTE)
        }
        assert.deepStrictEqual(yield* keys("skip"), [key("skip", MINUTE)])
        yield* Deferred.succeed(gate, undefined)
        yield* waitUntil(succeeded("skip", 1), "the first ended")
        yield* TestClock.adjust("1 minute")
        yield* waitKeys("skip", 2)
        assert.deepStrictEqual(yield* keys("skip"), [key("skip", MINUTE), key("skip", 4 * MINUTE)])
      }).pipe(Effect.provide(context))
    }))

  it.effect("overlap buffer: holds one fire until the previous execution ends, and drops the rest", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const context = yield* memoryEngine(() => Deferred.await(gate))
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.ensure(Tick, { label: "b" }, { id: "buffer", every: "1 minute", overlap: "buffer" })
        for (let m = 1; m <= 3; m++) {
          yield* TestClock.adjust("1 minute")
          yield* firedThrough("buffer", m * MINUTE)
        }
        assert.deepStrictEqual(yield* keys("buffer"), [key("buffer", MINUTE)])
        yield* Deferred.succeed(gate, undefined)
        yield* waitUntil(succeeded("buffer", 1), "the first ended")
        yield* TestClock.adjust("1 second")
        yield* waitKeys("buffer", 2)
        // The held fire (2 min) ran; the one after it (3 min) was dropped.
        assert.deepStrictEqual(yield* keys("buffer"), [key("buffer", MINUTE), key("buffer", 2 * MINUTE)])
      }).pipe(Effect.provide(context))
    }))

  it.effect("overlap allow: every fire starts, live or not", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const context = yield* memoryEngine(() => Deferred.await(gate))
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.ensure(Tick, { label: "a" }, { id: "allow", every: "1 minute", overlap: "allow" })
        for (let m = 1; m <= 3; m++) {
          yield* TestClock.adjust("1 minute")
          yield* waitKeys("allow", m)
        }
        assert.deepStrictEqual(yield* keys("allow"), [1, 2, 3].map((m) => key("allow", m * MINUTE)))
        yield* Deferred.succeed(gate, undefined)
      }).pipe(Effect.provide(context))
    }))

  it.effect("a one-time schedule fires once; trigger fires now under its own key", () =>
    Effect.gen(function* () {
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.delay(Tick, { label: "once" }, { id: "once", delay: "10 minutes" })
        yield* TestClock.adjust("1 hour")
        yield* waitKeys("once", 1)
        assert.deepStrictEqual(yield* keys("once"), [key("once", 10 * MINUTE)])
        assert.deepStrictEqual((yield* scheduleOf("once")).nextFireTimes, [])
        const executionId = yield* WorkflowSchedule.trigger("once")
        yield* waitKeys("once", 2)
        assert.strictEqual((yield* WorkflowEngine.get(executionId)).idempotencyKey, `${key("once", HOUR)}/trigger`)
      }).pipe(Effect.provide(context))
    }))

  it.effect("jitter delays a fire's start, and its key keeps the nominal fire time", () =>
    Effect.gen(function* () {
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        const schedule = yield* WorkflowSchedule.ensure(Tick, { label: "j" }, { id: "jittered", every: "1 hour", jitter: "10 minutes" })
        assert.strictEqual(schedule.jitterMs, 10 * MINUTE)
        assert.strictEqual(schedule.nextFireTimes[0]!.getTime(), HOUR)
        yield* TestClock.adjust("70 minutes")
        yield* waitKeys("jittered", 1)
        assert.deepStrictEqual(yield* keys("jittered"), [key("jittered", HOUR)])
        const started = (yield* WorkflowEngine.list({ idempotencyKeyPrefix: "jittered@" })).items[0]!
        assert.isAtLeast(started.createdAt, HOUR)
        assert.isBelow(started.createdAt, HOUR + 10 * MINUTE)
      }).pipe(Effect.provide(context))
    }))

  it.effect("bad cron text, time zone or interval is a typed error naming the field, and writes nothing", () =>
    Effect.gen(function* () {
      const context = yield* memoryEngine(() => Effect.void)
      yield* Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [WorkflowSchedule.Options, string]> = [
          [{ id: "bad", cron: "61 * * * *" }, "cron"],
          [{ id: "bad", cron: "every tuesday" }, "cron"],
          [{ id: "bad", cron: "0 2 * * *", timezone: "Mars/Olympus_Mons" }, "timezone"],
          [{ id: "bad", every: -5_000 }, "every"],
          [{ id: "bad", every: "1 hour", jitter: -1 }, "jitter"],
          [{ id: "bad" }, "cron"]
        ]
        for (const [options, field] of cases) {
          const result = yield* Effect.result(WorkflowSchedule.ensure(Tick, { label: "x" }, options))
          assert.isTrue(Result.isFailure(result), JSON.stringify(options))
          const error = (result as Result.Failure<never, WorkflowError.WorkflowError>).failure
          assert.instanceOf(error, WorkflowError.WorkflowError)
          assert.strictEqual(error.reason, "InvalidPayload")
          assert.strictEqual(error.field, field, error.message)
          assert.isString(error.expected)
        }
        assert.deepStrictEqual(yield* WorkflowSchedule.list(), [])
      }).pipe(Effect.provide(context))
    }))

  const workers: ReadonlyArray<readonly [string, () => Effect.Effect<Layer.Layer<WorkflowEngine.WorkflowEngine, unknown>, never, any>]> = [
    ["two engines on one SQLite file", () => {
      const filename = join(dir, `workers-${Math.random().toString(36).slice(2)}.db`)
      return Effect.succeed(SqliteEngine.layer({ filename, pollIntervalMs: 20 }))
    }],
    ["two engines on PostgreSQL", () =>
      Effect.map(testDatabase(), (url) => PgEngine.layer({ url, maxConnections: 4, pollIntervalMs: 20, heartbeatMs: 500 }))]
  ]
  for (const [name, makeEngine] of workers) {
    it.live(`${name} never fire a fire time twice`, () =>
      Effect.gen(function* () {
        const runs = new Counter()
        const engine = yield* makeEngine()
        const a = yield* Layer.build(Layer.provideMerge(Tick.toLayer((_, id) => runs.bump(id)), engine))
        const b = yield* Layer.build(Layer.provideMerge(Tick.toLayer((_, id) => runs.bump(id)), engine))
        const PERIOD = 100
        yield* WorkflowSchedule.ensure(Tick, { label: "w" }, {
          id: "shared",
          every: PERIOD,
          overlap: "allow",
          catchUp: { window: "1 minute" }
        }).pipe(Effect.provide(a))
        yield* WorkflowSchedule.ensure(Tick, { label: "w" }, {
          id: "shared",
          every: PERIOD,
          overlap: "allow",
          catchUp: { window: "1 minute" }
        }).pipe(Effect.provide(b))
        yield* waitKeys("shared", 8).pipe(Effect.provide(a))
        yield* WorkflowSchedule.pause("shared").pipe(Effect.provide(b))
        // A pass that read the schedule before the pause may still start the fires it found due (its write of the
        // row then loses to the pause's): take the executions once every one listed has run and no more came.
        let fired = yield* keys("shared").pipe(Effect.provide(a))
        for (;;) {
          yield* waitUntil(succeeded("shared", fired.length).pipe(Effect.provide(a)), "every fire ran")
          const again = yield* keys("shared").pipe(Effect.provide(a))
          if (again.length === fired.length) break
          fired = again
        }
        // Fire times are consecutive periods, each once: none twice, none skipped.
        const times = fired.map((k) => Date.parse(k.slice("shared@".length)))
        for (let i = 1; i < times.length; i++) assert.strictEqual(times[i]! - times[i - 1]!, PERIOD, fired.join(", "))
        const page = yield* WorkflowEngine.list({ idempotencyKeyPrefix: "shared@", limit: 1_000 }).pipe(Effect.provide(b))
        assert.strictEqual(new Set(page.items.map((r) => r.executionId)).size, page.items.length)
        for (const record of page.items) {
          if (record.status === "succeeded") assert.strictEqual(runs.get(record.executionId), 1, record.idempotencyKey)
        }
      }), 60_000)
  }
})

describe("WorkflowSchedule across a restart", () => {
  it.live("a schedule survives its worker's SIGKILL: a new process fires it on, every fire time once", () =>
    Effect.gen(function* () {
      const filename = join(dir, "restart.db")
      // This process only reads the file: it does not run ScheduledTick, so it fires nothing itself.
      const reader = yield* Layer.build(SqliteEngine.layer({ filename, pollIntervalMs: 20 }))
      const count = Effect.map(keys("survivor"), (k) => k.length).pipe(Effect.provide(reader))
      const first = yield* Effect.scoped(
        Effect.gen(function* () {
          const child = yield* start(scheduleWorker, "schedule-a", [filename, "ensure"])
          yield* waitUntil(Effect.map(count, (n) => n >= 3), "three fires in the first process")
          child.child.kill("SIGKILL")
          yield* Effect.promise(() => child.exited)
          return yield* count
        })
      )
      // The second process never calls ensure: the schedule is the store's.
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* start(scheduleWorker, "schedule-b", [filename])
          yield* waitUntil(Effect.map(count, (n) => n >= first + 3), "three more fires in the second process")
        })
      )
      const fired = yield* keys("survivor").pipe(Effect.provide(reader))
      const times = fired.map((k) => Date.parse(k.slice("survivor@".length)))
      // Consecutive fire times, each once: the downtime's fires caught up, none twice.
      for (let i = 1; i < times.length; i++) assert.strictEqual(times[i]! - times[i - 1]!, 100, fired.join(", "))
    }), 60_000)
})

const scheduleWorker = fileURLToPath(new URL("./workers/scheduleWorker.ts", import.meta.url))

describe("weft schedules", () => {
  it.live("lists the schedules with their next fire times, as text and as JSON", () =>
    Effect.gen(function* () {
      const filename = join(dir, "cli.db")
      const engine = yield* Layer.build(Layer.provideMerge(Tick.toLayer(() => Effect.void), SqliteEngine.layer({ filename })))
      yield* Effect.gen(function* () {
        yield* WorkflowSchedule.ensure(Tick, { label: "cli" }, { id: "nightly", cron: "0 2 * * *", timezone: "Europe/Paris" })
        yield* WorkflowSchedule.ensure(Tick, { label: "cli" }, { id: "hourly", every: "1 hour" })
        yield* WorkflowSchedule.pause("hourly")
      }).pipe(Effect.provide(engine))
      const json = yield* weft(["--db", filename, "schedules", "--json"])
      assert.strictEqual(json.code, 0, json.stderr)
      const listed = JSON.parse(json.stdout) as {
        schedules: ReadonlyArray<{ id: string; timing: string; timezone?: string; paused: boolean; nextFireTimes: ReadonlyArray<string> }>
      }
      assert.deepStrictEqual(listed.schedules.map((s) => [s.id, s.timing, s.paused]), [
        ["hourly", "every 3600000 ms", true],
        ["nightly", "cron 0 2 * * *", false]
      ])
      const nightly = listed.schedules[1]!
      assert.strictEqual(nightly.timezone, "Europe/Paris")
      assert.strictEqual(nightly.nextFireTimes.length, 5)
      // 2am in Paris is 00:00 or 01:00 UTC, whatever the season.
      for (const t of nightly.nextFireTimes) assert.match(t, /T0[01]:00:00\.000Z$/)
      const text = yield* weft(["--db", filename, "schedules"])
      assert.strictEqual(text.code, 0, text.stderr)
      assert.match(text.stdout, /nightly {2}ScheduledTick {2}cron 0 2 \* \* \* \(Europe\/Paris\) {2}active/)
      assert.match(text.stdout, /hourly .* paused/)
    }), 60_000)
})

const root = resolve(import.meta.dirname, "..")

/** Runs the `weft` binary with `args` in a child process. */
const weft = (args: ReadonlyArray<string>) =>
  Effect.callback<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const { DATABASE_URL: _url, ...env } = process.env
    const child = execFile(
      process.execPath,
      ["--conditions=@weft/source", "--import", "tsx", join(root, "packages", "cli", "src", "bin.ts"), ...args],
      { cwd: root, env, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) =>
        resume(Effect.succeed({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
    )
    return Effect.sync(() => void child.kill("SIGKILL"))
  })

describe("WorkflowSchedule on an idle engine", () => {
  // An engine with no schedule of its workflows to come looks again only every IDLE_POLLS polls.
  const IDLE_POLLS = 30

  it.live("on PostgreSQL an idle engine asks for its schedules once per idle interval; waiting for a fire, once per poll", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const meter = new ScheduleMeter()
      const POLL = 20
      const idleMs = POLL * IDLE_POLLS
      const store = SqlStore.layer().pipe(Layer.provideMerge(PgDriver.layer({ url, maxConnections: 4 })))
      const context = yield* Layer.build(worker(store, meter, { pollIntervalMs: POLL }))
      // No schedule at all: the pass after the registration, then one query per idle interval, and never two per pass.
      yield* waitUntil(Effect.sync(() => meter.answered.length >= 3), "two idle passes")
      const [first, , third] = meter.answered
      // Timers may fire a millisecond early by `performance.now()`; twice per poll would have been 120 queries.
      assert.isAtLeast(third! - first!, 2 * idleMs - 5, `${meter.answered.length} queries`)
      assert.strictEqual(meter.calls.get("nextDueAt") ?? 0, 0)
      // A schedule written here wakes the loop at once; with a fire to come it polls again, one query per poll.
      yield* WorkflowSchedule.ensure(Tick, { label: "later" }, { id: "later", every: "1 hour" })
        .pipe(Effect.provide(context))
      // A hundred passes come within seconds at one a poll; at one an idle interval they would take a minute, past
      // waitUntil's bound.
      const before = meter.answered.length
      yield* waitUntil(Effect.sync(() => meter.answered.length >= before + 100), "a hundred polls")
      assert.strictEqual(meter.calls.get("nextDueAt") ?? 0, 0)
    }), 60_000)

  it.live("without notifications an idle engine still looks every poll, one query a pass", () =>
    Effect.gen(function* () {
      const meter = new ScheduleMeter()
      yield* Layer.build(worker(MemoryStore.layer(), meter, { pollIntervalMs: 20 }))
      // A write by another process would be seen within a poll. A hundred passes take two seconds at one a poll; at
      // one an idle interval (600 ms) a minute, past waitUntil's bound.
      yield* waitUntil(Effect.sync(() => meter.answered.length >= 100), "a hundred polls")
      assert.strictEqual(meter.calls.get("nextDueAt") ?? 0, 0)
    }), 45_000)

  it.live("a schedule another engine writes on PostgreSQL fires at once on an idle engine: its NOTIFY wakes the loop", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const meter = new ScheduleMeter()
      // Polls every 20 s, so idle for 10 minutes: only the notification can fire the schedule within the test.
      const POLL = 20_000
      const store = SqlStore.layer().pipe(Layer.provideMerge(PgDriver.layer({ url, maxConnections: 4 })))
      const idle = yield* Layer.build(worker(store, meter, { pollIntervalMs: POLL, heartbeatMs: 500 }))
      yield* waitUntil(Effect.sync(() => meter.answered.length >= 1), "the idle engine's first pass")
      yield* waitUntil(listening(url), "the idle engine's LISTEN")
      // An app that registers no workflow: its own loop never fires the schedule.
      const app = yield* Layer.build(PgEngine.layer({ url, maxConnections: 2 }))
      const written = performance.now()
      yield* WorkflowSchedule.delay(Tick, { label: "now" }, { id: "from-app", delay: "1 millis" })
        .pipe(Effect.provide(app))
      yield* waitUntil(succeeded("from-app", 1).pipe(Effect.provide(idle)), "the fire ran on the idle engine")
      assert.isBelow(performance.now() - written, POLL)
      assert.deepStrictEqual(yield* keys("from-app").pipe(Effect.provide(app)), [
        key("from-app", (yield* scheduleOf("from-app").pipe(Effect.provide(app))).lastFireAt!.getTime())
      ])
    }), 30_000)

  it.live("a schedule another engine writes on SQLite fires on an idle engine at its next poll", () =>
    Effect.gen(function* () {
      const filename = join(dir, `idle-${Math.random().toString(36).slice(2)}.db`)
      const meter = new ScheduleMeter()
      const POLL = 10
      const store = SqlStore.layer().pipe(Layer.provideMerge(SqliteClient.layer({ filename })))
      const idle = yield* Layer.build(worker(store, meter, { pollIntervalMs: POLL }))
      yield* waitUntil(Effect.sync(() => meter.answered.length >= 1), "the idle engine's first pass")
      const app = yield* Layer.build(SqliteEngine.layer({ filename }))
      yield* WorkflowSchedule.delay(Tick, { label: "now" }, { id: "from-app", delay: "1 millis" })
        .pipe(Effect.provide(app))
      yield* waitUntil(succeeded("from-app", 1).pipe(Effect.provide(idle)), "the fire ran on the idle engine")
      assert.strictEqual((yield* keys("from-app").pipe(Effect.provide(app))).length, 1)
    }), 30_000)
})

/** The schedule queries (`due`, `nextDueAt`) a store answered: how many of each, and when each answered. */
class ScheduleMeter {
  readonly calls = new Map<string, number>()
  readonly answered: Array<number> = []
}

/** The store `inner` builds, with its schedule queries counted by `meter` as each answers. */
const metered = <E, R>(inner: Layer.Layer<WorkflowStore.WorkflowStore, E, R>, meter: ScheduleMeter) =>
  Layer.effect(
    WorkflowStore.WorkflowStore,
    Effect.map(Effect.service(WorkflowStore.WorkflowStore), (store): WorkflowStore.Service => {
      const schedules = store.schedules!
      const count = <A, E2>(method: string, effect: Effect.Effect<A, E2>) =>
        Effect.tap(effect, () =>
          Effect.sync(() => {
            meter.calls.set(method, (meter.calls.get(method) ?? 0) + 1)
            meter.answered.push(performance.now())
          })
        )
      return {
        ...store,
        schedules: {
          ...schedules,
          due: (now, workflows, limit) => count("due", schedules.due(now, workflows, limit)),
          nextDueAt: (workflows) => count("nextDueAt", schedules.nextDueAt(workflows))
        }
      }
    })
  ).pipe(Layer.provide(inner))

/** An engine running `Tick` over the store `inner` builds, its schedule queries counted by `meter`. */
const worker = <E, R>(
  inner: Layer.Layer<WorkflowStore.WorkflowStore, E, R>,
  meter: ScheduleMeter,
  options: WorkflowEngine.Options
) =>
  Layer.provideMerge(
    Tick.toLayer(() => Effect.void),
    WorkflowEngine.layer(options).pipe(Layer.provideMerge(metered(inner, meter)))
  )

/** Whether a connection of the database at `url` has LISTENed (and is idle: its LISTEN is in force). */
const listening = (url: string) =>
  Effect.promise(() =>
    adminQuery(
      url,
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'idle' AND query ILIKE 'LISTEN%'`
    )
  ).pipe(Effect.map((rows) => rows[0].n > 0))

/** Whether `count` executions of the schedule succeeded. */
const succeeded = (scheduleId: string, count: number) =>
  Effect.map(
    WorkflowEngine.list({ idempotencyKeyPrefix: `${scheduleId}@`, status: "succeeded", limit: 1_000 }),
    (page) => page.items.length >= count
  )

// Fixtures

const Tick = Workflow.make({
  name: "ScheduledTick",
  payload: { label: Schema.String },
  idempotencyKey: ({ label }) => label
})
