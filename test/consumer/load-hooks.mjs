// The resolve hook record-loads.mjs registers: every import resolved, as a line in the file WEFT_LOADS names.
import { appendFileSync } from "node:fs"

export const resolve = async (specifier, context, nextResolve) => {
  const resolved = await nextResolve(specifier, context)
  appendFileSync(process.env.WEFT_LOADS, `${resolved.url}\n`)
  return resolved
}
