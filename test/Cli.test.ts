/**
 * The `weft` binary, run as a child process (`node --import tsx packages/cli/src/bin.ts`) against a SQLite file and a
 * PostgreSQL database that this process prepares and works on: its output as text and as JSON, its exit codes,
 * and the writes it leaves to the workers (a signal, an interrupt, a resume that a worker here then carries out).
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { assert, describe, layer } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { inject } from "vitest"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { Activity, DurableDeferred, Workflow, WorkflowEngine } from "@weft/workflow"
import { freshDatabase } from "./pg.js"
import { Go, ledger, LedgerV1, LedgerV2 } from "./ledger.js"
import { hasStatus, record, suspended, waitUntil } from "./util.js"
import { freePort as closedPort } from "./net.js"

const root = resolve(import.meta.dirname, "..")
const tsx = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href
const bin = join(root, "packages", "cli", "src", "bin.ts")

describe("weft on a SQLite file", () => {
  layer(sqliteWorker, { excludeTestServices: true })((it) => {
    it.effect("list prints the executions as a table, filtered, and as one JSON document a page at a time", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const order = yield* Order.execute({ id: "list-1" }).pipe(Effect.andThen(Order.executionId({ id: "list-1" })))
        const charge = yield* failedCharge("list-2")
        yield* failedCharge("list-3")

        const [table, failed] = yield* Effect.all([
          weft([...args, "list", "--workflow", "Order"]),
          weft([...args, "list", "--status", "failed", "--limit", "1", "--json"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(table.code, 0, table.stderr)
        assert.match(table.stdout, /^EXECUTION\s+WORKFLOW\s+VERSION\s+STATUS\s+CREATED/)
        assert.match(table.stdout, new RegExp(`${order}\\s+Order\\s+1\\s+succeeded`))
        assert.notInclude(table.stdout, charge)

        // One page of one failed execution, then the next page by its cursor.
        assert.strictEqual(failed.code, 0, failed.stderr)
        const first = failed.json() as Page
        assert.strictEqual(first.items.length, 1)
        assert.strictEqual(first.items[0]!.status, "failed")
        assert.isString(first.nextCursor)
        const next = yield* weft([...args, "list", "--status", "failed", "--limit", "1", "--json", "--cursor", first.nextCursor!])
        const second = next.json() as Page
        assert.strictEqual(second.items.length, 1)
        assert.notStrictEqual(second.items[0]!.executionId, first.items[0]!.executionId)
        assert.strictEqual(second.items[0]!.status, "failed")
        assert.deepStrictEqual(Object.keys(second.items[0]!).sort(), [
          "createdAt",
          "executionId",
          "idempotencyKey",
          "interruptRequested",
          "parent",
          "payload",
          "result",
          "status",
          "updatedAt",
          "version",
          "wakeAt",
          "workflow"
        ])
        assert.strictEqual((second.items[0] as { version?: number }).version, 1)
      }))

    it.effect("show prints the record and a timeline with durations and failures marked, and the detail as JSON", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* failedCharge("show-1")

        const [text, json] = yield* Effect.all([
          weft([...args, "show", id]),
          weft([...args, "show", id, "--json"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(text.code, 0, text.stderr)
        assert.match(text.stdout, new RegExp(`^Execution\\s+${id}$`, "m"))
        assert.match(text.stdout, /^Version\s+1$/m)
        assert.match(text.stdout, /^Status\s+failed after \S+$/m)
        assert.match(text.stdout, /^Result\s+FAILED \{"reason":"declined","_tag":"Declined"\}$/m)
        assert.match(text.stdout, /^\s+\+\S+\s+✗\s+activity charge #1\s+\d+ms\s+FAILED \{"reason":"declined"/m)
        assert.match(text.stdout, /^\s+\+\S+\s+✗\s+activity charge #2\s+\d+ms\s+FAILED/m)
        assert.match(text.stdout, /^\s+\+0ms\s+started$/m)
        assert.match(text.stdout, /^\s+\+\S+\s+✗\s+failed$/m)

        assert.strictEqual(json.code, 0, json.stderr)
        const detail = json.json() as Detail
        assert.strictEqual(detail.execution.executionId, id)
        assert.strictEqual(detail.execution.status, "failed")
        assert.strictEqual(detail.execution.version, 1)
        assert.deepStrictEqual(detail.attempts.map((a) => [a.name, a.attempt, a.outcome]), [
          ["charge", 1, "failure"],
          ["charge", 2, "failure"]
        ])
        assert.isTrue(detail.attempts.every((a) => typeof a.durationMs === "number" && a.durationMs >= 0))
        assert.deepStrictEqual(detail.events.map((e) => e.kind), ["started", "failed"])
        // The same story as the trace: the attempts with the backoff between them, then the end.
        assert.deepStrictEqual(
          detail.trace.map((e) => e.kind === "event" ? e.event : e.kind === "activity" ? `${e.name}#${e.attempt}:${e.outcome}` : e.kind),
          ["started", "charge#1:failure", "retry-wait", "charge#2:failure", "failed"]
        )
        assert.isTrue(detail.events.every((e) => !Number.isNaN(Date.parse(e.at))))
      }))

    it.effect("show of an unknown id fails with exit code 1 and one JSON error document on stderr", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const json = yield* weft([...args, "show", "no-such-execution", "--json"])
        assert.strictEqual(json.code, 1)
        assert.strictEqual(json.stdout, "")
        assert.deepStrictEqual(JSON.parse(json.stderr), {
          error: {
            reason: "NotFound",
            message: "No execution no-such-execution",
            exitCode: 1,
            executionId: "no-such-execution"
          }
        })
      }))

    it.effect("signal completes the deferred its token names, and the worker then ends the execution with the value", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* Review.execute({ id: "signal-1" }, { discard: true })
        yield* suspended(Review, id)
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Review.name, executionId: id })

        const signalled = yield* weft([...args, "signal", token, `{"approved":true,"by":"ada"}`, "--json"])
        assert.strictEqual(signalled.code, 0, signalled.stderr)
        assert.deepStrictEqual(signalled.json(), {
          executionId: id,
          workflow: "Review",
          deferred: "approval",
          outcome: "success",
          value: { approved: true, by: "ada" }
        })
        assert.strictEqual(yield* Review.execute({ id: "signal-1" }), "approved by ada")

        // The first completion won; a second is refused and changes nothing.
        const again = yield* weft([...args, "signal", token, `{"approved":false,"by":"bob"}`])
        assert.strictEqual(again.code, 1)
        assert.include(again.stderr, "has ended (succeeded)")
        const deferreds = (yield* record(id)).deferreds
        assert.deepStrictEqual(deferreds.map((d) => d.exit), [
          { _tag: "Success", value: { approved: true, by: "ada" } }
        ])
      }))

    it.effect("signal --fail completes the deferred with the JSON as its typed error, which the workflow then fails with", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* Review.execute({ id: "signal-2" }, { discard: true })
        yield* suspended(Review, id)
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Review.name, executionId: id })

        const signalled = yield* weft([...args, "signal", "--fail", token, `{"_tag":"Rejected","reason":"too late"}`])
        assert.strictEqual(signalled.code, 0, signalled.stderr)
        assert.include(signalled.stdout, "Completed deferred approval")
        const exit = yield* Effect.exit(Review.execute({ id: "signal-2" }))
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(Exit.isFailure(exit) ? exit.cause.reasons.map((r) => r._tag === "Fail" && r.error) : [], [
          new Rejected({ reason: "too late" })
        ])
      }))

    it.effect("signal refuses a malformed or forged token and a value that is not JSON, writing nothing", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* Review.execute({ id: "signal-3" }, { discard: true })
        yield* suspended(Review, id)
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Review.name, executionId: id })
        const forged = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`

        const [malformed, tampered, otherKey, notJson] = yield* Effect.all([
          weft([...args, "signal", "not-a-token", "{}", "--json"]),
          weft([...args, "signal", forged, `{"approved":true,"by":"mallory"}`]),
          weft([...args, "signal", token, `{"approved":true,"by":"mallory"}`, "--signing-key", "k".repeat(32)]),
          weft([...args, "signal", token, "{approved: true}", "--json"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(malformed.code, 1)
        const error = (JSON.parse(malformed.stderr) as ErrorDocument).error
        assert.strictEqual(error.reason, "Refused")
        assert.include(error.message, "nothing was written")
        assert.strictEqual(tampered.code, 1)
        assert.include(tampered.stderr, "signature does not match")
        assert.strictEqual(otherKey.code, 1)
        assert.include(otherKey.stderr, "signature does not match")
        assert.strictEqual(notJson.code, 2)
        assert.strictEqual((JSON.parse(notJson.stderr) as ErrorDocument).error.reason, "Usage")

        const after = yield* record(id)
        assert.strictEqual(after.execution.status, "suspended")
        assert.deepStrictEqual(after.deferreds, [])
      }))

    it.effect("signal checks tokens against the keyring of --signing-keyring or WEFT_SIGNING_KEYRING", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* Review.execute({ id: "signal-ring" }, { discard: true })
        yield* suspended(Review, id)
        const previous = { id: "2025-01", key: "p".repeat(32) }
        const keyring = { current: { id: "2025-06", key: "c".repeat(32) }, previous: [previous] }
        // Handed out before the workers' key was rotated: signed with what is now the previous key.
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Review.name, executionId: id }).pipe(
          Effect.provide(SqliteEngine.layer({ filename: args[1]!, signingKey: { current: previous } }))
        )

        const [bareKey, notJson, notARing, both] = yield* Effect.all([
          weft([...args, "signal", token, `{"approved":true,"by":"mallory"}`, "--signing-key", previous.key]),
          weft([...args, "signal", token, "{}", "--signing-keyring", `{"current":${previous.key}`, "--json"]),
          weft([...args, "signal", token, "{}", "--json"], { env: { WEFT_SIGNING_KEYRING: JSON.stringify([previous]) } }),
          weft([...args, "signal", token, "{}", "--signing-key", previous.key, "--signing-keyring", JSON.stringify(keyring)])
        ], { concurrency: "unbounded" })
        // A key given alone has the id "default": the token names another.
        assert.strictEqual(bareKey.code, 1)
        assert.include(bareKey.stderr, `signed with key "2025-01", which is not in this engine's keyring`)
        for (const usage of [notJson, notARing]) {
          assert.strictEqual(usage.code, 2, usage.stderr)
          const error = (JSON.parse(usage.stderr) as ErrorDocument).error
          assert.strictEqual(error.reason, "Usage")
          assert.match(error.message, /(--signing-keyring|WEFT_SIGNING_KEYRING) is not a keyring/)
          assert.notInclude(usage.stderr, previous.key)
        }
        assert.strictEqual(both.code, 2)
        assert.include(both.stderr, "not both")
        assert.deepStrictEqual((yield* record(id)).deferreds, [])

        const signalled = yield* weft([...args, "signal", token, `{"approved":true,"by":"ring"}`], {
          env: { WEFT_SIGNING_KEYRING: JSON.stringify(keyring) }
        })
        assert.strictEqual(signalled.code, 0, signalled.stderr)
        assert.strictEqual(yield* Review.execute({ id: "signal-ring" }), "approved by ring")
      }))

    it.effect("interrupt asks a suspended execution to stop and its worker ends it; an ended one is refused", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const id = yield* Review.execute({ id: "interrupt-1" }, { discard: true })
        yield* suspended(Review, id)

        const interrupted = yield* weft([...args, "interrupt", id, "--json"])
        assert.strictEqual(interrupted.code, 0, interrupted.stderr)
        const answer = interrupted.json() as Action
        assert.deepStrictEqual([answer.executionId, answer.workflow, answer.previousStatus], [id, "Review", "suspended"])
        // Read back after the write: running until the worker (polling) has stopped it.
        assert.include(["running", "interrupted"], answer.status)
        yield* waitUntil(hasStatus(id, "interrupted"), "interrupted by the worker")

        const again = yield* weft([...args, "interrupt", id])
        assert.strictEqual(again.code, 1)
        assert.include(again.stderr, "has already ended (interrupted): nothing to interrupt")
      }))

    it.effect("resume re-opens an execution that failed with a defect and its worker finishes it; a typed failure is refused", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        broken = true
        const exit = yield* Effect.exit(Fragile.execute({ id: "resume-1" }))
        assert.isTrue(Exit.hasDies(exit))
        const id = yield* Fragile.executionId({ id: "resume-1" })
        broken = false
        const charge = yield* failedCharge("resume-2")

        const [resumed, refused] = yield* Effect.all([
          weft([...args, "resume", id, "--json"]),
          weft([...args, "resume", charge, "--json"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        const answer = resumed.json() as Action
        assert.deepStrictEqual([answer.executionId, answer.workflow, answer.previousStatus], [id, "Fragile", "failed"])
        assert.include(["running", "succeeded"], answer.status)
        assert.deepStrictEqual(Object.keys(answer).sort(), [
          "executionId",
          "interruptRequested",
          "previousStatus",
          "status",
          "workflow"
        ])
        yield* waitUntil(hasStatus(id, "succeeded"), "finished by the worker after the resume")
        assert.strictEqual(refused.code, 1)
        assert.include((JSON.parse(refused.stderr) as ErrorDocument).error.message, "failed with a typed error")
        assert.include((JSON.parse(refused.stderr) as ErrorDocument).error.message, `weft retry ${charge}`)
      }))

    it.effect("retry runs a failed execution's failed activity again on the worker; restart --from-step starts a new one", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        flaky.declines = 1
        yield* Effect.exit(Flaky.execute({ id: "retry-1" }))
        const id = yield* Flaky.executionId({ id: "retry-1" })
        assert.isTrue(yield* hasStatus(id, "failed"))

        const retried = yield* weft([...args, "retry", id, "--json"])
        assert.strictEqual(retried.code, 0, retried.stderr)
        assert.deepStrictEqual(retried.json(), { executionId: id, workflow: "Flaky", status: "running", activities: ["settle"] })
        // This process registers no workflow: the worker (the test's engine, polling the file) runs it.
        yield* waitUntil(hasStatus(id, "succeeded"), "finished by the worker after the retry")
        assert.deepStrictEqual([flaky.runs.get("fetch"), flaky.runs.get("settle")], [1, 2])

        const [restarted, unknownStep, notFailed] = yield* Effect.all([
          weft([...args, "restart", id, "--from-step", "settle", "--json"]),
          weft([...args, "restart", id, "--from-step", "setle"]),
          weft([...args, "retry", id])
        ], { concurrency: "unbounded" })
        assert.strictEqual(restarted.code, 0, restarted.stderr)
        const answer = restarted.json() as { executionId: string; restartedFrom: string; copiedSteps: number; created: boolean }
        assert.strictEqual(answer.restartedFrom, id)
        assert.strictEqual(answer.copiedSteps, 1)
        assert.isTrue(answer.created)
        yield* waitUntil(hasStatus(answer.executionId, "succeeded"), "the restart finished by the worker")
        assert.deepStrictEqual([flaky.runs.get("fetch"), flaky.runs.get("settle")], [1, 3])
        assert.strictEqual(unknownStep.code, 1)
        assert.include(unknownStep.stderr, `has no activity "setle" to restart from; its activities: "fetch", "settle"`)
        assert.strictEqual(notFailed.code, 1)
        assert.include(notFailed.stderr, "is succeeded: only a failed execution is retried")
      }))

    it.effect("versions counts live executions per workflow version; list --version filters; restart --version picks one", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        // Both versions registered: a start runs version 2; a restart --version 1 runs the old body.
        const first = yield* LedgerV2.execute({ id: "ver-a" }, { discard: true })
        yield* suspended(LedgerV2, first)
        yield* Effect.flatMap(WorkflowEngine.WorkflowEngine, (engine) => engine.interrupt(first))
        yield* waitUntil(hasStatus(first, "interrupted"), "ver-a interrupted by the worker")
        const restarted = yield* weft([...args, "restart", first, "--version", "1", "--json"])
        assert.strictEqual(restarted.code, 0, restarted.stderr)
        const onOne = restarted.json() as { executionId: string; version: number; restartedFrom: string }
        assert.deepStrictEqual([onOne.version, onOne.restartedFrom], [1, first])
        const second = yield* LedgerV2.execute({ id: "ver-b" }, { discard: true })
        yield* suspended(LedgerV2, second)
        yield* suspended(LedgerV1, onOne.executionId)

        const [json, text, listOne, listTwo, shown] = yield* Effect.all([
          weft([...args, "versions", "--workflow", "Ledger", "--json"]),
          weft([...args, "versions", "--workflow", "Ledger", "--workflow", "Nothing"]),
          weft([...args, "list", "--workflow", "Ledger", "--version", "1"]),
          weft([...args, "list", "--workflow", "Ledger", "--version", "2", "--json"]),
          weft([...args, "show", onOne.executionId])
        ], { concurrency: "unbounded" })
        assert.strictEqual(json.code, 0, json.stderr)
        assert.deepStrictEqual(json.json(), {
          versions: [
            { workflow: "Ledger", version: 1, running: 0, suspended: 1 },
            { workflow: "Ledger", version: 2, running: 0, suspended: 1 }
          ]
        })
        assert.strictEqual(text.code, 0, text.stderr)
        assert.match(text.stdout, /^WORKFLOW\s+VERSION\s+RUNNING\s+SUSPENDED$/m)
        assert.match(text.stdout, /^Ledger\s+1\s+0\s+1$/m)
        assert.match(text.stdout, /^Ledger\s+2\s+0\s+1$/m)
        assert.strictEqual(listOne.code, 0, listOne.stderr)
        assert.match(listOne.stdout, new RegExp(`^${onOne.executionId}\\s+Ledger\\s+1\\s+suspended`, "m"))
        assert.notInclude(listOne.stdout, second)
        assert.deepStrictEqual((listTwo.json() as Page).items.map((x) => [x.executionId, x.version]), [
          [second, 2],
          [first, 2]
        ])
        assert.match(shown.stdout, /^Version\s+1$/m)

        // Bad versions are usage errors (exit 2), named, and nothing is restarted.
        const [zero, word, restartZero] = yield* Effect.all([
          weft([...args, "list", "--version", "0", "--json"]),
          weft([...args, "list", "--version", "abc"]),
          weft([...args, "restart", first, "--version", "0"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(zero.code, 2)
        assert.include((JSON.parse(zero.stderr) as ErrorDocument).error.message, "--version must be a whole number from 1")
        assert.strictEqual(word.code, 2)
        assert.include(word.stderr, "--version")
        assert.strictEqual(restartZero.code, 2)
        assert.include(restartZero.stderr, "--version must be a whole number from 1")

        // Let them end: each on its own version's body.
        for (const id of [onOne.executionId, second]) {
          const token = yield* DurableDeferred.tokenFor(Go, { workflow: "Ledger", executionId: id })
          yield* DurableDeferred.succeed(Go, { token, value: undefined })
        }
        yield* waitUntil(hasStatus(onOne.executionId, "succeeded"), "the version 1 restart ended")
        yield* waitUntil(hasStatus(second, "succeeded"), "the version 2 start ended")
        const none = yield* weft([...args, "versions", "--workflow", "Ledger", "--json"])
        assert.deepStrictEqual(none.json(), { versions: [] })
      }))

    it.effect("a missing SQLite file, or one that is not a Weft database, is an error (exit 3) and nothing is created", () =>
      Effect.gen(function*() {
        const dir = mkdtempSync(join(tmpdir(), "weft-cli-empty-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
        const other = join(dir, "other.db")
        writeFileSync(other, "")

        const [byDefault, named, notWeft] = yield* Effect.all([
          weft(["list"], { cwd: dir }),
          weft(["show", "x", "--db", join(dir, "typo.db"), "--json"]),
          weft(["list", "--db", other])
        ], { concurrency: "unbounded" })
        assert.strictEqual(byDefault.code, 3)
        assert.include(byDefault.stderr, "No Weft database at .weft/weft.db")
        assert.isFalse(existsSync(join(dir, ".weft")))
        assert.strictEqual(named.code, 3)
        assert.strictEqual((JSON.parse(named.stderr) as ErrorDocument).error.reason, "DatabaseUnavailable")
        assert.isFalse(existsSync(join(dir, "typo.db")))
        assert.strictEqual(notWeft.code, 3)
        assert.include(notWeft.stderr, "not a Weft database")
      }))

    it.effect("a command line that does not parse is a usage error (exit 2), as JSON under --json", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const [flags, both] = yield* Effect.all([
          weft([...args, "list", "--limit", "0", "--json"]),
          weft([...args, "list", "--database-url", "postgres://localhost/x"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(flags.code, 2)
        assert.strictEqual(flags.stdout, "")
        const error = (JSON.parse(flags.stderr) as ErrorDocument).error
        assert.deepStrictEqual([error.reason, error.exitCode], ["Usage", 2])
        assert.include(error.message, "--limit must be between 1 and 1000")
        assert.strictEqual(both.code, 2)
        assert.include(both.stderr, "Give --db or --database-url, not both")
      }))

    it.effect("purge deletes ended executions older than --older-than, of the --status given, never a live one", () =>
      Effect.gen(function*() {
        const { args } = yield* Db
        const order = yield* Order.execute({ id: "purge-1" }).pipe(Effect.andThen(Order.executionId({ id: "purge-1" })))
        const charge = yield* failedCharge("purge-2")
        const review = yield* Review.execute({ id: "purge-3" }, { discard: true })
        yield* suspended(Review, review)

        // Nothing here ended 30 days ago.
        const none = yield* weft([...args, "purge", "--older-than", "30d", "--json"])
        assert.strictEqual(none.code, 0, none.stderr)
        const answer = none.json() as Purged
        assert.strictEqual(answer.deleted, 0)
        assert.strictEqual(answer.olderThan, "30d")
        assert.deepStrictEqual(answer.statuses, ["succeeded", "failed", "interrupted"])
        assert.isFalse(Number.isNaN(Date.parse(answer.endedBefore)))
        assert.isTrue(yield* hasStatus(order, "succeeded"))

        const succeeded = yield* weft([...args, "purge", "--older-than", "0s", "--status", "succeeded", "--json"])
        assert.strictEqual(succeeded.code, 0, succeeded.stderr)
        assert.isAtLeast((succeeded.json() as Purged).deleted, 1)
        assert.deepStrictEqual((succeeded.json() as Purged).statuses, ["succeeded"])
        const gone = yield* weft([...args, "show", order, "--json"])
        assert.strictEqual(gone.code, 1)
        assert.isTrue(yield* hasStatus(charge, "failed"))

        const failed = yield* weft([...args, "purge", "--older-than", "0 seconds", "--status", "failed", "--status", "interrupted"])
        assert.strictEqual(failed.code, 0, failed.stderr)
        assert.match(failed.stdout, /^Deleted [1-9]\d* execution\(s\) \(failed, interrupted\) that ended before \S+ \(older than 0 seconds\)/)
        assert.strictEqual((yield* weft([...args, "show", charge])).code, 1)
        // The live one stays whatever the age.
        assert.isTrue(yield* hasStatus(review, "suspended"))

        // A purged key starts anew: a new execution under the same id, run again.
        assert.strictEqual(yield* Order.execute({ id: "purge-1" }), "shipped purge-1")
        assert.isTrue(yield* hasStatus(order, "succeeded"))

        const [duration, status, negative] = yield* Effect.all([
          weft([...args, "purge", "--older-than", "yesterday", "--json"]),
          weft([...args, "purge", "--older-than", "1d", "--status", "suspended"]),
          weft([...args, "purge", "--older-than", "-1 days"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(duration.code, 2)
        assert.include((JSON.parse(duration.stderr) as ErrorDocument).error.message, "--older-than")
        assert.strictEqual(status.code, 2)
        assert.strictEqual(negative.code, 2)
        assert.isTrue(yield* hasStatus(review, "suspended"))
      }))
  })
})

describe("weft on PostgreSQL", () => {
  layer(pgWorker, { excludeTestServices: true })((it) => {
    it.effect("lists and shows executions of DATABASE_URL, and a signal reaches the worker, which ends the run", () =>
      Effect.gen(function*() {
        const { url } = yield* Db
        const env = { DATABASE_URL: url }
        yield* Order.execute({ id: "pg-1" })
        const order = yield* Order.executionId({ id: "pg-1" })
        const id = yield* Review.execute({ id: "pg-2" }, { discard: true })
        yield* suspended(Review, id)
        const token = yield* DurableDeferred.tokenFor(Approval, { workflow: Review.name, executionId: id })

        const [list, show] = yield* Effect.all([
          weft(["list", "--json"], { env }),
          weft(["show", order], { env })
        ], { concurrency: "unbounded" })
        assert.strictEqual(list.code, 0, list.stderr)
        const statuses = new Map((list.json() as Page).items.map((item) => [item.executionId, item.status]))
        assert.strictEqual(statuses.get(order), "succeeded")
        assert.strictEqual(statuses.get(id), "suspended")
        assert.strictEqual(show.code, 0, show.stderr)
        assert.match(show.stdout, /^\s+\+\S+\s+✓\s+activity ship #1\s+\d+ms\s+ok "shipped pg-1"$/m)

        const signalled = yield* weft(["signal", token, `{"approved":true,"by":"pg"}`, "--database-url", url])
        assert.strictEqual(signalled.code, 0, signalled.stderr)
        assert.strictEqual(yield* Review.execute({ id: "pg-2" }), "approved by pg")
      }))

    it.effect("interrupt reaches the worker on PostgreSQL; an unknown id is exit code 1", () =>
      Effect.gen(function*() {
        const { url } = yield* Db
        const id = yield* Review.execute({ id: "pg-3" }, { discard: true })
        yield* suspended(Review, id)
        const [interrupted, unknown] = yield* Effect.all([
          weft(["interrupt", id, "--database-url", url]),
          weft(["resume", "no-such-execution", "--database-url", url, "--json"])
        ], { concurrency: "unbounded" })
        assert.strictEqual(interrupted.code, 0, interrupted.stderr)
        assert.include(interrupted.stdout, `Interrupt requested for ${id}`)
        yield* waitUntil(hasStatus(id, "interrupted"), "interrupted by the worker")
        assert.strictEqual(unknown.code, 1)
        assert.strictEqual((JSON.parse(unknown.stderr) as ErrorDocument).error.reason, "NotFound")
      }))

    it.effect("retry on PostgreSQL reaches the worker by NOTIFY, which runs the failed activity again", () =>
      Effect.gen(function*() {
        const { url } = yield* Db
        flaky.declines = 1
        yield* Effect.exit(Flaky.execute({ id: "pg-retry" }))
        const id = yield* Flaky.executionId({ id: "pg-retry" })
        const before = flaky.runs.get("settle") ?? 0
        const retried = yield* weft(["retry", id, "--database-url", url])
        assert.strictEqual(retried.code, 0, retried.stderr)
        assert.include(retried.stdout, `Retrying ${id} (workflow Flaky): "settle" runs again`)
        yield* waitUntil(hasStatus(id, "succeeded"), "finished by the worker after the retry")
        assert.strictEqual(flaky.runs.get("settle"), before + 1)
      }))

    it.effect("an unreachable database is exit code 3, its URL shown without the password", () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(closedPort)
        const url = `postgres://weft:s3cret-pw@127.0.0.1:${port}/weft`
        const [text, json] = yield* Effect.all([
          weft(["list", "--database-url", url]),
          weft(["show", "x", "--json"], { env: { DATABASE_URL: url } })
        ], { concurrency: "unbounded" })
        assert.strictEqual(text.code, 3)
        assert.include(text.stderr, `PostgreSQL at postgres://weft:***@127.0.0.1:${port}/weft`)
        assert.notInclude(text.stderr, "s3cret-pw")
        assert.strictEqual(json.code, 3)
        const error = (JSON.parse(json.stderr) as ErrorDocument).error
        assert.strictEqual(error.reason, "DatabaseUnavailable")
        assert.notInclude(error.message, "s3cret-pw")
      }))
  })
})

// ---------------------------------------------------------------------------------------------------------------
// The binary
// ---------------------------------------------------------------------------------------------------------------

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** Stdout as the one JSON document it must be. */
  readonly json: () => unknown
}

/**
 * Runs `weft` with `args` in a child process, without DATABASE_URL, WEFT_SIGNING_KEY or WEFT_SIGNING_KEYRING unless
 * given. A child that has not ended after 30 s (a handle left open) is killed and reported with code null.
 */
const weft = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string> } = {}
): Effect.Effect<Run> =>
  Effect.callback<Run>((resume) => {
    const { DATABASE_URL: _url, WEFT_SIGNING_KEY: _key, WEFT_SIGNING_KEYRING: _ring, ...inherited } = process.env
    const child = execFile(
      process.execPath,
      ["--conditions=@weft/source", "--import", tsx, bin, ...args],
      { cwd: options.cwd ?? root, env: { ...inherited, ...options.env }, timeout: 30_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" && !error.killed ? error.code : null
        resume(Effect.succeed({
          code,
          stdout,
          stderr,
          json: () => {
            try {
              return JSON.parse(stdout)
            } catch {
              throw new Error(`stdout is not one JSON document:\n${stdout}\nstderr:\n${stderr}`)
            }
          }
        }))
      }
    )
    return Effect.sync(() => void child.kill("SIGKILL"))
  })


// ---------------------------------------------------------------------------------------------------------------
// Fixtures: the workflows a worker in this process runs, over a fresh SQLite file or PostgreSQL database
// ---------------------------------------------------------------------------------------------------------------

interface Page {
  readonly items: ReadonlyArray<{ readonly executionId: string; readonly status: string; readonly version: number }>
  readonly nextCursor: string | null
}

interface Detail {
  readonly execution: { readonly executionId: string; readonly status: string; readonly version: number }
  readonly attempts: ReadonlyArray<{ name: string; attempt: number; outcome: string; durationMs: number }>
  readonly events: ReadonlyArray<{ readonly kind: string; readonly at: string }>
  readonly trace: ReadonlyArray<
    { readonly kind: string; readonly event?: string; readonly name?: string; readonly attempt?: number; readonly outcome?: string }
  >
}

interface Action {
  readonly executionId: string
  readonly workflow: string
  readonly previousStatus: string
  readonly status: string
}

interface Purged {
  readonly deleted: number
  readonly olderThan: string
  readonly endedBefore: string
  readonly statuses: ReadonlyArray<string>
}

interface ErrorDocument {
  readonly error: { readonly reason: string; readonly message: string; readonly exitCode: number }
}

/** The database the worker runs on, and the CLI arguments that name it. */
class Db extends Context.Service<Db, { readonly args: ReadonlyArray<string>; readonly url: string }>()("test/Cli/Db") {}

class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}
class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { reason: Schema.String }) {}

const Approval = DurableDeferred.make("approval", {
  success: Schema.Struct({ approved: Schema.Boolean, by: Schema.String }),
  error: Rejected
})

const Order = Workflow.make({
  name: "Order",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

const Review = Workflow.make({
  name: "Review",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Rejected,
  idempotencyKey: ({ id }) => id
})

const Charge = Workflow.make({
  name: "Charge",
  payload: { id: Schema.String },
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const Fragile = Workflow.make({
  name: "Fragile",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})


/** `Flaky`: fetch, then settle, which is declined while `declines` is above zero; each body's runs counted. */
const Flaky = Workflow.make({
  name: "Flaky",
  payload: { id: Schema.String },
  success: Schema.String,
  error: Declined,
  idempotencyKey: ({ id }) => id
})

const flaky = { declines: 0, runs: new Map<string, number>() }
const ranFlaky = (name: string) => Effect.sync(() => void flaky.runs.set(name, (flaky.runs.get(name) ?? 0) + 1))

/** While true, `Fragile` dies: the bug a resume re-runs after its fix. */
let broken = true

const Workers = Layer.mergeAll(
  Order.toLayer(({ id }) =>
    Effect.gen(function*() {
      yield* Activity.make({ name: "reserve", execute: Effect.void })
      return yield* Activity.make({ name: "ship", success: Schema.String, execute: Effect.succeed(`shipped ${id}`) })
    })
  ),
  Review.toLayer(() =>
    Effect.map(DurableDeferred.await(Approval), ({ approved, by }) => `${approved ? "approved" : "declined"} by ${by}`)
  ),
  Charge.toLayer(() =>
    Activity.retry(
      Activity.make({ name: "charge", error: Declined, execute: Effect.fail(new Declined({ reason: "declined" })) }),
      { times: 1 }
    )
  ),
  LedgerV1.toLayer(ledger("v1")),
  LedgerV2.toLayer(ledger("v2")),
  Fragile.toLayer(() => Effect.suspend(() => (broken ? Effect.die(new Error("a bug")) : Effect.succeed("fixed")))),
  Flaky.toLayer(({ id }) =>
    Effect.gen(function*() {
      yield* Activity.make({ name: "fetch", execute: ranFlaky("fetch") })
      return yield* Activity.make({
        name: "settle",
        success: Schema.String,
        error: Declined,
        execute: Effect.andThen(
          ranFlaky("settle"),
          Effect.suspend(() =>
            flaky.declines-- > 0 ? Effect.fail(new Declined({ reason: "declined" })) : Effect.succeed(`settled ${id}`)
          )
        )
      })
    })
  )
)

/** Runs `Charge` to its typed failure and returns its id. */
const failedCharge = (id: string) =>
  Effect.andThen(Effect.exit(Charge.execute({ id })), Charge.executionId({ id }))

const sqliteWorker = Layer.unwrap(
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "weft-cli-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const filename = join(dir, "weft.db")
    return Layer.mergeAll(
      Layer.succeed(Db, { args: ["--db", filename], url: "" }),
      Workers.pipe(Layer.provideMerge(SqliteEngine.layer({ filename })))
    )
  })
)

const pgWorker = Layer.unwrap(
  Effect.map(Effect.promise(() => freshDatabase(inject("pgUrl"))), (url) =>
    Layer.mergeAll(
      Layer.succeed(Db, { args: ["--database-url", url], url }),
      Workers.pipe(Layer.provideMerge(PgEngine.layer({ url, maxConnections: 4 })))
    ))
)
