/**
 * Key squatting is refused: an execution id (workflow name + idempotency key) taken by one payload is never
 * joined by another. The same payload joins (key order aside); another one fails with `ExecutionConflict`
 * and writes nothing, from outside (`execute`, with `discard` too) and as a child's start inside a body; of
 * two different payloads racing for one id exactly one wins. On memory, SQLite and PostgreSQL (over the
 * PgDriver and over a plain PgClient).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"
import { SqlEngine } from "@weft/engine-sql"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { DurableDeferred, Workflow, WorkflowEngine, WorkflowError, type WorkflowStore } from "@weft/workflow"
import { testDatabase } from "./pg.js"
import { hasStatus, record, suspended, waitUntil } from "./util.js"

const dir = mkdtempSync(join(tmpdir(), "weft-conflicts-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const freshUrl = testDatabase()
type Engine = Layer.Layer<WorkflowEngine.WorkflowEngine | WorkflowStore.WorkflowStore, unknown>
const engines: ReadonlyArray<readonly [string, () => Engine]> = [
  ["memory", () => WorkflowEngine.layerMemory],
  ["sqlite", () => SqliteEngine.layer({ filename: join(dir, `conflicts-${n++}.db`) })],
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

/** The error of a start that must have been refused as a conflict over `executionId`. */
const assertConflict = (exit: Exit.Exit<unknown, unknown>, workflow: string, executionId: string) => {
  assert.isTrue(Exit.isFailure(exit), "the start was not refused")
  const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
  assert.strictEqual(error?._tag, "Fail")
  const failure = (error as { readonly error: WorkflowError.WorkflowError }).error
  if (failure.reason !== "ExecutionConflict") console.log("DEBUG", failure)
  assert.instanceOf(failure, WorkflowError.WorkflowError)
  assert.strictEqual(failure.reason, "ExecutionConflict")
  assert.isFalse(failure.isRetryable)
  assert.strictEqual(failure.workflow, workflow)
  assert.strictEqual(failure.executionId, executionId)
  assert.include(failure.message, `Workflow "${workflow}" has an execution ${executionId} for another payload`)
  assert.include(failure.message, "idempotency key is already used with a different payload")
}

const order = (amount: number, meta: Record<string, unknown> = { a: 1, b: [1, { c: "x" }] }) => ({
  id: "exp-43",
  amount,
  meta
})

for (const [engine, layer] of engines) {
  describe(`conflicts on ${engine}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, any>) =>
      effect.pipe(Effect.provide(Layer.provideMerge(Fixtures, layer()))) as Effect.Effect<A, unknown, never>

    it.effect("the same payload joins, whatever the key order of its records", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Expense.execute(order(5000), { discard: true })
          yield* suspended(Expense, id)
          const reordered = order(5000, { b: [1, { c: "x" }], a: 1, skipped: undefined })
          assert.strictEqual(yield* Expense.execute(reordered, { discard: true }), id)
          const token = yield* DurableDeferred.tokenFor(Approve, { workflow: Expense.name, executionId: id })
          yield* DurableDeferred.succeed(Approve, { token, value: true })
          assert.strictEqual(yield* Expense.execute(reordered), "exp-43: 5000 approved")
          assert.deepStrictEqual((yield* record(id)).events.map((e) => e.kind), [
            "started",
            "suspended",
            "signal-received",
            "completed"
          ])
        })
      ))

    it.effect("another payload under a taken key fails with ExecutionConflict and leaves the execution untouched", () =>
      run(
        Effect.gen(function* () {
          const id = yield* Expense.execute(order(5000), { discard: true })
          yield* suspended(Expense, id)
          const before = yield* record(id)
          assertConflict(yield* Effect.exit(Expense.execute(order(1), { discard: true })), "Expense", id)
          assertConflict(yield* Effect.exit(Expense.execute(order(1))), "Expense", id)
          assertConflict(yield* Effect.exit(Expense.execute(order(5000, { a: 2, b: [1, { c: "x" }] }))), "Expense", id)
          assert.deepStrictEqual(yield* record(id), before)
          assert.strictEqual((yield* WorkflowEngine.list({ workflow: "Expense" })).items.length, 1)
          // The real one goes on as it was started, and once it ended another payload still does not get its result.
          const token = yield* DurableDeferred.tokenFor(Approve, { workflow: Expense.name, executionId: id })
          yield* DurableDeferred.succeed(Approve, { token, value: true })
          assert.strictEqual(yield* Expense.execute(order(5000)), "exp-43: 5000 approved")
          const ended = yield* record(id)
          assertConflict(yield* Effect.exit(Expense.execute(order(1))), "Expense", id)
          assert.deepStrictEqual(yield* record(id), ended)
        })
      ))

    it.effect("of two different payloads racing for one id, exactly one starts and the other gets ExecutionConflict", () =>
      run(
        Effect.gen(function* () {
          for (let i = 0; i < 8; i++) {
            const key = `race-${i}`
            const [first, second] = yield* Effect.all(
              [
                Effect.exit(Quick.execute({ key, amount: 1 }, { discard: true })),
                Effect.exit(Quick.execute({ key, amount: 2 }, { discard: true }))
              ],
              { concurrency: "unbounded" }
            )
            const id = Workflow.executionIdFor(Quick.name, key)
            const won = [first, second].filter(Exit.isSuccess)
            assert.strictEqual(won.length, 1, `both or neither started ${key}`)
            const loser = Exit.isSuccess(first) ? second : first
            assertConflict(loser, "Quick", id)
            yield* waitUntil(hasStatus(id, "succeeded"), `${key} succeeded`)
            const stored = yield* record(id)
            assert.deepStrictEqual(stored.execution.payload, { key, amount: Exit.isSuccess(first) ? 1 : 2 })
            assert.deepStrictEqual(stored.execution.result, {
              _tag: "Success",
              value: Exit.isSuccess(first) ? 1 : 2
            })
          }
        })
      ))

    it.effect("a child start under a key another payload holds is a typed failure of the body, journaled, the child untouched", () =>
      run(
        Effect.gen(function* () {
          const childId = yield* Quick.execute({ key: "child-1", amount: 1 }, { discard: true })
          const otherId = yield* Quick.execute({ key: "child-2", amount: 1 }, { discard: true })
          yield* waitUntil(hasStatus(childId, "succeeded"), "the squatted child succeeded")
          yield* waitUntil(hasStatus(otherId, "succeeded"), "the other squatted child succeeded")
          const children = [yield* record(childId), yield* record(otherId)]
          const parentId = yield* Parent.execute({ key: "p1", amount: 7 }, { discard: true })
          yield* suspended(Parent, parentId)
          // Replayed after the signal: the stored conflicts come back, no start is tried again.
          const token = yield* DurableDeferred.tokenFor(Approve, { workflow: Parent.name, executionId: parentId })
          yield* DurableDeferred.succeed(Approve, { token, value: true })
          assert.strictEqual(
            yield* Parent.execute({ key: "p1", amount: 7 }),
            `awaited: ExecutionConflict ${childId}; discarded: ExecutionConflict ${otherId}`
          )
          const parent = yield* record(parentId)
          const starts = parent.attempts.filter((a) => a.name.startsWith("@weft/start/"))
          assert.deepStrictEqual(starts.map((a) => [a.name, a.attempt, (a.exit as { readonly _tag: string })._tag]), [
            [`@weft/start/Quick/${childId}`, 1, "Failure"],
            [`@weft/start/Quick/${otherId}`, 1, "Failure"]
          ])
          assert.deepStrictEqual([yield* record(childId), yield* record(otherId)], children)
        })
      ))
  })
}

// Fixtures

const Approve = DurableDeferred.make("approve", { success: Schema.Boolean })

const Expense = Workflow.make({
  name: "Expense",
  payload: { id: Schema.String, amount: Schema.Number, meta: Schema.Record(Schema.String, Schema.Unknown) },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const ExpenseLive = Expense.toLayer(({ amount, id }) =>
  Effect.map(DurableDeferred.await(Approve), (approved) => `${id}: ${amount} ${approved ? "approved" : "refused"}`)
)

const Quick = Workflow.make({
  name: "Quick",
  payload: { key: Schema.String, amount: Schema.Number },
  success: Schema.Number,
  idempotencyKey: ({ key }) => key
})

const QuickLive = Quick.toLayer(({ amount }) => Effect.succeed(amount))

const Parent = Workflow.make({
  name: "Parent",
  payload: { key: Schema.String, amount: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ key }) => key
})

const reasonOf = <A>(start: Effect.Effect<A, WorkflowError.WorkflowError | never, any>) =>
  Effect.catch(Effect.map(start, String), (error) => Effect.succeed(`${error.reason} ${error.executionId}`))

const ParentLive = Parent.toLayer(({ amount }) =>
  Effect.gen(function* () {
    // The child's key is squatted by a start of another payload: awaited and discarded starts are refused alike.
    const awaited = yield* reasonOf(Quick.execute({ key: "child-1", amount }))
    const discarded = yield* reasonOf(Quick.execute({ key: "child-2", amount }, { discard: true }))
    yield* DurableDeferred.await(Approve)
    return `awaited: ${awaited}; discarded: ${discarded}`
  })
)

const Fixtures = Layer.mergeAll(ExpenseLive, QuickLive, ParentLive)
