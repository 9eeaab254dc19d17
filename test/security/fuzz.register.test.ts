/** Fuzzing every register family route of /openapi.json (see fuzz/harness.ts). */
import { fuzzFamily } from "./fuzz/harness";

await fuzzFamily("register", "register family", 8);
