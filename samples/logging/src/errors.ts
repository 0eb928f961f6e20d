// Error responses in CCF's shape, {"error": {"code", "message"}}, shared by the sample's endpoints.

import * as ccfapp from "@microsoft/ccf-app";

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorResponse(statusCode: number, code: string, message: string): ccfapp.Response<ErrorBody> {
  return { statusCode, body: { error: { code, message } } };
}
