import type { RouteConfig, RouteConfigToEnv, RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../types";

/**
 * A handler typed from its route: its request (params, query, body), its responses, and the context
 * variables the route's own middleware sets (`createRoute({ middleware })`, read by zod-openapi's
 * `RouteConfigToEnv`), so that a handler behind `vseeAuth()` reads `caller` without a cast.
 */
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv & RouteConfigToEnv<R>>;
