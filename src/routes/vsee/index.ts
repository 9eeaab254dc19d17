import { familyApp } from "../../lib/openapi";
import * as audit from "./audit.handlers";
import * as auditRoutes from "./audit.routes";
import * as files from "./files.handlers";
import * as fileRoutes from "./files.routes";
import * as rooms from "./rooms.handlers";
import * as roomRoutes from "./rooms.routes";
import * as users from "./users.handlers";
import * as userRoutes from "./users.routes";

/** The VSee-compatible family, mounted at /api_v3 (every path also answers with a `.json` suffix). */
export const vsee = familyApp("vsee")
  .openapi(userRoutes.sso, users.sso)
  .openapi(userRoutes.login, users.login)
  .openapi(userRoutes.logout, users.logout)
  .openapi(userRoutes.refresh, users.refresh)
  .openapi(userRoutes.resetPassword, users.resetPassword)
  .openapi(userRoutes.activate, users.activate)
  .openapi(userRoutes.alive, users.alive)
  .openapi(userRoutes.listUsers, users.listUsers)
  .openapi(userRoutes.getUser, users.getUserProfile)
  .openapi(userRoutes.assignRoom, rooms.assignRoom)
  .openapi(userRoutes.getMe, users.getMe)
  .openapi(userRoutes.postMe, users.postMe)
  .openapi(roomRoutes.createRoom, rooms.createRoom)
  .openapi(roomRoutes.listRooms, rooms.listRooms)
  .openapi(roomRoutes.getRoom, rooms.getRoom)
  .openapi(roomRoutes.roomProviders, rooms.roomProviders)
  .openapi(fileRoutes.uploadFile, files.uploadFile)
  .openapi(fileRoutes.getFile, files.downloadFile)
  .openapi(auditRoutes.listAudit, audit.listAudit);
