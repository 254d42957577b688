/** The shapes of a local stack: how to start one, what it tells its users, its processes. */

import type { FunctionServer } from "./functions.ts";
import type { StackSecrets } from "./keys.ts";

/** What a running stack tells its users; written to `<dir>/stack.json`. */
export interface StackInfo {
  api_url: string;
  rest_url: string;
  functions_url: string;
  jwks_url: string;
  db_url: string;
  anon_key: string;
  service_role_key: string;
  jwt_secret: string;
  google_emulator_url: string;
  google_client_id: string;
  google_redirect_uri: string;
  result_page_url: string;
  stack_dir: string;
  secrets_file: string;
  log_dir: string;
  /** Where the Postgres cluster's files are (outside stack_dir when run as root). */
  db_data_dir?: string;
  /** The process that runs the stack: `npm stop` signals it. */
  pid?: number;
  /** The environment every function gets, as `supabase secrets set` plus Supabase's own. */
  function_env: Record<string, string>;
  functions: Record<string, { port: number; log_file: string }>;
  /** The stack's own webhook receiver (BOT_WEBHOOK_URL), when the .env names no other. */
  webhook_receiver_url?: string;
}

/** A process of the stack that tests may stop and start again (fault injection). */
export interface StackUnit {
  readonly name: string;
  pid(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A running stack. */
export interface Stack {
  info: StackInfo;
  secrets: StackSecrets;
  functions: Map<string, FunctionServer>;
  postgres: StackUnit;
  postgrest: StackUnit;
  /** Stops every process and frees the folder; safe to call more than once. */
  stop(): Promise<void>;
}

/** How to start a stack. */
export interface StackOptions {
  /** Where the keys, logs and stack.json live (git-ignored); the cluster too, unless root. */
  dir: string;
  /** Fixed ports like `supabase start`, or free ones (CI, tests). */
  ports: "fixed" | "auto";
  /** More folders of functions to serve beside supabase/functions (the benchmarks' baselines). */
  extraFunctionDirs?: string[];
  /** Extra or overriding variables for every function (e.g. a short HTTP_TIMEOUT_MS in tests). */
  functionEnv?: Record<string, string>;
  /** The variables of `supabase/functions/.env` (`npm start`), merged by mergeFunctionEnv. */
  envFile?: { path: string; env: Record<string, string> };
  /** Aborting stops whatever has started and makes startStack throw a StoppingError. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}
