/**
 * One warm "Lambda container" of a packaged function (see `packaged.ts`):
 * forked with the function's own environment, in its unzipped bundle as the
 * working directory, it imports the handler the template names and answers
 * invocation messages over IPC, one at a time, as the Lambda Node.js runtime
 * does. Plain JavaScript so it runs in a bare Node with no TypeScript loader,
 * like the bundle itself.
 *
 * Arguments:    <task root> <handler setting, e.g. functions/notify-failure/handler.handler> [V8 compile cache folder]
 * Messages in:  `{ type: 'invoke', id, requestId, context: {functionName, ...}, event: <JSON text>, deadline: <epoch ms> }`
 * Messages out: `{ type: 'result', id, ok: true, json: <JSON text> }`
 *               `{ type: 'result', id, ok: false, error: { errorType, errorMessage, trace? } }`
 *
 * The timeout is enforced by the parent, which kills this process: a handler
 * that never settles cannot block it, exactly as Lambda's sandbox is stopped.
 */
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The runner passes what the Lambda runtime takes from LAMBDA_TASK_ROOT and _HANDLER (both are in the function's
// environment too), and where V8 may keep the bundle's compiled code.
const [taskRoot = process.cwd(), handlerSetting = '', compileCache] = process.argv.slice(2);

// A local speed-up of cold starts (Lambda's own are its business): the bundle is compiled once per build, not once
// per worker. It changes nothing the handler can see, not even its environment.
if (compileCache) enableCompileCache(compileCache);

/** What the Node.js runtime reports for a thrown value (same rule as `lambdaErrorCause` in lambda.ts). */
function errorPayload(thrown) {
  if (thrown instanceof Error) {
    return { errorType: thrown.name, errorMessage: thrown.message, trace: (thrown.stack ?? '').split('\n') };
  }
  return { errorType: typeof thrown, errorMessage: String(thrown), trace: [] };
}

/** Loads `<file>.<export>` from the task root as the runtime does (.js, .mjs, .cjs). */
async function loadHandler() {
  const dot = handlerSetting.lastIndexOf('.');
  const file = handlerSetting.slice(0, dot);
  const name = handlerSetting.slice(dot + 1);
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, `${file}${ext}`));
  const path = candidates.find((c) => existsSync(c));
  if (dot <= 0 || !path) {
    throw Object.assign(new Error(`Error: Cannot find module '${file}'`), { name: 'Runtime.ImportModuleError' });
  }
  const module = await import(pathToFileURL(path).href);
  const handler = module[name];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${handlerSetting} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler;
}

// Init runs once per container: a module that fails to load fails every invocation of it.
let handlerPromise;

/** The Lambda context object: the fields the runner sent, the request id and the time left. */
function context(fields, requestId, deadline) {
  return {
    ...fields,
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

process.on('message', async (message) => {
  if (message?.type !== 'invoke') return;
  const { id, requestId, context: fields, event, deadline } = message;
  try {
    handlerPromise ??= loadHandler();
    const handler = await handlerPromise;
    const result = await handler(JSON.parse(event), context(fields, requestId, deadline));
    // Lambda serialises the result; `undefined` arrives as null.
    process.send({ type: 'result', id, ok: true, json: JSON.stringify(result) ?? 'null' });
  } catch (thrown) {
    process.send({ type: 'result', id, ok: false, error: errorPayload(thrown) });
  }
});

// The runner went away (test ended, Ctrl-C): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
