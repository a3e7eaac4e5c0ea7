/**
 * @weft/cli: the `weft` command (its `bin`), and its parts for embedding it in another command line.
 */
export * as Cli from "./Cli.js"
export * as CommandError from "./CommandError.js"
export * as Database from "./Database.js"
