/**
 * Environment variables as graft reads them (`process.env` is one). A type of graft's own rather
 * than NodeJS.ProcessEnv, so published types compile in a project without @types/node.
 */
export type Environment = Readonly<Record<string, string | undefined>>;
