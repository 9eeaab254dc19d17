import { familyApp } from "../../lib/openapi";
import { listAudit } from "./audit.handlers";
import * as auditRoutes from "./audit.routes";
import { downloadFile, uploadFile } from "./files.handlers";
import * as fileRoutes from "./files.routes";
import { getMe, postMe } from "./me.handlers";
import { activate, resetPassword } from "./onboarding.handlers";
import { assignRoom, createRoom, getRoom, listRooms, roomProviders } from "./rooms.handlers";
import * as roomRoutes from "./rooms.routes";
import { login, logout, refresh } from "./session.handlers";
import { sso } from "./sso.handlers";
import { alive, getUserProfile, listUsers } from "./users.handlers";
import * as userRoutes from "./users.routes";

/** The VSee-compatible family, mounted at /api_v3 (every path also answers with a `.json` suffix). */
export const vsee = familyApp("vsee")
  // sso.handlers.ts
  .openapi(userRoutes.sso, sso)
  // session.handlers.ts
  .openapi(userRoutes.login, login)
  .openapi(userRoutes.logout, logout)
  .openapi(userRoutes.refresh, refresh)
  // onboarding.handlers.ts
  .openapi(userRoutes.resetPassword, resetPassword)
  .openapi(userRoutes.activate, activate)
  // users.handlers.ts
  .openapi(userRoutes.alive, alive)
  .openapi(userRoutes.listUsers, listUsers)
  .openapi(userRoutes.getUser, getUserProfile)
  // me.handlers.ts
  .openapi(userRoutes.getMe, getMe)
  .openapi(userRoutes.postMe, postMe)
  // rooms.handlers.ts
  .openapi(userRoutes.assignRoom, assignRoom)
  .openapi(roomRoutes.createRoom, createRoom)
  .openapi(roomRoutes.listRooms, listRooms)
  .openapi(roomRoutes.getRoom, getRoom)
  .openapi(roomRoutes.roomProviders, roomProviders)
  // files.handlers.ts
  .openapi(fileRoutes.uploadFile, uploadFile)
  .openapi(fileRoutes.getFile, downloadFile)
  // audit.handlers.ts
  .openapi(auditRoutes.listAudit, listAudit);
