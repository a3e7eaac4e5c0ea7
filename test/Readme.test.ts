/**
 * Every ```ts sample in README.md type-checks and runs to a clean exit, as a new user would run it.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { afterAll, inject } from "vitest"
import { freshDatabase } from "./pg.js"
import { nodeArgs, sampleEnv } from "./samples.js"

const root = resolve(import.meta.dirname, "..")
const samples = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
const dir = join(root, ".tmp", `readme-${process.pid}`)
const cwd = mkdtempSync(join(tmpdir(), "weft-readme-"))
mkdirSync(dir, { recursive: true })
const files = samples.map((code, i) => {
  const file = join(dir, `sample-${i + 1}.ts`)
  writeFileSync(file, code)
  return file
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(cwd, { recursive: true, force: true })
})

describe("README", () => {
  it("has code samples", () => {
    assert.isAtLeast(samples.length, 6)
  })

  it("samples type-check", () => {
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", include: ["./*.ts"], compilerOptions: { noUnusedLocals: false } })
    )
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc")
    try {
      execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json"), "--noEmit"], { encoding: "utf8" })
    } catch (error: any) {
      assert.fail(`README samples do not type-check:\n${error.stdout}`)
    }
  })

  for (const [i, file] of files.entries()) {
    const code = samples[i]!
    // A sample on PostgreSQL gets a database of its own, so what it prints does not depend on earlier runs.
    const onPostgres = code.includes("DATABASE_URL")
    // `// Logs: text` in a sample: what it must print.
    const expected = [...code.matchAll(/\/\/ Logs: (.+)$/gm)].map((m) => m[1]!)
    it(`sample ${i + 1} runs to a clean exit${expected.length > 0 ? " and prints what it says" : ""}`, async () => {
      const env = onPostgres ? { ...sampleEnv(), DATABASE_URL: await freshDatabase(inject("pgUrl")) } : sampleEnv()
      const run = spawnSync(process.execPath, nodeArgs(file), { cwd, env, encoding: "utf8", timeout: 60_000 })
      assert.strictEqual(run.status, 0, `sample ${i + 1} failed:\n${run.stdout}\n${run.stderr}`)
      for (const text of expected) assert.include(`${run.stdout}${run.stderr}`, text, `sample ${i + 1}`)
    })
  }
})
