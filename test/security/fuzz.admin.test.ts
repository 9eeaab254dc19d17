/** Fuzzing every /admin, meta and web routes (the admin error shape) route of /openapi.json (see fuzz/harness.ts). */
import { fuzzFamily } from "./fuzz/harness";

await fuzzFamily("admin", "/admin, meta and web routes (the admin error shape)", 12);
