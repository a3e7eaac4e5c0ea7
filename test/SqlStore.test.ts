/**
 * The SQL store against the store conformance suite, on SQLite (a database per test) and on
 * PostgreSQL (a fresh database per test): over a plain `PgClient` (any `SqlClient`) and over the
 * engine's own `PgDriver` (prepared statements). Then what only PostgreSQL does: group commit, one
 * round trip per write, and completions announced only to processes that wait for them.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as SqlClient from "effect/sql/SqlClient"
import * as Stream from "effect/Stream"
import { SqlStore } from "@weft/engine-sql"
import { PgDriver } from "@weft/engine-sql/pg"
import { SqliteClient } from "@weft/engine-sql/sqlite"
import { type WorkflowError, WorkflowStore } from "@weft/workflow"
import { storeConformance } from "@weft/workflow/test/StoreConformance"
import * as Statements from "../bench/statements.js"
import * as Pg from "../packages/engine-sql/src/internal/pgStatements.js"
import { adminQuery, testDatabase } from "./pg.js"
import { type PgClientKind, pgStoreOver, whileHeld } from "./pgRace.js"
import { waitUntil } from "./util.js"

const freshUrl = testDatabase()

/** The store over the engine's own driver, on a fresh database; leases on the caller's clock (tests pass times). */
const driverStore = (leaseMs: number, maxConnections = 2) =>
  SqlStore.layer({ leaseMs, leaseClock: "caller" }).pipe(
    Layer.provide(Layer.unwrap(Effect.map(freshUrl, (url) => PgDriver.layer({ url, maxConnections }))))
  )

storeConformance("SqlStore on SQLite", ({ leaseMs }) =>
  SqlStore.layer({ leaseMs }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" })))
)

// The suite drives time itself (T0 + LEASE_MS …): on PostgreSQL, leases read the caller's clock for it.
storeConformance("SqlStore on PostgreSQL over a plain PgClient", ({ leaseMs }) =>
  SqlStore.layer({ leaseMs, leaseClock: "caller" }).pipe(
    Layer.provide(
      Layer.unwrap(Effect.map(freshUrl, (url) => PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })))
    )
  )
)

storeConformance("SqlStore on PostgreSQL over the PgDriver", ({ leaseMs }) => driverStore(leaseMs))

const T = 1_700_000_000_000
// Text that a batch's arrays must carry intact: quotes, backslashes, braces, commas, NULL-looking words.
const AWKWARD = 'a "quoted", {braced} \\ back\\slash NULL — ключ 🎉\nline'

const newExecution = (executionId: string, extra: Partial<WorkflowStore.NewExecution> = {}): WorkflowStore.NewExecution => ({
  executionId,
  workflow: "W",
  payload: { text: AWKWARD, executionId },
  parent: undefined,
  at: T,
  ...extra
})

const attempt = (name: string, value: unknown = name): WorkflowStore.ActivityAttempt => ({
  name,
  attempt: 1,
  exit: { _tag: "Success", value },
  startedAt: T + 1,
  completedAt: T + 2
})

describe("SqlStore on PostgreSQL: group commit", () => {
  it.effect("writes concurrent creates, attempts and completions together, fencing each row on its own", () =>
    Effect.gen(function* () {
      Statements.install()
      const store = yield* WorkflowStore.WorkflowStore
      const ids = Array.from({ length: 40 }, (_, i) => `g${i}`)
      // Concurrent creates, g5 twice: one of those two calls creates it, the other joins.
      const created = yield* Effect.forEach(
        [...ids, "g5"],
        (id) => store.create(newExecution(id, { claimFor: "a", announce: false })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(created.filter((c) => c.created).length, ids.length)
      const fences = new Map<string, number>()
      for (const c of created) if (c.created) fences.set(c.record.executionId, c.fence!)
      for (const id of ids) assert.deepStrictEqual((yield* getOf(store, id)).payload, { text: AWKWARD, executionId: id })

      // g0's claim is taken over: its write, in the middle of a batch, must fail alone.
      assert.isTrue(Option.isSome(yield* store.claim("g0", "b", T + 2_000_000)))
      const order = [...ids.slice(1, 20), "g0", ...ids.slice(20)]
      const before = Statements.tally()
      const results = yield* Effect.forEach(
        order,
        (id) => Effect.result(store.recordAttempt(id, fences.get(id)!, attempt(`step-${id}`, `${AWKWARD} ${id}`))),
        { concurrency: "unbounded" }
      )
      // The first write goes alone; the rest queue behind it and leave together (plus g0's look-up).
      assert.isAtMost(Statements.since(before).statements, 4)
      for (const [i, result] of results.entries()) {
        if (order[i] === "g0") assert.isTrue(Result.isFailure(result) && result.failure.reason === "LeaseLost")
        else assert.isTrue(Result.isSuccess(result), order[i])
      }
      // The same attempt again is first-writer-wins, through the batch too.
      const again = yield* Effect.forEach(
        ids.slice(1),
        (id) => store.recordAttempt(id, fences.get(id)!, attempt(`step-${id}`, "other")),
        { concurrency: "unbounded" }
      )
      for (const [i, stored] of again.entries()) {
        assert.deepStrictEqual(stored.exit, { _tag: "Success", value: `${AWKWARD} g${i + 1}` })
      }
      assert.strictEqual((yield* detailOf(store, "g0")).attempts.length, 0)

      // Completions: g0's fails alone with LeaseLost; every other one completes once, with its event.
      const completed = yield* Effect.forEach(
        ids,
        (id) =>
          Effect.result(
            store.complete(id, fences.get(id)!, { status: "succeeded", result: { _tag: "Success", value: AWKWARD }, at: T + 3 })
          ),
        { concurrency: "unbounded" }
      )
      assert.isTrue(Result.isFailure(completed[0]!) && completed[0]!.failure.reason === "LeaseLost")
      for (const id of ids.slice(1)) {
        const detail = yield* detailOf(store, id)
        assert.strictEqual(detail.execution.status, "succeeded")
        assert.deepStrictEqual(detail.execution.result, { _tag: "Success", value: AWKWARD })
        assert.deepStrictEqual(detail.events.map((e) => e.kind), ["started", "completed"])
      }
      assert.strictEqual((yield* getOf(store, "g0")).status, "running")
    }).pipe(Effect.provide(driverStore(1_000_000, 4))))
})

describe("SqlStore on PostgreSQL: a batch of JSON texts", () => {
  it.effect("keeps an undefined payload (the empty text) apart from the rest, alone, in a batch of one and among others", () =>
    Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      // The first create goes alone; the second, queued behind it, is a batch of one; then a mixed batch.
      const rounds = [["u1", "u2"], ["u3", "m1", "u4", "m2", "u5"]]
      for (const round of rounds) {
        yield* Effect.forEach(
          round,
          (id) => store.create(newExecution(id, { claimFor: "a", announce: false, payload: id.startsWith("u") ? undefined : { id } })),
          { concurrency: "unbounded" }
        )
      }
      for (const id of rounds.flat()) {
        assert.deepStrictEqual((yield* getOf(store, id)).payload, id.startsWith("u") ? undefined : { id }, id)
      }
    }).pipe(Effect.provide(driverStore(1_000_000, 4))))
})

describe("SqlStore on PostgreSQL: a write that cannot be serialized", () => {
  it.effect("fails its caller alone: the writes around it, batched or not, are stored and the next ones go through", () =>
    Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      const ids = Array.from({ length: 8 }, (_, i) => `s${i}`)
      const fences = new Map<string, number>()
      for (const id of ids) fences.set(id, (yield* store.create(newExecution(id, { claimFor: "a", announce: false }))).fence!)
      // JSON has no BigInt: s3's attempt cannot be written.
      const results = yield* Effect.forEach(
        ids,
        (id) => Effect.exit(store.recordAttempt(id, fences.get(id)!, attempt("one", id === "s3" ? 3n : id))),
        { concurrency: "unbounded" }
      )
      for (const [i, exit] of results.entries()) assert.strictEqual(exit._tag, i === 3 ? "Failure" : "Success", ids[i])
      for (const id of ids) {
        assert.strictEqual((yield* detailOf(store, id)).attempts.length, id === "s3" ? 0 : 1, id)
        yield* store.recordAttempt(id, fences.get(id)!, attempt("two"))
      }
    }).pipe(Effect.provide(driverStore(1_000_000, 4))))
})

describe("SqlStore on PostgreSQL: round trips", () => {
  /** `effect`'s value and how many statements it sent. */
  const count = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function* () {
      const before = Statements.tally()
      const value = yield* effect
      return [value, Statements.since(before).statements] as const
    })

  it.effect("a claimed create, an attempt, a completion, a claim and a heartbeat are one statement each", () =>
    Effect.gen(function* () {
      Statements.install()
      const store = yield* WorkflowStore.WorkflowStore
      const [created, creates] = yield* count(store.create(newExecution("r1", { claimFor: "a", announce: false })))
      const [, attempts] = yield* count(store.recordAttempt("r1", created.fence!, attempt("one")))
      const [, renewals] = yield* count(store.renew("a", [{ executionId: "r1", fence: created.fence! }], T + 10))
      const [, completions] = yield* count(
        store.complete("r1", created.fence!, { status: "succeeded", result: { _tag: "Success", value: 1 }, at: T + 20 })
      )
      yield* store.create(newExecution("r2"))
      const [claimed, claims] = yield* count(store.claim("r2", "a", T + 30))
      assert.isTrue(Option.isSome(claimed))
      assert.deepStrictEqual({ creates, attempts, renewals, completions, claims }, {
        creates: 1,
        attempts: 1,
        renewals: 1,
        completions: 1,
        claims: 1
      })
    }).pipe(Effect.provide(driverStore(1_000_000))))

  it.effect("a clock, a deferred, a deferred completed from outside, a wake and an interrupt request are one statement each", () =>
    Effect.gen(function* () {
      Statements.install()
      const store = yield* WorkflowStore.WorkflowStore
      const { fence } = yield* store.create(newExecution("d1", { claimFor: "a", announce: false }))
      const [, clocks] = yield* count(store.recordClock("d1", fence!, { name: "nap", wakeAt: T + 60_000 }))
      const [, deferreds] = yield* count(
        store.recordDeferred("d1", fence!, { name: "own", exit: { _tag: "Success", value: 1 }, completedAt: T + 1 })
      )
      assert.isTrue(yield* store.suspend("d1", fence!, 0, T + 60_000, T + 2))
      const signal = { name: "signal", exit: { _tag: "Success", value: "go" }, completedAt: T + 3 }
      const [completed, completions] = yield* count(store.completeDeferred("d1", signal))
      assert.isTrue(completed.applied)
      // A second completion is reported, not applied: the stored one is read back.
      const again = yield* store.completeDeferred("d1", { ...signal, exit: { _tag: "Success", value: "late" } })
      assert.deepStrictEqual(again, { applied: false, record: signal })
      const [woken, wakes] = yield* count(store.wake("d1", T + 4))
      const [requested, requests] = yield* count(store.requestInterrupt("d1", T + 5))
      assert.isTrue(woken && requested)
      const detail = yield* detailOf(store, "d1")
      assert.strictEqual(detail.execution.status, "running")
      assert.deepStrictEqual(detail.events.map((e) => e.kind), ["started", "suspended", "signal-received", "signal-ignored", "resumed", "interrupt-requested"])
      assert.deepStrictEqual({ clocks, deferreds, completions, wakes, requests }, {
        clocks: 1,
        deferreds: 1,
        completions: 1,
        wakes: 1,
        requests: 1
      })
    }).pipe(Effect.provide(driverStore(1_000_000))))
})

describe("SqlStore on PostgreSQL: completion notices", () => {
  it.effect("announces a completion only when a process that does not run the execution waits for it", () =>
    Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      const seen: Array<string> = []
      const listening = yield* Effect.forkChild(
        Stream.runForEach(store.notifications!, (n) => Effect.sync(() => void seen.push(`${n.kind}:${n.id}`)))
      )
      // Notices arrive in commit order: once a later sentinel is seen, every earlier notice has arrived.
      let sentinels = 0
      const sentinel = Effect.gen(function* () {
        const id = `sentinel-${sentinels++}`
        yield* store.create(newExecution(id))
        return `wake:${id}`
      })
      const settle = Effect.flatMap(sentinel, (notice) => waitUntil(Effect.sync(() => seen.includes(notice)), notice))
      // The stream LISTENs once its connection is up, and misses what comes before: probe until a notice arrives.
      let turns = 0
      yield* waitUntil(
        Effect.gen(function* () {
          if (seen.length > 0) return true
          if (turns++ % 64 === 0) yield* sentinel
          return false
        }),
        "the LISTEN connection"
      )
      const finish = (id: string, fence: number) =>
        store.complete(id, fence, { status: "succeeded", result: { _tag: "Success", value: 1 }, at: T + 5 })
      const claimed = (id: string) => Effect.map(store.claim(id, "worker", T + 1), (c) => Option.getOrThrow(c).fence)
      yield* settle
      seen.length = 0

      // Created and run by the same process: whoever waits is in that process. No notice.
      const own = yield* store.create(newExecution("own", { claimFor: "worker", announce: false, awaited: true }))
      yield* finish("own", own.fence!)
      // Submitted by a process that waits for it and runs elsewhere: announced.
      yield* store.create(newExecution("submitted", { awaited: true }))
      yield* finish("submitted", yield* claimed("submitted"))
      // Submitted without waiting (start): not announced.
      yield* store.create(newExecution("started"))
      yield* finish("started", yield* claimed("started"))
      // Created by its runner, then joined by a process that waits: announced from then on.
      const joined = yield* store.create(newExecution("joined", { claimFor: "worker", announce: false }))
      const join = yield* store.create(newExecution("joined", { awaited: true }))
      assert.isFalse(join.created)
      assert.strictEqual(join.record.status, "running")
      yield* finish("joined", joined.fence!)
      yield* settle

      assert.deepStrictEqual(seen.filter((s) => s.startsWith("done:")).sort(), ["done:joined", "done:submitted"])
      yield* Fiber.interrupt(listening)
    }).pipe(Effect.provide(driverStore(1_000_000))))
})

const getOf = (store: WorkflowStore.Service, id: string) => Effect.map(store.get(id), Option.getOrThrow)
const detailOf = (store: WorkflowStore.Service, id: string) => Effect.map(store.detail(id), Option.getOrThrow)

/**
 * Runs `racer` on a store over a fresh database (per client kind) while another connection holds `statement`
 * uncommitted on execution `executionId`, then commits it once `racer` waits on the row's lock; `racer`'s result.
 */
const meetingAt = <A>(
  client: PgClientKind,
  executionId: string,
  statement: { readonly text: string },
  params: Array<unknown>,
  racer: (store: WorkflowStore.Service) => Effect.Effect<A, WorkflowError.WorkflowError>,
  then: (store: WorkflowStore.Service, result: A) => Effect.Effect<void, WorkflowError.WorkflowError>
) =>
  Effect.gen(function* () {
    const url = yield* freshUrl
    const layer = pgStoreOver(url, client, { leaseMs: 1_000_000 })
    yield* Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      yield* store.create(newExecution(executionId, { announce: false }))
      const raced = yield* whileHeld(url, { text: statement.text, params }, racer(store), "the racing statement waits on the execution's row")
      yield* then(store, raced)
    }).pipe(Effect.provide(layer))
  })

describe("SqlStore on PostgreSQL: statements that meet on one row", () => {
  for (const client of ["PgDriver", "plain PgClient"] as const) {
    it.effect(`refuses a signal whose statement meets an interrupt request not yet committed (${client})`, () =>
      meetingAt(
        client,
        "r1",
        Pg.requestInterrupt,
        ["r1", T + 5, null],
        (store) => store.completeDeferred("r1", { name: "approval", exit: { _tag: "Success", value: 1 }, completedAt: T + 6 }),
        (store, { applied }) =>
          Effect.gen(function* () {
            assert.isFalse(applied)
            const detail = yield* detailOf(store, "r1")
            assert.deepStrictEqual(detail.deferreds, [])
            assert.deepStrictEqual(detail.events.map((e) => e.kind), ["started", "interrupt-requested", "signal-ignored"])
            assert.isTrue(detail.execution.interruptRequested)
          })
      ))

    it.effect(`a claim that waits for a signal's commit never pairs the new wake sequence with a journal without it (${client})`, () =>
      meetingAt(
        client,
        "s1",
        Pg.completeDeferred,
        ["s1", "approval", JSON.stringify({ _tag: "Success", value: 1 }), T + 5],
        (store) => store.claim("s1", "worker-a", T + 6),
        (store, claimed) =>
          Effect.gen(function* () {
            const { fence, journal } = Option.getOrThrow(claimed)
            // The run replays this journal: if the deferred is not in it, suspending with the wake sequence the
            // claim gave must fail (the run then claims again and sees it), never leave the execution suspended.
            const seen = journal.deferreds.some((d) => d.name === "approval")
            const suspended = yield* store.suspend("s1", fence, journal.execution.wakeSeq, undefined, T + 7, false)
            assert.isTrue(seen || !suspended, "suspended on a journal that misses a committed signal")
            if (!seen) {
              const again = Option.getOrThrow(yield* store.claim("s1", "worker-a", T + 8))
              assert.deepStrictEqual(again.journal.deferreds.map((d) => d.name), ["approval"])
            }
          })
      ))
  }
})

describe("SqlStore on SQLite: a suspension is one write", () => {
  const sqliteStore = SqlStore.layer({ leaseMs: 1_000 }).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }))
  )

  it.effect(
    "suspend writes the row and its suspended event together: if the event fails, the row stays running and claimed",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* WorkflowStore.WorkflowStore
        yield* store.create(newExecution("e1"))
        const claim = Option.getOrThrow(yield* store.claim("e1", "a", T))
        // The event's INSERT fails, as a crash between the two writes would leave it unwritten.
        yield* sql`CREATE TRIGGER refuse_suspended BEFORE INSERT ON weft_events WHEN NEW.kind = 'suspended'
          BEGIN SELECT RAISE(ABORT, 'refused'); END`
        const suspended = yield* Effect.result(
          store.suspend("e1", claim.fence, claim.journal.execution.wakeSeq, T + 60_000, T + 1)
        )
        assert.isTrue(Result.isFailure(suspended))
        const record = Option.getOrThrow(yield* store.get("e1"))
        assert.strictEqual(record.status, "running")
        assert.strictEqual(record.wakeAt, undefined)
        // The claim still holds: its fenced writes go on.
        assert.deepStrictEqual(yield* store.recordAttempt("e1", claim.fence, attempt("x")), attempt("x"))
      }).pipe(Effect.provide(sqliteStore))
  )
})

describe("SqlStore on PostgreSQL: leases by the database's clock (the default)", () => {
  const sorted = (ids: ReadonlyArray<string>) => [...ids].sort()
  const LEASE = 60_000
  for (const client of ["PgDriver", "plain PgClient"] as const) {
    it.effect(`a claim, a batch claim and a renewal sent with a stale now still hold a whole lease (${client})`, () =>
      Effect.gen(function* () {
        const url = yield* freshUrl
        const layer = pgStoreOver(url, client, { leaseMs: LEASE })
        yield* Effect.gen(function* () {
          const store = yield* WorkflowStore.WorkflowStore
          const dbNow = Effect.map(
            Effect.promise(() => adminQuery(url, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now")),
            (rows) => Number(rows[0].now)
          )
          const leaseOf = (id: string) =>
            Effect.map(
              Effect.promise(() => adminQuery(url, `SELECT lease_until FROM weft_executions WHERE execution_id = '${id}'`)),
              (rows) => Number(rows[0].lease_until)
            )
          // The caller's clock is a day behind (a statement that waited, a worker whose clock is off) or a day ahead.
          const stale = T
          const ahead = 2 * Date.now()
          yield* store.create(newExecution("single", { announce: false }))
          yield* store.create(newExecution("batched", { announce: false }))

          const before = yield* dbNow
          const claim = Option.getOrThrow(yield* store.claim("single", "a", stale))
          assert.isAtLeast(yield* leaseOf("single"), before + LEASE)
          const batch = yield* store.claimRunnable("a", stale, 10, ["W"])
          assert.deepStrictEqual(batch.map((c) => c.journal.execution.executionId), ["batched"])
          assert.isAtLeast(yield* leaseOf("batched"), before + LEASE)

          // Another worker whose clock runs far ahead still sees both leases live, by the database's clock.
          assert.isTrue(Option.isNone(yield* store.claim("single", "b", ahead)))
          assert.deepStrictEqual(yield* store.claimRunnable("b", ahead, 10, ["W"]), [])
          assert.deepStrictEqual(yield* store.runnable(ahead, 10, ["W"]), [])

          // A create that inserts its execution claimed, alone or in a batch of the PgDriver's group commit.
          const created = yield* Effect.forEach(
            ["born1", "born2", "born3"],
            (id) => store.create(newExecution(id, { announce: false, claimFor: "a", at: stale })),
            { concurrency: "unbounded" }
          )
          for (const [i, id] of ["born1", "born2", "born3"].entries()) {
            assert.isTrue(created[i]!.created, id)
            assert.isAtLeast(yield* leaseOf(id), before + LEASE, id)
          }
          assert.deepStrictEqual(yield* store.claimRunnable("b", ahead, 10, ["W"]), [])

          const renewedAt = yield* dbNow
          const renewed = yield* store.renew("a", [{ executionId: "single", fence: claim.fence }], stale)
          assert.deepStrictEqual(renewed, [{ held: true, interruptRequested: false }])
          assert.isAtLeast(yield* leaseOf("single"), renewedAt + LEASE)

          // A lease that has run out by the database's clock is free to anyone, whatever `now` they send.
          yield* Effect.promise(() => adminQuery(url, "UPDATE weft_executions SET lease_until = 0"))
          assert.isTrue(Option.isSome(yield* store.claim("single", "b", stale)))
          assert.deepStrictEqual(
            sorted((yield* store.claimRunnable("b", stale, 10, ["W"])).map((c) => c.journal.execution.executionId)),
            ["batched", "born1", "born2", "born3"]
          )
        }).pipe(Effect.provide(layer))
      }))
  }
})

describe("SqlStore on SQLite: a heartbeat of many claims", () => {
  it.effect("renews 9,000 claims (four bound values each: past what one SQLite statement binds) with what each has in flight", () =>
    Effect.gen(function* () {
      const store = yield* WorkflowStore.WorkflowStore
      const claims: Array<WorkflowStore.Renewal> = []
      for (let i = 0; i < 9_000; i++) {
        const id = `e${i}`
        const { fence } = yield* store.create({ ...newExecution(id), claimFor: "w", at: T })
        claims.push({ executionId: id, fence: fence!, inFlight: [{ name: `step-${i}`, attempt: 1 }] })
      }
      // One claim is no longer this owner's: it alone is not held.
      claims[7] = { ...claims[7]!, fence: claims[7]!.fence + 1_000 }
      const renewed = yield* store.renew("w", claims, T + 1)
      assert.strictEqual(renewed.length, 9_000)
      assert.deepStrictEqual(renewed.flatMap((r, i) => (r.held ? [] : [i])), [7])
    }).pipe(Effect.provide(SqlStore.layer({ leaseMs: 5_000, leaseClock: "caller" }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" }))))))
})
