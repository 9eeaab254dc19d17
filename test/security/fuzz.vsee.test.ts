/** Fuzzing every /api_v3 route of /openapi.json (see fuzz/harness.ts). */
import { fuzzFamily } from "./fuzz/harness";

await fuzzFamily("vsee", "/api_v3", 19);
