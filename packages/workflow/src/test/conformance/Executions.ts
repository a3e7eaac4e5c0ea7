/**
 * Conformance, executions: `create` inserts once and returns what is stored, `get` reads it back, and the
 * optional batch reads `ended` and `liveChildren` return exactly the records they name.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import type * as WorkflowStore from "../../WorkflowStore.js"
import {
  attempt,
  claimOf,
  createSuspended,
  detailOf,
  EXIT_OF,
  getOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  runnableIds,
  type Suite,
  T0,
  TERMINAL_STATUSES
} from "./Harness.js"

/** Registers the tests of create and get, ended, liveChildren. */
export const executions = ({ test, testOptional }: Suite): void => {
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
          wakeAt: undefined,
          version: 1
        }
        assert.isTrue(created)
        assert.deepStrictEqual(record, expected)
        assert.deepStrictEqual(yield* getOf(store, "e1"), expected)
      }))

    test("create stores the clocks given with a new execution in the same write; a create that joins stores none", (store) =>
      Effect.gen(function* () {
        const deadline = { name: "@weft/deadline", wakeAt: T0 + 60_000, setAt: T0 }
        yield* store.create(newExecution("e1", { clocks: [deadline] }))
        assert.deepStrictEqual((yield* claimOf(store, "e1", OWNER_A, T0)).journal.clocks, [deadline])
        const claimed = yield* store.create(newExecution("e2", { clocks: [deadline], claimFor: OWNER_A }))
        assert.isDefined(claimed.fence)
        yield* store.create(newExecution("e2", { clocks: [{ name: "@weft/deadline", wakeAt: T0 + 1, setAt: T0 }] }))
        assert.deepStrictEqual((yield* claimOf(store, "e2", OWNER_A, T0)).journal.clocks, [deadline])
        yield* store.create(newExecution("e3"))
        assert.deepStrictEqual((yield* claimOf(store, "e3", OWNER_A, T0)).journal.clocks, [])
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
}
