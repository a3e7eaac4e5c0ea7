/**
 * The store conformance suite: every `WorkflowStore` (memory, SQLite, PostgreSQL, a custom backend) runs
 * these tests to prove it keeps the journal contract written in `WorkflowStore.ts`.
 *
 * How a store runs it, from its own `test/<Store>.test.ts`:
 *
 *   storeConformance("SqliteStore", ({ leaseMs }) =>
 *     SqlStore.layer({ leaseMs }).pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" }))))
 *
 * - A fresh, empty store per test. Every test provides a layer built anew by `makeLayer`, and the store it
 *   yields must hold nothing: `runnable`, `nextWakeAt`, `list` and queue claims are global queries, so unique
 *   execution ids alone would not keep tests apart. SQLite: a `:memory:` database per layer. PostgreSQL: one
 *   server for the run and a fresh schema (or database) per layer, dropped when the layer's scope closes.
 * - Leases: the suite asks for the lease length through `makeLayer({ leaseMs })`, and the store must use it
 *   for execution claims and queue-item claims alike. It probes one millisecond either side of expiry, never
 *   the exact boundary, which the contract leaves open.
 * - Time: a store never reads a clock; every `now` and `at` is passed in, so the tests use fixed epoch
 *   milliseconds, not `TestClock`.
 * - Order: the contract fixes the order of `list` (newest first) and of the event log (append order) only;
 *   journal rows, `runnable` ids and queue items are compared as sets.
 * - Optional members (`ended`, `liveChildren`, `transaction`, `notifications`): a store that lacks one
 *   reports its tests as skipped, never as passed.
 */
import { assert, describe, it } from "@effect/vitest"
import { WorkflowError, WorkflowStore } from "@weft/workflow"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import type { TestContext } from "vitest"
import { waitUntil } from "../util.js"

/** What the suite asks of the store under test. */
export interface StoreOptions {
  /** How long a claim (of an execution or of a queue item) holds, in milliseconds. */
  readonly leaseMs: number
}

/** Builds a fresh, empty store with the given options; called once per test. */
export type MakeLayer = (options: StoreOptions) => Layer.Layer<WorkflowStore.WorkflowStore, unknown>

/** Renews one claim of `owner` (OWNER_A by default). */
const renewOne = (
  store: WorkflowStore.Service,
  executionId: string,
  fence: number,
  now: number,
  owner: string = OWNER_A
) => Effect.map(store.renew(owner, [{ executionId, fence }], now), (renewed) => renewed[0]!)

/** Registers the conformance tests of the store that `makeLayer` builds, under `describe(name)`. */
export const storeConformance = (name: string, makeLayer: MakeLayer): void => {
  const test = (title: string, body: (store: Store) => Effect.Effect<void, unknown>) =>
    it.effect(title, () =>
      Effect.flatMap(WorkflowStore.WorkflowStore, body).pipe(Effect.provide(makeLayer({ leaseMs: LEASE_MS })))
    )
  /** A test of an optional member: skipped (not passed) where the store lacks it. */
  const testOptional = <K extends OptionalMember>(
    title: string,
    member: K,
    body: (store: Store, value: NonNullable<Store[K]>) => Effect.Effect<void, unknown>
  ) =>
    it.effect(title, (ctx) =>
      Effect.flatMap(WorkflowStore.WorkflowStore, (store) => {
        const value = store[member]
        return value === undefined ? skip(ctx, `${name} has no ${member}`) : body(store, value as NonNullable<Store[K]>)
      }).pipe(Effect.provide(makeLayer({ leaseMs: LEASE_MS }))))

  describe(`${name} keeps the WorkflowStore contract`, () => {
    describe("create and get", () => {
      test("create with claimFor inserts the execution already claimed, fenced like any claim", (store) =>
        Effect.gen(function* () {
          const created = yield* store.create(newExecution("e1", { claimFor: OWNER_A }))
          assert.isTrue(created.created)
          const fence = created.fence!
          assert.isNumber(fence)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 1)))
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 1, 10), [])
          yield* store.recordAttempt("e1", fence, attempt("charge", 1))
          const again = yield* store.create(newExecution("e1", { claimFor: OWNER_B }))
          assert.isFalse(again.created)
          assert.isUndefined(again.fence)
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
          assert.notStrictEqual(b.fence, fence)
          const stale = yield* Effect.result(store.recordAttempt("e1", fence, attempt("ship", 1)))
          assert.isTrue(Result.isFailure(stale) && stale.failure.reason === "LeaseLost")
        }))

      test("create stores a new running execution and get returns exactly that record", (store) =>
        Effect.gen(function* () {
          const { created, record } = yield* store.create(newExecution("e1", { payload: { orderId: 7 } }))
          const expected: WorkflowStore.ExecutionRecord = {
            executionId: "e1",
            workflow: "Order",
            payload: { orderId: 7 },
            status: "running",
            result: undefined,
            parent: undefined,
            createdAt: T0,
            updatedAt: T0,
            wakeSeq: 0,
            interruptRequested: false,
            wakeAt: undefined
          }
          assert.isTrue(created)
          assert.deepStrictEqual(record, expected)
          assert.deepStrictEqual(yield* getOf(store, "e1"), expected)
        }))

      test("create stores the parent link", (store) =>
        Effect.gen(function* () {
          const parent = { executionId: "parent-1", deferred: "@weft/child/Ship" }
          const { record } = yield* store.create(newExecution("child-1", { parent }))
          assert.deepStrictEqual(record.parent, parent)
          assert.deepStrictEqual((yield* getOf(store, "child-1")).parent, parent)
        }))

      test("create with an existing id returns the stored record unchanged and writes nothing", (store) =>
        Effect.gen(function* () {
          const first = yield* store.create(newExecution("e1", { payload: { v: 1 } }))
          const again = yield* store.create({
            executionId: "e1",
            workflow: "Other",
            payload: { v: 2 },
            parent: { executionId: "p", deferred: "d" },
            at: T0 + 50
          })
          assert.isFalse(again.created)
          assert.deepStrictEqual(again.record, first.record)
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, first.record)
          assert.deepStrictEqual(detail.events, [{ kind: "started", at: T0, detail: undefined }])
        }))

      test("create with an existing id returns the record as it stands now, not as it was created", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", T0 + 500, T0 + 10)
          const stored = yield* getOf(store, "e1")
          const again = yield* store.create(newExecution("e1", { at: T0 + 20 }))
          assert.isFalse(again.created)
          assert.strictEqual(again.record.status, "suspended")
          assert.deepStrictEqual(again.record, stored)
          assert.deepStrictEqual(yield* getOf(store, "e1"), stored)
        }))

      test("get returns none for an unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isTrue(Option.isNone(yield* store.get("missing")))
        }))

      testOptional("ended (where the store has it) returns, in one call, the records of the given executions that ended, and nothing else", "ended", (store, ended) =>
        Effect.gen(function* () {
          const ids = TERMINAL_STATUSES.map((status) => `ended-${status}`)
          for (const [i, status] of TERMINAL_STATUSES.entries()) {
            yield* store.create(newExecution(ids[i]!))
            const claim = yield* claimOf(store, ids[i]!, OWNER_A, T0)
            yield* store.complete(ids[i]!, claim.fence, { status, result: EXIT_OF[status], at: T0 + 1 })
          }
          yield* store.create(newExecution("live"))
          yield* store.create(newExecution("not-asked"))
          const notAsked = yield* claimOf(store, "not-asked", OWNER_A, T0)
          yield* store.complete("not-asked", notAsked.fence, { status: "succeeded", result: EXIT_OF.succeeded, at: T0 + 1 })
          const found = yield* ended([...ids, "live", "missing"])
          const byId = new Map(found.map((record) => [record.executionId, record]))
          assert.deepStrictEqual([...byId.keys()].sort(), [...ids].sort())
          for (const [i, status] of TERMINAL_STATUSES.entries()) {
            assert.deepStrictEqual(byId.get(ids[i]!), yield* getOf(store, ids[i]!))
            assert.strictEqual(byId.get(ids[i]!)!.status, status)
          }
          assert.deepStrictEqual(yield* ended([]), [])
          // More ids than one statement takes: a SQL store splits them.
          const many = Array.from({ length: 1_200 }, (_, i) => `absent-${i}`)
          assert.deepStrictEqual((yield* ended([...many, ids[0]!])).map((r) => r.executionId), [ids[0]])
        }))

      testOptional("liveChildren (where the store has it) returns the linked children that have not ended, and nothing else", "liveChildren", (store, liveChildren) =>
        Effect.gen(function* () {
          const linked = (parent: string, child: string) => ({ parent: { executionId: parent, deferred: `child/${child}` } })
          yield* store.create(newExecution("p"))
          yield* store.create(newExecution("running", linked("p", "running")))
          yield* store.create(newExecution("waiting", linked("p", "waiting")))
          const waiting = yield* claimOf(store, "waiting", OWNER_A, T0)
          assert.isTrue(yield* store.suspend("waiting", waiting.fence, 0, undefined, T0 + 1))
          for (const status of TERMINAL_STATUSES) {
            yield* store.create(newExecution(`ended-${status}`, linked("p", status)))
            const claim = yield* claimOf(store, `ended-${status}`, OWNER_A, T0)
            yield* store.complete(`ended-${status}`, claim.fence, { status, result: EXIT_OF[status], at: T0 + 1 })
          }
          // Started with `discard`: no link. And a child of another parent.
          yield* store.create(newExecution("discarded"))
          yield* store.create(newExecution("other", linked("q", "other")))

          const found = yield* liveChildren("p")
          assert.deepStrictEqual(found.map((r) => r.executionId).sort(), ["running", "waiting"])
          for (const record of found) assert.deepStrictEqual(record, yield* getOf(store, record.executionId))
          assert.deepStrictEqual((yield* liveChildren("q")).map((r) => r.executionId), ["other"])
          assert.deepStrictEqual(yield* liveChildren("running"), [])
          // A failed child resumed by hand is live again.
          assert.isTrue(yield* store.reopen("ended-failed", T0 + 2))
          assert.deepStrictEqual((yield* liveChildren("p")).map((r) => r.executionId).sort(), ["ended-failed", "running", "waiting"])
        }))
    })

    describe("claim and release", () => {
      test("claim of a new execution returns its record, an empty journal and a fence", (store) =>
        Effect.gen(function* () {
          const { record } = yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
          assert.strictEqual(typeof claim.fence, "number")
          assert.deepStrictEqual(claim.journal, { execution: record, attempts: [], deferreds: [], clocks: [] })
        }))

      test("claim loads every attempt, deferred and clock recorded before it, in one call", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const first = yield* claimOf(store, "e1", OWNER_A, T0)
          const attempts = [attempt("charge", 1, "declined"), attempt("charge", 2), attempt("ship", 1)]
          for (const a of attempts) yield* store.recordAttempt("e1", first.fence, a)
          const clocks = [
            { name: "nap", wakeAt: T0 + 60_000 },
            { name: "approval/timeout", wakeAt: T0 + 90_000 }
          ]
          for (const c of clocks) yield* store.recordClock("e1", first.fence, c)
          const raced = { name: "race", exit: success("fast"), completedAt: T0 + 3 }
          yield* store.recordDeferred("e1", first.fence, raced)
          yield* store.release("e1", first.fence)
          const signal = { name: "approval", exit: success(true), completedAt: T0 + 4 }
          yield* store.completeDeferred("e1", signal)

          const claim = yield* claimOf(store, "e1", OWNER_B, T0 + 5)
          assert.deepStrictEqual(claim.journal.execution, yield* getOf(store, "e1"))
          assert.deepStrictEqual(sortAttempts(claim.journal.attempts), sortAttempts(attempts))
          assert.deepStrictEqual(sortByName(claim.journal.deferreds), sortByName([raced, signal]))
          assert.deepStrictEqual(sortByName(claim.journal.clocks), sortByName(clocks))
        }))

      test("claim returns none for an unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isTrue(Option.isNone(yield* store.claim("missing", OWNER_A, T0)))
        }))

      test("claim returns none for a succeeded, failed or interrupted execution", (store) =>
        Effect.gen(function* () {
          for (const status of TERMINAL_STATUSES) {
            yield* createTerminal(store, status, status)
            assert.isTrue(Option.isNone(yield* store.claim(status, OWNER_A, T0 + 1)), status)
            assert.isTrue(Option.isNone(yield* store.claim(status, OWNER_B, T0 + 10 * LEASE_MS)), status)
          }
        }))

      test("claim returns none while another owner's lease is live and succeeds once it has passed", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 1)))
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + LEASE_MS - 1)))
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
          assert.notStrictEqual(b.fence, a.fence)
          // The new claim holds its own lease: the first owner cannot take it back before that one passes.
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_A, T0 + LEASE_MS + 2)))
          assert.strictEqual((yield* failure(store.recordAttempt("e1", a.fence, attempt("x", 1)))).reason, "LeaseLost")
          yield* store.recordAttempt("e1", b.fence, attempt("x", 1))
        }))

      test("the same owner may claim again while its lease is live, and the new fence supersedes the old", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const first = yield* claimOf(store, "e1", OWNER_A, T0)
          const second = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
          assert.notStrictEqual(second.fence, first.fence)
          assert.strictEqual(
            (yield* failure(store.recordAttempt("e1", first.fence, attempt("x", 1)))).reason,
            "LeaseLost"
          )
          yield* store.recordAttempt("e1", second.fence, attempt("x", 1))
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 2)))
        }))

      test("claim returns none for a suspended execution until a wake-up makes it running", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", T0 + 60_000)
          const before = yield* getOf(store, "e1")
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 1)))
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 10 * LEASE_MS)))
          assert.deepStrictEqual(yield* getOf(store, "e1"), before)
          yield* store.wake("e1", T0 + 10 * LEASE_MS + 1)
          const claim = yield* claimOf(store, "e1", OWNER_B, T0 + 10 * LEASE_MS + 2)
          assert.strictEqual(claim.journal.execution.status, "running")
        }))

      test("release frees the execution for another owner at once, changes nothing else, and ends the fence", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.recordAttempt("e1", a.fence, attempt("charge", 1))
          const before = snapshot(yield* detailOf(store, "e1"))
          yield* store.release("e1", a.fence)
          assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
          assert.strictEqual(
            (yield* failure(store.recordAttempt("e1", a.fence, attempt("ship", 1)))).reason,
            "LeaseLost"
          )
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + 1)
          assert.deepStrictEqual(b.journal.attempts, [attempt("charge", 1)])
        }))

      test("release with a superseded fence leaves the current claim in place", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
          // Whether a stale release fails is left open; it must not free the current claim.
          yield* Effect.ignore(store.release("e1", a.fence))
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_C, T0 + LEASE_MS + 2)))
          yield* store.recordAttempt("e1", b.fence, attempt("charge", 1))
        }))
    })

    describe("fencing", () => {
      for (const write of FENCED_WRITES) {
        test(`${write.name} with a fence superseded by another claim fails with LeaseLost and writes nothing`, (store) =>
          Effect.gen(function* () {
            yield* store.create(newExecution("e1"))
            const a = yield* claimOf(store, "e1", OWNER_A, T0)
            const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
            const before = snapshot(yield* detailOf(store, "e1"))
            const error = yield* failure(write.run(store, "e1", a.fence, before.execution.wakeSeq))
            assert.instanceOf(error, WorkflowError.WorkflowError)
            assert.strictEqual(error.reason, "LeaseLost")
            assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
            // The same write under the live fence goes through: the fence, not the write, was refused.
            yield* write.run(store, "e1", b.fence, before.execution.wakeSeq)
          }))

        test(`${write.name} after the claim was released fails with LeaseLost and writes nothing`, (store) =>
          Effect.gen(function* () {
            yield* store.create(newExecution("e1"))
            const a = yield* claimOf(store, "e1", OWNER_A, T0)
            yield* store.release("e1", a.fence)
            const before = snapshot(yield* detailOf(store, "e1"))
            const error = yield* failure(write.run(store, "e1", a.fence, before.execution.wakeSeq))
            assert.strictEqual(error.reason, "LeaseLost")
            assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
          }))
      }
    })

    describe("recordAttempt, recordClock, recordDeferred", () => {
      test("recordAttempt stores each (name, attempt) once and returns the stored attempt: the first writer wins", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const { fence } = yield* claimOf(store, "e1", OWNER_A, T0)
          const first = attempt("charge", 1, "first")
          assert.deepStrictEqual(yield* store.recordAttempt("e1", fence, first), first)
          const rival = { ...attempt("charge", 1, "second"), startedAt: T0 + 100, completedAt: T0 + 200 }
          assert.deepStrictEqual(yield* store.recordAttempt("e1", fence, rival), first)
          yield* store.recordAttempt("e1", fence, attempt("charge", 2))
          yield* store.recordAttempt("e1", fence, attempt("ship", 1))
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(
            sortAttempts(detail.attempts),
            sortAttempts([first, attempt("charge", 2), attempt("ship", 1)])
          )
        }))

      test("an attempt recorded under an earlier claim wins over a later claim's write of the same attempt", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          const first = attempt("charge", 1, "first")
          yield* store.recordAttempt("e1", a.fence, first)
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + LEASE_MS + 1)
          assert.deepStrictEqual(yield* store.recordAttempt("e1", b.fence, attempt("charge", 1, "second")), first)
          assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [first])
        }))

      test("recordClock stores each timer name once and returns the stored wake time", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const { fence } = yield* claimOf(store, "e1", OWNER_A, T0)
          const nap = { name: "nap", wakeAt: T0 + 60_000 }
          assert.deepStrictEqual(yield* store.recordClock("e1", fence, nap), nap)
          assert.deepStrictEqual(yield* store.recordClock("e1", fence, { name: "nap", wakeAt: T0 + 99_999 }), nap)
          const other = { name: "retry-2", wakeAt: T0 + 1_000 }
          yield* store.recordClock("e1", fence, other)
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(sortByName(detail.clocks), sortByName([nap, other]))
          assert.strictEqual(detail.execution.status, "running")
          assert.strictEqual(detail.execution.wakeSeq, 0)
        }))

      test("recordDeferred stores the first result for a name and returns it, without waking the execution", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const { fence } = yield* claimOf(store, "e1", OWNER_A, T0)
          const winner = { name: "race", exit: success("fast"), completedAt: T0 + 1 }
          assert.deepStrictEqual(yield* store.recordDeferred("e1", fence, winner), winner)
          const late = { name: "race", exit: success("slow"), completedAt: T0 + 2 }
          assert.deepStrictEqual(yield* store.recordDeferred("e1", fence, late), winner)
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.deferreds, [winner])
          assert.strictEqual(detail.execution.wakeSeq, 0)
          assert.strictEqual(detail.execution.status, "running")
          // Still held: recording from inside the run does not touch the claim.
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 3)))
        }))

      test("recordDeferred returns the result completeDeferred stored first, and the reverse", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const { fence } = yield* claimOf(store, "e1", OWNER_A, T0)
          const signal = { name: "approval", exit: success(true), completedAt: T0 + 1 }
          yield* store.completeDeferred("e1", signal)
          const timedOut = { name: "approval", exit: { _tag: "TimedOut" }, completedAt: T0 + 2 }
          assert.deepStrictEqual(yield* store.recordDeferred("e1", fence, timedOut), signal)

          const raced = { name: "race", exit: success("fast"), completedAt: T0 + 3 }
          yield* store.recordDeferred("e1", fence, raced)
          const seq = (yield* getOf(store, "e1")).wakeSeq
          const late = yield* store.completeDeferred("e1", { name: "race", exit: success("slow"), completedAt: T0 + 4 })
          assert.deepStrictEqual(late, { applied: false, record: raced })
          assert.strictEqual((yield* getOf(store, "e1")).wakeSeq, seq)
          assert.deepStrictEqual(sortByName((yield* detailOf(store, "e1")).deferreds), sortByName([signal, raced]))
        }))

      test("records of one execution never show in another that uses the same names", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          yield* store.create(newExecution("e2"))
          const one = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.recordAttempt("e1", one.fence, attempt("charge", 1, "e1"))
          yield* store.recordClock("e1", one.fence, { name: "nap", wakeAt: T0 + 5 })
          yield* store.recordDeferred("e1", one.fence, { name: "race", exit: success("e1"), completedAt: T0 })
          yield* store.completeDeferred("e1", { name: "approval", exit: success("e1"), completedAt: T0 })

          const two = yield* claimOf(store, "e2", OWNER_A, T0)
          assert.deepStrictEqual(two.journal.attempts, [])
          assert.deepStrictEqual(two.journal.deferreds, [])
          assert.deepStrictEqual(two.journal.clocks, [])
          const mine = attempt("charge", 1, "e2")
          assert.deepStrictEqual(yield* store.recordAttempt("e2", two.fence, mine), mine)
          const signal = { name: "approval", exit: success("e2"), completedAt: T0 + 1 }
          assert.deepStrictEqual(yield* store.completeDeferred("e2", signal), { applied: true, record: signal })
          assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [attempt("charge", 1, "e1")])
          assert.strictEqual((yield* getOf(store, "e1")).wakeSeq, 1)
          assert.strictEqual((yield* getOf(store, "e2")).wakeSeq, 1)
        }))
    })

    describe("completeDeferred", () => {
      test("completeDeferred applies only the first completion and reports later ones as not applied", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const first = { name: "approval", exit: success("yes"), completedAt: T0 + 1 }
          assert.deepStrictEqual(yield* store.completeDeferred("e1", first), { applied: true, record: first })
          const afterFirst = yield* getOf(store, "e1")
          assert.strictEqual(afterFirst.wakeSeq, 1)
          const second = { name: "approval", exit: success("no"), completedAt: T0 + 2 }
          assert.deepStrictEqual(yield* store.completeDeferred("e1", second), { applied: false, record: first })
          assert.deepStrictEqual(yield* getOf(store, "e1"), afterFirst)
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.deferreds, [first])
          // Each completion is logged by the same write, applied or not.
          assert.deepStrictEqual(detail.events.slice(1), [
            { kind: "signal-received", at: T0 + 1, detail: "approval" },
            { kind: "signal-ignored", at: T0 + 2, detail: "approval" }
          ])
        }))

      test("concurrent completions of one deferred: exactly one applies, all report it, one wake, each logged", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", undefined)
          const before = yield* getOf(store, "e1")
          const results = yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => i),
            (i) => store.completeDeferred("e1", { name: "approval", exit: success(i), completedAt: T0 + 1 }),
            { concurrency: "unbounded" }
          )
          const applied = results.filter((r) => r.applied)
          assert.strictEqual(applied.length, 1)
          for (const result of results) assert.deepStrictEqual(result.record, applied[0]!.record)
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.deferreds, [applied[0]!.record])
          assert.strictEqual(detail.execution.status, "running")
          assert.strictEqual(detail.execution.wakeSeq, before.wakeSeq + 1)
          const kinds = detail.events.map((e) => e.kind)
          assert.strictEqual(kinds.filter((k) => k === "signal-received").length, 1)
          assert.strictEqual(kinds.filter((k) => k === "signal-ignored").length, 7)
        }))

      test("completeDeferred wakes a suspended execution without a claim: running, wakeSeq bumped, no wake time", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", T0 + 60_000)
          const before = yield* getOf(store, "e1")
          const signal = { name: "approval", exit: success(true), completedAt: T0 + 10 }
          const { applied } = yield* store.completeDeferred("e1", signal)
          assert.isTrue(applied)
          const after = yield* getOf(store, "e1")
          assert.strictEqual(after.status, "running")
          assert.strictEqual(after.wakeSeq, before.wakeSeq + 1)
          assert.strictEqual(after.wakeAt, undefined)
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 11, 10), ["e1"])
          assert.isTrue(Option.isNone(yield* store.nextWakeAt(WORKFLOWS)))
        }))

      test("completeDeferred on a claimed execution keeps the claim and makes its pending suspend return false", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.completeDeferred("e1", { name: "approval", exit: success(true), completedAt: T0 + 1 })
          assert.strictEqual((yield* getOf(store, "e1")).wakeSeq, claim.journal.execution.wakeSeq + 1)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 2)))
          assert.isFalse(yield* store.suspend("e1", claim.fence, claim.journal.execution.wakeSeq, undefined, T0 + 3))
          assert.strictEqual((yield* getOf(store, "e1")).status, "running")
          yield* store.recordAttempt("e1", claim.fence, attempt("charge", 1))
        }))

      test("completeDeferred on a terminal execution leaves it terminal with its result", (store) =>
        Effect.gen(function* () {
          yield* createTerminal(store, "e1", "interrupted")
          const before = yield* getOf(store, "e1")
          yield* store.completeDeferred("e1", { name: "approval", exit: success(true), completedAt: T0 + 50 })
          const after = yield* getOf(store, "e1")
          assert.strictEqual(after.status, "interrupted")
          assert.deepStrictEqual(after.result, before.result)
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 51, 10), [])
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_A, T0 + 52)))
        }))

      test("completeDeferred on an unknown execution fails with ExecutionNotFound and creates nothing", (store) =>
        Effect.gen(function* () {
          const error = yield* failure(
            store.completeDeferred("missing", { name: "approval", exit: success(true), completedAt: T0 })
          )
          assert.strictEqual(error.reason, "ExecutionNotFound")
          assert.isTrue(Option.isNone(yield* store.get("missing")))
          assert.isTrue(Option.isNone(yield* store.detail("missing")))
          assert.deepStrictEqual((yield* store.list({})).items, [])
        }))
    })

    describe("suspend and complete", () => {
      test("suspend with the current wakeSeq marks the execution suspended until wakeAt, logs it and releases the claim", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          const seq = claim.journal.execution.wakeSeq
          assert.isTrue(yield* store.suspend("e1", claim.fence, seq, T0 + 60_000, T0 + 10))
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, {
            ...claim.journal.execution,
            status: "suspended",
            wakeAt: T0 + 60_000,
            updatedAt: T0 + 10
          })
          assert.deepStrictEqual(detail.events.at(-1), { kind: "suspended", at: T0 + 10, detail: undefined })
          assert.strictEqual(
            (yield* failure(store.recordAttempt("e1", claim.fence, attempt("x", 1)))).reason,
            "LeaseLost"
          )
          // Released, not merely expired: once woken, another owner claims it well inside the first lease.
          assert.isTrue(yield* store.wake("e1", T0 + 11))
          assert.isTrue(Option.isSome(yield* store.claim("e1", OWNER_B, T0 + 12)))
        }))

      test("suspend without a wake time waits for a signal: it is never due and sets no next wake time", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", undefined, T0 + 10)
          const record = yield* getOf(store, "e1")
          assert.strictEqual(record.status, "suspended")
          assert.strictEqual(record.wakeAt, undefined)
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 1_000 * LEASE_MS, 10), [])
          assert.strictEqual((yield* getOf(store, "e1")).status, "suspended")
          assert.isTrue(Option.isNone(yield* store.nextWakeAt(WORKFLOWS)))
        }))

      test("suspend with a stale wakeSeq returns false, changes nothing and keeps the claim", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          assert.isTrue(yield* store.wake("e1", T0 + 1))
          const before = snapshot(yield* detailOf(store, "e1"))
          assert.isFalse(yield* store.suspend("e1", claim.fence, claim.journal.execution.wakeSeq, T0 + 60_000, T0 + 2))
          assert.deepStrictEqual(yield* detailOf(store, "e1"), before)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 3)))
          yield* store.recordAttempt("e1", claim.fence, attempt("charge", 1))
          // Run again under the same owner: the new claim sees the new wakeSeq, and now the suspension sticks.
          const again = yield* claimOf(store, "e1", OWNER_A, T0 + 4)
          assert.isTrue(yield* store.suspend("e1", again.fence, again.journal.execution.wakeSeq, undefined, T0 + 5))
        }))

      for (const status of TERMINAL_STATUSES) {
        test(`complete as ${status} makes the execution terminal with its result, logs "${EVENT_OF[status]}" and releases the claim`, (store) =>
          Effect.gen(function* () {
            yield* store.create(newExecution("e1"))
            const claim = yield* claimOf(store, "e1", OWNER_A, T0)
            yield* store.recordAttempt("e1", claim.fence, attempt("charge", 1))
            yield* store.complete("e1", claim.fence, { status, result: EXIT_OF[status], at: T0 + 30 })
            const detail = yield* detailOf(store, "e1")
            assert.deepStrictEqual(detail.execution, {
              ...claim.journal.execution,
              status,
              result: EXIT_OF[status],
              updatedAt: T0 + 30,
              wakeAt: undefined
            })
            assert.deepStrictEqual(detail.attempts, [attempt("charge", 1)])
            assert.deepStrictEqual(
              detail.events.map((e) => [e.kind, e.at]),
              [
                ["started", T0],
                [EVENT_OF[status], T0 + 30]
              ]
            )
            const error = yield* failure(store.recordAttempt("e1", claim.fence, attempt("ship", 1)))
            assert.strictEqual(error.reason, "LeaseLost")
            assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_A, T0 + 31)))
            assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 10 * LEASE_MS)))
            assert.deepStrictEqual(yield* runnableIds(store, T0 + 10 * LEASE_MS, 10), [])
          }))
      }
    })

    describe("wake, requestInterrupt, reopen", () => {
      test("wake makes a suspended execution running, bumps wakeSeq, clears its wake time and logs resumed", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", T0 + 60_000, T0 + 10)
          const before = yield* getOf(store, "e1")
          assert.isTrue(yield* store.wake("e1", T0 + 20))
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, {
            ...before,
            status: "running",
            wakeSeq: before.wakeSeq + 1,
            wakeAt: undefined,
            updatedAt: T0 + 20
          })
          assert.deepStrictEqual(
            detail.events.map((e) => [e.kind, e.at]),
            [
              ["started", T0 + 10],
              ["suspended", T0 + 10],
              ["resumed", T0 + 20]
            ]
          )
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 21, 10), ["e1"])
        }))

      test("wake of a running execution bumps wakeSeq and keeps its claim", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          assert.isTrue(yield* store.wake("e1", T0 + 1))
          const record = yield* getOf(store, "e1")
          assert.strictEqual(record.status, "running")
          assert.strictEqual(record.wakeSeq, claim.journal.execution.wakeSeq + 1)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 2)))
        }))

      test("wake returns false and changes nothing for a terminal or unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isFalse(yield* store.wake("missing", T0))
          assert.isTrue(Option.isNone(yield* store.get("missing")))
          for (const status of TERMINAL_STATUSES) {
            yield* createTerminal(store, status, status)
            const before = snapshot(yield* detailOf(store, status))
            assert.isFalse(yield* store.wake(status, T0 + 100), status)
            assert.deepStrictEqual(yield* detailOf(store, status), before)
          }
        }))

      test("requestInterrupt flags a suspended execution, wakes it and logs interrupt-requested", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "e1", T0 + 60_000, T0 + 10)
          const before = yield* getOf(store, "e1")
          assert.isTrue(yield* store.requestInterrupt("e1", T0 + 20))
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, {
            ...before,
            status: "running",
            interruptRequested: true,
            wakeSeq: before.wakeSeq + 1,
            wakeAt: undefined,
            updatedAt: T0 + 20
          })
          assert.deepStrictEqual(detail.events.at(-1), { kind: "interrupt-requested", at: T0 + 20, detail: undefined })
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 21, 10), ["e1"])
          const claim = yield* claimOf(store, "e1", OWNER_B, T0 + 22)
          assert.isTrue(claim.journal.execution.interruptRequested)
        }))

      test("requestInterrupt of a claimed execution keeps the claim and makes its pending suspend return false", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          assert.isTrue(yield* store.requestInterrupt("e1", T0 + 1))
          assert.isTrue((yield* getOf(store, "e1")).interruptRequested)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + 2)))
          assert.isFalse(yield* store.suspend("e1", claim.fence, claim.journal.execution.wakeSeq, undefined, T0 + 3))
          yield* store.complete("e1", claim.fence, { status: "interrupted", result: EXIT_OF.interrupted, at: T0 + 4 })
          assert.strictEqual((yield* getOf(store, "e1")).status, "interrupted")
        }))

      test("requestInterrupt returns false and changes nothing for a terminal or unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isFalse(yield* store.requestInterrupt("missing", T0))
          assert.isTrue(Option.isNone(yield* store.get("missing")))
          for (const status of TERMINAL_STATUSES) {
            yield* createTerminal(store, status, status)
            const before = snapshot(yield* detailOf(store, status))
            assert.isFalse(yield* store.requestInterrupt(status, T0 + 100), status)
            assert.deepStrictEqual(yield* detailOf(store, status), before)
          }
        }))

      test("reopen puts a failed execution back to running with no result, keeping its journal", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const first = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.recordAttempt("e1", first.fence, attempt("charge", 1))
          yield* store.complete("e1", first.fence, { status: "failed", result: EXIT_OF.failed, at: T0 + 10 })
          const failed = yield* getOf(store, "e1")
          assert.isTrue(yield* store.reopen("e1", T0 + 20))
          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, {
            ...failed,
            status: "running",
            result: undefined,
            wakeSeq: failed.wakeSeq + 1,
            updatedAt: T0 + 20
          })
          assert.deepStrictEqual(
            detail.events.map((e) => [e.kind, e.at]),
            [
              ["started", T0],
              ["failed", T0 + 10],
              ["resumed", T0 + 20]
            ]
          )
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 21, 10), ["e1"])
          const again = yield* claimOf(store, "e1", OWNER_B, T0 + 22)
          assert.deepStrictEqual(again.journal.attempts, [attempt("charge", 1)])
        }))

      test("reopen returns false and changes nothing unless the execution failed", (store) =>
        Effect.gen(function* () {
          assert.isFalse(yield* store.reopen("missing", T0))
          assert.isTrue(Option.isNone(yield* store.get("missing")))
          yield* createTerminal(store, "succeeded", "succeeded")
          yield* createTerminal(store, "interrupted", "interrupted")
          yield* store.create(newExecution("running"))
          yield* createSuspended(store, "suspended", T0 + 60_000)
          for (const id of ["succeeded", "interrupted", "running", "suspended"]) {
            const before = snapshot(yield* detailOf(store, id))
            assert.isFalse(yield* store.reopen(id, T0 + 100), id)
            assert.deepStrictEqual(yield* detailOf(store, id), before)
          }
        }))
    })

    describe("appendEvent and detail", () => {
      test("appendEvent appends to the log in call order, after started, keeping kind, time and detail", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const events: Array<WorkflowStore.EventRecord> = [
            { kind: "signal-received", at: T0 + 5, detail: "approval" },
            { kind: "signal-ignored", at: T0 + 5, detail: "approval — zweimal ✓" },
            { kind: "compensated", at: T0 + 5, detail: "2 compensation(s)" },
            { kind: "resumed", at: T0 + 3, detail: undefined }
          ]
          for (const event of events) yield* store.appendEvent("e1", event)
          assert.deepStrictEqual((yield* detailOf(store, "e1")).events, [
            { kind: "started", at: T0, detail: undefined },
            ...events
          ])
        }))

      test("detail returns none for an unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isTrue(Option.isNone(yield* store.detail("missing")))
        }))

      test("detail returns the record, attempts, deferreds, clocks and event log of a whole run", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1", { payload: { orderId: "A-1" } }))
          const first = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
          const charge = attempt("charge", 1)
          yield* store.recordAttempt("e1", first.fence, charge)
          const timeout = { name: "approval/timeout", wakeAt: T0 + 60_000 }
          yield* store.recordClock("e1", first.fence, timeout)
          assert.isTrue(
            yield* store.suspend("e1", first.fence, first.journal.execution.wakeSeq, timeout.wakeAt, T0 + 10)
          )
          const signal = { name: "approval", exit: success(true), completedAt: T0 + 20 }
          yield* store.completeDeferred("e1", signal)
          const second = yield* claimOf(store, "e1", OWNER_B, T0 + 21)
          const ship = attempt("ship", 1)
          yield* store.recordAttempt("e1", second.fence, ship)
          yield* store.complete("e1", second.fence, { status: "succeeded", result: success("shipped"), at: T0 + 30 })

          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution, yield* getOf(store, "e1"))
          assert.strictEqual(detail.execution.status, "succeeded")
          assert.deepStrictEqual(detail.execution.payload, { orderId: "A-1" })
          assert.deepStrictEqual(detail.execution.result, success("shipped"))
          assert.strictEqual(detail.execution.wakeSeq, 1)
          assert.deepStrictEqual(sortAttempts(detail.attempts), [charge, ship])
          assert.deepStrictEqual(detail.deferreds, [signal])
          assert.deepStrictEqual(detail.clocks, [timeout])
          assert.deepStrictEqual(detail.events, [
            { kind: "started", at: T0, detail: undefined },
            { kind: "suspended", at: T0 + 10, detail: undefined },
            { kind: "signal-received", at: T0 + 20, detail: "approval" },
            { kind: "completed", at: T0 + 30, detail: undefined }
          ])
        }))

      test("claim and detail return snapshots that later writes do not change", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const first = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.recordAttempt("e1", first.fence, attempt("charge", 1))
          yield* store.recordClock("e1", first.fence, { name: "nap", wakeAt: T0 + 5 })
          yield* store.recordDeferred("e1", first.fence, { name: "race", exit: success(1), completedAt: T0 })
          yield* store.completeDeferred("e1", { name: "approval", exit: success(2), completedAt: T0 })
          const claim = yield* claimOf(store, "e1", OWNER_A, T0 + 1)
          const journal = snapshot(claim.journal)
          const detail = yield* detailOf(store, "e1")
          const copy = snapshot(detail)
          yield* store.recordAttempt("e1", claim.fence, attempt("charge", 2))
          yield* store.recordClock("e1", claim.fence, { name: "nap-2", wakeAt: T0 + 6 })
          yield* store.recordDeferred("e1", claim.fence, { name: "race-2", exit: success(3), completedAt: T0 + 1 })
          yield* store.completeDeferred("e1", { name: "approval-2", exit: success(4), completedAt: T0 + 1 })
          yield* store.appendEvent("e1", { kind: "signal-received", at: T0 + 1, detail: "approval-2" })
          yield* store.complete("e1", claim.fence, { status: "succeeded", result: success(5), at: T0 + 2 })
          assert.deepStrictEqual(claim.journal, journal)
          assert.deepStrictEqual(detail, copy)
        }))
    })

    describe("renew", () => {
      test("renew extends a live claim past its first lease and changes nothing else", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          const before = yield* getOf(store, "e1")
          assert.deepStrictEqual(yield* renewOne(store, "e1", a.fence, T0 + LEASE_MS - 1), {
            held: true,
            interruptRequested: false
          })
          assert.deepStrictEqual(yield* getOf(store, "e1"), before)
          assert.isTrue(Option.isNone(yield* store.claim("e1", OWNER_B, T0 + LEASE_MS + 1)))
          assert.deepStrictEqual(yield* runnableIds(store, T0 + LEASE_MS + 1, 10), [])
          yield* store.recordAttempt("e1", a.fence, attempt("charge", 1))
          const b = yield* claimOf(store, "e1", OWNER_B, T0 + 2 * LEASE_MS + 1)
          assert.notStrictEqual(b.fence, a.fence)
        }))

      test("renew answers a whole heartbeat in order, holding only the owner's current claims", (store) =>
        Effect.gen(function* () {
          for (const id of ["h1", "h2", "h3"]) yield* store.create(newExecution(id))
          const h1 = yield* claimOf(store, "h1", OWNER_A, T0)
          const h2 = yield* claimOf(store, "h2", OWNER_A, T0)
          const h3 = yield* claimOf(store, "h3", OWNER_B, T0)
          const renewed = yield* store.renew(
            OWNER_A,
            [
              { executionId: "h2", fence: h2.fence },
              { executionId: "h3", fence: h3.fence },
              { executionId: "h1", fence: h1.fence },
              { executionId: "missing", fence: 1 }
            ],
            T0 + LEASE_MS - 1
          )
          assert.deepStrictEqual(
            renewed.map((r) => r.held),
            [true, false, true, false]
          )
          assert.isTrue(Option.isNone(yield* store.claim("h1", OWNER_C, T0 + LEASE_MS + 1)))
          assert.isTrue(Option.isSome(yield* store.claim("h3", OWNER_C, T0 + LEASE_MS + 1)))
          assert.deepStrictEqual(yield* store.renew(OWNER_A, [], T0), [])
        }))

      test("renew reports an interrupt requested while the claim holds", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const a = yield* claimOf(store, "e1", OWNER_A, T0)
          yield* store.requestInterrupt("e1", T0 + 1)
          assert.deepStrictEqual(yield* renewOne(store, "e1", a.fence, T0 + 2), { held: true, interruptRequested: true })
        }))

      test("renew reports not held, and extends nothing, for a superseded, released or finished claim or an unknown execution", (store) =>
        Effect.gen(function* () {
          assert.isFalse((yield* renewOne(store, "missing", 1, T0)).held)
          assert.isTrue(Option.isNone(yield* store.get("missing")))

          yield* store.create(newExecution("superseded"))
          const a = yield* claimOf(store, "superseded", OWNER_A, T0)
          yield* claimOf(store, "superseded", OWNER_B, T0 + LEASE_MS + 1)
          assert.isFalse((yield* renewOne(store, "superseded", a.fence, T0 + 2 * LEASE_MS)).held)
          // The stale renewal did not extend the current claim, which ends on its own schedule.
          assert.isTrue(Option.isSome(yield* store.claim("superseded", OWNER_C, T0 + 2 * LEASE_MS + 2)))

          yield* store.create(newExecution("released"))
          const released = yield* claimOf(store, "released", OWNER_A, T0)
          yield* store.release("released", released.fence)
          assert.isFalse((yield* renewOne(store, "released", released.fence, T0 + 1)).held)
          assert.isTrue(Option.isSome(yield* store.claim("released", OWNER_B, T0 + 2)))

          yield* store.create(newExecution("suspended"))
          const suspended = yield* claimOf(store, "suspended", OWNER_A, T0)
          yield* store.suspend("suspended", suspended.fence, suspended.journal.execution.wakeSeq, undefined, T0 + 1)
          assert.isFalse((yield* renewOne(store, "suspended", suspended.fence, T0 + 2)).held)

          yield* store.create(newExecution("finished"))
          const finished = yield* claimOf(store, "finished", OWNER_A, T0)
          yield* store.complete("finished", finished.fence, { status: "succeeded", result: success(1), at: T0 + 1 })
          assert.isFalse((yield* renewOne(store, "finished", finished.fence, T0 + 2)).held)
          assert.strictEqual((yield* getOf(store, "finished")).status, "succeeded")
        }))
    })

    describe("runnable and nextWakeAt", () => {
      test("runnable returns running executions nobody holds, and not those under a live claim", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("never-claimed"))
          yield* store.create(newExecution("released"))
          yield* store.release("released", (yield* claimOf(store, "released", OWNER_A, T0)).fence)
          yield* store.create(newExecution("expired"))
          yield* claimOf(store, "expired", OWNER_A, T0)
          yield* store.create(newExecution("held"))
          yield* claimOf(store, "held", OWNER_A, T0 + LEASE_MS)
          const now = T0 + LEASE_MS + 1
          const before = yield* getOf(store, "never-claimed")
          assert.deepStrictEqual(yield* runnableIds(store, now, 10), ["expired", "never-claimed", "released"])
          // runnable neither claims nor changes a running execution.
          assert.deepStrictEqual(yield* getOf(store, "never-claimed"), before)
          assert.isTrue(Option.isSome(yield* store.claim("never-claimed", OWNER_B, now)))
        }))

      test("runnable makes suspended executions whose wake time has come running, and leaves the rest suspended", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "early", T0 + 100)
          yield* createSuspended(store, "due-now", T0 + 200)
          yield* createSuspended(store, "future", T0 + 300)
          yield* createSuspended(store, "signal-only", undefined)
          yield* createTerminal(store, "done", "succeeded")
          const seq = (yield* getOf(store, "early")).wakeSeq
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 200, 10), ["due-now", "early"])
          for (const id of ["early", "due-now"]) {
            const record = yield* getOf(store, id)
            assert.strictEqual(record.status, "running", id)
            assert.strictEqual(record.wakeSeq, seq + 1, id)
            assert.strictEqual(record.wakeAt, undefined, id)
          }
          const future = yield* getOf(store, "future")
          assert.strictEqual(future.status, "suspended")
          assert.strictEqual(future.wakeAt, T0 + 300)
          assert.strictEqual((yield* getOf(store, "signal-only")).status, "suspended")
          assert.strictEqual((yield* getOf(store, "done")).status, "succeeded")
        }))

      test("runnable returns at most limit executions, each of them runnable", (store) =>
        Effect.gen(function* () {
          const ids = ["r1", "r2", "r3", "r4", "r5"]
          for (const id of ids) yield* store.create(newExecution(id))
          const some = yield* runnableIds(store, T0 + 1, 2)
          assert.strictEqual(some.length, 2)
          for (const id of some) assert.include(ids, id)
          assert.strictEqual(new Set(some).size, 2)
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 1, 10), ids)
        }))

      test("runnable returns only executions of the workflows asked for, and leaves the others as they are", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("order", { workflow: "Order" }))
          yield* store.create(newExecution("ship", { workflow: "Ship" }))
          yield* store.create(newExecution("audit", { workflow: "Audit" }))
          yield* createSuspended(store, "order-due", T0 + 100, T0, "Order")
          yield* createSuspended(store, "audit-due", T0 + 100, T0, "Audit")
          assert.deepStrictEqual(yield* store.runnable(T0 + 200, 10, ["Ship"]), [
            { executionId: "ship", workflow: "Ship" }
          ])
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 200, 10, ["Order", "Ship"]), [
            "order",
            "order-due",
            "ship"
          ])
          assert.deepStrictEqual(yield* store.runnable(T0 + 200, 10, []), [])
          const untouched = yield* getOf(store, "audit-due")
          assert.strictEqual(untouched.status, "suspended")
          assert.strictEqual(untouched.wakeAt, T0 + 100)
          assert.deepStrictEqual(yield* runnableIds(store, T0 + 200, 10, ["Audit"]), ["audit", "audit-due"])
          assert.strictEqual((yield* getOf(store, "audit-due")).status, "running")
        }))

      test("runnable and nextWakeAt find nothing in an empty store", (store) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(yield* runnableIds(store, T0, 10), [])
          assert.isTrue(Option.isNone(yield* store.nextWakeAt(WORKFLOWS)))
        }))

      test("nextWakeAt is the earliest wake time among suspended executions, ignoring running and finished ones", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("running"))
          yield* createSuspended(store, "signal-only", undefined)
          assert.isTrue(Option.isNone(yield* store.nextWakeAt(WORKFLOWS)))
          yield* createSuspended(store, "later", T0 + 300)
          yield* createSuspended(store, "sooner", T0 + 200)
          assert.deepStrictEqual(yield* store.nextWakeAt(WORKFLOWS), Option.some(T0 + 200))
          yield* store.wake("sooner", T0 + 10)
          assert.deepStrictEqual(yield* store.nextWakeAt(WORKFLOWS), Option.some(T0 + 300))
          yield* store.requestInterrupt("later", T0 + 20)
          const claim = yield* claimOf(store, "later", OWNER_A, T0 + 21)
          yield* store.complete("later", claim.fence, {
            status: "interrupted",
            result: EXIT_OF.interrupted,
            at: T0 + 22
          })
          assert.isTrue(Option.isNone(yield* store.nextWakeAt(WORKFLOWS)))
        }))

      test("nextWakeAt looks only at the workflows asked for, so a worker never waits on timers it cannot fire", (store) =>
        Effect.gen(function* () {
          yield* createSuspended(store, "other", T0 + 100, T0, "Elsewhere")
          yield* createSuspended(store, "mine", T0 + 500)
          assert.deepStrictEqual(yield* store.nextWakeAt(WORKFLOWS), Option.some(T0 + 500))
          assert.deepStrictEqual(yield* store.nextWakeAt(["Elsewhere"]), Option.some(T0 + 100))
          assert.isTrue(Option.isNone(yield* store.nextWakeAt([])))
        }))
    })

    describe("queues", () => {
      test("enqueue stores an item that claimQueueItems hands out with every field intact", (store) =>
        Effect.gen(function* () {
          const item = queueItem("thumbnails", "e1/cat.png", { url: "https://example.com/cat.png", sizes: [64, 128] })
          yield* store.enqueue(item)
          assert.deepStrictEqual(yield* store.claimQueueItems("thumbnails", OWNER_A, 10, T0), [item])
        }))

      test("enqueue with an existing itemId keeps the first item", (store) =>
        Effect.gen(function* () {
          const first = queueItem("thumbnails", "e1/cat.png", { version: 1 })
          yield* store.enqueue(first)
          yield* store.enqueue({
            ...queueItem("thumbnails", "e1/cat.png", { version: 2 }),
            token: "other",
            enqueuedAt: T0 + 9
          })
          assert.deepStrictEqual(yield* store.claimQueueItems("thumbnails", OWNER_A, 10, T0 + 10), [first])
        }))

      test("claimQueueItems hands out at most limit items and skips items under a live lease until it passes", (store) =>
        Effect.gen(function* () {
          const items = ["a", "b", "c"].map((id) => queueItem("q", id, { id }))
          for (const item of items) yield* store.enqueue(item)
          const first = yield* store.claimQueueItems("q", OWNER_A, 2, T0)
          assert.strictEqual(first.length, 2)
          const second = yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 1)
          assert.strictEqual(second.length, 1)
          assert.deepStrictEqual(sortItems([...first, ...second]), items)
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_C, 10, T0 + LEASE_MS - 1), [])
          assert.deepStrictEqual(sortItems(yield* store.claimQueueItems("q", OWNER_C, 10, T0 + LEASE_MS + 2)), items)
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_A, 10, T0 + LEASE_MS + 3), [])
        }))

      test("renewQueueItem extends only its owner's claim, so a long handler keeps its item", (store) =>
        Effect.gen(function* () {
          const item = queueItem("q", "a", { id: "a" })
          yield* store.enqueue(item)
          yield* store.claimQueueItems("q", OWNER_A, 10, T0)
          assert.isFalse(yield* store.renewQueueItem("q", "a", OWNER_B, T0 + 1))
          assert.isTrue(yield* store.renewQueueItem("q", "a", OWNER_A, T0 + LEASE_MS - 1))
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + LEASE_MS + 1), [])
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 2 * LEASE_MS + 1), [item])
          assert.isFalse(yield* store.renewQueueItem("q", "a", OWNER_A, T0 + 2 * LEASE_MS + 2))
          assert.isFalse(yield* store.renewQueueItem("q", "missing", OWNER_A, T0))
        }))

      test("ackQueueItem removes an item for good; acking an unknown item is harmless", (store) =>
        Effect.gen(function* () {
          const items = ["a", "b"].map((id) => queueItem("q", id, { id }))
          for (const item of items) yield* store.enqueue(item)
          yield* store.claimQueueItems("q", OWNER_A, 10, T0)
          yield* store.ackQueueItem("q", "a")
          yield* store.ackQueueItem("q", "never-enqueued")
          yield* store.ackQueueItem("no-such-queue", "a")
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + LEASE_MS + 1), [items[1]!])
          yield* store.ackQueueItem("q", "b")
          assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 10 * LEASE_MS), [])
        }))

      test("queues are separate: items are claimed only from their own queue, and item ids are scoped by queue", (store) =>
        Effect.gen(function* () {
          const resize = queueItem("resize", "same-id", { q: "resize" })
          const email = queueItem("email", "same-id", { q: "email" })
          yield* store.enqueue(resize)
          yield* store.enqueue(email)
          assert.deepStrictEqual(yield* store.claimQueueItems("unknown", OWNER_A, 10, T0), [])
          assert.deepStrictEqual(yield* store.claimQueueItems("resize", OWNER_A, 10, T0), [resize])
          yield* store.ackQueueItem("resize", "same-id")
          assert.deepStrictEqual(yield* store.claimQueueItems("email", OWNER_A, 10, T0), [email])
        }))
    })

    describe("list", () => {
      test("list of an empty store is an empty page without a cursor", (store) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(yield* store.list({}), { items: [], nextCursor: undefined })
        }))

      test("list returns the stored records, newest first", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("old", { at: T0 + 1 }))
          yield* store.create(newExecution("new", { at: T0 + 3 }))
          yield* store.create(newExecution("mid", { at: T0 + 2 }))
          yield* createSuspended(store, "newest", T0 + 100, T0 + 4)
          const page = yield* store.list({})
          assert.deepStrictEqual(
            page.items.map((r) => r.executionId),
            ["newest", "new", "mid", "old"]
          )
          for (const record of page.items) assert.deepStrictEqual(record, yield* getOf(store, record.executionId))
          assert.strictEqual(page.nextCursor, undefined)
        }))

      test("list pages newest first with a cursor that neither skips nor repeats, ties in creation time included", (store) =>
        Effect.gen(function* () {
          const times: ReadonlyArray<readonly [string, number]> = [
            ["a:1", T0 + 1],
            ["b", T0 + 2],
            ["c:2:x", T0 + 2],
            ["d", T0 + 2],
            ["é-ünïcode", T0 + 3],
            ["f", T0 + 3],
            ["g", T0 + 4]
          ]
          for (const [id, at] of times) yield* store.create(newExecution(id, { at }))
          const everything = (yield* store.list({ limit: 100 })).items
          assert.deepStrictEqual(sorted(everything.map((r) => r.executionId)), sorted(times.map(([id]) => id)))
          for (let i = 1; i < everything.length; i++)
            assert.isAtLeast(everything[i - 1]!.createdAt, everything[i]!.createdAt)
          for (const limit of [1, 2, 3, 7]) {
            const pages = yield* allPages(store, {}, limit)
            for (const page of pages) {
              assert.isAtLeast(page.length, 1, `no empty page at limit ${limit}`)
              assert.isAtMost(page.length, limit)
            }
            assert.deepStrictEqual(
              pages.flat().map((r) => r.executionId),
              everything.map((r) => r.executionId),
              `limit ${limit}`
            )
          }
        }))

      test("a cursor keeps its place when newer executions are created between pages", (store) =>
        Effect.gen(function* () {
          for (let i = 1; i <= 4; i++) yield* store.create(newExecution(`e${i}`, { at: T0 + i }))
          const first = yield* store.list({ limit: 2 })
          assert.deepStrictEqual(
            first.items.map((r) => r.executionId),
            ["e4", "e3"]
          )
          yield* store.create(newExecution("e5", { at: T0 + 5 }))
          const second = yield* store.list({ limit: 2, cursor: first.nextCursor })
          assert.deepStrictEqual(
            second.items.map((r) => r.executionId),
            ["e2", "e1"]
          )
          assert.strictEqual(second.nextCursor, undefined)
        }))

      test("list filters by workflow, status and creation time, alone, combined and across pages", (store) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("o1", { workflow: "Order", at: T0 + 10 }))
          yield* createTerminal(store, "o2", "succeeded", T0 + 20)
          yield* createSuspended(store, "o3", T0 + 1_000, T0 + 30)
          yield* store.create(newExecution("s1", { workflow: "Ship", at: T0 + 15 }))
          yield* createTerminal(store, "s2", "failed", T0 + 25, "Ship")
          const ids = (page: WorkflowStore.Page) => page.items.map((r) => r.executionId)

          assert.deepStrictEqual(ids(yield* store.list({ workflow: "Order" })), ["o3", "o2", "o1"])
          assert.deepStrictEqual(ids(yield* store.list({ workflow: "Nope" })), [])
          assert.deepStrictEqual(ids(yield* store.list({ status: "running" })), ["s1", "o1"])
          assert.deepStrictEqual(ids(yield* store.list({ status: "suspended" })), ["o3"])
          assert.deepStrictEqual(ids(yield* store.list({ status: "failed" })), ["s2"])
          assert.deepStrictEqual(ids(yield* store.list({ createdAfter: T0 + 16 })), ["o3", "s2", "o2"])
          assert.deepStrictEqual(ids(yield* store.list({ createdBefore: T0 + 16 })), ["s1", "o1"])
          assert.deepStrictEqual(ids(yield* store.list({ createdAfter: T0 + 11, createdBefore: T0 + 26 })), [
            "s2",
            "o2",
            "s1"
          ])
          assert.deepStrictEqual(
            ids(
              yield* store.list({
                workflow: "Order",
                status: "succeeded",
                createdAfter: T0 + 5,
                createdBefore: T0 + 35
              })
            ),
            ["o2"]
          )
          const pages = yield* allPages(store, { workflow: "Order" }, 1)
          assert.deepStrictEqual(
            pages.flat().map((r) => r.executionId),
            ["o3", "o2", "o1"]
          )
          const runningPages = yield* allPages(store, { status: "running", createdAfter: T0 + 1 }, 1)
          assert.deepStrictEqual(
            runningPages.flat().map((r) => r.executionId),
            ["s1", "o1"]
          )
        }))
    })

    describe("signingKey", () => {
      test("signingKey keeps the first generated key and returns it on every later call", (store) =>
        Effect.gen(function* () {
          const key = yield* store.signingKey(() => bytes(1))
          assert.instanceOf(key, Uint8Array)
          assert.deepStrictEqual(Array.from(key), Array.from(bytes(1)))
          const again = yield* store.signingKey(() => bytes(2))
          assert.deepStrictEqual(Array.from(again), Array.from(bytes(1)))
        }))

      test("concurrent first calls of signingKey agree on one key", (store) =>
        Effect.gen(function* () {
          const keys = yield* Effect.all(
            [1, 2, 3, 4].map((seed) => store.signingKey(() => bytes(seed))),
            {
              concurrency: "unbounded"
            }
          )
          const first = Array.from(keys[0]!)
          for (const key of keys) assert.deepStrictEqual(Array.from(key), first)
          assert.deepStrictEqual(Array.from(yield* store.signingKey(() => bytes(9))), first)
        }))
    })

    describe("transaction and notifications", () => {
      testOptional("transaction (where the store has it) commits the writes inside it together, and none of them when its effect fails", "transaction", (store, transaction) =>
        Effect.gen(function* () {
          yield* store.create(newExecution("e1"))
          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          const writes = Effect.andThen(
            store.recordAttempt("e1", claim.fence, attempt("charge", 1)),
            store.create(newExecution("e2"))
          )
          const failed = yield* Effect.result(transaction(Effect.andThen(writes, Effect.fail("declined" as const))))
          assert.isTrue(Result.isFailure(failed) && failed.failure === "declined")
          assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [])
          assert.isTrue(Option.isNone(yield* store.get("e2")))

          assert.strictEqual(yield* transaction(Effect.as(writes, "committed")), "committed")
          assert.deepStrictEqual((yield* detailOf(store, "e1")).attempts, [attempt("charge", 1)])
          assert.strictEqual((yield* getOf(store, "e2")).status, "running")
        }))

      testOptional("notifications (where the store has them) announce a new execution, an interrupt request and a queue item", "notifications", (store, notifications) =>
        Effect.gen(function* () {
          const seen: Array<WorkflowStore.Notification> = []
          const listening = yield* Effect.forkChild(
            Stream.runForEach(notifications, (notification) => Effect.sync(() => void seen.push(notification)))
          )
          // A store may start listening only once the stream runs, missing what came before: probe until a
          // notice arrives.
          let probes = 0
          yield* waitUntil(
            Effect.gen(function* () {
              if (seen.length > 0) return true
              if (probes++ % 64 === 0) yield* store.create(newExecution(`probe-${probes}`))
              return false
            }),
            "the first notification"
          )
          yield* store.create(newExecution("e1", { workflow: "Ship" }))
          assert.isTrue(yield* store.requestInterrupt("e1", T0 + 1))
          yield* store.enqueue(queueItem("thumbnails", "cat.png", { url: "cat.png" }))
          const expected = ["wake:e1", "interrupt:e1", "queue:thumbnails"]
          const heard = () => seen.map((n) => `${n.kind}:${n.id}`)
          yield* waitUntil(Effect.sync(() => expected.every((notice) => heard().includes(notice))), expected.join(", "))
          // The workflow is optional ("when known"), but never another one.
          for (const { id, workflow } of seen) {
            if (id === "e1" && workflow !== undefined) assert.strictEqual(workflow, "Ship")
          }
          yield* Fiber.interrupt(listening)
        }))
    })

    describe("encoded values", () => {
      test("JSON-like values round-trip through every field that stores one", (store) =>
        Effect.gen(function* () {
          const parent = { executionId: "pärent/ключ:1", deferred: "@weft/child/发货" }
          yield* store.create(newExecution("e1", { payload: sample(), parent }))
          assert.deepStrictEqual((yield* getOf(store, "e1")).payload, sample())
          assert.deepStrictEqual((yield* getOf(store, "e1")).parent, parent)

          const claim = yield* claimOf(store, "e1", OWNER_A, T0)
          assert.deepStrictEqual(claim.journal.execution.payload, sample())
          const activity = { name: "chärge ✓", attempt: 1, exit: success(sample()), startedAt: T0, completedAt: T0 + 1 }
          yield* store.recordAttempt("e1", claim.fence, activity)
          const failedAttempt = {
            name: "chärge ✓",
            attempt: 2,
            exit: failure_(sample()),
            startedAt: T0 + 2,
            completedAt: T0 + 3
          }
          yield* store.recordAttempt("e1", claim.fence, failedAttempt)
          yield* store.recordClock("e1", claim.fence, { name: "schläfchen 💤", wakeAt: T0 + 123_456 })
          yield* store.recordDeferred("e1", claim.fence, { name: "race 🏁", exit: success(sample()), completedAt: T0 })
          yield* store.completeDeferred("e1", { name: "approval ✓", exit: failure_(sample()), completedAt: T0 })
          yield* store.appendEvent("e1", { kind: "signal-received", at: T0, detail: TEXT })
          yield* store.complete("e1", claim.fence, { status: "succeeded", result: success(sample()), at: T0 + 5 })
          yield* store.enqueue(queueItem("qüeue ✓", "item/😀", sample()))

          const detail = yield* detailOf(store, "e1")
          assert.deepStrictEqual(detail.execution.payload, sample())
          assert.deepStrictEqual(detail.execution.parent, parent)
          assert.deepStrictEqual(detail.execution.result, success(sample()))
          assert.deepStrictEqual(sortAttempts(detail.attempts), [
            { name: "chärge ✓", attempt: 1, exit: success(sample()), startedAt: T0, completedAt: T0 + 1 },
            { name: "chärge ✓", attempt: 2, exit: failure_(sample()), startedAt: T0 + 2, completedAt: T0 + 3 }
          ])
          assert.deepStrictEqual(detail.clocks, [{ name: "schläfchen 💤", wakeAt: T0 + 123_456 }])
          assert.deepStrictEqual(sortByName(detail.deferreds), [
            { name: "approval ✓", exit: failure_(sample()), completedAt: T0 },
            { name: "race 🏁", exit: success(sample()), completedAt: T0 }
          ])
          assert.deepStrictEqual(detail.events.filter((e) => e.kind === "signal-received").map((e) => e.detail), ["approval ✓", TEXT])
          assert.deepStrictEqual((yield* store.list({})).items[0]?.payload, sample())
          assert.deepStrictEqual(yield* store.claimQueueItems("qüeue ✓", OWNER_A, 1, T0), [
            queueItem("qüeue ✓", "item/😀", sample())
          ])
        }))

      test("payloads that are strings, numbers, arrays or null round-trip as they are", (store) =>
        Effect.gen(function* () {
          const payloads: ReadonlyArray<unknown> = [
            TEXT,
            "",
            0,
            -12.5,
            Number.MAX_SAFE_INTEGER,
            true,
            null,
            [],
            [1, [2, [3]]],
            {}
          ]
          for (const [i, payload] of payloads.entries()) yield* store.create(newExecution(`p${i}`, { payload }))
          for (const [i, payload] of payloads.entries()) {
            assert.deepStrictEqual(
              (yield* getOf(store, `p${i}`)).payload,
              payload,
              `payload ${JSON.stringify(payload)}`
            )
          }
        }))
    })
  })
}

type Store = WorkflowStore.Service

/** The members of the contract a store may lack. */
type OptionalMember = "ended" | "liveChildren" | "transaction" | "notifications"

/**
 * Marks the running test skipped: vitest reports it so whatever the test then does. `ctx.skip` also throws
 * to stop the test; here the Effect ends instead, since a throw inside it would be logged as a defect.
 */
const skip = (ctx: TestContext, note: string) =>
  Effect.sync(() => {
    try {
      ctx.skip(note)
    } catch (error) {
      if ((error as { readonly code?: unknown } | null)?.code !== "VITEST_PENDING") throw error
    }
  })

/** The lease the suite asks every store for. */
const LEASE_MS = 1_000
/** A fixed epoch: the store never reads a clock, so every time is this plus an offset. */
const T0 = 1_700_000_000_000
const OWNER_A = "worker-a"
const OWNER_B = "worker-b"
const OWNER_C = "worker-c"
const WORKFLOWS: ReadonlyArray<string> = ["Order", "Ship"]
const TERMINAL_STATUSES = ["succeeded", "failed", "interrupted"] as const
type TerminalStatus = (typeof TERMINAL_STATUSES)[number]

const TEXT = 'naïve café — 日本語 — ключ — 🎉👩‍💻 — "quoted" \\ back\\slash\nnew line\ttab'

const success = (value: unknown) => ({ _tag: "Success", value })
const failure_ = (error: unknown) => ({ _tag: "Failure", cause: { _tag: "Fail", error } })

const EXIT_OF: Record<TerminalStatus, WorkflowStore.EncodedExit> = {
  succeeded: success({ shipped: true }),
  failed: { _tag: "Failure", cause: { _tag: "Die", defect: { name: "Error", message: "boom" } } },
  interrupted: { _tag: "Failure", cause: { _tag: "Interrupt", fiberId: { _tag: "None" } } }
}

const EVENT_OF: Record<TerminalStatus, WorkflowStore.EventKind> = {
  succeeded: "completed",
  failed: "failed",
  interrupted: "interrupted"
}

/** A JSON-like value exercising every JSON type, built fresh on every call. */
const sample = () => ({
  text: TEXT,
  empty: "",
  integer: 42,
  negative: -7,
  fraction: 0.1 + 0.2,
  tiny: 1e-7,
  big: Number.MAX_SAFE_INTEGER,
  zero: 0,
  yes: true,
  no: false,
  nothing: null,
  list: [1, "two", null, [3], { four: 4 }],
  emptyList: [],
  emptyObject: {},
  nested: { deeper: { deepest: ["x", { "key with spaces/and:colons": "ü" }] } }
})

const newExecution = (
  executionId: string,
  overrides: Partial<Omit<WorkflowStore.NewExecution, "executionId">> = {}
): WorkflowStore.NewExecution => ({
  executionId,
  workflow: "Order",
  payload: { executionId },
  parent: undefined,
  at: T0,
  ...overrides
})

const attempt = (name: string, n: number, value: unknown = `${name}#${n}`): WorkflowStore.ActivityAttempt => ({
  name,
  attempt: n,
  exit: success(value),
  startedAt: T0 + n,
  completedAt: T0 + n + 5
})

const queueItem = (queue: string, itemId: string, payload: unknown): WorkflowStore.QueueItem => ({
  queue,
  itemId,
  payload,
  token: `token-for-${itemId}`,
  enqueuedAt: T0
})

const bytes = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i) % 256)

/** Each fenced write, runnable with any fence; suspend gets the current wakeSeq, so only the fence can refuse it. */
const FENCED_WRITES: ReadonlyArray<{
  readonly name: string
  readonly run: (
    store: Store,
    executionId: string,
    fence: number,
    wakeSeq: number
  ) => Effect.Effect<unknown, WorkflowError.WorkflowError>
}> = [
  { name: "recordAttempt", run: (store, id, fence) => store.recordAttempt(id, fence, attempt("charge", 1)) },
  {
    name: "recordClock",
    run: (store, id, fence) => store.recordClock(id, fence, { name: "nap", wakeAt: T0 + 60_000 })
  },
  {
    name: "recordDeferred",
    run: (store, id, fence) => store.recordDeferred(id, fence, { name: "race", exit: success(1), completedAt: T0 })
  },
  { name: "suspend", run: (store, id, fence, wakeSeq) => store.suspend(id, fence, wakeSeq, T0 + 60_000, T0 + 2_000) },
  {
    name: "complete",
    run: (store, id, fence) => store.complete(id, fence, { status: "succeeded", result: success(1), at: T0 + 2_000 })
  }
]

const expectSome = <A>(option: Option.Option<A>, what: string): A =>
  Option.isSome(option) ? option.value : assert.fail(`expected ${what}, got none`)

/** The error an effect fails with; the test fails if it succeeds. */
const failure = <A>(effect: Effect.Effect<A, WorkflowError.WorkflowError>) =>
  Effect.map(Effect.result(effect), (result) =>
    Result.isFailure(result) ? result.failure : assert.fail(`expected a failure, got ${JSON.stringify(result.success)}`)
  )

const getOf = (store: Store, executionId: string) =>
  Effect.map(store.get(executionId), (record) => expectSome(record, `execution ${executionId}`))

const detailOf = (store: Store, executionId: string) =>
  Effect.map(store.detail(executionId), (detail) => expectSome(detail, `the detail of ${executionId}`))

const claimOf = (store: Store, executionId: string, owner: string, now: number) =>
  Effect.map(store.claim(executionId, owner, now), (claim) =>
    expectSome(claim, `a claim of ${executionId} by ${owner}`)
  )

/** Creates, claims and suspends an execution (waking at `wakeAt`, if set). */
const createSuspended = (store: Store, executionId: string, wakeAt: number | undefined, at = T0, workflow = "Order") =>
  Effect.gen(function* () {
    yield* store.create(newExecution(executionId, { at, workflow }))
    const claim = yield* claimOf(store, executionId, "setup", at)
    assert.isTrue(yield* store.suspend(executionId, claim.fence, claim.journal.execution.wakeSeq, wakeAt, at))
  })

/** Creates, claims and completes an execution with `status`. */
const createTerminal = (store: Store, executionId: string, status: TerminalStatus, at = T0, workflow = "Order") =>
  Effect.gen(function* () {
    yield* store.create(newExecution(executionId, { at, workflow }))
    const claim = yield* claimOf(store, executionId, "setup", at)
    yield* store.complete(executionId, claim.fence, { status, result: EXIT_OF[status], at })
  })

/**
 * The ids `runnable` returns for `workflows` (default: every workflow the suite uses), sorted; each must
 * come with its execution's workflow.
 */
const runnableIds = (store: Store, now: number, limit: number, workflows: ReadonlyArray<string> = WORKFLOWS) =>
  Effect.gen(function* () {
    const ready = yield* store.runnable(now, limit, workflows)
    for (const { executionId, workflow } of ready) {
      assert.strictEqual(workflow, (yield* getOf(store, executionId)).workflow, executionId)
    }
    return sorted(ready.map((r) => r.executionId))
  })

/** Every page of a listing, following cursors to the end. */
const allPages = (store: Store, filter: WorkflowStore.ListFilter, limit: number) =>
  Effect.gen(function* () {
    const pages: Array<ReadonlyArray<WorkflowStore.ExecutionRecord>> = []
    let cursor: string | undefined
    do {
      const page = yield* store.list({ ...filter, limit, cursor })
      pages.push(page.items)
      cursor = page.nextCursor
      assert.isAtMost(pages.length, 100, "the cursor never ends")
    } while (cursor !== undefined)
    return pages
  })

/** A deep copy, so an assertion on "unchanged" cannot pass because store and test share one mutable value. */
const snapshot = <A>(value: A): A => structuredClone(value)

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const sorted = (ids: ReadonlyArray<string>) => [...ids].sort(compare)

const sortByName = <A extends { readonly name: string }>(rows: ReadonlyArray<A>) =>
  [...rows].sort((a, b) => compare(a.name, b.name))

const sortAttempts = (rows: ReadonlyArray<WorkflowStore.ActivityAttempt>) =>
  [...rows].sort((a, b) => compare(a.name, b.name) || a.attempt - b.attempt)

const sortItems = (items: ReadonlyArray<WorkflowStore.QueueItem>) =>
  [...items].sort((a, b) => compare(a.itemId, b.itemId))
