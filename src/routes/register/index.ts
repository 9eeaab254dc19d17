import { familyApp } from "../../lib/openapi";
import {
  accessLog,
  addMember,
  deleteRecord,
  getRecord,
  listMembers,
  listRecords,
  putRecord,
  recordHistory,
  recordLive,
  removeMember,
} from "./records.handlers";
import * as recordsRoutes from "./records.routes";
import { enroll, jwks, postRegister } from "./register.handlers";
import * as registerRoutes from "./register.routes";
import { deleteState, getState, history, live, putState } from "./state.handlers";
import * as stateRoutes from "./state.routes";

/**
 * The care-team family (seed 003), mounted at the root: /register, /state, /.well-known/jwks.json, and
 * the per-patient records (/records).
 */
export const registerFamily = familyApp("register")
  // register.handlers.ts
  .openapi(registerRoutes.postRegister, postRegister)
  .openapi(registerRoutes.enroll, enroll)
  .openapi(registerRoutes.jwks, jwks)
  // state.handlers.ts
  .openapi(stateRoutes.getState, getState)
  .openapi(stateRoutes.putState, putState)
  .openapi(stateRoutes.deleteState, deleteState)
  .openapi(stateRoutes.history, history)
  .openapi(stateRoutes.live, live)
  // records.handlers.ts
  .openapi(recordsRoutes.listRecords, listRecords)
  .openapi(recordsRoutes.getRecord, getRecord)
  .openapi(recordsRoutes.putRecord, putRecord)
  .openapi(recordsRoutes.deleteRecord, deleteRecord)
  .openapi(recordsRoutes.recordHistory, recordHistory)
  .openapi(recordsRoutes.recordLive, recordLive)
  .openapi(recordsRoutes.listMembers, listMembers)
  .openapi(recordsRoutes.addMember, addMember)
  .openapi(recordsRoutes.removeMember, removeMember)
  .openapi(recordsRoutes.accessLog, accessLog);
