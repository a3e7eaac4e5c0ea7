/**
 * Conformance, schedules (`schedules`, optional): rows written whole under a revision (insert only if absent, replace
 * only while the revision holds: two workers advancing one fire never both succeed), pause and resume, the due query
 * and the next due time, filtered by workflow and skipping paused rows.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as WorkflowStore from "../../WorkflowStore.js"
import { expectSome, sample, type Suite, T0, TEXT } from "./Harness.js"

/** A schedule of "Order" due at `dueAt`, written at T0. */
const row = (scheduleId: string, dueAt: number | undefined, overrides: Partial<WorkflowStore.ScheduleWrite> = {}): WorkflowStore.ScheduleWrite => ({
  scheduleId,
  workflow: "Order",
  payload: { scheduleId },
  spec: { cron: "0 2 * * *", timezone: "America/New_York", overlap: "skip", catchUp: "latest", jitterMs: 0 },
  paused: false,
  nextFireAt: dueAt,
  dueAt,
  lastFireAt: undefined,
  lastExecutionId: undefined,
  bufferedAt: undefined,
  updatedAt: T0,
  ...overrides
})

const ids = (rows: ReadonlyArray<WorkflowStore.ScheduleRecord>) => rows.map((r) => r.scheduleId)

/** Registers the tests of `schedules`. */
export const schedules = ({ testOptional }: Suite): void => {
  describe("schedules", () => {
    testOptional("put inserts only an absent schedule and reads it back as written", "schedules", (_, s) =>
      Effect.gen(function* () {
        const written = row(TEXT, T0 + 10, { payload: sample(), lastExecutionId: "e1", lastFireAt: T0 - 5, bufferedAt: T0 - 1 })
        const stored = expectSome(yield* s.put(written, undefined), "the inserted schedule")
        assert.deepStrictEqual(stored, { ...written, revision: 1, createdAt: T0 })
        assert.deepStrictEqual(yield* s.get(TEXT), Option.some(stored))
        // Again with the same id: nothing written, the first row stays.
        assert.isTrue(Option.isNone(yield* s.put(row(TEXT, T0 + 99, { updatedAt: T0 + 1 }), undefined)))
        assert.deepStrictEqual(yield* s.get(TEXT), Option.some(stored))
        assert.isTrue(Option.isNone(yield* s.get("unknown")))
        // An undefined payload (a `Schema.Void` workflow) reads back as undefined.
        const empty = expectSome(yield* s.put(row("void", undefined, { payload: undefined }), undefined), "a void payload")
        assert.isUndefined(empty.payload)
        assert.isUndefined(empty.nextFireAt)
      }))

    testOptional("put with a revision replaces the row only while the revision holds: one of two advances wins", "schedules", (_, s) =>
      Effect.gen(function* () {
        const first = expectSome(yield* s.put(row("s", T0), undefined), "the schedule")
        const advancedA = row("s", T0 + 100, { lastFireAt: T0, lastExecutionId: "by-a", updatedAt: T0 + 1 })
        const advancedB = row("s", T0 + 100, { lastFireAt: T0, lastExecutionId: "by-b", updatedAt: T0 + 2 })
        const [a, b] = yield* Effect.all([s.put(advancedA, first.revision), s.put(advancedB, first.revision)], { concurrency: 2 })
        assert.strictEqual(Number(Option.isSome(a)) + Number(Option.isSome(b)), 1)
        const stored = expectSome(yield* s.get("s"), "the schedule")
        assert.strictEqual(stored.revision, first.revision + 1)
        assert.strictEqual(stored.createdAt, T0)
        assert.strictEqual(stored.lastExecutionId, Option.isSome(a) ? "by-a" : "by-b")
        // A stale revision writes nothing; an unknown id neither.
        assert.isTrue(Option.isNone(yield* s.put(row("s", T0 + 5), first.revision)))
        assert.isTrue(Option.isNone(yield* s.put(row("nobody", T0), 1)))
        assert.isTrue(Option.isNone(yield* s.get("nobody")))
      }))

    testOptional("due lists unpaused schedules of the workflows given that are due or hold a buffered fire", "schedules", (_, s) =>
      Effect.gen(function* () {
        yield* s.put(row("late", T0 + 50), undefined)
        yield* s.put(row("early", T0 + 10), undefined)
        yield* s.put(row("future", T0 + 1_000), undefined)
        yield* s.put(row("buffered", T0 + 1_000, { bufferedAt: T0 }), undefined)
        yield* s.put(row("done", undefined), undefined)
        yield* s.put(row("ship", T0, { workflow: "Ship" }), undefined)
        yield* s.put(row("paused", T0, { paused: true }), undefined)
        const order = yield* s.due(T0 + 50, ["Order"], 10)
        assert.deepStrictEqual(ids(order.schedules), ["early", "late", "buffered"])
        // In the same read: when the next schedule falls due after now ("future" and "buffered", both at T0 + 1000).
        assert.deepStrictEqual(order.nextDueAt, Option.some(T0 + 1_000))
        const page = yield* s.due(T0 + 50, ["Order"], 1)
        assert.deepStrictEqual(ids(page.schedules), ["early"])
        assert.deepStrictEqual(page.nextDueAt, Option.some(T0 + 1_000))
        const early = yield* s.due(T0 + 5, ["Order"], 10)
        assert.deepStrictEqual(ids(early.schedules), ["buffered"])
        assert.deepStrictEqual(early.nextDueAt, Option.some(T0 + 10))
        const none = yield* s.due(T0 + 50, [], 10)
        assert.deepStrictEqual(ids(none.schedules), [])
        assert.isTrue(Option.isNone(none.nextDueAt))
        const ship = yield* s.due(T0 + 50, ["Ship"], 10)
        assert.deepStrictEqual(ids(ship.schedules), ["ship"])
        assert.isTrue(Option.isNone(ship.nextDueAt))
        const other = yield* s.due(T0 + 50, ["Other"], 10)
        assert.deepStrictEqual(ids(other.schedules), [])
        assert.isTrue(Option.isNone(other.nextDueAt))
        assert.deepStrictEqual(yield* s.nextDueAt(["Order"]), Option.some(T0 + 10))
        assert.deepStrictEqual(yield* s.nextDueAt(["Ship"]), Option.some(T0))
        assert.isTrue(Option.isNone(yield* s.nextDueAt(["Other"])))
      }))

    testOptional("setPaused pauses and resumes, bumping the revision; list and remove", "schedules", (_, s) =>
      Effect.gen(function* () {
        yield* s.put(row("b", T0), undefined)
        yield* s.put(row("a", T0), undefined)
        yield* s.put(row("c", T0, { workflow: "Ship" }), undefined)
        const paused = expectSome(yield* s.setPaused("a", true, T0 + 7), "the paused schedule")
        assert.isTrue(paused.paused)
        assert.strictEqual(paused.revision, 2)
        assert.strictEqual(paused.updatedAt, T0 + 7)
        assert.deepStrictEqual(ids((yield* s.due(T0, ["Order"], 10)).schedules), ["b"])
        assert.deepStrictEqual(yield* s.nextDueAt(["Order"]), Option.some(T0))
        const resumed = expectSome(yield* s.setPaused("a", false, T0 + 8), "the resumed schedule")
        assert.isFalse(resumed.paused)
        assert.strictEqual(resumed.revision, 3)
        assert.isTrue(Option.isNone(yield* s.setPaused("nobody", true, T0)))
        assert.deepStrictEqual(ids(yield* s.list()), ["a", "b", "c"])
        assert.deepStrictEqual(ids(yield* s.list(["Ship"])), ["c"])
        assert.isTrue(yield* s.remove("a"))
        assert.isFalse(yield* s.remove("a"))
        assert.deepStrictEqual(ids(yield* s.list()), ["b", "c"])
      }))
  })
}
