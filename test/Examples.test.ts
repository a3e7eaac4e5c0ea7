/**
 * The examples work as the README says: `npm run demo`'s first process dies right after the charge, the
 * second finishes the same execution without reserving stock or charging again; examples/opentelemetry.ts
 * prints the trace of a run that retries, sleeps and suspends, then of the run that ends it.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = resolve(import.meta.dirname, "..")
const tsx = pathToFileURL(join(root, "node_modules", "tsx", "dist", "loader.mjs")).href

describe("examples", () => {
  it("the demo crashes after the charge and a second process finishes the order without charging again", () => {
    const cwd = mkdtempSync(join(tmpdir(), "weft-demo-"))
    try {
      const run = spawnSync(process.execPath, ["--conditions=@weft/source", "--import", tsx, join(root, "examples", "demo.ts")], {
        cwd,
        encoding: "utf8",
        timeout: 60_000
      })
      assert.strictEqual(run.status, 0, `${run.stdout}\n${run.stderr}`)
      assert.include(run.stdout, "(process ended by SIGKILL)")
      assert.strictEqual(run.stdout.match(/charging 1500 cents/g)?.length, 1)
      assert.match(run.stdout, /reserve-stock\s+skipped: replayed from the journal/)
      assert.match(run.stdout, /charge-card\s+skipped: replayed from the journal/)
      assert.match(run.stdout, /send-confirmation\s+ran in this process/)
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })

  it("the OpenTelemetry example prints a span per run, attempt, sleep and wait, and the labelled metrics", () => {
    const example = join(root, "examples", "opentelemetry.ts")
    const run = spawnSync(process.execPath, ["--conditions=@weft/source", "--import", tsx, example], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000
    })
    assert.strictEqual(run.status, 0, `${run.stdout}\n${run.stderr}`)
    const expected = [
      "Workflow.execute",
      "  weft.workflow Order  (outcome=suspended)",
      "    weft.activity charge  (attempt=1, outcome=failure)",
      "    weft.sleep charge/retry-2  (outcome=success)",
      "    weft.activity charge  (attempt=2, outcome=success)",
      "    weft.sleep cool-off  (outcome=success)",
      "    weft.deferred packed  (outcome=suspended)",
      "DurableDeferred.succeed",
      "  weft.workflow Order  (outcome=success)",
      "    · weft.replayed charge",
      "    weft.activity ship  (attempt=1, outcome=success)",
      'weft_activity_retries_total{"workflow":"Order","activity":"charge"} 1',
      'weft_executions_completed_total{"workflow":"Order","status":"succeeded"} 1'
    ]
    const lines = run.stdout.split("\n")
    for (const line of expected) assert.include(lines, line)
  })
})
