/**
 * Conformance, deferreds completed from outside: `completeDeferred` applies the first completion, wakes the
 * execution in the same write, logs every completion, and touches nothing terminal or unknown.
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
  failure,
  getOf,
  newExecution,
  OWNER_A,
  OWNER_B,
  runnableIds,
  success,
  type Suite,
  T0,
  WORKFLOWS
} from "./Harness.js"

/** Registers the tests of completeDeferred. */
export const signals = ({ test }: Suite): void => {
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
}
