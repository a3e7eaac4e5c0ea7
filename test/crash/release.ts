/**
 * A release of the rolling-deploy crash test (test/VersionsCrash.test.ts): builds the SQL engine on the database its
 * environment names, registers the versions of `CrashRelease` it is given, optionally starts one execution (on the
 * newest version it registers), prints its owner and "ready", and runs until it is killed.
 *
 * Environment: WEFT_CRASH_DB (`sqlite:<file>` or `pg:<url>`), WEFT_RELEASE_VERSIONS (`1`, `2` or `1,2`),
 * WEFT_CRASH_LOG (the body-run log), and optionally WEFT_RELEASE_START (the payload id of an execution to start).
 *
 * Run: node --conditions=@weft/source --import tsx test/crash/release.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { PgEngine } from "@weft/engine-sql/pg"
import { SqliteEngine } from "@weft/engine-sql/sqlite"
import { WorkflowEngine } from "@weft/workflow"
import { ReleaseV1, ReleaseV1Live, ReleaseV2, ReleaseV2Live } from "./releases.js"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const database = required("WEFT_CRASH_DB")
const versions = required("WEFT_RELEASE_VERSIONS").split(",").map(Number)
const start = process.env.WEFT_RELEASE_START ?? ""

const say = (line: string) => process.stdout.write(`${line}\n`)

const releases = [
  { version: 1, workflow: ReleaseV1, live: ReleaseV1Live },
  { version: 2, workflow: ReleaseV2, live: ReleaseV2Live }
].filter((release) => versions.includes(release.version))
if (releases.length !== versions.length) {
  throw new Error(`unknown versions in WEFT_RELEASE_VERSIONS: ${versions.join(",")}`)
}

const registered = releases.map((release) => release.live).reduce((all, live) => Layer.merge(all, live))

const engineOptions = { leaseMs: 500, pollIntervalMs: 100 }

const engine = database.startsWith("sqlite:")
  ? SqliteEngine.layer({ filename: database.slice("sqlite:".length), ...engineOptions })
  : PgEngine.layer({ url: database.slice("pg:".length), maxConnections: 4, ...engineOptions })

const main = Effect.gen(function* () {
  if (start !== "") yield* releases.at(-1)!.workflow.execute({ id: start }, { discard: true })
  say(`owner ${(yield* WorkflowEngine.WorkflowEngine).owner}`)
  say("ready")
  return yield* Effect.never
}).pipe(Effect.provide(Layer.provideMerge(registered, engine)))

Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
