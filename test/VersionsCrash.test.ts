/**
 * A rolling deploy with a crash, with real worker processes: yesterday's release (version 1 only) is SIGKILLed with
 * an activity in flight; today's release (version 2 only) runs its own executions but never touches the version-1 one
 * and says so; a release with both versions takes it over and finishes it on version 1's body. SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as SqlClient from "effect/sql/SqlClient"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { type Workflow, WorkflowEngine } from "@weft/workflow"
import { bodyRuns } from "./crash/fixtures.js"
import { ReleaseV1, ReleaseV2 } from "./crash/releases.js"
import { killed, spawnScript, type Worker } from "./crash/workers.js"
import { testDatabase } from "./pg.js"
import { attempts, hasStatus, record, waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-versions-crash-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0

type Services = WorkflowEngine.WorkflowEngine | SqlClient.SqlClient

/** A database the test and its releases share: how releases reach it, and the test's own (submit-only) engine on it. */
interface Database {
  readonly spec: string
  readonly layer: Layer.Layer<Services, unknown>
}

const backends: ReadonlyArray<{
  readonly name: string
  readonly database: Effect.Effect<Database, never, Scope.Scope>
}> = [
  {
    name: "sqlite",
    database: Effect.sync(() => {
      const filename = join(dir, `deploy-${n++}.db`)
      return { spec: `sqlite:${filename}`, layer: SqliteEngine.layer({ filename, acceptUnregistered: true }) }
    })
  },
  {
    name: "postgres",
    database: Effect.map(testDatabase(), (url) => ({
      spec: `pg:${url}`,
      layer: PgEngine.layer({ url, maxConnections: 2, acceptUnregistered: true })
    }))
  }
]

for (const backend of backends) {
  // Three child processes one after another (tsx compiles each): generous on a loaded two-core machine.
  describe(`a rolling deploy with a crash: ${backend.name}`, { timeout: 120_000 }, () => {
    it.live(
      "a version-1 execution killed mid-activity waits through a version-2-only release, then a release with both " +
        "versions finishes it on version 1's body: the activity in flight ran again, the ones before it did not",
      () =>
        Effect.gen(function* () {
          const db = yield* backend.database
          const log = join(dir, `runs-${n++}.log`)
          return yield* deploy(db, log).pipe(Effect.provide(db.layer))
        })
    )
  })
}

const deploy = (db: Database, log: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const row = (executionId: string) =>
      Effect.map(
        sql<ClaimRow>`
          SELECT owner, fence, lease_until, in_flight, version FROM weft_executions
          WHERE execution_id = ${executionId}`,
        (rows) => rows[0]!
      )
    const id = yield* ReleaseV1.executionId({ id: "order-1" })

    // 1. Yesterday's release runs version 1 only; it is killed while `v1-charge` hangs, once a heartbeat has recorded
    // it in flight.
    const old = yield* release(db, log, "1", { start: "order-1" })
    const oldOwner = yield* ownerOf(old)
    yield* waitUntil(
      Effect.map(row(id), (r) => r.in_flight?.includes(`"v1-charge"`) === true),
      "v1-charge recorded in flight"
    )
    process.kill(old.pid, "SIGKILL")
    yield* killed(old)
    assert.deepStrictEqual(bodyRuns(log), [
      { name: "v1-reserve", pid: old.pid },
      { name: "v1-charge", pid: old.pid }
    ])
    assert.deepStrictEqual(yield* attempts(id), ["v1-reserve#1"])
    const atKill = yield* record(id)
    assert.strictEqual(atKill.execution.status, "running")
    assert.strictEqual(atKill.execution.version, 1)
    const rowAtKill = yield* row(id)
    assert.strictEqual(rowAtKill.owner, oldOwner)
    // Today's release comes up only once the dead release's lease has lapsed: from its first poll on, it could take
    // the execution over if it claimed versions it does not register.
    yield* waitUntil(
      Effect.map(Clock.currentTimeMillis, (now) => now > Number(rowAtKill.lease_until)),
      "the killed release's lease lapsed"
    )

    // 2. Today's release runs version 2 only: it starts and finishes its own execution, and claims and finishes one
    // submitted from elsewhere (through its polls), while the version-1 execution stays as the kill left it.
    const fresh = yield* release(db, log, "2", { start: "order-2" })
    const freshOwner = yield* ownerOf(fresh)
    const own = yield* ReleaseV2.executionId({ id: "order-2" })
    yield* waitUntil(hasStatus(own, "succeeded"), "today's release finished its own execution")
    const submitted = yield* ReleaseV2.execute({ id: "order-3" }, { discard: true })
    yield* waitUntil(hasStatus(submitted, "succeeded"), "today's release claimed and finished a submitted execution")
    const warning = `Weft: workflow "CrashRelease" has executions in flight on version 1 (1 running, 0 suspended), ` +
      `which this engine does not register (it runs version 2)`
    yield* waitUntil(Effect.sync(() => fresh.output().includes(warning)), "today's release warned about version 1")
    for (const done of [own, submitted]) {
      const detail = yield* record(done)
      assert.strictEqual(detail.execution.version, 2)
      assert.deepStrictEqual(yield* attempts(done), ["v2-reserve#1", "v2-ship#1"])
      const key = done === own ? "order-2" : "order-3"
      assert.deepStrictEqual(yield* result(ReleaseV2, done), Exit.succeed(`v2:${key}:v2-reserve/v2-ship`))
    }
    assert.deepStrictEqual(bodyRuns(log), [
      { name: "v1-reserve", pid: old.pid },
      { name: "v1-charge", pid: old.pid },
      ...["order-2", "order-3"].flatMap(() => [
        { name: "v2-reserve", pid: fresh.pid },
        { name: "v2-ship", pid: fresh.pid }
      ])
    ])
    // The version-1 execution: no attempt, event, claim or takeover since the kill.
    assert.deepStrictEqual(yield* record(id), atKill)
    assert.deepStrictEqual(yield* row(id), rowAtKill)
    assert.notInclude((yield* record(id)).events.map((e) => e.kind), "taken-over")
    assert.deepStrictEqual(
      (yield* WorkflowEngine.versions()).map(({ running, suspended, version, workflow }) => ({
        workflow,
        version,
        running,
        suspended
      })),
      [{ workflow: "CrashRelease", version: 1, running: 1, suspended: 0 }]
    )

    // 3. A release with both versions takes the execution over and finishes it on version 1's body.
    const both = yield* release(db, log, "1,2")
    const bothOwner = yield* ownerOf(both)
    yield* waitUntil(hasStatus(id, "succeeded"), "the version-1 execution finished")
    assert.deepStrictEqual(bodyRuns(log).filter((run) => run.name.startsWith("v1-")), [
      { name: "v1-reserve", pid: old.pid },
      { name: "v1-charge", pid: old.pid },
      { name: "v1-charge", pid: both.pid },
      { name: "v1-ship", pid: both.pid }
    ])
    assert.deepStrictEqual(
      bodyRuns(log).filter((run) => run.name.startsWith("v2-")).map((run) => run.pid),
      [fresh.pid, fresh.pid, fresh.pid, fresh.pid]
    )
    assert.deepStrictEqual(yield* attempts(id), ["v1-reserve#1", "v1-charge#1", "v1-ship#1"])
    assert.deepStrictEqual(yield* result(ReleaseV1, id), Exit.succeed("v1:order-1:v1-reserve/v1-charge/v1-ship"))
    const done = yield* record(id)
    assert.strictEqual(done.execution.version, 1)
    assert.deepStrictEqual(done.events.filter((e) => e.kind === "taken-over").length, 1)

    const trace = Option.getOrThrow(yield* WorkflowEngine.trace(id))
    const takeovers = trace.entries.flatMap((e) => (e.kind === "takeover" ? [e] : []))
    assert.deepStrictEqual(
      takeovers.map(({ from, inFlight, to }) => ({ from, to, inFlight })),
      [{ from: oldOwner, to: bothOwner, inFlight: [{ name: "v1-charge", attempt: 1 }] }]
    )
    assert.notStrictEqual(bothOwner, freshOwner)
    assert.deepStrictEqual(
      trace.entries.flatMap((e) => (e.kind === "activity" ? [[e.name, e.attempt, e.ranAgain]] : [])),
      [
        ["v1-reserve", 1, undefined],
        ["v1-charge", 1, { from: oldOwner, to: bothOwner }],
        ["v1-ship", 1, undefined]
      ]
    )
    assert.deepStrictEqual(yield* WorkflowEngine.versions(), [])
    assert.notInclude(both.output(), "does not register")
  })

/** An execution's claim columns, as stored. */
interface ClaimRow {
  readonly owner: string | null
  readonly fence: unknown
  readonly lease_until: unknown
  readonly in_flight: string | null
  readonly version: unknown
}

const releaseScript = fileURLToPath(new URL("./crash/release.ts", import.meta.url))

/** Starts a release (test/crash/release.ts) registering `versions` (`1`, `2` or `1,2`) on `db`. */
const release = (
  db: Database,
  log: string,
  versions: string,
  options: { readonly start?: string } = {}
): Effect.Effect<Worker, never, Scope.Scope> =>
  spawnScript(releaseScript, {
    WEFT_CRASH_DB: db.spec,
    WEFT_CRASH_LOG: log,
    WEFT_RELEASE_VERSIONS: versions,
    WEFT_RELEASE_START: options.start ?? ""
  })

/** The release's name in claims (its `owner` line), once it is ready. */
const ownerOf = (worker: Worker) =>
  Effect.map(worker.line("ready"), () => /^owner (\S+)$/m.exec(worker.output())![1]!)

/** The stored result of a complete execution. */
const result = (workflow: Workflow.Any, executionId: string) =>
  Effect.flatMap(workflow.poll(executionId), (polled) =>
    Option.isSome(polled) && polled.value._tag === "Complete"
      ? Effect.succeed(polled.value.exit)
      : Effect.fail(new Error(`execution ${executionId} is not complete`))
  )
