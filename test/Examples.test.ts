/**
 * `npm run demo` works as the README says: the first process dies right after the charge, the
 * second finishes the same execution without reserving stock or charging again.
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
})
