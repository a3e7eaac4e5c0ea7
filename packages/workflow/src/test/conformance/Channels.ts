/**
 * Conformance, channel messages (`sendMessage`, optional): each message is stored as deferred `<prefix><index>` at
 * the next index of its (execution, channel), never under a name already taken, and wakes the execution in the
 * same write; concurrent senders get distinct indices; an ended, interrupted or unknown execution takes nothing.
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as WorkflowStore from "../../WorkflowStore.js"
import {
  claimOf,
  createSuspended,
  createTerminal,
  detailOf,
  failure,
  getOf,
  newExecution,
  OWNER_A,
  snapshot,
  success,
  type Suite,
  T0
} from "./Harness.js"

const PREFIX = "@weft/channel/chat/"

const message = (text: string, sentAt = T0 + 1): WorkflowStore.ChannelMessage => ({
  prefix: PREFIX,
  exit: success({ text }),
  sentAt
})

/** The channel's stored messages, by index. */
const messages = (detail: WorkflowStore.ExecutionDetail, prefix = PREFIX) =>
  detail.deferreds
    .filter((d) => d.name.startsWith(prefix) && /^[0-9]+$/.test(d.name.slice(prefix.length)))
    .map((d) => [Number(d.name.slice(prefix.length)), d.exit] as const)
    .sort((a, b) => a[0] - b[0])

/** Registers the tests of sendMessage. */
export const channels = ({ testOptional }: Suite): void => {
  describe("sendMessage", () => {
    testOptional("sendMessage stores messages at indices 1, 2, 3, each waking the execution, logged", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        yield* createSuspended(store, "e1", undefined)
        const sent = []
        for (const [i, text] of ["a", "b", "c"].entries()) {
          sent.push(yield* sendMessage("e1", message(text, T0 + 1 + i)))
        }
        assert.deepStrictEqual(sent, [
          { _tag: "Sent", index: 1, record: { name: `${PREFIX}1`, exit: success({ text: "a" }), completedAt: T0 + 1 } },
          { _tag: "Sent", index: 2, record: { name: `${PREFIX}2`, exit: success({ text: "b" }), completedAt: T0 + 2 } },
          { _tag: "Sent", index: 3, record: { name: `${PREFIX}3`, exit: success({ text: "c" }), completedAt: T0 + 3 } }
        ])
        const record = yield* getOf(store, "e1")
        assert.strictEqual(record.status, "running")
        assert.strictEqual(record.wakeSeq, 3)
        assert.strictEqual(record.updatedAt, T0 + 3)
        const detail = yield* detailOf(store, "e1")
        assert.deepStrictEqual(messages(detail), [
          [1, success({ text: "a" })],
          [2, success({ text: "b" })],
          [3, success({ text: "c" })]
        ])
        assert.deepStrictEqual(detail.events.filter((e) => e.kind === "signal-received"), [
          { kind: "signal-received", at: T0 + 1, detail: `${PREFIX}1` },
          { kind: "signal-received", at: T0 + 2, detail: `${PREFIX}2` },
          { kind: "signal-received", at: T0 + 3, detail: `${PREFIX}3` }
        ])
      }))

    testOptional("concurrent senders get distinct indices 1..n and every message is stored", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        yield* createSuspended(store, "e1", undefined)
        const count = 16
        const sent = yield* Effect.forEach(
          Array.from({ length: count }, (_, i) => i),
          (i) => sendMessage("e1", message(`m${i}`)),
          { concurrency: "unbounded" }
        )
        const indices = sent.map((s) => (s._tag === "Sent" ? s.index : assert.fail(`refused: ${JSON.stringify(s)}`)))
        assert.deepStrictEqual([...indices].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 1))
        const stored = messages(yield* detailOf(store, "e1"))
        assert.deepStrictEqual(stored.map(([index]) => index), Array.from({ length: count }, (_, i) => i + 1))
        // Each message is stored under the index its sender was given.
        for (const [i, s] of sent.entries()) {
          if (s._tag === "Sent") assert.deepStrictEqual(stored[s.index - 1]![1], success({ text: `m${i}` }))
        }
        assert.strictEqual((yield* getOf(store, "e1")).wakeSeq, count)
      }))

    testOptional("a name already taken (a receive's timeout marker) is skipped, never overwritten", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        yield* store.create(newExecution("e1"))
        const claim = yield* claimOf(store, "e1", OWNER_A, T0)
        const marker = { name: `${PREFIX}1`, exit: { _tag: "TimedOut" }, completedAt: T0 + 1 }
        yield* store.recordDeferred("e1", claim.fence, marker)
        const sent = yield* sendMessage("e1", message("after the timeout", T0 + 2))
        assert.strictEqual(sent._tag === "Sent" ? sent.index : undefined, 2)
        // A marker taken past the last message: the next message goes after it.
        yield* store.recordDeferred("e1", claim.fence, { ...marker, name: `${PREFIX}3`, completedAt: T0 + 3 })
        const next = yield* sendMessage("e1", message("after another", T0 + 4))
        assert.strictEqual(next._tag === "Sent" ? next.index : undefined, 4)
        assert.deepStrictEqual(messages(yield* detailOf(store, "e1")), [
          [1, { _tag: "TimedOut" }],
          [2, success({ text: "after the timeout" })],
          [3, { _tag: "TimedOut" }],
          [4, success({ text: "after another" })]
        ])
      }))

    testOptional("indices count only the channel's own names: other channels and suffixes are ignored", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        yield* createSuspended(store, "e1", undefined)
        for (const name of [`${PREFIX}sub/7`, `${PREFIX}x9`, "@weft/channel/chatter/5", "@weft/channel/cha/8"]) {
          yield* store.completeDeferred("e1", { name, exit: success(name), completedAt: T0 + 1 })
        }
        yield* sendMessage("e1", { ...message("other"), prefix: "@weft/channel/chatter/" })
        const sent = yield* sendMessage("e1", message("first"))
        assert.strictEqual(sent._tag === "Sent" ? sent.index : undefined, 1)
        const detail = yield* detailOf(store, "e1")
        assert.deepStrictEqual(messages(detail), [[1, success({ text: "first" })]])
        assert.deepStrictEqual(messages(detail, "@weft/channel/chatter/"), [[5, success("@weft/channel/chatter/5")], [
          6,
          success({ text: "other" })
        ]])
      }))

    testOptional("an ended or interrupted execution takes no message, and nothing is written", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        yield* createTerminal(store, "done", "succeeded")
        const before = snapshot(yield* detailOf(store, "done"))
        assert.deepStrictEqual(yield* sendMessage("done", message("late")), {
          _tag: "Refused",
          status: "succeeded",
          interruptRequested: false
        })
        assert.deepStrictEqual(yield* detailOf(store, "done"), before)

        yield* createSuspended(store, "stopping", undefined)
        assert.isTrue(yield* store.requestInterrupt("stopping", T0 + 1))
        const stopping = snapshot(yield* detailOf(store, "stopping"))
        const refused = yield* sendMessage("stopping", message("late", T0 + 2))
        assert.deepStrictEqual(refused, { _tag: "Refused", status: "running", interruptRequested: true })
        assert.deepStrictEqual(yield* detailOf(store, "stopping"), stopping)
      }))

    testOptional("an unknown execution fails with ExecutionNotFound and nothing is created", "sendMessage", (
      store,
      sendMessage
    ) =>
      Effect.gen(function* () {
        const error = yield* failure(sendMessage("nope", message("hello")))
        assert.strictEqual(error.reason, "ExecutionNotFound")
        assert.strictEqual(error.executionId, "nope")
        assert.isTrue(Option.isNone(yield* store.get("nope")))
        assert.isTrue(Option.isNone(yield* store.detail("nope")))
      }))
  })
}
