/**
 * Conformance, what a store keeps as it was given: the `signingKey` generated first, and every encoded
 * value (payloads, Exits, names, event details, queue items) through every field that stores one.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import {
  bytes,
  claimOf,
  detailOf,
  failExit,
  getOf,
  newExecution,
  OWNER_A,
  queueItem,
  sample,
  sortAttempts,
  sortByName,
  success,
  type Suite,
  T0,
  TEXT
} from "./Harness.js"

/** Registers the tests of signingKey and the encoded values. */
export const encoding = ({ test }: Suite): void => {
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
          exit: failExit(sample()),
          startedAt: T0 + 2,
          completedAt: T0 + 3
        }
        yield* store.recordAttempt("e1", claim.fence, failedAttempt)
        yield* store.recordClock("e1", claim.fence, { name: "schläfchen 💤", wakeAt: T0 + 123_456 })
        yield* store.recordDeferred("e1", claim.fence, { name: "race 🏁", exit: success(sample()), completedAt: T0 })
        yield* store.completeDeferred("e1", { name: "approval ✓", exit: failExit(sample()), completedAt: T0 })
        yield* store.appendEvent("e1", claim.fence, { kind: "signal-received", at: T0, detail: TEXT })
        yield* store.complete("e1", claim.fence, { status: "succeeded", result: success(sample()), at: T0 + 5 })
        yield* store.enqueue(queueItem("qüeue ✓", "item/😀", sample()))

        const detail = yield* detailOf(store, "e1")
        assert.deepStrictEqual(detail.execution.payload, sample())
        assert.deepStrictEqual(detail.execution.parent, parent)
        assert.deepStrictEqual(detail.execution.result, success(sample()))
        assert.deepStrictEqual(sortAttempts(detail.attempts), [
          { name: "chärge ✓", attempt: 1, exit: success(sample()), startedAt: T0, completedAt: T0 + 1 },
          { name: "chärge ✓", attempt: 2, exit: failExit(sample()), startedAt: T0 + 2, completedAt: T0 + 3 }
        ])
        assert.deepStrictEqual(detail.clocks, [{ name: "schläfchen 💤", wakeAt: T0 + 123_456 }])
        assert.deepStrictEqual(sortByName(detail.deferreds), [
          { name: "approval ✓", exit: failExit(sample()), completedAt: T0 },
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
}
