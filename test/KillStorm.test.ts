/**
 * Progress under a kill storm on PostgreSQL: worker processes SIGKILLed one every 300 ms and respawned keep
 * recording steps during the storm (a new worker claims what it can start, a batch at a time, and starts it at
 * once), and every execution completes exactly once afterwards.
 */
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { PgEngine } from "@weft/engine-sql/pg"
import { adminQuery, testDatabase } from "./pg.js"
import * as Batch from "./workers/Batch.js"
import { type Child, listenDone, start } from "./workers/processes.js"

/** Executions; `WEFT_KILL_STORM_N` overrides. */
const EXECUTIONS = Number(process.env.WEFT_KILL_STORM_N ?? 1_500)
const WORKERS = 4
const KILL_EVERY_MS = 300
/** How long the storm lasts; `WEFT_KILL_STORM_MS` overrides. */
const STORM_MS = Number(process.env.WEFT_KILL_STORM_MS ?? 20_000)
const LEASE_MS = 1_000

const workerScript = fileURLToPath(new URL("./workers/worker.ts", import.meta.url))
const query = (url: string, text: string) => Effect.promise(() => adminQuery(url, text))

describe("a kill storm on PostgreSQL", () => {
  it.live(
    `${WORKERS} workers, one SIGKILLed every ${KILL_EVERY_MS} ms for ${STORM_MS / 1000} s and respawned: steps are ` +
      `recorded during the storm, and every one of ${EXECUTIONS} executions completes exactly once`,
    () =>
      Effect.gen(function* () {
        const url = yield* testDatabase()
        const submitter = yield* Layer.build(PgEngine.layer({ url, acceptUnregistered: true, maxConnections: 8 }))
        for (const statement of Batch.instrumentation) yield* query(url, statement)
        yield* Effect.forEach(
          Array.from({ length: EXECUTIONS }, (_, n) => n),
          (n) => Batch.Batch.execute({ n }, { discard: true }),
          { concurrency: 32, discard: true }
        ).pipe(Effect.provide(submitter))
        const done = yield* listenDone(url)

        let spawned = 0
        /** Ready workers, oldest first, with the time each became ready. */
        const live: Array<{ readonly child: Child; readonly readyAt: number }> = []
        const spawn = Effect.suspend(() => {
          const id = `w${++spawned}`
          return Effect.flatMap(start(workerScript, id, [url, id, String(LEASE_MS)]), (child) =>
            Effect.map(Clock.currentTimeMillis, (readyAt) => {
              live.push({ child, readyAt })
            })
          )
        })
        yield* Effect.all(Array.from({ length: WORKERS }, () => spawn), { concurrency: "unbounded", discard: true })

        // The storm: every tick the longest-lived ready worker is SIGKILLed, once it has lived as long as a worker
        // of a steady rotation would (${WORKERS} ticks), and a fresh one is started at once (not waited for).
        const stormStart = yield* Clock.currentTimeMillis
        let kills = 0
        const lives: Array<number> = []
        const respawns: Array<Fiber.Fiber<void, Error>> = []
        while ((yield* Clock.currentTimeMillis) < stormStart + STORM_MS) {
          yield* Effect.sleep(KILL_EVERY_MS)
          const now = yield* Clock.currentTimeMillis
          const victim = live[0]
          if (victim === undefined || now - victim.readyAt < WORKERS * KILL_EVERY_MS) continue
          live.shift()
          victim.child.child.kill("SIGKILL")
          kills++
          lives.push(now - victim.readyAt)
          respawns.push(yield* Effect.forkChild(spawn))
        }
        const stormEnd = yield* Clock.currentTimeMillis
        const doneAtStormEnd = done.count()
        yield* Effect.forEach(respawns, Fiber.join, { discard: true })
        yield* Effect.promise(() => done.reached(EXECUTIONS))
        const finishedAt = yield* Clock.currentTimeMillis

        // Steps stored during the storm, in slices of a fifth of it: progress all along, not only once it ended.
        const slices = 5
        const slice = STORM_MS / slices
        const perSlice = yield* query(
          url,
          `SELECT floor((completed_at - ${stormStart}) / ${slice})::int AS s, count(*)::int AS n FROM weft_attempts
            WHERE completed_at >= ${stormStart} AND completed_at < ${stormStart + slices * slice} GROUP BY 1 ORDER BY 1`
        )
        const during = perSlice.reduce((sum, row) => sum + row.n, 0)
        const [after] = yield* query(
          url,
          `SELECT count(*)::int AS n, max(completed_at) AS last FROM weft_attempts WHERE completed_at >= ${stormEnd}`
        )
        const calm = Math.max(1, Number(after.last ?? stormEnd) - stormEnd)
        console.log(
          `[kill storm] ${EXECUTIONS} executions, ${WORKERS} workers, ${kills} SIGKILLs in ${stormEnd - stormStart} ms ` +
            `(${spawned} processes started; a killed worker had been ready for ` +
            `${Math.round(lives.reduce((a, b) => a + b, 0) / Math.max(1, lives.length))} ms on average): ` +
            `${during} steps stored during the storm ` +
            `(${Math.round((during * 1000) / (stormEnd - stormStart))}/s; per ${slice / 1000} s: ` +
            `${Array.from({ length: slices }, (_, i) => perSlice.find((r) => r.s === i)?.n ?? 0).join(", ")}), ` +
            `${doneAtStormEnd} executions done by its end; ${after.n} steps after it ` +
            `(${Math.round((after.n * 1000) / calm)}/s without kills); all done ${finishedAt - stormEnd} ms after the storm`
        )
        assert.isAtLeast(kills, WORKERS, "the storm killed fewer workers than it started with")
        // Progress while workers die: a fresh worker claims what it can start and starts it before its turn comes.
        assert.isAbove(during, 0, "no step stored during the storm")

        // Every execution completed exactly once, with its result, and nobody holds it any more.
        const [summary] = yield* query(
          url,
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'succeeded' AND owner IS NULL)::int AS ok,
             count(*) FILTER (WHERE result = '{"_tag":"Success","value":"a' || (payload::json->>'n') || '/b' ||
               (payload::json->>'n') || '/c' || (payload::json->>'n') || '"}')::int AS right
           FROM weft_executions`
        )
        assert.deepStrictEqual(summary, { n: EXECUTIONS, ok: EXECUTIONS, right: EXECUTIONS })
        const [completions] = yield* query(
          url,
          `SELECT count(*)::int AS n, count(DISTINCT execution_id)::int AS d FROM weft_events WHERE kind = 'completed'`
        )
        assert.deepStrictEqual(completions, { n: EXECUTIONS, d: EXECUTIONS })
        // One stored result per step: none lost, none written twice.
        const [attempts] = yield* query(
          url,
          `SELECT count(*)::int AS n, count(DISTINCT (execution_id, name))::int AS d FROM weft_attempts`
        )
        assert.deepStrictEqual(attempts, { n: EXECUTIONS * Batch.steps.length, d: EXECUTIONS * Batch.steps.length })
      }),
    { timeout: 120_000 }
  )
})
