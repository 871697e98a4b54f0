import { gunzipSync, gzipSync } from 'node:zlib';
import { ControllerError } from '../errors';
import { CONTROLLER_PORT } from '../network/service-names';
import type { ControllerRequest, ControllerResponse, ControllerTransport } from './types';

/** On the controller instance: the file holding `X-API-Key: …`, readable by root only (written at install). */
export const API_KEY_HEADER_FILE = '/etc/waveshift/api-key-header';
const STATUS_MARK = 'WAVESHIFT-RELAY-STATUS';
const BODY_MARK = 'WAVESHIFT-RELAY-BODY';
/** GetCommandInvocation returns at most 24,000 characters of output. */
export const RELAY_OUTPUT_LIMIT = 24_000;

export interface RelayTarget {
  baseUrl: string;
  headerFile: string;
}

export const DEFAULT_RELAY_TARGET: RelayTarget = {
  baseUrl: `http://127.0.0.1:${CONTROLLER_PORT}`,
  headerFile: API_KEY_HEADER_FILE,
};

/**
 * The shell script that performs one request with curl on the controller instance. The API key is read
 * there from the header file (`-H @file`), so it never travels in SSM parameters; the request body and the
 * response are gzip+base64, which keeps a 256-site batch inside SSM's parameter and output limits.
 */
export function renderRelayScript(
  request: ControllerRequest,
  target: RelayTarget = DEFAULT_RELAY_TARGET,
): string {
  const body =
    request.body === undefined
      ? undefined
      : gzipSync(JSON.stringify(request.body), { level: 9 }).toString('base64');
  // Inside single quotes in the script: no quote, no space; %-escapes and commas are plain there.
  if (!/^\/[A-Za-z0-9/_?=&.%,-]*$/.test(request.path))
    throw new RangeError(`unsafe controller path ${request.path}`);
  const lines = [
    'set -eu',
    'out=$(mktemp); req=$(mktemp)',
    'trap \'rm -f "$out" "$req"\' EXIT',
    ...(body === undefined ? [] : [`echo '${body}' | base64 -d | gunzip > "$req"`]),
    `code=$(curl -sS --max-time 60 -o "$out" -w '%{http_code}' -X ${request.method} -H @${target.headerFile}${
      body === undefined ? '' : ` -H 'Content-Type: application/json' --data-binary @"$req"`
    } '${target.baseUrl}${request.path}')`,
    `echo "${STATUS_MARK} $code"`,
    `echo "${BODY_MARK} $(gzip -c "$out" | base64 | tr -d '\\n')"`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Reads the status and body a relay script printed. */
export function parseRelayOutput(stdout: string): ControllerResponse {
  if (stdout.length >= RELAY_OUTPUT_LIMIT) {
    throw new ControllerError(
      'the controller’s answer was too large for an SSM relay; set controller.url to speak HTTP',
    );
  }
  const status = /^WAVESHIFT-RELAY-STATUS (\d{3})$/m.exec(stdout);
  const body = /^WAVESHIFT-RELAY-BODY (\S*)$/m.exec(stdout);
  if (!status || !body)
    throw new ControllerError(`the SSM relay printed no controller answer: ${stdout.slice(0, 200)}`);
  const text = body[1] ? gunzipSync(Buffer.from(body[1], 'base64')).toString('utf8') : '';
  let parsed: unknown = text;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text for the error message
  }
  return { status: Number(status[1]), body: parsed };
}

/** Runs a relay script somewhere (SSM Run Command on the controller instance; a local shell in tests). */
export type ScriptRunner = (script: string) => Promise<{ stdout: string; stderr: string; ok: boolean }>;

export function relayTransport(
  description: string,
  runScript: ScriptRunner,
  target?: RelayTarget,
): ControllerTransport {
  return {
    description,
    // A page must fit in SSM's 24,000 characters of output, gzip+base64 included.
    devicePageSize: 250,
    async send(request) {
      const result = await runScript(renderRelayScript(request, target));
      if (!result.ok && !result.stdout.includes(STATUS_MARK)) {
        throw new ControllerError(
          `the SSM relay to the controller failed (${description}): ${(result.stderr || result.stdout).trim().slice(0, 300)}`,
        );
      }
      return parseRelayOutput(result.stdout);
    },
  };
}
