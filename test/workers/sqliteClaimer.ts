/**
 * A process that claims runnable executions of workflow "W" from a SQLite file, a few at a time, until none is
 * left, starting when it reads "go" on stdin; it prints the ids it claimed as one JSON line and exits.
 *
 *   node --conditions=@weft/source --import tsx test/workers/sqliteClaimer.ts <file> <owner>
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { SqlStore } from "@weft/engine-sql"
import { SqliteClient } from "@weft/engine-sql/sqlite"

const [file, owner] = process.argv.slice(2)
if (file === undefined || owner === undefined) throw new Error("usage: sqliteClaimer.ts <file> <owner>")

const go = new Promise<void>((resolve) => {
  let input = ""
  process.stdin.on("data", (chunk) => {
    input += chunk
    if (input.includes("go\n")) resolve()
  })
})

NodeRuntime.runMain(
  Effect.gen(function* () {
    const store = yield* SqlStore.make({ leaseMs: 600_000 })
    process.stdout.write("ready\n")
    yield* Effect.promise(() => go)
    const claimed: Array<string> = []
    for (;;) {
      const claims = yield* store.claimRunnable(owner, Date.now(), 4, ["W"])
      if (claims.length === 0) break
      for (const claim of claims) claimed.push(claim.journal.execution.executionId)
    }
    process.stdout.write(`claimed ${JSON.stringify(claimed)}\n`)
  }).pipe(Effect.provide(SqliteClient.layer({ filename: file })))
)
