/**
 * Conformance, an execution's lifecycle: `suspend` sticks only with an unmoved wakeSeq, `complete` ends it,
 * and `wake`, `requestInterrupt` and `reopen` move it back to running where the contract allows.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  attempt,
  claimOf,
  createSuspended,
  createTerminal,
  detailOf,
  EVENT_OF,
  EXIT_OF,
  failure,
  getOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  runnableIds,
  snapshot,
  type Suite,
  T0,
  TERMINAL_STATUSES,
  WORKFLOWS
} from "./Harness.js"

/** Registers the tests of suspend, complete, wake, requestInterrupt and reopen. */
export const lifecycle = ({ test }: Suite): void => {
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
}
