/**
 * @weft/engine-sql/pg: the engine on PostgreSQL and its driver, over `pg` and `@effect/sql-pg`; never loads
 * `better-sqlite3`.
 */
export * as PgDriver from "./PgDriver.js"
export * as PgEngine from "./PgEngine.js"
