/**
 * Every ```ts sample in docs/**\/*.md type-checks and runs to a clean exit, as a new user would run it. The
 * samples are type-checked together and run a few at a time, all started at once, so the file stays short.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { afterAll } from "vitest"
import { limited, type Outcome, root, runSample, tsBlocks, typecheck } from "./samples.js"

const docs = join(root, "docs")
const pages = (readdirSync(docs, { recursive: true, encoding: "utf8" }) as Array<string>)
  .filter((file) => file.endsWith(".md") && !file.startsWith("api"))
  .sort()
const dir = join(root, ".tmp", `docs-${process.pid}`)
const cwd = mkdtempSync(join(tmpdir(), "weft-docs-"))
mkdirSync(dir, { recursive: true })

/** One sample: the page it comes from, its number there, and the file it is written to. */
interface Sample {
  readonly page: string
  readonly index: number
  readonly file: string
}

const samples: Array<Sample> = pages.flatMap((page) =>
  tsBlocks(readFileSync(join(docs, page), "utf8")).map((code, i) => {
    const file = join(dir, `${page.replace(/\.md$/, "").replace(/[\\/]/g, "-")}-${i + 1}.ts`)
    writeFileSync(file, code)
    return { page: relative(root, join(docs, page)), index: i + 1, file }
  })
)

// Started at once: the type-check and the runs, each sample in a working folder of its own (for its database files).
const checked = typecheck(dir)
const runs: Array<Promise<Outcome>> = limited(
  4,
  samples.map((sample) => () => {
    const own = join(cwd, `${sample.page.replace(/[\\/.]/g, "-")}-${sample.index}`)
    mkdirSync(own, { recursive: true })
    return runSample(sample.file, own)
  })
)

afterAll(async () => {
  await Promise.allSettled([checked, ...runs])
  rmSync(dir, { recursive: true, force: true })
  rmSync(cwd, { recursive: true, force: true })
})

describe("docs", () => {
  it("has a page per topic, each with code samples", () => {
    assert.isAtLeast(pages.length, 12)
    assert.isAtLeast(samples.length, 15)
  })

  it("samples type-check", { timeout: 180_000 }, async () => {
    const report = await checked
    assert.isUndefined(report, `docs samples do not type-check:\n${report}`)
  })

  for (const [i, sample] of samples.entries()) {
    it(`${sample.page} sample ${sample.index} runs to a clean exit`, { timeout: 180_000 }, async () => {
      const { output, status } = await runs[i]!
      assert.strictEqual(status, 0, `${sample.page} sample ${sample.index} failed:\n${output}`)
    })
  }
})
