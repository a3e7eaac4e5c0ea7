/**
 * `npm run demo`: the embedded default end to end. Runs the order workflow on ./.weft/demo.db in
 * a child process that kills itself (SIGKILL) right after the card is charged, then starts a
 * second process that finishes the same execution from the journal: the stock is not reserved
 * again and the card is not charged again.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const example = fileURLToPath(new URL("./order-processing.ts", import.meta.url))
const orderId = `order-${new Date().toISOString().replace(/[-:.TZ]/g, "")}`

const run = (title: string, env: Record<string, string>) => {
  console.log(`\n== ${title}`)
  const child = spawnSync(process.execPath, ["--conditions=@weft/source", "--import", import.meta.resolve("tsx"), example], {
    env: { ...process.env, WEFT_ORDER: orderId, ...env },
    stdio: "inherit"
  })
  if (child.signal !== null) console.log(`   (process ended by ${child.signal})`)
  return child
}

const first = run("1. start the order; the process dies right after charging the card", {
  WEFT_CRASH_AFTER: "charge-card"
})
const second = run("2. a fresh process, same database: the execution resumes where it stopped", {})
if (first.signal !== "SIGKILL" || second.status !== 0) {
  console.error("demo: unexpected outcome", { first: first.signal ?? first.status, second: second.status })
  process.exit(1)
}
console.log("\nThe journal is in .weft/demo.db; run `npm run demo` again for a new order.")
