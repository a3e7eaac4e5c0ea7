/**
 * Conformance, the journal written from inside a run: `recordAttempt`, `recordClock` and `recordDeferred` keep
 * the first row per name (and attempt), fenced, and never mix two executions' rows.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  attempt,
  claimOf,
  detailOf,
  getOf,
  LEASE_MS,
  newExecution,
  OWNER_A,
  OWNER_B,
  sortAttempts,
  sortByName,
  success,
  type Suite,
  T0
} from "./Harness.js"

/** Registers the tests of recordAttempt, recordClock and recordDeferred. */
export const journal = ({ test }: Suite): void => {
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
}
