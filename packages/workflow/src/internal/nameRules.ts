/**
 * What a name may be (a workflow's, an activity's, a deferred's, a queue's, a sleep's, a race's, a queue item's
 * key): text every store keeps byte for byte, checked where it is defined so a bad one is never written.
 */

/** The most UTF-8 bytes a name may take: a journal name (prefix, queue, key) stays within PostgreSQL's index limit. */
export const MAX_NAME_BYTES = 1024

/** What a name may be, said in every refusal. */
export const ALLOWED = `1 to ${MAX_NAME_BYTES} bytes of UTF-8 text without U+0000 or lone surrogates`

/** Whether `text` has no lone surrogate (`String.prototype.isWellFormed`, ES2024, which the target's lib lacks). */
export const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed()

/**
 * What keeps `text` from being a name, or undefined when it is one: PostgreSQL's text refuses U+0000, and a lone
 * surrogate reaches a database as U+FFFD (a replay would then not find its step); an empty name names nothing,
 * and one past `MAX_NAME_BYTES` would not fit a journal row's key.
 */
export const problem = (text: unknown): string | undefined => {
  if (typeof text !== "string") return `it is ${text === null ? "null" : `a ${typeof text}`}, not a string`
  if (text.length === 0) return "it is empty"
  const nul = text.indexOf("\u0000")
  if (nul >= 0) return `it holds U+0000 at index ${nul}`
  if (!isWellFormed(text)) {
    const at = text.search(/\p{Cs}/u)
    return `it holds a lone surrogate (U+${text.charCodeAt(at).toString(16).toUpperCase()}) at index ${at}`
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long name needs counting.
  if (text.length * 3 > MAX_NAME_BYTES) {
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > MAX_NAME_BYTES) return `it takes ${bytes} bytes of UTF-8`
  }
  return undefined
}

/** `text` as it prints: quoted, control characters and lone surrogates escaped, a long one cut short. */
export const quote = (text: unknown): string => {
  if (typeof text !== "string") return String(text)
  const shown = JSON.stringify(text.length > 80 ? text.slice(0, 80) : text)
  return text.length > 80 ? `${shown.slice(0, -1)}…" (${text.length} characters)` : shown
}

/** The refusal of `what` (say "Workflow name") `name` for `reason`, saying what is allowed. */
export const refusal = (what: string, name: unknown, reason: string): Error => {
  const error = new Error(`${what} ${quote(name)} is not allowed: ${reason}; it must be ${ALLOWED}`)
  error.name = "InvalidName"
  return error
}

/**
 * Throws when `name`, a name of `kind` ("Workflow", "Activity"…), is no name: a definition-time bug, met when
 * the module that defines it loads.
 */
export const assertName = (kind: string, name: unknown): void => {
  const error = invalid(kind, name)
  if (error !== undefined) throw error
}

/** The refusal of `name` as a name of `kind`, or undefined when it is one: for a name met inside a body. */
export const invalid = (kind: string, name: unknown): Error | undefined => {
  const reason = problem(name)
  return reason === undefined ? undefined : refusal(`${kind} name`, name, reason)
}
