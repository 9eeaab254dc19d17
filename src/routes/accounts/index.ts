import { familyApp } from "../../lib/openapi";
import { createAccount, findAccounts, getAccount, patchAccount } from "./accounts.handlers";
import * as accountRoutes from "./accounts.routes";
import { authenticate, authenticationHook, logout, logoutToken } from "./authentication.handlers";
import * as authRoutes from "./authentication.routes";
import { findDetails, getDetails, patchDetails } from "./personal-details.handlers";
import * as detailsRoutes from "./personal-details.routes";
import { createEntry, getEntry } from "./waitlist.handlers";
import * as waitlistRoutes from "./waitlist.routes";

/** The Feathers-style accounts family, mounted at the root (/accounts, /authentication, …). */
export const accountsFamily = familyApp("accounts")
  .openapi(waitlistRoutes.createEntry, createEntry)
  .openapi(waitlistRoutes.getEntry, getEntry)
  .openapi(accountRoutes.findAccounts, findAccounts)
  .openapi(accountRoutes.createAccount, createAccount)
  .openapi(accountRoutes.getAccount, getAccount)
  .openapi(accountRoutes.patchAccount, patchAccount)
  // POST /authentication dispatches on strategy / action (ACTION_HANDLERS)
  .openapi(authRoutes.authenticate, authenticate, authenticationHook)
  .openapi(authRoutes.logout, logout)
  .openapi(authRoutes.logoutToken, logoutToken)
  .openapi(detailsRoutes.findDetails, findDetails)
  .openapi(detailsRoutes.getDetails, getDetails)
  .openapi(detailsRoutes.patchDetails, patchDetails);
