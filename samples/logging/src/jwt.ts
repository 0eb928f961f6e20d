// The logging app's JWT endpoint: returns the payload claims of the caller's bearer token, which
// the "jwt" authentication policy has verified.

import * as ccfapp from "@microsoft/ccf-app";
import { errorResponse, type ErrorBody } from "./errors.js";

export function getJwtClaims(request: ccfapp.Request): ccfapp.Response<Record<string, unknown> | ErrorBody> {
  const caller = request.caller;
  if (caller === undefined || caller.policy !== "jwt") return errorResponse(401, "InvalidAuthenticationInfo", "this endpoint needs a JWT bearer token");
  return { body: (caller as ccfapp.JwtAuthnIdentity).jwt.payload as Record<string, unknown> };
}
