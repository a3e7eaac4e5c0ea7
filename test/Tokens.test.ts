/**
 * Deferred tokens a human can be handed: the v2 format (a key id and an optional expiry), expiry by the engine's
 * clock, a keyring that rotates keys without breaking outstanding tokens, v1 tokens still read, and the checks of
 * the `signingKey` and `tokenExpiresIn` options.
 */
import { createHmac } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { TestClock } from "effect/testing"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableDeferred, Workflow, WorkflowEngine, WorkflowError } from "@weft/workflow"
import { record, suspended, waitUntil } from "./util.js"

describe("the v2 token format", () => {
  it.effect("carries the current key's id and the expiry, is signed over both, and reads back to its claims", () =>
    withEngine({ signingKey: ring }, () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(1_000_000)
        const id = yield* startExpense("v2-format")
        const execution = { workflow: Expense.name, executionId: id }
        const token = yield* DurableDeferred.tokenFor(Approval, { ...execution, expiresIn: "1 day" })
        const [version, keyId, body, signature] = token.split(".")
        assert.strictEqual(version, "v2")
        assert.strictEqual(keyId, "2025-06")
        const expiresAt = 1_000_000 + 86_400_000
        assert.deepStrictEqual(JSON.parse(Buffer.from(body!, "base64url").toString("utf8")), [
          Expense.name,
          id,
          "approval",
          expiresAt
        ])
        assert.strictEqual(signature, hmac(currentKey, `v2.2025-06.${body}`))
        assert.deepStrictEqual(yield* DurableDeferred.readToken(token), {
          workflow: Expense.name,
          executionId: id,
          deferred: "approval",
          expiresAt
        })

        // Without a lifetime: no expiry in the body or the claims, and the same token every time.
        const forever = yield* DurableDeferred.tokenFor(Approval, execution)
        assert.deepStrictEqual(JSON.parse(Buffer.from(forever.split(".")[2]!, "base64url").toString("utf8")), [
          Expense.name,
          id,
          "approval"
        ])
        assert.deepStrictEqual(yield* DurableDeferred.readToken(forever), {
          workflow: Expense.name,
          executionId: id,
          deferred: "approval"
        })
        assert.strictEqual(yield* DurableDeferred.tokenFor(Approval, execution), forever)

        // The key id is signed: naming the other key of the ring breaks the signature.
        const relabelled = ["v2", "2025-01", body, signature].join(".")
        const error = yield* Effect.flip(DurableDeferred.readToken(relabelled))
        assert.strictEqual(error.reason, "InvalidToken")
        assert.include(error.message, "signature does not match")

        yield* DurableDeferred.succeed(Approval, { token, value: { by: "ada" } })
        assert.strictEqual(yield* Expense.execute({ id: "v2-format" }), "v2-format approved by ada")
      })
    ))
})

describe("token expiry", () => {
  it.effect("refuses an expired token with InvalidToken saying when it expired, and writes nothing", () =>
    withEngine({}, () =>
      Effect.gen(function* () {
        const id = yield* startExpense("expiry")
        const execution = { workflow: Expense.name, executionId: id }
        const token = yield* DurableDeferred.tokenFor(Approval, { ...execution, expiresIn: "1 hour" })
        yield* TestClock.adjust("59 minutes")
        assert.strictEqual((yield* DurableDeferred.readToken(token)).expiresAt, 3_600_000)
        yield* TestClock.adjust("1 minute")

        for (const attempt of [
          DurableDeferred.succeed(Approval, { token, value: { by: "late" } }),
          Effect.asVoid(DurableDeferred.complete(Approval, { token, exit: Exit.succeed({ by: "late" }) })),
          Effect.asVoid(DurableDeferred.readToken(token))
        ]) {
          const error = yield* Effect.flip(attempt)
          assert.instanceOf(error, WorkflowError.WorkflowError)
          assert.strictEqual(error.reason, "InvalidToken")
          assert.strictEqual(error.message, "The deferred token is rejected: it expired at 1970-01-01T01:00:00.000Z")
          assert.strictEqual(error.executionId, id)
          assert.strictEqual(error.workflow, Expense.name)
        }
        const detail = yield* record(id)
        assert.deepStrictEqual(detail.deferreds, [])
        assert.isFalse(detail.events.some((e) => e.kind.startsWith("signal")))
        assert.strictEqual(detail.execution.status, "suspended")

        // A fresh token still completes it.
        const fresh = yield* DurableDeferred.tokenFor(Approval, { ...execution, expiresIn: "1 hour" })
        yield* DurableDeferred.succeed(Approval, { token: fresh, value: { by: "on time" } })
        assert.strictEqual(yield* Expense.execute({ id: "expiry" }), "expiry approved by on time")
      })
    ))

  it.effect("gives tokens the engine's tokenExpiresIn unless they say otherwise (Infinity: no expiry)", () =>
    withEngine({ tokenExpiresIn: "10 minutes" }, () =>
      Effect.gen(function* () {
        const id = yield* startExpense("default-lifetime")
        const execution = { workflow: Expense.name, executionId: id }
        const byDefault = yield* DurableDeferred.tokenFor(Approval, execution)
        const longer = yield* DurableDeferred.tokenFor(Approval, { ...execution, expiresIn: "2 days" })
        const forever = yield* DurableDeferred.tokenFor(Approval, { ...execution, expiresIn: "Infinity" })
        assert.strictEqual((yield* DurableDeferred.readToken(byDefault)).expiresAt, 600_000)
        assert.strictEqual((yield* DurableDeferred.readToken(longer)).expiresAt, 2 * 86_400_000)
        assert.isUndefined((yield* DurableDeferred.readToken(forever)).expiresAt)
        yield* TestClock.adjust("1 day")
        assert.strictEqual((yield* Effect.flip(DurableDeferred.readToken(byDefault))).reason, "InvalidToken")
        yield* DurableDeferred.readToken(longer)
        yield* TestClock.adjust("1000 days")
        yield* DurableDeferred.succeed(Approval, { token: forever, value: { by: "someday" } })
        assert.strictEqual(yield* Expense.execute({ id: "default-lifetime" }), "default-lifetime approved by someday")
      })
    ))

  it.effect("a token made in the body on replay is valid too, each with its lifetime from when it was made", () =>
    withEngine({}, () =>
      Effect.gen(function* () {
        minted.length = 0
        const id = yield* Invite.execute({ id: "replayed" }, { discard: true })
        yield* suspended(Invite, id)
        assert.strictEqual(minted.length, 1)
        // Woken without a signal: the body replays and makes its token again, half an hour later.
        yield* TestClock.adjust("30 minutes")
        yield* (yield* WorkflowEngine.WorkflowEngine).resume(id)
        yield* waitUntil(Effect.sync(() => minted.length === 2), "the body replayed")
        yield* suspended(Invite, id)
        const [first, second] = minted
        assert.notStrictEqual(first, second)
        assert.strictEqual((yield* DurableDeferred.readToken(first!)).expiresAt, 3_600_000)
        assert.strictEqual((yield* DurableDeferred.readToken(second!)).expiresAt, 5_400_000)
        // The one sent (the activity's, recorded once) is the first.
        const sent = (yield* record(id)).attempts.find((a) => a.name === "send")
        assert.deepStrictEqual(sent?.exit, { _tag: "Success", value: first })

        yield* TestClock.adjust("45 minutes")
        assert.strictEqual((yield* Effect.flip(DurableDeferred.readToken(first!))).reason, "InvalidToken")
        yield* DurableDeferred.succeed(Approval, { token: second!, value: { by: "grace" } })
        assert.strictEqual(yield* Invite.execute({ id: "replayed" }), "invited, approved by grace")
      })
    ))

  it.effect("refuses a lifetime that is not longer than zero", () =>
    Effect.gen(function* () {
      const message = yield* defectOf(WorkflowEngine.layerMemoryWith({ tokenExpiresIn: 0 }))
      assert.match(message, /tokenExpiresIn.*longer than zero/)
      const minting = yield* withEngine({}, () =>
        Effect.exit(DurableDeferred.tokenFor(Approval, { ...nowhere, expiresIn: "-1 hours" }))
      )
      assert.isTrue(Exit.isFailure(minting) && /expiresIn must be longer than zero/.test(Cause.pretty(minting.cause)))
    }))
})

describe("the signing keyring", () => {
  it.live("rotates keys: a token of the previous key still completes its deferred, new ones carry the current id", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-tokens-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const filename = join(dir, "weft.db")
      const engineWith = (signingKey: WorkflowEngine.SigningKeyring) =>
        Layer.provideMerge(ExpenseLive, SqliteEngine.layer({ filename, signingKey }))

      // Before the rotation: one key.
      const before = yield* Effect.scoped(
        Effect.gen(function* () {
          const id = yield* startExpense("rotate")
          const other = yield* startExpense("unknown-key")
          const old = yield* DurableDeferred.tokenFor(Approval, { workflow: Expense.name, executionId: id })
          const oldOther = yield* DurableDeferred.tokenFor(Approval, { workflow: Expense.name, executionId: other })
          return { id, other, old, oldOther }
        }).pipe(Effect.provide(engineWith({ current: { id: "2025-01", key: previousKey } })))
      )
      assert.isTrue(before.old.startsWith("v2.2025-01."))

      // After: a new current key, the old one kept as previous.
      yield* Effect.scoped(
        Effect.gen(function* () {
          const now = yield* DurableDeferred.tokenFor(Approval, { workflow: Expense.name, executionId: before.id })
          assert.isTrue(now.startsWith("v2.2025-06."))
          assert.deepStrictEqual(yield* DurableDeferred.readToken(now), yield* DurableDeferred.readToken(before.old))
          yield* DurableDeferred.succeed(Approval, { token: before.old, value: { by: "the old key" } })
          assert.strictEqual(yield* Expense.execute({ id: "rotate" }), "rotate approved by the old key")
        }).pipe(Effect.provide(engineWith(ring)))
      )

      // Once the old key has left the ring, its tokens name a key the engine does not have.
      yield* Effect.scoped(
        Effect.gen(function* () {
          for (const token of [before.oldOther, before.oldOther.replace("v2.2025-01.", "v2.no-such-key.")]) {
            const error = yield* Effect.flip(DurableDeferred.succeed(Approval, { token, value: { by: "mallory" } }))
            assert.strictEqual(error.reason, "InvalidToken")
            assert.match(
              error.message,
              /signed with key "(2025-01|no-such-key)", which is not in this engine's keyring/
            )
          }
          const detail = yield* record(before.other)
          assert.deepStrictEqual(detail.deferreds, [])
          assert.strictEqual(detail.execution.status, "suspended")
        }).pipe(Effect.provide(engineWith({ current: { id: "2025-06", key: currentKey } })))
      )
    }))

  it.effect("still reads v1 tokens, against any key of the ring, and completes their deferreds", () =>
    withEngine({ signingKey: ring }, () =>
      Effect.gen(function* () {
        const id = yield* startExpense("v1")
        const body = Buffer.from(JSON.stringify([Expense.name, id, "approval"]), "utf8").toString("base64url")
        const v1 = (key: string) => `v1.${body}.${hmac(key, body)}`
        const claims = { workflow: Expense.name, executionId: id, deferred: "approval" }
        assert.deepStrictEqual(yield* DurableDeferred.readToken(v1(previousKey)), claims)
        assert.deepStrictEqual(yield* DurableDeferred.readToken(v1(currentKey)), claims)
        const foreign = yield* Effect.flip(DurableDeferred.readToken(v1("a-key-of-another-deployment-0123456789")))
        assert.strictEqual(foreign.reason, "InvalidToken")
        assert.include(foreign.message, "signature does not match")
        // A v2 token relabelled v1 is signed over other text: refused.
        const v2 = yield* DurableDeferred.tokenFor(Approval, { workflow: Expense.name, executionId: id })
        const [, , v2Body, v2Signature] = v2.split(".")
        const relabelled = yield* Effect.flip(DurableDeferred.readToken(`v1.${v2Body}.${v2Signature}`))
        assert.strictEqual(relabelled.reason, "InvalidToken")

        yield* DurableDeferred.succeed(Approval, { token: v1(previousKey), value: { by: "an old e-mail" } })
        assert.strictEqual(yield* Expense.execute({ id: "v1" }), "v1 approved by an old e-mail")
      })
    ))

  it.effect("takes keys as text, bytes or Redacted, and refuses a short key, a bad id or a repeated one", () =>
    Effect.gen(function* () {
      const redacted = yield* withEngine(
        {
          signingKey: {
            current: { id: "redacted", key: Redacted.make(currentKey) },
            previous: [
              { id: "bytes", key: Redacted.make(new Uint8Array(32).fill(7)) },
              { id: "text", key: previousKey }
            ]
          }
        },
        () => DurableDeferred.tokenFor(Approval, nowhere)
      )
      assert.isTrue(redacted.startsWith("v2.redacted."))
      assert.strictEqual(redacted.split(".")[3], hmac(currentKey, redacted.split(".").slice(0, 3).join(".")))
      const single = yield* withEngine(
        { signingKey: Redacted.make(currentKey) },
        () => DurableDeferred.tokenFor(Approval, nowhere)
      )
      assert.isTrue(single.startsWith("v2.default."))

      const refused = (signingKey: WorkflowEngine.SigningKeyring) =>
        defectOf(WorkflowEngine.layerMemoryWith({ signingKey }))
      const current = { id: "2025-06", key: currentKey }
      assert.match(
        yield* refused({ current, previous: [{ id: "old", key: "short" }] }),
        /signingKey.*key "old" is 5 bytes.*at least 32 bytes/s
      )
      assert.match(yield* refused({ current: { id: "new", key: new Uint8Array(31) } }), /key "new" is 31 bytes/)
      assert.match(yield* refused({ current: { id: "new", key: Redacted.make("short") } }), /key "new" is 5 bytes/)
      assert.match(yield* refused({ current: { id: "has.dot", key: currentKey } }), /key id "has\.dot" is not 1 to 64/)
      assert.match(yield* refused({ current: { id: "", key: currentKey } }), /key id "" is not 1 to 64/)
      assert.match(yield* refused({ current, previous: [{ id: "2025-06", key: previousKey }] }), /"2025-06" twice/)
    }))
})

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const currentKey = "current-key-0123456789abcdef0123456789abcdef"
const previousKey = "previous-key-0123456789abcdef0123456789abcdef"
const ring: WorkflowEngine.SigningKeyring = {
  current: { id: "2025-06", key: currentKey },
  previous: [{ id: "2025-01", key: previousKey }]
}

/** An execution that does not exist: minting its tokens needs none. */
const nowhere = { workflow: "Expense", executionId: "x" }

const hmac = (key: string, text: string) => createHmac("sha256", key).update(text).digest("base64url")

const Approval = DurableDeferred.make("approval", { success: Schema.Struct({ by: Schema.String }) })

const Expense = Workflow.make({
  name: "Expense",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})
const ExpenseLive = Expense.toLayer(({ id }) =>
  Effect.map(DurableDeferred.await(Approval), ({ by }) => `${id} approved by ${by}`)
)

/** Every token the body of `Invite` made, one per replay. */
const minted: Array<string> = []

const Invite = Workflow.make({
  name: "Invite",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})
const InviteLive = Invite.toLayer(() =>
  Effect.gen(function* () {
    const token = yield* DurableDeferred.token(Approval, { expiresIn: "1 hour" })
    yield* Effect.sync(() => minted.push(token))
    // Sent once, by an activity: a replay's token is not sent again.
    yield* Activity.make({ name: "send", success: Schema.String, execute: Effect.succeed(token) })
    const { by } = yield* DurableDeferred.await(Approval)
    return `invited, approved by ${by}`
  })
)

/** Runs `body` on a fresh memory engine with `options` and the workflows above. */
const withEngine = <A, E, R>(options: WorkflowEngine.Options, body: () => Effect.Effect<A, E, R>) =>
  Effect.suspend(body).pipe(
    Effect.provide(Layer.provideMerge(Layer.mergeAll(ExpenseLive, InviteLive), WorkflowEngine.layerMemoryWith(options)))
  )

/** Starts an `Expense` and waits for it to suspend on its approval. */
const startExpense = (id: string) =>
  Effect.gen(function* () {
    const executionId = yield* Expense.execute({ id }, { discard: true })
    yield* suspended(Expense, executionId)
    return executionId
  })

/** The message of the defect a layer dies with when built. */
const defectOf = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.map(Effect.exit(Effect.scoped(Layer.build(layer))), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "the layer was built")
    return Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
  })
