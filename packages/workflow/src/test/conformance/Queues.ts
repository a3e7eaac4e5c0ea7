/**
 * Conformance, durable queues: `enqueue` keeps the first item per id, `claimQueueItems` leases items,
 * `renewQueueItem` extends only its owner's lease, and `ackQueueItem` removes an item for good, only for its owner.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as WorkflowStore from "../../WorkflowStore.js"
import { compare, LEASE_MS, OWNER_A, OWNER_B, OWNER_C, queueItem, type Suite, T0 } from "./Harness.js"

/** Registers the tests of enqueue, claimQueueItems, renewQueueItem and ackQueueItem. */
export const queues = ({ test }: Suite): void => {
  describe("queues", () => {
    test("enqueue stores an item that claimQueueItems hands out with every field intact", (store) =>
      Effect.gen(function* () {
        const item = queueItem("thumbnails", "e1/cat.png", { url: "https://example.com/cat.png", sizes: [64, 128] })
        yield* store.enqueue(item)
        assert.deepStrictEqual(yield* store.claimQueueItems("thumbnails", OWNER_A, 10, T0), [item])
      }))

    test("enqueue with an existing itemId keeps the first item", (store) =>
      Effect.gen(function* () {
        const first = queueItem("thumbnails", "e1/cat.png", { version: 1 })
        yield* store.enqueue(first)
        yield* store.enqueue({
          ...queueItem("thumbnails", "e1/cat.png", { version: 2 }),
          token: "other",
          enqueuedAt: T0 + 9
        })
        assert.deepStrictEqual(yield* store.claimQueueItems("thumbnails", OWNER_A, 10, T0 + 10), [first])
      }))

    test("claimQueueItems hands out at most limit items and skips items under a live lease until it passes", (store) =>
      Effect.gen(function* () {
        const items = ["a", "b", "c"].map((id) => queueItem("q", id, { id }))
        for (const item of items) yield* store.enqueue(item)
        const first = yield* store.claimQueueItems("q", OWNER_A, 2, T0)
        assert.strictEqual(first.length, 2)
        const second = yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 1)
        assert.strictEqual(second.length, 1)
        assert.deepStrictEqual(sortItems([...first, ...second]), items)
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_C, 10, T0 + LEASE_MS - 1), [])
        assert.deepStrictEqual(sortItems(yield* store.claimQueueItems("q", OWNER_C, 10, T0 + LEASE_MS + 2)), items)
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_A, 10, T0 + LEASE_MS + 3), [])
      }))

    test("renewQueueItem extends only its owner's claim, so a long handler keeps its item", (store) =>
      Effect.gen(function* () {
        const item = queueItem("q", "a", { id: "a" })
        yield* store.enqueue(item)
        yield* store.claimQueueItems("q", OWNER_A, 10, T0)
        assert.isFalse(yield* store.renewQueueItem("q", "a", OWNER_B, T0 + 1))
        assert.isTrue(yield* store.renewQueueItem("q", "a", OWNER_A, T0 + LEASE_MS - 1))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + LEASE_MS + 1), [])
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 2 * LEASE_MS + 1), [item])
        assert.isFalse(yield* store.renewQueueItem("q", "a", OWNER_A, T0 + 2 * LEASE_MS + 2))
        assert.isFalse(yield* store.renewQueueItem("q", "missing", OWNER_A, T0))
      }))

    test("ackQueueItem removes its owner's item for good; acking an unknown item is harmless", (store) =>
      Effect.gen(function* () {
        const items = ["a", "b"].map((id) => queueItem("q", id, { id }))
        for (const item of items) yield* store.enqueue(item)
        yield* store.claimQueueItems("q", OWNER_A, 10, T0)
        assert.isTrue(yield* store.ackQueueItem("q", "a", OWNER_A))
        assert.isFalse(yield* store.ackQueueItem("q", "a", OWNER_A))
        assert.isFalse(yield* store.ackQueueItem("q", "never-enqueued", OWNER_A))
        assert.isFalse(yield* store.ackQueueItem("no-such-queue", "a", OWNER_A))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + LEASE_MS + 1), [items[1]!])
        assert.isTrue(yield* store.ackQueueItem("q", "b", OWNER_B))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 10 * LEASE_MS), [])
      }))

    test("ackQueueItem by a worker whose claim was taken over removes nothing; an unclaimed item is not acked", (store) =>
      Effect.gen(function* () {
        const item = queueItem("q", "a", { id: "a" })
        yield* store.enqueue(item)
        assert.isFalse(yield* store.ackQueueItem("q", "a", OWNER_A))
        yield* store.claimQueueItems("q", OWNER_A, 10, T0)
        assert.isFalse(yield* store.ackQueueItem("q", "a", OWNER_B))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + LEASE_MS + 1), [item])
        assert.isFalse(yield* store.ackQueueItem("q", "a", OWNER_A))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_C, 10, T0 + 2 * LEASE_MS + 2), [item])
      }))

    test("ackQueueItem after its owner's lease ended, with nobody taking the item over, still removes it", (store) =>
      Effect.gen(function* () {
        yield* store.enqueue(queueItem("q", "a", { id: "a" }))
        yield* store.claimQueueItems("q", OWNER_A, 10, T0)
        assert.isTrue(yield* store.ackQueueItem("q", "a", OWNER_A))
        assert.deepStrictEqual(yield* store.claimQueueItems("q", OWNER_B, 10, T0 + 10 * LEASE_MS), [])
      }))

    test("queues are separate: items are claimed only from their own queue, and item ids are scoped by queue", (store) =>
      Effect.gen(function* () {
        const resize = queueItem("resize", "same-id", { q: "resize" })
        const email = queueItem("email", "same-id", { q: "email" })
        yield* store.enqueue(resize)
        yield* store.enqueue(email)
        assert.deepStrictEqual(yield* store.claimQueueItems("unknown", OWNER_A, 10, T0), [])
        assert.deepStrictEqual(yield* store.claimQueueItems("resize", OWNER_A, 10, T0), [resize])
        assert.isTrue(yield* store.ackQueueItem("resize", "same-id", OWNER_A))
        assert.deepStrictEqual(yield* store.claimQueueItems("email", OWNER_A, 10, T0), [email])
      }))
  })
}

/** Items ordered by id, to compare what the contract returns as a set. */
const sortItems = (items: ReadonlyArray<WorkflowStore.QueueItem>) =>
  [...items].sort((a, b) => compare(a.itemId, b.itemId))
