/**
 * Conformance, clocks and timers: `runnable` hands out unheld running executions and due suspended ones (made
 * running), and `nextWakeAt` names the earliest timer, both limited to the workflows asked for.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  claimOf,
  createSuspended,
  createTerminal,
  EXIT_OF,
  getOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  runnableIds,
  type Suite,
  T0,
  WORKFLOWS
} from "./Harness.js"

/** Registers the tests of runnable and nextWakeAt. */
export const scheduling = ({ test, testOptional }: Suite): void => {
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

    test("runnable wakes every due suspended execution, even past limit", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("running"))
        const timers = ["t1", "t2", "t3"]
        for (const id of timers) yield* createSuspended(store, id, T0 + 100)
        const seq = (yield* getOf(store, "t1")).wakeSeq
        const some = yield* runnableIds(store, T0 + 200, 1)
        assert.strictEqual(some.length, 1)
        assert.include(["running", ...timers], some[0])
        for (const id of timers) {
          const record = yield* getOf(store, id)
          assert.strictEqual(record.status, "running", id)
          assert.strictEqual(record.wakeSeq, seq + 1, id)
          assert.strictEqual(record.wakeAt, undefined, id)
        }
        assert.deepStrictEqual(yield* runnableIds(store, T0 + 200, 10), ["running", ...timers])
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

    testOptional("backlog counts, per workflow, what could run now and nobody runs; it changes nothing", "backlog", (store, backlog) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("free"))
        const now = T0 + LEASE_MS + 1
        yield* store.create(newExecution("held"))
        yield* claimOf(store, "held", OWNER_A, now - 1)
        yield* store.create(newExecution("lapsed"))
        yield* claimOf(store, "lapsed", OWNER_B, T0)
        yield* createSuspended(store, "due", T0 + 10)
        yield* createSuspended(store, "later", T0 + 10 * LEASE_MS)
        yield* createSuspended(store, "parked", undefined)
        yield* createTerminal(store, "done", "succeeded")
        yield* store.create(newExecution("ship", { workflow: "Ship" }))
        yield* store.create(newExecution("elsewhere", { workflow: "Elsewhere" }))
        // held's lease (taken just before `now`) runs past it; lapsed's (taken at T0) does not.
        const before = yield* Effect.forEach(["free", "held", "lapsed", "due", "later"], (id) => getOf(store, id))
        const counts = Object.fromEntries((yield* backlog(now, ["Order", "Ship"])).map((c) => [c.workflow, c.runnable]))
        // free, lapsed and due of Order (held is held, later not due, parked on no timer, done ended); ship of Ship.
        assert.deepStrictEqual(counts, { Order: 3, Ship: 1 })
        assert.deepStrictEqual(yield* backlog(now, []), [])
        // A count, not a claim nor a timer firing: nothing changed.
        assert.deepStrictEqual(yield* Effect.forEach(["free", "held", "lapsed", "due", "later"], (id) => getOf(store, id)), before)
      }))
  })
}
