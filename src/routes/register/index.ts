import { familyApp } from "../../lib/openapi";
import * as registration from "./register.handlers";
import * as registerRoutes from "./register.routes";
import * as state from "./state.handlers";
import * as stateRoutes from "./state.routes";

/** The care-team family (seed 003), mounted at the root: /register, /state, /.well-known/jwks.json. */
export const register = familyApp()
  .openapi(registerRoutes.register, registration.register)
  .openapi(registerRoutes.enroll, registration.enroll)
  .openapi(registerRoutes.jwks, registration.jwks)
  .openapi(stateRoutes.getState, state.getState)
  .openapi(stateRoutes.putState, state.putState)
  .openapi(stateRoutes.deleteState, state.deleteState)
  .openapi(stateRoutes.history, state.history)
  .openapi(stateRoutes.live, state.live);
