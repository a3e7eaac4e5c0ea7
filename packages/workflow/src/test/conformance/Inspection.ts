/**
 * Conformance, inspection: the event log `appendEvent` writes, the whole record `detail` returns, and `list`
 * filtered and paged newest first with a cursor that neither skips nor repeats.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as WorkflowStore from "../../WorkflowStore.js"
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
  snapshot,
  sortAttempts,
  sorted,
  type Store,
  success,
  type Suite,
  T0
} from "./Harness.js"

/** Registers the tests of appendEvent, detail and list. */
export const inspection = ({ test, testOptional }: Suite): void => {
  describe("appendEvent and detail", () => {
    test("appendEvent appends to the log in call order, after started, keeping kind, time and detail", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const { fence } = yield* claimOf(store, "e1", OWNER_A, T0)
        const events: Array<WorkflowStore.EventRecord> = [
          { kind: "signal-received", at: T0 + 5, detail: "approval" },
          { kind: "signal-ignored", at: T0 + 5, detail: "approval — zweimal ✓" },
          { kind: "compensated", at: T0 + 5, detail: "2 compensation(s)" },
          { kind: "resumed", at: T0 + 3, detail: undefined }
        ]
        for (const event of events) yield* store.appendEvent("e1", fence, event)
        assert.deepStrictEqual((yield* detailOf(store, "e1")).events, [
          { kind: "started", at: T0, detail: undefined },
          ...events
        ])
      }))

    test("appendEvent for an unknown execution fails with LeaseLost and writes nothing, even to a log created later under that id", (store) =>
      Effect.gen(function* () {
        const error = yield* failure(
          store.appendEvent("ghost", 1, { kind: "compensated", at: T0 - 1, detail: "1 compensation(s)" })
        )
        assert.strictEqual(error.reason, "LeaseLost")
        assert.isTrue(Option.isNone(yield* store.detail("ghost")))
        yield* store.create(newExecution("ghost"))
        assert.deepStrictEqual((yield* detailOf(store, "ghost")).events, [
          { kind: "started", at: T0, detail: undefined }
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
        yield* store.appendEvent("e1", claim.fence, { kind: "signal-received", at: T0 + 1, detail: "approval-2" })
        yield* store.complete("e1", claim.fence, { status: "succeeded", result: success(5), at: T0 + 2 })
        assert.deepStrictEqual(claim.journal, journal)
        assert.deepStrictEqual(detail, copy)
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
        // Children by their parent: linked ones only, with the other filters and across pages.
        const parent = { executionId: "o1", deferred: "@weft/child/Ship/c" }
        yield* store.create(newExecution("c1", { workflow: "Ship", at: T0 + 40, parent }))
        yield* createTerminal(store, "c-other", "succeeded", T0 + 41, "Ship")
        yield* store.create(newExecution("c2", { workflow: "Ship", at: T0 + 42, parent }))
        yield* store.create(newExecution("c3", { workflow: "Ship", at: T0 + 43, parent: { executionId: "o2", deferred: "x" } }))
        assert.deepStrictEqual(ids(yield* store.list({ parent: "o1" })), ["c2", "c1"])
        assert.deepStrictEqual(ids(yield* store.list({ parent: "o1", createdBefore: T0 + 42 })), ["c1"])
        assert.deepStrictEqual(ids(yield* store.list({ parent: "nobody" })), [])
        assert.deepStrictEqual((yield* allPages(store, { parent: "o1" }, 1)).flat().map((r) => r.executionId), ["c2", "c1"])
        const runningPages = yield* allPages(store, { status: "running", createdAfter: T0 + 1, createdBefore: T0 + 40 }, 1)
        assert.deepStrictEqual(
          runningPages.flat().map((r) => r.executionId),
          ["s1", "o1"]
        )
      }))

    test("list filters by idempotency key prefix, by code point, literally; an execution stored without a key never matches", (store) =>
      Effect.gen(function* () {
        const keys: Record<string, string | undefined> = {
          k1: "cust-1/a",
          k2: "cust-1/b",
          k3: "cust-10/a",
          k4: "other",
          k5: "100%_off",
          k6: "1000",
          k7: "é🎉/x",
          k8: "É🎉/x",
          k9: undefined
        }
        let at = T0
        for (const [id, key] of Object.entries(keys)) {
          const created = yield* store.create(newExecution(id, { at: at++, ...(key === undefined ? {} : { idempotencyKey: key }) }))
          assert.strictEqual(created.record.idempotencyKey, key, id)
          assert.strictEqual((yield* getOf(store, id)).idempotencyKey, key, id)
        }
        const ids = (page: WorkflowStore.Page) => page.items.map((r) => r.executionId)
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "cust-1/" })), ["k2", "k1"])
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "cust-1" })), ["k3", "k2", "k1"])
        // % and _ are characters like any other, and case counts.
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "100%" })), ["k5"])
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "10_" })), [])
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "é🎉" })), ["k7"])
        assert.deepStrictEqual(ids(yield* store.list({ idempotencyKeyPrefix: "cust-1/", workflow: "Ship" })), [])
        assert.deepStrictEqual(
          (yield* allPages(store, { idempotencyKeyPrefix: "cust-1" }, 1)).flat().map((r) => r.executionId),
          ["k3", "k2", "k1"]
        )
        assert.strictEqual((yield* store.list({ idempotencyKeyPrefix: "" })).items.length, 8)
      }))

  describe("versions", () => {
    test("list filters by version (a record stored without one is version 1)", (store) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("v1", { at: T0 }))
        yield* store.create(newExecution("v2", { at: T0 + 1, version: 2 }))
        yield* store.create(newExecution("v2-ship", { at: T0 + 2, version: 2, workflow: "Ship" }))
        const ids = (page: WorkflowStore.Page) => page.items.map((r) => r.executionId)
        assert.deepStrictEqual(ids(yield* store.list({ version: 1 })), ["v1"])
        assert.deepStrictEqual(ids(yield* store.list({ version: 2 })), ["v2-ship", "v2"])
        assert.deepStrictEqual(ids(yield* store.list({ version: 2, workflow: "Order" })), ["v2"])
        assert.deepStrictEqual((yield* store.list({})).items.map((r) => r.version), [2, 2, 1])
      }))

    testOptional("versions (where the store has it) counts live executions per (workflow, version), ended ones never", "versions", (store, versions) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("o1-run"))
        yield* createSuspended(store, "o1-wait", T0 + 60_000)
        yield* store.create(newExecution("o2-run", { version: 2 }))
        yield* store.create(newExecution("s3-run", { workflow: "Ship", version: 3 }))
        yield* createTerminal(store, "o4-done", "succeeded")
        assert.deepStrictEqual(yield* versions(), [
          { workflow: "Order", version: 1, running: 1, suspended: 1 },
          { workflow: "Order", version: 2, running: 1, suspended: 0 },
          { workflow: "Ship", version: 3, running: 1, suspended: 0 }
        ])
        assert.deepStrictEqual(yield* versions(["Ship", "Nothing"]), [{ workflow: "Ship", version: 3, running: 1, suspended: 0 }])
        assert.deepStrictEqual(yield* versions([]), [])
      }))
  })
  })
}

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
