/** What ApiKeyGuard concluded about the presented key, for the request log line. */
export interface KeyVerificationNote {
  code: string;
  keyId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    keyVerification?: KeyVerificationNote;
  }
}
