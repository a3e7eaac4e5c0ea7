/**
 * Discovery: a workflow definition described for tools (the CLI, a dashboard, API docs) by its name and the JSON
 * Schemas of its payload, success and error, as effect's `Schema.toJsonSchemaDocument` writes them.
 */
import * as Schema from "effect/Schema"

/**
 * One schema of a workflow as JSON Schema (draft 2020-12, definitions under `$defs`), or why it could not be
 * written as one.
 */
export type JsonSchemaOf =
  | { readonly _tag: "JsonSchema"; readonly schema: { readonly [key: string]: Schema.Json } }
  | { readonly _tag: "Unsupported"; readonly message: string }

/** A workflow as discovery lists it. */
export interface WorkflowInfo {
  readonly name: string
  /** The version a start runs (the newest registered); its schemas are the ones below. */
  readonly version: number
  /** Every version registered, ascending. */
  readonly versions: ReadonlyArray<number>
  readonly payload: JsonSchemaOf
  readonly success: JsonSchemaOf
  readonly error: JsonSchemaOf
}

/** The description of a workflow with these schemas. Never throws: a schema JSON Schema cannot express says so. */
export const describe = (
  name: string,
  schemas: { readonly payload: Schema.Top | undefined; readonly success: Schema.Top; readonly error: Schema.Top },
  version: number,
  versions: ReadonlyArray<number> = [version]
): WorkflowInfo => ({
  name,
  version,
  versions,
  payload: jsonSchemaOf(schemas.payload ?? Schema.Unknown),
  success: jsonSchemaOf(schemas.success),
  error: jsonSchemaOf(schemas.error)
})

const cache = new WeakMap<Schema.Top, JsonSchemaOf>()

/** A schema as one self-contained JSON Schema object: its root, with the definitions it refers to in `$defs`. */
export const jsonSchemaOf = (schema: Schema.Top): JsonSchemaOf => {
  const cached = cache.get(schema)
  if (cached !== undefined) return cached
  let described: JsonSchemaOf
  try {
    const document = Schema.toJsonSchemaDocument(schema)
    const definitions = Object.keys(document.definitions).length > 0 ? { $defs: document.definitions } : {}
    // A JSON round trip: what tools receive is plain JSON data, whatever the generator left in.
    described = { _tag: "JsonSchema", schema: JSON.parse(JSON.stringify({ ...document.schema, ...definitions })) }
  } catch (error) {
    described = {
      _tag: "Unsupported",
      message: `This schema has no JSON Schema form: ${error instanceof Error ? error.message : String(error)}`
    }
  }
  cache.set(schema, described)
  return described
}
