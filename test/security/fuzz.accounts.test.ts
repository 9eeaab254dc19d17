/** Fuzzing every accounts family route of /openapi.json (see fuzz/harness.ts). */
import { fuzzFamily } from "./fuzz/harness";

await fuzzFamily("accounts", "accounts family", 10);
