/**
 * A definition's schema errors as typed errors: a `WorkflowError` naming the workflow, the first bad field
 * and what it expected, in effect 3's wording.
 */
import * as Formatter from "effect/Formatter"
import type * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { WorkflowError } from "../WorkflowError.js"

/**
 * Messages as effect 3's formatter wrote them where effect 4's differ: a missing key "is missing", a
 * wrong value "Expected …, actual …".
 */
const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    if (issue._tag === "MissingKey") return "is missing"
    const message = SchemaIssue.defaultLeafHook(issue)
    if (!SchemaIssue.hasInput(issue)) return message
    const got = `, got ${Formatter.format(issue.input)}`
    return message.endsWith(got) ? `${message.slice(0, -got.length)}, actual ${Formatter.format(issue.input)}` : message
  }
})

/** Turns a schema error into a typed error naming the workflow, the first bad field and what it expected. */
export const invalid = (
  reason: "InvalidPayload" | "InvalidResult",
  what: string,
  error: Schema.SchemaError,
  context: { readonly workflow?: string | undefined; readonly executionId?: string | undefined }
): WorkflowError => {
  const first = formatter(error.issue).issues[0]
  const path = first?.path?.map((segment) => (typeof segment === "object" ? segment.key : segment))
  const field = path === undefined || path.length === 0 ? undefined : path.map(String).join(".")
  const expected = first?.message
  return new WorkflowError({
    reason,
    ...context,
    ...(field === undefined ? {} : { field }),
    ...(expected === undefined ? {} : { expected }),
    message: `${what}${context.workflow === undefined ? "" : ` of workflow "${context.workflow}"`}${
      field === undefined ? "" : ` at field "${field}"`
    } is invalid: ${expected ?? error.message}`
  })
}
