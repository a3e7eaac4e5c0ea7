/**
 * Text every store keeps byte for byte: names (workflow, activity, deferred, queue, sleep, race, queue item key)
 * with U+0000, a lone surrogate, nothing or too many bytes are refused where they are defined, and nothing
 * is written; payloads and results holding U+0000 and lone surrogates round-trip on every store.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { SqlEngine } from "@weft/engine-sql"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import {
  Activity,
  DurableClock,
  DurableDeferred,
  DurableQueue,
  Workflow,
  WorkflowEngine,
  type WorkflowStore
} from "@weft/workflow"
import { testDatabase } from "./pg.js"
import { record, suspended, waitUntil } from "./util.js"

// Text a store must keep exactly: U+0000, both lone surrogates, U+FFFD, a pair, control characters (U+001E
// separates the JSON texts of a batch on PostgreSQL).
const AWKWARD = "a\u0000b\ud800c\udc00d\ufffd\ud83d\ude00\u0001\u001e\n"

const refusedName = (make: (name: string) => unknown, kind: string, name: string, reason: RegExp) => {
  let thrown: unknown
  try {
    make(name)
  } catch (error) {
    thrown = error
  }
  assert.instanceOf(thrown, Error, `${kind} name ${JSON.stringify(name)} was accepted`)
  const message = (thrown as Error).message
  assert.strictEqual((thrown as Error).name, "InvalidName")
  assert.isTrue(message.startsWith(`${kind} name `), message)
  assert.match(message, reason)
  assert.include(message, "1 to 1024 bytes of UTF-8 text without U+0000 or lone surrogates")
  // The name prints: no raw NUL or lone surrogate in the message.
  assert.isFalse(message.includes("\u0000"))
  assert.isTrue((message as unknown as { isWellFormed(): boolean }).isWellFormed())
  return message
}

const makers: ReadonlyArray<readonly [string, (name: string) => unknown]> = [
  ["Workflow", (name) => Workflow.make({ name, payload: {}, idempotencyKey: () => "k" })],
  ["Activity", (name) => Activity.make({ name, execute: Effect.void })],
  ["Deferred", (name) => DurableDeferred.make(name)],
  ["Queue", (name) => DurableQueue.make({ name, payload: {}, idempotencyKey: () => "k" })]
]

describe("names are refused at definition", () => {
  for (const [kind, make] of makers) {
    it(`${kind}.make throws on U+0000, lone surrogates, the empty name and more than 1024 bytes`, () => {
      const nul = refusedName(make, kind, "pay\u0000ment", /holds U\+0000 at index 3/)
      assert.include(nul, `"pay\\u0000ment"`)
      const high = refusedName(make, kind, "a\ud800", /lone surrogate \(U\+D800\) at index 1/)
      assert.include(high, `"a\\ud800"`)
      refusedName(make, kind, "\udc00b", /lone surrogate \(U\+DC00\) at index 0/)
      refusedName(make, kind, "\ude00\ud83d", /lone surrogate \(U\+DE00\) at index 0/)
      refusedName(make, kind, "", /it is empty/)
      const long = refusedName(make, kind, "é".repeat(513), /it takes 1026 bytes of UTF-8/)
      assert.include(long, "(513 characters)")
      refusedName(make, kind, undefined as unknown as string, /not a string/)
    })

    it(`${kind}.make accepts any other text up to 1024 bytes`, () => {
      for (const name of ["x", "é".repeat(512), "a".repeat(1024), "ключ 🎉 \ufffd", "tab\there", "slash/and:colon"]) {
        make(name)
      }
    })
  }

  it("keeps refusing reserved activity and deferred names", () => {
    assert.throws(() => Activity.make({ name: "@weft/start/x", execute: Effect.void }), /reserved/)
    assert.throws(() => DurableDeferred.make("@weft/child/x"), /reserved/)
  })
})

/** The engines every test below runs on: memory, SQLite, PostgreSQL over the PgDriver and over a plain PgClient. */
const dir = mkdtempSync(join(tmpdir(), "weft-names-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshUrl = testDatabase()
type Engine = Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore, unknown>
const engines: ReadonlyArray<readonly [string, () => Engine]> = [
  ["memory", () => WorkflowEngine.layerMemory],
  ["sqlite", () => SqliteEngine.layer({ filename: join(dir, `names-${n++}.db`) })],
  ["postgres (PgDriver)", () => Layer.unwrap(Effect.map(freshUrl, (url) => PgEngine.layer({ url, maxConnections: 4 })))],
  [
    "postgres (plain PgClient)",
    () =>
      Layer.unwrap(
        Effect.map(freshUrl, (url) =>
          SqlEngine.layer({}).pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })))
        )
      )
  ]
]

const defectOf = (exit: Exit.Exit<unknown, unknown>): { readonly name: string; readonly message: string } => {
  assert.isTrue(Exit.isFailure(exit), "the execution did not fail")
  const defect = Cause.findDefect((exit as Exit.Failure<unknown, unknown>).cause)
  assert.isTrue(Result.isSuccess(defect), "the execution did not fail by a defect")
  return (defect as Result.Success<{ name: string; message: string }, unknown>).success
}

for (const [engine, layer] of engines) {
  describe(`text on ${engine}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
      effect.pipe(Effect.provide(Layer.provideMerge(Fixtures, layer()))) as Effect.Effect<A, unknown, never>

    it.effect("round-trips U+0000 and lone surrogates in a payload, an activity result, a signal and the result", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Echo.execute({ text: AWKWARD, key: "k1" }, { discard: true })
          yield* suspended(Echo, id)
          const token = yield* DurableDeferred.tokenFor(Reply, { workflow: Echo.name, executionId: id })
          yield* DurableDeferred.succeed(Reply, { token, value: `${AWKWARD}!` })
          const result = yield* Echo.execute({ text: AWKWARD, key: "k1" })
          assert.strictEqual(result, `${AWKWARD}|${AWKWARD}?|${AWKWARD}!`)
          const stored = yield* record(id)
          assert.deepStrictEqual(stored.execution.payload, { text: AWKWARD, key: "k1" })
          assert.deepStrictEqual(stored.attempts.map((a) => a.exit), [{ _tag: "Success", value: `${AWKWARD}?` }])
          assert.deepStrictEqual(stored.deferreds.map((d) => d.exit), [{ _tag: "Success", value: `${AWKWARD}!` }])
          assert.deepStrictEqual(stored.execution.result, { _tag: "Success", value: result })
          // The same payload, read back from the store, joins.
          assert.strictEqual(yield* Echo.execute({ text: AWKWARD, key: "k1" }, { discard: true }), id)
          // Started together (one statement for both on the PgDriver), each keeps its own text.
          const texts = [`${AWKWARD}2`, `3${AWKWARD}`, "\u0000", "\ud800"]
          const ids = yield* Effect.forEach(texts, (text, i) => Echo.execute({ text, key: `b${i}` }, { discard: true }), {
            concurrency: "unbounded"
          })
          for (const [i, batched] of ids.entries()) {
            assert.deepStrictEqual((yield* record(batched)).execution.payload, { text: texts[i], key: `b${i}` })
          }
        })
      ))

    it.effect("keeps names of the full 1024 bytes: an activity, a deferred, a queue and its item key", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Long.execute({ key: "long" }, { discard: true })
          // Suspended on the signal, the queue item answered (one wake-up at a time).
          yield* waitUntil(
            Effect.map(WorkflowEngine.detail(id), (d) => Option.isSome(d) && d.value.deferreds.length === 1),
            "the queue item answered"
          )
          yield* suspended(Long, id)
          const token = yield* DurableDeferred.tokenFor(LongReply, { workflow: Long.name, executionId: id })
          yield* DurableDeferred.succeed(LongReply, { token, value: "signal" })
          assert.strictEqual(yield* Long.execute({ key: "long" }), "step/handled/signal")
          const stored = yield* record(id)
          assert.deepStrictEqual(stored.attempts.map((a) => a.name), [
            LONG,
            `@weft/enqueue/${LONG_QUEUE.name}/${LONG_KEY}`
          ])
          assert.includeMembers(stored.deferreds.map((d) => d.name), [LONG, `@weft/queue/${LONG_QUEUE.name}/${LONG_KEY}`])
        }).pipe(Effect.provide(LongWorker))
      ))

    it.effect("an execution id no store can keep (U+0000, a lone surrogate, empty) is not found, not a store error", () =>
      run(
        Effect.gen(function* () {
          for (const id of ["a\u0000b", "\ud800", ""]) {
            for (const lookup of [Echo.poll(id), Echo.interrupt(id), Echo.resume(id)]) {
              const error = yield* Effect.flip(lookup)
              assert.strictEqual(error.reason, "ExecutionNotFound")
              assert.strictEqual(error.executionId, id)
            }
            assert.isTrue(Option.isNone(yield* WorkflowEngine.detail(id)))
          }
        })
      ))

    it.effect("fails an execution whose body makes an activity with a bad name by a defect naming it, writing no step", () =>
      run(
        Effect.gen(function* () {
          const id = Workflow.executionIdFor(Dynamic.name, "nul")
          const exit = yield* Effect.exit(Dynamic.execute({ step: "charge\u0000card" }))
          const defect = defectOf(exit)
          assert.strictEqual(defect.name, "InvalidName")
          assert.include(defect.message, `Activity name "charge\\u0000card" is not allowed: it holds U+0000 at index 6`)
          const stored = yield* record(id)
          assert.strictEqual(stored.execution.status, "failed")
          assert.deepStrictEqual(stored.attempts.map((a) => a.name), ["before"])
          // Another execution of the same workflow (and its timers) runs on: nothing is stuck behind the bad one.
          assert.strictEqual(yield* Dynamic.execute({ step: "fine" }), "fine")
          // Made by the handler itself, outside any effect: the same defect.
          const direct = defectOf(yield* Effect.exit(Direct.execute({ step: "\udc00" })))
          assert.strictEqual(direct.name, "InvalidName")
          assert.include(direct.message, `Activity name "\\udc00" is not allowed: it holds a lone surrogate (U+DC00)`)
          assert.strictEqual((yield* record(Workflow.executionIdFor(Direct.name, "\udc00"))).execution.status, "failed")
        })
      ))

    it.effect("fails an execution whose sleep, race or queue item key is not a name, writing none of them", () =>
      run(
        Effect.gen(function* () {
          for (const [what, expected] of [
            ["sleep", `Sleep name "nap\\ud800" is not allowed: it holds a lone surrogate (U+D800) at index 3`],
            ["race", `Race name "" is not allowed: it is empty`],
            ["queue", `The idempotency key "item\\u0000" of an item for queue "names-queue" is not allowed`]
          ] as const) {
            const exit = yield* Effect.exit(BadStep.execute({ what }))
            assert.include(defectOf(exit).message, expected)
            const stored = yield* record(yield* BadStep.executionId({ what }))
            assert.deepStrictEqual(stored.attempts, [])
            assert.deepStrictEqual(stored.clocks, [])
            assert.deepStrictEqual(stored.deferreds, [])
          }
        })
      ))
  })
}

// Fixtures

const Reply = DurableDeferred.make("reply", { success: Schema.String })

const shout = (text: string) =>
  Activity.make({ name: "shout", success: Schema.String, execute: Effect.succeed(`${text}?`) })

const Echo = Workflow.make({
  name: "Echo",
  payload: { text: Schema.String, key: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ key }) => key
})

const EchoLive = Echo.toLayer(({ text }) =>
  Effect.gen(function* () {
    const loud = yield* shout(text)
    const reply = yield* DurableDeferred.await(Reply)
    return `${text}|${loud}|${reply}`
  })
)

const Dynamic = Workflow.make({
  name: "Dynamic",
  payload: { step: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ step }) => (step === "fine" ? "fine" : "nul")
})

const DynamicLive = Dynamic.toLayer(({ step }) =>
  Effect.gen(function* () {
    yield* Activity.make({ name: "before", execute: Effect.void })
    // Made in the body from data: a bad name throws here, which fails the execution by a defect.
    return yield* Activity.make({ name: step, success: Schema.String, execute: Effect.succeed(step) })
  })
)

const Direct = Workflow.make({
  name: "Direct",
  payload: { step: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ step }) => step
})

const DirectLive = Direct.toLayer(({ step }) =>
  Activity.make({ name: step, success: Schema.String, execute: Effect.succeed(step) })
)

const NamesQueue = DurableQueue.make({
  name: "names-queue",
  payload: { item: Schema.String },
  idempotencyKey: ({ item }) => item
})

const BadStep = Workflow.make({
  name: "BadStep",
  payload: { what: Schema.Literals(["sleep", "race", "queue"]) },
  idempotencyKey: ({ what }) => what
})

const BadStepLive = BadStep.toLayer(({ what }) => {
  switch (what) {
    case "sleep":
      return DurableClock.sleep({ name: "nap\ud800", duration: "1 second" })
    case "race":
      return DurableDeferred.raceAll({ name: "", success: Schema.Void, error: Schema.Never, effects: [Effect.void] })
    case "queue":
      return DurableQueue.process(NamesQueue, { item: "item\u0000" })
  }
})

// 1024 bytes of UTF-8 each: the most a name may take.
const LONG = "é".repeat(512)
const LONG_KEY = "k".repeat(1024)
const LONG_QUEUE = DurableQueue.make({
  name: "q".repeat(1024),
  payload: { item: Schema.String },
  success: Schema.String,
  idempotencyKey: () => LONG_KEY
})
const LongReply = DurableDeferred.make(LONG, { success: Schema.String })

const Long = Workflow.make({
  name: "Long",
  payload: { key: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ key }) => key
})

const LongLive = Long.toLayer(() =>
  Effect.gen(function* () {
    const step = yield* Activity.make({ name: LONG, success: Schema.String, execute: Effect.succeed("step") })
    const handled = yield* DurableQueue.process(LONG_QUEUE, { item: "x" })
    const reply = yield* DurableDeferred.await(LongReply)
    return `${step}/${handled}/${reply}`
  })
)

const LongWorker = DurableQueue.worker(LONG_QUEUE, () => Effect.succeed("handled"))

const Fixtures = Layer.mergeAll(EchoLive, DynamicLive, DirectLive, BadStepLive, LongLive)
