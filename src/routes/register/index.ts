import { familyApp } from "../../lib/openapi";
import * as records from "./records.handlers";
import * as recordsRoutes from "./records.routes";
import * as registration from "./register.handlers";
import * as registerRoutes from "./register.routes";
import * as state from "./state.handlers";
import * as stateRoutes from "./state.routes";

/**
 * The care-team family (seed 003), mounted at the root: /register, /state, /.well-known/jwks.json, and
 * the per-patient records (/records).
 */
export const register = familyApp("register")
  .openapi(registerRoutes.register, registration.register)
  .openapi(registerRoutes.enroll, registration.enroll)
  .openapi(registerRoutes.jwks, registration.jwks)
  .openapi(stateRoutes.getState, state.getState)
  .openapi(stateRoutes.putState, state.putState)
  .openapi(stateRoutes.deleteState, state.deleteState)
  .openapi(stateRoutes.history, state.history)
  .openapi(stateRoutes.live, state.live)
  .openapi(recordsRoutes.listRecords, records.listRecords)
  .openapi(recordsRoutes.getRecord, records.getRecord)
  .openapi(recordsRoutes.putRecord, records.putRecord)
  .openapi(recordsRoutes.deleteRecord, records.deleteRecord)
  .openapi(recordsRoutes.recordHistory, records.recordHistory)
  .openapi(recordsRoutes.recordLive, records.recordLive)
  .openapi(recordsRoutes.listMembers, records.listMembers)
  .openapi(recordsRoutes.addMember, records.addMember)
  .openapi(recordsRoutes.removeMember, records.removeMember)
  .openapi(recordsRoutes.accessLog, records.accessLog);
