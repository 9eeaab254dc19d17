import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../types";

/** The shared care record (register family). */
export class CareRecord extends DurableObject<Bindings> {}
