/**
 * Conformance, retention: `purge` deletes ended executions older than its bound, of the statuses it names, with
 * everything of them, at most `limit` per call; `watch` marks an execution without ever creating one.
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
  getOf,
  newExecution,
  OWNER_A,
  queueItem,
  sorted,
  type Store,
  success,
  type Suite,
  T0
} from "./Harness.js"

const ALL: ReadonlyArray<WorkflowStore.TerminalStatus> = ["succeeded", "failed", "interrupted"]

/** The ids of what `purge` deleted, sorted. */
const purgedIds = (purged: ReadonlyArray<WorkflowStore.Purged>) => sorted(purged.map((p) => p.executionId))

/** Whether the store still knows `executionId` by any read. */
const gone = (store: Store, executionId: string) =>
  Effect.gen(function* () {
    assert.isTrue(Option.isNone(yield* store.get(executionId)), `get ${executionId}`)
    assert.isTrue(Option.isNone(yield* store.detail(executionId)), `detail ${executionId}`)
    if (store.ended !== undefined) assert.deepStrictEqual(yield* store.ended([executionId]), [], `ended ${executionId}`)
    const page = yield* store.list({ limit: 1_000 })
    assert.isFalse(page.items.some((r) => r.executionId === executionId), `list ${executionId}`)
  })

/** Registers the tests of `purge` and `watch`. */
export const retention = ({ testOptional }: Suite): void => {
  describe("retention", () => {
    testOptional("purge deletes only ended executions last changed before the bound, and never a live one", "purge", (store, purge) =>
      Effect.gen(function* () {
        yield* createTerminal(store, "old-ok", "succeeded", T0)
        yield* createTerminal(store, "old-failed", "failed", T0 + 1)
        yield* createTerminal(store, "old-stopped", "interrupted", T0 + 2)
        yield* createTerminal(store, "new-ok", "succeeded", T0 + 100)
        yield* store.create(newExecution("running"))
        yield* createSuspended(store, "suspended", T0 + 5)
        const purged = yield* purge({ before: T0 + 100, statuses: ALL, limit: 100 })
        assert.deepStrictEqual(purgedIds(purged), ["old-failed", "old-ok", "old-stopped"])
        assert.deepStrictEqual(
          Object.fromEntries(purged.map((p) => [p.executionId, p.status])),
          { "old-ok": "succeeded", "old-failed": "failed", "old-stopped": "interrupted" }
        )
        for (const id of ["old-ok", "old-failed", "old-stopped"]) yield* gone(store, id)
        // The bound is exclusive: ended exactly at it stays.
        assert.strictEqual((yield* getOf(store, "new-ok")).status, "succeeded")
        assert.strictEqual((yield* getOf(store, "running")).status, "running")
        assert.strictEqual((yield* getOf(store, "suspended")).status, "suspended")
        // Live ones stay whatever the bound.
        assert.deepStrictEqual(purgedIds(yield* purge({ before: T0 + 1_000_000, statuses: ALL, limit: 100 })), ["new-ok"])
        assert.strictEqual((yield* getOf(store, "running")).status, "running")
        assert.strictEqual((yield* getOf(store, "suspended")).status, "suspended")
      }))

    testOptional("purge deletes only the statuses it is given", "purge", (store, purge) =>
      Effect.gen(function* () {
        yield* createTerminal(store, "ok", "succeeded")
        yield* createTerminal(store, "failed", "failed")
        yield* createTerminal(store, "stopped", "interrupted")
        assert.deepStrictEqual(purgedIds(yield* purge({ before: T0 + 1, statuses: ["succeeded"], limit: 100 })), ["ok"])
        assert.strictEqual((yield* getOf(store, "failed")).status, "failed")
        assert.strictEqual((yield* getOf(store, "stopped")).status, "interrupted")
        assert.deepStrictEqual(
          purgedIds(yield* purge({ before: T0 + 1, statuses: ["failed", "interrupted"], limit: 100 })),
          ["failed", "stopped"]
        )
        assert.deepStrictEqual(yield* purge({ before: T0 + 1, statuses: [], limit: 100 }), [])
      }))

    testOptional("purge deletes everything of an execution: attempts, deferreds, clocks, events and its queue items", "purge", (store, purge) =>
      Effect.gen(function* () {
        for (const id of ["gone", "kept"]) {
          yield* store.create(newExecution(id))
          const claim = yield* claimOf(store, id, OWNER_A, T0)
          yield* store.recordAttempt(id, claim.fence, attempt("charge", 1))
          yield* store.recordClock(id, claim.fence, { name: "nap", wakeAt: T0 + 50 })
          yield* store.recordDeferred(id, claim.fence, { name: "race", exit: success(1), completedAt: T0 })
          yield* store.appendEvent(id, claim.fence, { kind: "compensated", at: T0, detail: "1 compensation(s)" })
          yield* store.enqueue(queueItem("mail", `${id}/send`, { to: id }))
          yield* store.complete(id, claim.fence, { status: "succeeded", result: success(id), at: id === "gone" ? T0 : T0 + 10 })
          // A signal after the end is stored too (`signal-received`): it goes with the execution.
          yield* store.completeDeferred(id, { name: "late", exit: success(2), completedAt: T0 + 1 })
        }
        yield* store.enqueue(queueItem("mail", "gone-but-not-its/item", { to: "someone" }))
        assert.deepStrictEqual(purgedIds(yield* purge({ before: T0 + 5, statuses: ALL, limit: 100 })), ["gone"])
        yield* gone(store, "gone")
        // A new execution under the purged id starts from nothing: no journal, no log of the old one.
        const again = yield* store.create(newExecution("gone", { at: T0 + 20 }))
        assert.isTrue(again.created)
        const fresh = yield* store.detail("gone")
        assert.isTrue(Option.isSome(fresh))
        if (Option.isSome(fresh)) {
          assert.deepStrictEqual(fresh.value.attempts, [])
          assert.deepStrictEqual(fresh.value.deferreds, [])
          assert.deepStrictEqual(fresh.value.clocks, [])
          assert.deepStrictEqual(fresh.value.events.map((e) => e.kind), ["started"])
        }
        const kept = yield* store.detail("kept")
        assert.isTrue(Option.isSome(kept))
        if (Option.isSome(kept)) {
          assert.strictEqual(kept.value.attempts.length, 1)
          assert.strictEqual(kept.value.deferreds.length, 2)
          assert.strictEqual(kept.value.clocks.length, 1)
        }
        // The purged execution's queue items are gone; another's, and an id that only looks alike, stay.
        const items = yield* store.claimQueueItems("mail", OWNER_A, 10, T0 + 30)
        assert.deepStrictEqual(sorted(items.map((i) => i.itemId)), ["gone-but-not-its/item", "kept/send"])
      }))

    testOptional("purge deletes at most limit per call, and the next call goes on with the rest", "purge", (store, purge) =>
      Effect.gen(function* () {
        const ids = ["e1", "e2", "e3", "e4", "e5"]
        for (const [i, id] of ids.entries()) yield* createTerminal(store, id, "succeeded", T0 + i)
        const filter = { before: T0 + 100, statuses: ALL, limit: 2 }
        const first = yield* purge(filter)
        const second = yield* purge(filter)
        const third = yield* purge(filter)
        assert.deepStrictEqual([first.length, second.length, third.length], [2, 2, 1])
        assert.deepStrictEqual(purgedIds([...first, ...second, ...third]), ids)
        assert.deepStrictEqual(yield* purge(filter), [])
        assert.deepStrictEqual((yield* store.list({})).items, [])
      }))

    testOptional("watch returns an execution as it stands and never creates one that is not (or no longer) there", "watch", (store, watch) =>
      Effect.gen(function* () {
        assert.isTrue(Option.isNone(yield* watch("nobody")))
        assert.isTrue(Option.isNone(yield* store.get("nobody")))
        yield* store.create(newExecution("e1"))
        const watched = yield* watch("e1")
        assert.isTrue(Option.isSome(watched) && watched.value.status === "running")
        yield* createTerminal(store, "e2", "succeeded")
        const ended = yield* watch("e2")
        assert.isTrue(Option.isSome(ended) && ended.value.status === "succeeded")
        if (store.purge !== undefined) {
          yield* store.purge({ before: T0 + 1, statuses: ALL, limit: 10 })
          assert.isTrue(Option.isNone(yield* watch("e2")))
          assert.isTrue(Option.isNone(yield* store.get("e2")))
        }
      }))
  })
}
