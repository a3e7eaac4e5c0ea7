/**
 * PostgreSQL scale-out under faults: worker processes sharing one database while one of them is
 * SIGKILLed, a claim taken over from a live worker, an unreachable database, a connection cut
 * mid-run, foreign and malformed tokens, and stored rows that no longer decode.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import pg from "pg"
import { SqlEngine } from "@weft/engine-sql"
import { PgEngine } from "@weft/engine-sql/pg"
import { Activity, DurableDeferred, Workflow, WorkflowEngine, WorkflowError } from "@weft/workflow"
import { adminQuery, testDatabase } from "./pg.js"
import { Counter, hasStatus, suspended, waitUntil } from "./util.js"
import * as Batch from "./workers/Batch.js"

/** Executions the many-worker test runs; `WEFT_MANY_WORKERS_N` overrides. */
const EXECUTIONS = Number(process.env.WEFT_MANY_WORKERS_N ?? 2_000)
const WORKERS = 4
const LEASE_MS = 1_000

describe("many workers on PostgreSQL", () => {
  it.live(
    `${WORKERS} worker processes run ${EXECUTIONS} executions exactly once while one of them is SIGKILLed mid-run`,
    () =>
      Effect.gen(function* () {
        const url = yield* testDatabase()
        // The submitter registers nothing and only creates work; building it first migrates the schema.
        const submitter = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, maxConnections: 8 }))
        for (const statement of Batch.instrumentation) yield* Effect.promise(() => adminQuery(url, statement))

        const victim = `w${WORKERS}`
        const workers = yield* Effect.all(
          Array.from({ length: WORKERS }, (_, i) =>
            // The victim dies inside its 25th `b`: mid-run, with work in flight.
            startWorker(url, `w${i + 1}`, i === WORKERS - 1 ? 25 : undefined)
          ),
          { concurrency: "unbounded" }
        )
        const done = yield* listenDone(url)
        const killed = yield* Effect.forkChild(Effect.promise(() => workers[WORKERS - 1]!.exited))

        const startedAt = yield* Clock.currentTimeMillis
        yield* Effect.forEach(
          Array.from({ length: EXECUTIONS }, (_, n) => n),
          (n) => Batch.Batch.execute({ n }, { discard: true }),
          { concurrency: 16, discard: true }
        ).pipe(Effect.provide(submitter))
        const submittedAt = yield* Clock.currentTimeMillis
        yield* Effect.promise(() => done.reached(EXECUTIONS))
        const finishedAt = yield* Clock.currentTimeMillis
        assert.isDefined(killed.pollUnsafe(), `${victim} never reached its kill point`)
        const exit = yield* Fiber.join(killed)
        assert.strictEqual(exit.signal, "SIGKILL")
        // The kill time as the victim itself wrote it just before it died (not when this process heard of it).
        const killedLine = /killed-at (\d+)\n/.exec(workers[WORKERS - 1]!.stdout())
        assert.isNotNull(killedLine, `${victim} did not report its kill time`)
        const killedAt = Number(killedLine![1])

        // Every execution completed exactly once, with its result, and nobody holds it any more.
        const executions = yield* query(url, `SELECT execution_id, status, payload, result, owner FROM weft_executions`)
        assert.strictEqual(executions.length, EXECUTIONS)
        for (const row of executions) {
          const { n } = JSON.parse(row.payload)
          assert.strictEqual(row.status, "succeeded", `${row.execution_id}: ${row.result}`)
          assert.deepStrictEqual(JSON.parse(row.result), { _tag: "Success", value: `a${n}/b${n}/c${n}` })
          assert.isNull(row.owner)
        }
        const completions = yield* query(
          url,
          `SELECT execution_id, count(*)::int AS n FROM weft_events WHERE kind = 'completed' GROUP BY 1`
        )
        assert.strictEqual(completions.length, EXECUTIONS)
        assert.isTrue(completions.every((row) => row.n === 1))

        // One result row per activity, every one a first attempt: none lost, none written twice.
        const attempts = yield* query(url, `SELECT execution_id, name, attempt FROM weft_attempts`)
        assert.strictEqual(attempts.length, EXECUTIONS * Batch.steps.length)
        const names: ReadonlyArray<string> = Batch.steps
        assert.isTrue(attempts.every((row) => row.attempt === 1 && names.includes(row.name)))
        assert.strictEqual(new Set(attempts.map((row) => `${row.execution_id}/${row.name}`)).size, attempts.length)

        const claimRows = yield* query(url, `SELECT * FROM claim_log ORDER BY fence`)
        const claimsOf = groupBy(claimRows.map(toClaim), (c) => c.executionId)
        const runRows = yield* query(url, `SELECT * FROM body_runs ORDER BY id`)
        const runsOf = groupBy(runRows.map(toRun), (r) => r.executionId)
        let recovered = 0
        let takenFromLive = 0
        let rerunAfterKill = 0
        let rerunAfterLoss = 0
        for (const { execution_id: id } of executions) {
          const claims = claimsOf.get(id) ?? []
          const runs = runsOf.get(id) ?? []
          const ownerOf = new Map(claims.map((c) => [c.fence, c.owner]))
          // A claim from another worker only once the previous holder's lease ran out (by the database's clock).
          const takeovers = claims.filter((c) => c.oldOwner !== null && c.oldOwner !== c.owner)
          for (const claim of takeovers) {
            assert.isTrue(
              claim.at >= claim.oldLeaseUntil,
              `${id}: ${claim.owner} took it from ${claim.oldOwner} at ${claim.at}, ` +
                `before the lease ran out at ${claim.oldLeaseUntil}`
            )
            if (claim.oldOwner === victim && claim.at >= killedAt) recovered++
            else takenFromLive++
            // The superseded holder stops at its next write: at most the one body it began before learning so.
            const late = runs.filter((r) => r.fence === claim.oldFence && r.at > claim.at)
            assert.isAtMost(late.length, 1, `${id}: ${claim.oldOwner} kept running after ${claim.owner} took over`)
          }
          // Every body ran under its own worker's claim, and the victim ran nothing after it died.
          for (const run of runs) {
            assert.strictEqual(run.worker, ownerOf.get(run.fence), `${id}/${run.activity} ran outside its claim`)
            if (run.worker === victim) assert.isAtMost(run.at, killedAt)
          }
          // A body runs again only under a newer claim that took the execution over.
          const byClaim = [...runs].sort((a, b) => a.fence - b.fence)
          for (const [activity, list] of groupBy(byClaim, (r) => r.activity)) {
            if (list.length === 1) continue
            const fences = new Set(list.map((r) => r.fence))
            assert.strictEqual(fences.size, list.length, `${id}/${activity} ran twice in one claim`)
            for (const earlier of list.slice(0, -1)) {
              const takeover = takeovers.find((c) => c.oldFence >= earlier.fence && c.fence <= list.at(-1)!.fence)
              assert.isDefined(takeover, `${id}/${activity} ran again without a takeover: ${JSON.stringify(claims)}`)
              if (takeover!.oldOwner === victim && takeover!.at >= killedAt) rerunAfterKill++
              else rerunAfterLoss++
            }
          }
        }
        console.log(
          `[many workers] ${EXECUTIONS} executions on ${WORKERS} workers: ` +
            `submitted in ${submittedAt - startedAt} ms, all done in ${finishedAt - startedAt} ms ` +
            `(${Math.round((EXECUTIONS * 1000) / (finishedAt - startedAt))}/s); ` +
            `${victim} killed at ${killedAt - startedAt} ms; ${recovered} execution(s) taken over from it ` +
            `(${rerunAfterKill} body re-run(s)); ${takenFromLive} lease(s) ran out on a live worker ` +
            `(${rerunAfterLoss} body re-run(s))`
        )
        // The victim died inside `b`, after its body ran and before its result was stored.
        assert.isAtLeast(recovered, 1)
        assert.isAtLeast(rerunAfterKill, 1)
        // Leases are renewed from the moment of the claim and computed by the database: none runs out on a live worker.
        assert.strictEqual(takenFromLive, 0, "leases that ran out on a live worker")
        assert.strictEqual(rerunAfterLoss, 0, "bodies re-run after a lease ran out on a live worker")
        for (const worker of workers.slice(0, WORKERS - 1)) assert.isNull(worker.exitCode(), `${worker.id} exited`)
      }),
    { timeout: 180_000 }
  )

  it.live("a worker whose claim was taken over stops at its next write, and its waiter gets the new owner's result", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const slowGate = yield* Deferred.make<void>()
      const newGate = yield* Deferred.make<void>()
      gates.set("stale-slow/s2", slowGate)
      gates.set("stale-new/s3", newGate)
      // The slow worker never renews its claim, so it runs out while its `s2` body hangs. It never polls
      // either: only a NOTIFY can tell its waiter of the end.
      const slow = yield* Layer.build(
        engineAt(url, { owner: "stale-slow", leaseMs: 500, heartbeatMs: 3_600_000, pollIntervalMs: 60_000 })
      )
      const waiter = yield* Effect.forkChild(Steps.execute({ id: "stale" }).pipe(Effect.provide(slow)))
      const id = yield* Steps.executionId({ id: "stale" })
      yield* waitUntil(Effect.sync(() => counter.get("stale-slow/s2") === 1), "s2 running on the slow worker")
      const fresh = yield* Layer.build(engineAt(url, { owner: "stale-new", leaseMs: 500, pollIntervalMs: 50 }))
      yield* waitUntil(Effect.sync(() => counter.get("stale-new/s3") === 1), "the new owner reached s3")
      yield* Deferred.succeed(slowGate, undefined)
      // The slow worker's `s2` finds the new owner's row: it must give up rather than go on to `s3`.
      const idle = Effect.map(WorkflowEngine.WorkflowEngine, (engine) => engine.activeRuns() === 0)
      yield* waitUntil(idle.pipe(Effect.provide(slow)), "the slow worker's run ended")
      assert.strictEqual(counter.get("stale-slow/s3"), 0)
      yield* Deferred.succeed(newGate, undefined)
      // First the slow worker's waiter: a join from the new owner's side would mark the execution watched itself.
      assert.strictEqual(yield* Fiber.join(waiter), "s1-s2-s3-s4-s5")
      assert.strictEqual(yield* Steps.execute({ id: "stale" }).pipe(Effect.provide(fresh)), "s1-s2-s3-s4-s5")
      assert.deepStrictEqual(yield* journal(url, id), ["s1#1", "s2#1", "s3#1", "s4#1", "s5#1"])
      for (const name of ["s3", "s4", "s5"]) assert.strictEqual(counter.get(`stale-new/${name}`), 1)
    }), { timeout: 30_000 })
})

describe("faults and bad input on PostgreSQL", () => {
  it.live("an unreachable database fails the layer with StoreUnavailable after the connectRetry schedule", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      let tries = 0
      const connectRetry = countingInputs(Schedule.recurs(1), () => tries++)
      const error = yield* Effect.flip(
        Layer.build(PgEngine.layer({ url: `postgres://weft:secret@127.0.0.1:${port}/weft`, connectRetry }))
      )
      assert.instanceOf(error, WorkflowError.WorkflowError)
      assert.strictEqual(error.reason, "StoreUnavailable")
      assert.isTrue(error.isRetryable)
      assert.include(error.message, `127.0.0.1:${port}`)
      assert.notInclude(error.message, "secret")
      assert.strictEqual(tries, 2)
    }))

  it.live("survives a connection cut mid-run: it resumes on reconnect, no result lost or doubled", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const { proxied, proxy } = yield* proxiedUrl(url)
      const gate = yield* Deferred.make<void>()
      gates.set("cut/s3", gate)
      // No polling: after the cut, only a retried claim and a LISTEN connection made anew can move work along.
      const engine = yield* Layer.build(
        engineAt(proxied.toString(), { owner: "cut", storeRetryMs: 20, pollIntervalMs: 3_600_000, maxConnections: 2 })
      )
      const id = yield* Steps.execute({ id: "cut" }, { discard: true }).pipe(Effect.provide(engine))
      yield* waitUntil(Effect.sync(() => counter.get("cut/s3") === 1), "s3 running")
      const cutAt = yield* Clock.currentTimeMillis
      proxy.cut()
      // `s3` finishes while the database is out of reach: its result cannot be stored.
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.promise(() => proxy.refused(3))
      proxy.restore()
      assert.strictEqual(yield* Steps.execute({ id: "cut" }).pipe(Effect.provide(engine)), "s1-s2-s3-s4-s5")
      assert.deepStrictEqual(yield* journal(url, id), ["s1#1", "s2#1", "s3#1", "s4#1", "s5#1"])
      // The body whose result could not be written during the cut ran once: the write was tried again until the
      // database answered (the cut lasts three refused connections, well within two heartbeats); so did every other.
      assert.strictEqual(counter.get("cut/s3"), 1)
      for (const name of ["s1", "s2", "s4", "s5"]) assert.strictEqual(counter.get(`cut/${name}`), 1)

      // Wake-ups from other processes reach the engine again once it listens on a new connection.
      yield* waitUntil(
        Effect.map(
          query(
            url,
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'weft-listen' AND query LIKE 'LISTEN%'
                AND backend_start > to_timestamp(${cutAt / 1000})`
          ),
          (rows) => rows[0].n > 0
        ),
        "listening again"
      )
      const submitter = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, maxConnections: 2 }))
      assert.strictEqual(yield* Steps.execute({ id: "after-cut" }).pipe(Effect.provide(submitter)), "s1-s2-s3-s4-s5")
      assert.strictEqual(counter.get("cut/s5"), 2)
    }), { timeout: 45_000 })

  it.live("gives up a statement on a connection that stops answering (no reset, no error) and goes on", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const { proxied, proxy } = yield* proxiedUrl(url)
      const engine = yield* Layer.build(
        engineAt(proxied.toString(), {
          owner: "frozen",
          storeRetryMs: 20,
          pollIntervalMs: 3_600_000,
          maxConnections: 2,
          queryTimeoutMs: 1_000
        })
      )
      // A first run lets the engine's start-up reads (its timer loop) finish before anything is frozen.
      // (Steps counts and gates its activities per engine: the tested run's are the counts past 1.)
      assert.strictEqual(yield* Steps.execute({ id: "frozen-warm" }).pipe(Effect.provide(engine)), "s1-s2-s3-s4-s5")
      const gate = yield* Deferred.make<void>()
      gates.set("frozen/s3", gate)
      const id = yield* Steps.execute({ id: "frozen" }, { discard: true }).pipe(Effect.provide(engine))
      yield* waitUntil(Effect.sync(() => counter.get("frozen/s3") === 2), "s3 running")
      // Every open connection goes silent: s3's result is written into the engine's one that never answers
      // (or a read of the timer loop gets there first, and the write goes on the connection that replaces it).
      const acceptedBefore = proxy.accepted()
      proxy.freeze()
      yield* Deferred.succeed(gate, undefined)
      yield* waitUntil(
        Effect.map(query(url, `SELECT status FROM weft_executions WHERE execution_id = '${id}'`), (rows) => rows[0].status === "succeeded"),
        "succeeded past the silent connection"
      )
      assert.strictEqual(yield* Steps.execute({ id: "frozen" }).pipe(Effect.provide(engine)), "s1-s2-s3-s4-s5")
      assert.deepStrictEqual(yield* journal(url, id), ["s1#1", "s2#1", "s3#1", "s4#1", "s5#1"])
      // The engine gave the silent connection up (its pool has one): it opened a new one.
      assert.isAbove(proxy.accepted(), acceptedBefore)
      // s3 ran again only if its write was the statement that timed out: at most once more, never lost.
      assert.include([2, 3], counter.get("frozen/s3"))
      for (const name of ["s1", "s2", "s4", "s5"]) assert.strictEqual(counter.get(`frozen/${name}`), 2)
    }), { timeout: 45_000 })

  it.live("an inspection read on a connection that stops answering fails as StoreUnavailable, and the next one works", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const { proxied, proxy } = yield* proxiedUrl(url)
      const engine = yield* Layer.build(
        engineAt(proxied.toString(), { owner: "cold", pollIntervalMs: 3_600_000, maxConnections: 2, queryTimeoutMs: 1_000 })
      )
      assert.strictEqual(yield* Steps.execute({ id: "cold" }).pipe(Effect.provide(engine)), "s1-s2-s3-s4-s5")
      // Both pools' connections are open (migrations, the run's writes); every one of them goes silent.
      proxy.freeze()
      const error = yield* Effect.flip(WorkflowEngine.list({ workflow: "Steps" }).pipe(Effect.provide(engine)))
      assert.strictEqual(error.reason, "StoreUnavailable")
      const page = yield* WorkflowEngine.list({ workflow: "Steps" }).pipe(Effect.provide(engine))
      assert.deepStrictEqual(page.items.map((e) => e.status), ["succeeded"])
    }), { timeout: 45_000 })

  it.live("rejects malformed tokens and tokens signed by another database's key, writing nothing", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const otherUrl = yield* testDatabase()
      const engine = yield* Layer.build(engineAt(url, { owner: "tokens" }))
      const other = yield* Layer.build(engineAt(otherUrl, { owner: "tokens-elsewhere" }))
      const id = yield* Ledger.execute({ id: "tokens" }, { discard: true }).pipe(Effect.provide(engine))
      yield* suspended(Ledger, id).pipe(Effect.provide(engine))
      const execution = { workflow: Ledger.name, executionId: id }
      const genuine = yield* DurableDeferred.tokenFor(Approval, execution).pipe(Effect.provide(engine))
      const foreign = yield* DurableDeferred.tokenFor(Approval, execution).pipe(Effect.provide(other))
      const misdirected = yield* DurableDeferred.tokenFor(Other, execution).pipe(Effect.provide(engine))
      assert.notStrictEqual(foreign, genuine)
      const [, keyId, body, signature] = genuine.split(".")
      const base64url = (text: string) => Buffer.from(text).toString("base64url")
      const before = yield* snapshot(url, id)
      for (const token of [
        foreign,
        misdirected,
        "",
        "garbage",
        `v2.${keyId}.${body}`,
        `v1.${body}.${signature}`,
        `v2.${keyId}.${body}.${signature!.slice(0, -3)}`,
        `v2.${keyId}.${base64url(JSON.stringify([Ledger.name, "0".repeat(32), "approval"]))}.${signature}`,
        `v2.${keyId}.${base64url("not json")}.${signature}`
      ]) {
        const error = yield* Effect.flip(DurableDeferred.succeed(Approval, { token, value: { by: "mallory" } })).pipe(
          Effect.provide(engine)
        )
        assert.instanceOf(error, WorkflowError.WorkflowError)
        assert.strictEqual(error.reason, "InvalidToken", token)
      }
      assert.deepStrictEqual(yield* snapshot(url, id), before)
      assert.strictEqual(before.status, "suspended")
      // The execution is intact: its own token still completes it.
      yield* DurableDeferred.succeed(Approval, { token: genuine, value: { by: "ops" } }).pipe(Effect.provide(engine))
      assert.strictEqual(yield* Ledger.execute({ id: "tokens" }).pipe(Effect.provide(engine)), "10+10 by ops")
    }), { timeout: 30_000 })

  it.live("a stored result that no longer decodes fails its execution with a NonDeterminismError naming it", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const engine = yield* Layer.build(engineAt(url, { owner: "corrupt", storeRetryMs: 20, pollIntervalMs: 100 }))
      const corruptions = [
        { id: "not-json", activity: "debit", exit: `{"_tag":"Success","value":` },
        { id: "wrong-shape", activity: "credit", exit: `{"_tag":"Success","value":{"amount":"ten"}}` }
      ]
      for (const corruption of corruptions) {
        const id = yield* Ledger.execute({ id: corruption.id }, { discard: true }).pipe(Effect.provide(engine))
        yield* suspended(Ledger, id).pipe(Effect.provide(engine))
        yield* query(
          url,
          `UPDATE weft_attempts SET exit = '${corruption.exit}'
            WHERE execution_id = '${id}' AND name = '${corruption.activity}'`
        )
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Ledger.name, executionId: id }).pipe(
          Effect.provide(engine)
        )
        yield* DurableDeferred.succeed(Approval, { token, value: { by: "ops" } }).pipe(Effect.provide(engine))
        const exit = yield* Effect.exit(Ledger.execute({ id: corruption.id }).pipe(Effect.provide(engine)))
        assert.isTrue(Exit.isFailure(exit), corruption.id)
        const defect = (Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined) as Error | undefined
        assert.strictEqual(defect?.name, "NonDeterminismError")
        const message = String(defect?.message)
        assert.include(message, id)
        assert.include(message, `"${corruption.activity}"`, message)
        const [row] = yield* query(url, `SELECT status FROM weft_executions WHERE execution_id = '${id}'`)
        assert.strictEqual(row.status, "failed")
        assert.strictEqual(counter.get(`corrupt/settle`), 0)
      }
      // The engine itself carries on.
      const after = yield* Steps.execute({ id: "after-corruption" }).pipe(Effect.provide(engine))
      assert.strictEqual(after, "s1-s2-s3-s4-s5")
    }), { timeout: 30_000 })

  it.live("a parent whose child's row no longer reads still ends when interrupted; the child is left as it is", () =>
    Effect.gen(function* () {
      const url = yield* testDatabase()
      const engine = yield* Layer.build(engineAt(url, { owner: "elder", storeRetryMs: 20, pollIntervalMs: 100 }))
      const parentId = yield* Elder.execute({ id: "e1" }, { discard: true }).pipe(Effect.provide(engine))
      const childId = yield* Ledger.executionId({ id: "e1-child" })
      yield* suspended(Ledger, childId).pipe(Effect.provide(engine))
      yield* suspended(Elder, parentId).pipe(Effect.provide(engine))
      yield* query(url, `UPDATE weft_executions SET payload = 'not json' WHERE execution_id = '${childId}'`)
      yield* Elder.interrupt(parentId).pipe(Effect.provide(engine))
      yield* waitUntil(Effect.provide(hasStatus(parentId, "interrupted"), engine), "parent interrupted")
      const [child] = yield* query(url, `SELECT status FROM weft_executions WHERE execution_id = '${childId}'`)
      assert.strictEqual(child.status, "suspended")
    }), { timeout: 30_000 })
})

// Worker processes

const workerScript = fileURLToPath(new URL("./workers/worker.ts", import.meta.url))

interface Worker {
  readonly id: string
  readonly child: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly exitCode: () => number | null
  /** What it wrote to stdout so far. */
  readonly stdout: () => string
}

/** Starts a worker process and waits until it is ready; stops it (SIGTERM) when the scope closes. */
const startWorker = (url: string, id: string, killCount?: number) =>
  Effect.acquireRelease(
    Effect.callback<Worker, Error>((resume) => {
      const kill = killCount === undefined ? [] : [String(killCount)]
      const args = ["--conditions=@weft/source", "--import", "tsx", workerScript, url, id, String(LEASE_MS), ...kill]
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      let status: number | null = null
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => {
          status = code ?? -1
          resolve({ code, signal })
        })
      )
      const worker: Worker = { id, child, exited, exitCode: () => status, stdout: () => stdout }
      child.stderr!.on("data", (chunk) => {
        stderr += chunk
        if (process.env.WEFT_WORKER_LOGS !== undefined) process.stderr.write(`[${id}] ${chunk}`)
      })
      child.stdout!.on("data", (chunk) => {
        stdout += chunk
        if (stdout.includes("ready\n")) resume(Effect.succeed(worker))
      })
      void exited.then(({ code, signal }) => {
        if (stdout.includes("ready\n")) return
        resume(Effect.fail(new Error(`worker ${id} exited (${code ?? signal}) before it was ready: ${stderr}`)))
      })
    }),
    (worker) =>
      Effect.promise(() => {
        if (worker.exitCode() === null) worker.child.kill("SIGTERM")
        return worker.exited
      })
  )

/** Listens for the instrumentation's completion notices and counts the distinct executions done. */
const listenDone = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      const done = new Set<string>()
      const waiters: Array<{ readonly count: number; readonly resolve: () => void }> = []
      client.on("notification", (message) => {
        if (message.channel !== "weft_test_done" || message.payload === undefined) return
        done.add(message.payload)
        for (const waiter of waiters) if (done.size >= waiter.count) waiter.resolve()
      })
      await client.query("LISTEN weft_test_done")
      return {
        client,
        /** Resolves once `count` executions were announced as done. */
        reached: (count: number) =>
          new Promise<void>((resolve) => {
            if (done.size >= count) resolve()
            else waiters.push({ count, resolve })
          })
      }
    }),
    ({ client }) => Effect.promise(() => client.end())
  )

// Network

/** A TCP proxy on 127.0.0.1 to `target`'s host and port that can cut every connection and refuse new ones. */
const tcpProxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.callback<{
      readonly port: number
      readonly server: Net.Server
      readonly cut: () => void
      /** The open connections stop carrying anything, in both directions, without closing; new ones work. */
      readonly freeze: () => void
      /** How many connections it has taken in so far. */
      readonly accepted: () => number
      readonly restore: () => void
      readonly refused: (count: number) => Promise<void>
    }>((resume) => {
      const sockets = new Set<Net.Socket>()
      const frozen = new Set<Net.Socket>()
      let blocked = false
      let refused = 0
      let accepted = 0
      const waiters: Array<{ readonly count: number; readonly resolve: () => void }> = []
      const server = Net.createServer((client) => {
        if (blocked) {
          refused++
          client.destroy()
          for (const waiter of waiters) if (refused >= waiter.count) waiter.resolve()
          return
        }
        accepted++
        const upstream = Net.connect(Number(target.port || 5432), target.hostname)
        const close = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on("error", close)
          socket.on("close", close)
        }
        client.pipe(upstream)
        upstream.pipe(client)
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address() as Net.AddressInfo
        resume(
          Effect.succeed({
            port: address.port,
            server,
            cut: () => {
              blocked = true
              for (const socket of sockets) socket.destroy()
            },
            freeze: () => {
              for (const socket of sockets) {
                socket.unpipe()
                socket.pause()
                frozen.add(socket)
              }
            },
            accepted: () => accepted,
            restore: () => {
              blocked = false
            },
            refused: (count: number) =>
              new Promise<void>((resolve) => {
                if (refused >= count) resolve()
                else waiters.push({ count, resolve })
              })
          })
        )
      })
    }),
    (proxy) =>
      Effect.callback<void>((resume) => {
        proxy.cut()
        proxy.server.close(() => resume(Effect.void))
      })
  )

/** A proxy to the database at `url`, and the URL that goes through it. */
const proxiedUrl = (url: string) =>
  Effect.map(tcpProxy(new URL(url)), (proxy) => {
    const proxied = new URL(url)
    proxied.hostname = "127.0.0.1"
    proxied.port = String(proxy.port)
    return { proxy, proxied }
  })

/** `schedule`, calling `count` for every input it is stepped with (for a retry: every failure, the last one too). */
const countingInputs = <Output, Input>(schedule: Schedule.Schedule<Output, Input>, count: () => void) =>
  Schedule.fromStep(
    Effect.map(Schedule.toStep(schedule), (step) => (now: number, input: Input) =>
      Effect.suspend(() => {
        count()
        return step(now, input)
      })
    )
  )

/** A port on 127.0.0.1 that nothing listens on. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

// Rows

const query = (url: string, text: string) => Effect.promise(() => adminQuery(url, text))

/** An execution's attempts as `name#attempt`, in the order they were stored. */
const journal = (url: string, executionId: string) =>
  Effect.map(
    query(url, `SELECT name, attempt FROM weft_attempts WHERE execution_id = '${executionId}' ORDER BY seq`),
    (rows) => rows.map((row) => `${row.name}#${row.attempt}`)
  )

/** What a rejected signal must leave untouched. */
const snapshot = (url: string, executionId: string) =>
  Effect.map(
    query(
      url,
      `SELECT status, wake_seq,
        (SELECT count(*)::int FROM weft_deferreds WHERE execution_id = '${executionId}') AS deferreds,
        (SELECT count(*)::int FROM weft_events WHERE execution_id = '${executionId}') AS events
      FROM weft_executions WHERE execution_id = '${executionId}'`
    ),
    (rows) => rows[0] as { status: string; wake_seq: string; deferreds: number; events: number }
  )

interface Claim {
  readonly executionId: string
  readonly oldOwner: string | null
  readonly oldFence: number
  readonly oldLeaseUntil: number
  readonly owner: string | null
  readonly fence: number
  readonly at: number
}

const toClaim = (row: any): Claim => ({
  executionId: row.execution_id,
  oldOwner: row.old_owner,
  oldFence: Number(row.old_fence),
  oldLeaseUntil: Number(row.old_lease_until),
  owner: row.owner,
  fence: Number(row.fence),
  at: Number(row.at)
})

interface Run {
  readonly executionId: string
  readonly activity: string
  readonly worker: string
  readonly fence: number
  readonly at: number
}

const toRun = (row: any): Run => ({
  executionId: row.execution_id,
  activity: row.activity,
  worker: row.worker,
  fence: Number(row.fence),
  at: Number(row.at)
})

const groupBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string): Map<string, Array<A>> => {
  const groups = new Map<string, Array<A>>()
  for (const item of items) {
    const group = groups.get(key(item))
    if (group === undefined) groups.set(key(item), [item])
    else group.push(item)
  }
  return groups
}

// Fixtures

const counter = new Counter()
const gates = new Map<string, Deferred.Deferred<void>>()

/** Five activities; each counts its body runs per engine owner and waits on a gate when the test set one. */
const Steps = Workflow.make({
  name: "Steps",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const stepActivities = ["s1", "s2", "s3", "s4", "s5"].map((name) =>
  Activity.make({
    name,
    success: Schema.String,
    execute: Effect.gen(function* () {
      const { engine } = yield* Workflow.WorkflowInstance
      yield* counter.bump(`${engine.owner}/${name}`)
      const gate = gates.get(`${engine.owner}/${name}`)
      if (gate !== undefined) yield* Deferred.await(gate)
      return name
    })
  })
)

const StepsLive = Steps.toLayer(() =>
  Effect.map(Effect.all(stepActivities), (results) => results.join("-"))
)

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })
const Other = DurableDeferred.make("other")

const Amount = Schema.Struct({ amount: Schema.Number })

/** Two recorded activities, then a wait for approval, then a settlement. */
const Ledger = Workflow.make({
  name: "Ledger",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const LedgerLive = Ledger.toLayer(() =>
  Effect.gen(function* () {
    const debit = yield* Activity.make({ name: "debit", success: Amount, execute: Effect.succeed({ amount: 10 }) })
    const credit = yield* Activity.make({ name: "credit", success: Amount, execute: Effect.succeed({ amount: 10 }) })
    const { by } = yield* DurableDeferred.await(Approval)
    yield* Activity.make({
      name: "settle",
      execute: Effect.flatMap(Workflow.WorkflowInstance, ({ engine }) => counter.bump(`${engine.owner}/settle`))
    })
    return `${debit.amount}+${credit.amount} by ${by}`
  })
)

/** Awaits one `Ledger` child. */
const Elder = Workflow.make({ name: "Elder", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })

const ElderLive = Elder.toLayer(({ id }) => Effect.orDie(Ledger.execute({ id: `${id}-child` })))

/** A PostgreSQL engine at `url` with this file's workflows registered. */
const engineAt = (url: string, options: SqlEngine.Options & { readonly maxConnections?: number; readonly queryTimeoutMs?: number }) =>
  Layer.mergeAll(StepsLive, LedgerLive, ElderLive).pipe(Layer.provideMerge(PgEngine.layer({ url, ...options })))
