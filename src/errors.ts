/**
 * Failures a user can act on. Each subclass carries the exit code and a message that says what to do.
 * Anything thrown that is not a WavectlError is a bug in wavectl and is reported as such.
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class WavectlError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options?.exitCode ?? ExitCode.failed;
  }
}

/** Bad command-line usage: wrong or missing options. */
export class UsageError extends WavectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

export interface ConfigProblem {
  path: string;
  message: string;
}

/** wavectl.json is missing, unreadable or invalid; `problems` lists every violation with its JSON path. */
export class ConfigError extends WavectlError {
  readonly problems: ConfigProblem[];
  constructor(message: string, options?: { cause?: unknown; problems?: ConfigProblem[] }) {
    super(message, { cause: options?.cause, exitCode: ExitCode.usage });
    this.problems = options?.problems ?? [];
  }
}

/** Another wavectl process holds the deployment directory. */
export class LockError extends WavectlError {
  readonly holderPid: number;
  constructor(message: string, holderPid: number) {
    super(message);
    this.holderPid = holderPid;
  }
}

/** An AWS API call failed; keeps the SDK's error name and request id for support. */
export class AwsError extends WavectlError {
  readonly awsCode: string | undefined;
  readonly requestId: string | undefined;
  constructor(message: string, options: { cause?: unknown; awsCode?: string; requestId?: string }) {
    super(message, { cause: options.cause });
    this.awsCode = options.awsCode;
    this.requestId = options.requestId;
  }
}

/** A router could not be reached or configured; says which host and which step. */
export class RouterError extends WavectlError {
  readonly host: string;
  readonly step: string;
  constructor(message: string, options: { host: string; step: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.host = options.host;
    this.step = options.step;
  }
}

/**
 * The connection to a router failed or went away (refused, reset, no answer, dropped under a command):
 * an outage that may pass, unlike an answer such as a changed host key or a failed command.
 */
export class RouterConnectionError extends RouterError {}

/** The controller refused or failed a request. */
export class ControllerError extends WavectlError {
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, { cause: options?.cause });
    this.status = options?.status;
  }
}

/** The account's AWS quota is too small for what was asked; says which quota and how to raise it. */
export class QuotaError extends WavectlError {}

/** An instance's first boot did not set up its service; carries the instance's own log tail. */
export class InstanceBootError extends WavectlError {
  readonly instanceId: string;
  readonly logTail: string;
  constructor(message: string, options: { instanceId: string; logTail: string }) {
    super(message);
    this.instanceId = options.instanceId;
    this.logTail = options.logTail;
  }
}

/** The operator declined a confirmation, or one was needed and no terminal could ask for it. */
export class AbortedError extends WavectlError {}

/** A backup archive could not be read: wrong passphrase, truncated, corrupt or tampered with. */
export class BackupError extends WavectlError {}

/** A destructive act needs consent, and there is no terminal to ask for it and no --yes (exit 2). */
export class ConsentError extends WavectlError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage });
  }
}
