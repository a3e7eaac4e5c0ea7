/**
 * Schema issues as the proxy's 400 answers list them: one leaf problem per failing field, with its path, tagged
 * as Effect 3 tagged them. Inputs reach here only after the nesting check, so the walk stays shallow.
 */
import * as SchemaIssue from "effect/SchemaIssue"

/** One problem in a request body: its kind, where it is and what is wrong. */
export interface IssueEntry {
  readonly _tag:
    | "Pointer"
    | "Unexpected"
    | "Missing"
    | "Composite"
    | "Refinement"
    | "Transformation"
    | "Type"
    | "Forbidden"
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

/** `["value"]["approver"]`: a path as the messages of 400 answers print it. */
export const formatPath = (path: ReadonlyArray<string | number>): string =>
  path.length === 0 ? "" : path.map((key) => `[${JSON.stringify(key)}]`).join("")

const filterFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The leaf problems of a schema issue with their paths. */
export const issuesOf = (issue: SchemaIssue.Issue, path: ReadonlyArray<string | number> = []): Array<IssueEntry> => {
  switch (issue._tag) {
    case "Pointer":
      return issuesOf(issue.issue, [...path, ...issue.path.map((key) => typeof key === "number" ? key : String(key))])
    case "Encoding":
      return issuesOf(issue.issue, path)
    case "Composite":
      return issue.issues.flatMap((inner) => issuesOf(inner, path))
    case "AnyOf":
      return issue.issues.length > 0
        ? issue.issues.flatMap((inner) => issuesOf(inner, path))
        : [{ _tag: "Type", path, message: filterFormatter(issue).issues[0]?.message ?? "Expected a valid value" }]
    case "Filter":
      return filterFormatter(issue).issues.map((entry) => ({
        _tag: "Refinement",
        path: [...path, ...(entry.path ?? []).map(pathKey)],
        message: entry.message
      }))
    case "MissingKey":
      return [{ _tag: "Missing", path, message: "is missing" }]
    case "UnexpectedKey":
      return [{ _tag: "Unexpected", path, message: SchemaIssue.defaultLeafHook(issue) }]
    case "Forbidden":
      return [{ _tag: "Forbidden", path, message: SchemaIssue.defaultLeafHook(issue) }]
    case "InvalidType":
    case "InvalidValue":
    case "OneOf":
      return [{ _tag: "Type", path, message: SchemaIssue.defaultLeafHook(issue) }]
  }
}

const pathKey = (segment: PropertyKey | { readonly key: PropertyKey }): string | number => {
  const key = typeof segment === "object" ? segment.key : segment
  return typeof key === "number" ? key : String(key)
}
