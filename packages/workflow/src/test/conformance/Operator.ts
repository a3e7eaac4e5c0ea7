/**
 * Conformance, an operator's writes: `retry` makes a failed execution running again (only from `failed`, only if
 * unchanged since it was read, its markers stored with it or nothing at all); `fork` inserts a new execution
 * holding a copy of part of another's journal, logged on both, once.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as WorkflowStore from "../../WorkflowStore.js"
import {
  attempt,
  claimOf,
  createSuspended,
  createTerminal,
  detailOf,
  failExit,
  getOf,
  newExecution,
  OWNER_A,
  sortAttempts,
  sortByName,
  type Store,
  type Suite,
  T0
} from "./Harness.js"

/** An execution that ran `charge` once, failed by it, and ended failed at T0 + 10. */
const failedByCharge = (store: Store, executionId: string) =>
  Effect.gen(function* () {
    yield* store.create(newExecution(executionId))
    const claim = yield* claimOf(store, executionId, OWNER_A, T0)
    yield* store.recordAttempt(executionId, claim.fence, attempt("reserve", 1))
    yield* store.recordAttempt(executionId, claim.fence, { ...attempt("charge", 1), exit: failExit({ _tag: "Declined" }) })
    yield* store.complete(executionId, claim.fence, { status: "failed", result: failExit({ _tag: "Declined" }), at: T0 + 10 })
    return yield* getOf(store, executionId)
  })

const marker = (name: string, n: number, at: number): WorkflowStore.ActivityAttempt => ({
  name,
  attempt: n,
  exit: WorkflowStore.RETRIED,
  startedAt: at,
  completedAt: at
})

/** Registers the tests of `retry` and `fork`. */
export const operator = ({ testOptional }: Suite): void => {
  describe("operator", () => {
    testOptional("retry makes a failed execution running again with its markers and a retried event, once", "retry", (store, retry) =>
      Effect.gen(function* () {
        const failed = yield* failedByCharge(store, "e1")
        const request = { at: T0 + 20, expectedUpdatedAt: failed.updatedAt, markers: [marker("charge", 2, T0 + 20)], detail: "again: \"charge\"" }
        // Changed since it was read: nothing is written.
        assert.isFalse(yield* retry("e1", { ...request, expectedUpdatedAt: failed.updatedAt - 1 }))
        assert.deepStrictEqual(yield* getOf(store, "e1"), failed)

        assert.isTrue(yield* retry("e1", request))
        const record = yield* getOf(store, "e1")
        assert.strictEqual(record.status, "running")
        assert.isUndefined(record.result)
        assert.strictEqual(record.wakeSeq, failed.wakeSeq + 1)
        assert.isFalse(record.interruptRequested)
        assert.strictEqual(record.updatedAt, T0 + 20)
        const detail = yield* detailOf(store, "e1")
        assert.deepStrictEqual(detail.events.at(-1), { kind: "retried", at: T0 + 20, detail: "again: \"charge\"" })
        const claim = yield* claimOf(store, "e1", OWNER_A, T0 + 21)
        assert.deepStrictEqual(
          sortAttempts(claim.journal.attempts).map((a) => [a.name, a.attempt, WorkflowStore.isRetriedMarker(a.exit)]),
          [["charge", 1, false], ["charge", 2, true], ["reserve", 1, false]]
        )
        // A second retry read before the first: refused, nothing doubled.
        assert.isFalse(yield* retry("e1", request))
        assert.strictEqual((yield* detailOf(store, "e1")).events.filter((e) => e.kind === "retried").length, 1)
      }))

    testOptional("retry refuses an execution that did not fail, and writes nothing when one of its markers exists", "retry", (store, retry) =>
      Effect.gen(function* () {
        yield* createTerminal(store, "ok", "succeeded")
        yield* createTerminal(store, "stopped", "interrupted")
        yield* createSuspended(store, "parked", undefined)
        yield* store.create(newExecution("running"))
        for (const id of ["ok", "stopped", "parked", "running"]) {
          const before = yield* getOf(store, id)
          assert.isFalse(yield* retry(id, { at: T0 + 50, expectedUpdatedAt: before.updatedAt, markers: [], detail: "x" }), id)
          assert.deepStrictEqual(yield* getOf(store, id), before, id)
        }
        assert.isFalse(yield* retry("unknown", { at: T0 + 50, expectedUpdatedAt: T0, markers: [], detail: "x" }))

        const failed = yield* failedByCharge(store, "taken")
        const events = (yield* detailOf(store, "taken")).events.length
        // The marker's (name, attempt) is taken by the failed attempt itself: the whole write is refused.
        assert.isFalse(
          yield* retry("taken", { at: T0 + 50, expectedUpdatedAt: failed.updatedAt, markers: [marker("reserve", 2, T0 + 50), marker("charge", 1, T0 + 50)], detail: "x" })
        )
        assert.deepStrictEqual(yield* getOf(store, "taken"), failed)
        const detail = yield* detailOf(store, "taken")
        assert.strictEqual(detail.attempts.length, 2)
        assert.strictEqual(detail.events.length, events)
      }))

    testOptional("detail and claims return attempts in the order they were stored (retry and restart read it)", "retry", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("ordered"))
        const claim = yield* claimOf(store, "ordered", OWNER_A, T0)
        const names = ["zeta", "alpha", "mid", "alpha", "beta"]
        const counts = new Map<string, number>()
        for (const name of names) {
          const n = (counts.get(name) ?? 0) + 1
          counts.set(name, n)
          // All in one millisecond, as fast steps are: only the order they were stored in tells them apart.
          yield* store.recordAttempt("ordered", claim.fence, { ...attempt(name, n), startedAt: T0, completedAt: T0 })
        }
        const stored = (yield* detailOf(store, "ordered")).attempts.map((a) => `${a.name}#${a.attempt}`)
        assert.deepStrictEqual(stored, ["zeta#1", "alpha#1", "mid#1", "alpha#2", "beta#1"])
        yield* store.release("ordered", claim.fence)
        const again = yield* claimOf(store, "ordered", OWNER_A, T0 + 1)
        assert.deepStrictEqual(again.journal.attempts.map((a) => `${a.name}#${a.attempt}`), stored)
      }))

    testOptional("fork inserts a running execution holding the copy, logged on both, once", "fork", (store, fork) =>
      Effect.gen(function* () {
        yield* failedByCharge(store, "source")
        const sourceEvents = (yield* detailOf(store, "source")).events.length
        const request: WorkflowStore.ForkRequest = {
          execution: newExecution("copy", { payload: { same: "payload" }, at: T0 + 30 }),
          source: "source",
          attempts: [attempt("reserve", 1), attempt("note", 1)],
          deferreds: [{ name: "approval", exit: { _tag: "Success", value: "yes" }, completedAt: T0 + 3 }],
          clocks: [{ name: "@weft/clock/nap", wakeAt: T0 + 4 }],
          startedDetail: "restart of source from step \"charge\"",
          sourceDetail: "as copy from step \"charge\""
        }
        const forked = yield* fork(request)
        assert.isTrue(forked.created)
        assert.strictEqual(forked.record.status, "running")
        assert.deepStrictEqual(forked.record.payload, { same: "payload" })
        const detail = yield* detailOf(store, "copy")
        assert.deepStrictEqual(sortAttempts(detail.attempts), sortAttempts(request.attempts))
        assert.deepStrictEqual(sortByName(detail.deferreds), request.deferreds)
        assert.deepStrictEqual(detail.clocks.map((c) => [c.name, c.wakeAt]), [["@weft/clock/nap", T0 + 4]])
        assert.deepStrictEqual(detail.events, [{ kind: "started", at: T0 + 30, detail: request.startedDetail }])
        const source = yield* detailOf(store, "source")
        assert.strictEqual(source.events.length, sourceEvents + 1)
        assert.deepStrictEqual(source.events.at(-1), { kind: "restarted", at: T0 + 30, detail: request.sourceDetail })
        assert.strictEqual(source.execution.status, "failed")
        // Nobody holds it: any worker claims it, with the copied journal.
        const claim = yield* claimOf(store, "copy", OWNER_A, T0 + 31)
        assert.strictEqual(claim.journal.attempts.length, 2)

        // The same id again: nothing is written, on either.
        const again = yield* fork({ ...request, attempts: [attempt("other", 1)] })
        assert.isFalse(again.created)
        assert.strictEqual((yield* detailOf(store, "copy")).attempts.length, 2)
        assert.strictEqual((yield* detailOf(store, "source")).events.length, sourceEvents + 1)
        assert.isTrue(Option.isSome(yield* store.get("copy")))
      }))
  })
}
