// cloudlet's Node.js runtime: loads the handler and serves invocations over the Lambda Runtime API.
//
// It behaves like AWS's Node.js runtime: `_HANDLER` is `[dir/]module.function[.nested]`, loaded
// from LAMBDA_TASK_ROOT as CommonJS or ES module (.js, .mjs, .cjs, package.json "type"); async
// handlers and callback handlers both work, with context.callbackWaitsForEmptyEventLoop; console
// output is written as `timestamp\trequest id\tLEVEL\tmessage`; errors are reported as
// {errorType, errorMessage, trace}; load failures as Runtime.ImportModuleError /
// Runtime.HandlerNotFound / Runtime.UserCodeSyntaxError through /runtime/init/error.
//
// The HTTP client is a few lines over one raw keep-alive socket (two round trips per invocation).
// The socket is unref'd while the handler runs, so 'beforeExit' tells when the handler's event
// loop is empty - what callbackWaitsForEmptyEventLoop waits for.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const NEXT = '/2018-06-01/runtime/invocation/next';
const INVOCATION = '/2018-06-01/runtime/invocation/';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';

class RuntimeClient {
  constructor(address) {
    const at = address.lastIndexOf(':');
    this.host = address;
    this.buf = Buffer.alloc(0);
    this.waiter = null;
    this.sock = net.connect({ host: address.slice(0, at) || '127.0.0.1', port: Number(address.slice(at + 1)) });
    this.sock.setNoDelay(true);
    this.sock.on('data', (data) => this.received(data));
    this.sock.on('error', (error) => this.failed(error));
    this.sock.on('close', () => this.failed(new Error('the Runtime API closed the connection')));
    this.sock.unref();
  }

  request(method, pathname, body, headers) {
    const payload = body == null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
    let head = `${method} ${pathname} HTTP/1.1\r\nHost: ${this.host}\r\nContent-Length: ${payload.length}\r\n`;
    for (const [name, value] of Object.entries(headers || {})) head += `${name}: ${value}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.sock.ref();
      this.sock.write(payload.length ? Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]) : head + '\r\n');
    });
  }

  received(data) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] || 0);
    if (this.buf.length < end + 4 + length) return;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = this.buf.subarray(end + 4 + length);
    const waiter = this.waiter;
    this.waiter = null;
    this.sock.unref();
    if (waiter) waiter.resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
  }

  failed(error) {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter.reject(error);
    else process.exit(1);
  }
}

// -- logging

let currentRequestId;

function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [name, level] of Object.entries(levels)) {
    console[name] = (...args) => {
      const message = util.format(...args).replace(/\n/g, '\r');
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`);
    };
  }
}

function logError(prefix, error) {
  const formatted = JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage, stack: error.trace });
  console.error(`${prefix} \t${formatted}`);
}

// -- errors

class RuntimeError extends Error {
  constructor(type, message) {
    super(message);
    this.name = `Runtime.${type}`;
  }
}

function toRapidError(error) {
  try {
    if (error instanceof Error || (error && typeof error.name === 'string' && typeof error.stack === 'string')) {
      return { errorType: error.name, errorMessage: error.message, trace: String(error.stack).split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_ignored) {
    return { errorType: 'handled', errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack' };
  }
}

// -- loading the handler

function isModuleFolder(folder) {
  if (folder.endsWith(`${path.sep}node_modules`)) return false;
  const manifest = path.join(folder, 'package.json');
  if (fs.existsSync(manifest)) {
    try {
      return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
    } catch (_ignored) {
      return false;
    }
  }
  const parent = path.dirname(folder);
  return parent === folder ? false : isModuleFolder(parent);
}

async function loadModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  if (fs.existsSync(base) && fs.statSync(base).isFile()) return require(base);
  const esm = isModuleFolder(path.dirname(base));
  if (fs.existsSync(`${base}.js`)) return esm ? import(pathToFileURL(`${base}.js`).href) : require(`${base}.js`);
  if (fs.existsSync(`${base}.mjs`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (fs.existsSync(`${base}.cjs`)) return require(`${base}.cjs`);
  return require(require.resolve(name, { paths: [root, path.resolve(root, moduleRoot)] }));
}

async function loadHandler(root, fullName) {
  if (fullName.includes('..')) {
    throw new RuntimeError('MalformedHandlerName', `'${fullName}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const handlerName = path.basename(fullName);
  const moduleRoot = fullName.slice(0, fullName.length - handlerName.length);
  const match = handlerName.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeError('MalformedHandlerName', 'Bad handler');
  let loaded;
  try {
    loaded = await loadModule(root, moduleRoot, match[1]);
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError('UserCodeSyntaxError', String(error));
    if (error && (error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('ImportModuleError', String(error));
    }
    throw error;
  }
  const handler = match[2].split('.').reduce((object, key) => object && object[key], loaded);
  if (!handler) throw new RuntimeError('HandlerNotFound', `${fullName} is undefined or not exported`);
  if (typeof handler !== 'function') throw new RuntimeError('HandlerNotFound', `${fullName} is not a function`);
  return handler;
}

// -- invoking

function parseJson(value) {
  try {
    return value ? JSON.parse(value) : undefined;
  } catch (_ignored) {
    return undefined;
  }
}

function makeContext(headers, finish) {
  const env = process.env;
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJson(headers['lambda-runtime-cognito-identity']),
    clientContext: parseJson(headers['lambda-runtime-client-context']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: (error, result) => finish(error, result),
    succeed: (result) => finish(null, result),
    fail: (error) => finish(error || 'handled', undefined),
  };
  return context;
}

let active = null; // the invocation in progress: { settle, pending }

function invoke(handler, next) {
  return new Promise((resolve) => {
    const { headers, body } = next;
    let settled = false;
    const settle = (error, result) => {
      if (settled) return;
      settled = true;
      active = null;
      resolve({ error, result });
    };
    const state = { settle, pending: undefined };
    active = state;
    const context = makeContext(headers, (error, result) => settle(error, result));
    const callback = (error, result) => {
      if (context.callbackWaitsForEmptyEventLoop) state.pending = [error, result];
      else settle(error, result);
    };
    let event;
    try {
      event = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch (error) {
      settle(new RuntimeError('UnmarshalError', `Unable to parse event: ${error.message}`));
      return;
    }
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then((result) => settle(null, result), (error) => settle(error == null ? new Error(String(error)) : error));
      }
    } catch (error) {
      settle(error);
    }
  });
}

process.on('beforeExit', () => {
  // the handler's event loop is empty: a waiting callback result (or null) is the answer
  if (active) active.settle(...(active.pending || [null, null]));
});

async function answer(client, requestId, outcome) {
  const url = INVOCATION + requestId;
  if (outcome.error != null) {
    const error = toRapidError(outcome.error);
    logError('Invoke Error', error);
    await client.request('POST', `${url}/error`, JSON.stringify(error), { [ERROR_TYPE]: error.errorType });
    return;
  }
  let payload;
  try {
    payload = JSON.stringify(outcome.result === undefined ? null : outcome.result);
  } catch (error) {
    const failure = { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${error.message}`, trace: [] };
    logError('Invoke Error', failure);
    await client.request('POST', `${url}/error`, JSON.stringify(failure), { [ERROR_TYPE]: failure.errorType });
    return;
  }
  await client.request('POST', `${url}/response`, payload);
}

async function main() {
  patchConsole();
  const client = new RuntimeClient(process.env.AWS_LAMBDA_RUNTIME_API);
  let handler;
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || '');
  } catch (failure) {
    const error = toRapidError(failure);
    logError('Uncaught Exception', error);
    await client.request('POST', INIT_ERROR, JSON.stringify(error), { [ERROR_TYPE]: error.errorType });
    process.exit(129);
  }
  const fatal = (type) => async (reason) => {
    const error = toRapidError(type === 'UnhandledPromiseRejection' ? new RuntimeError(type, `${reason}`) : reason);
    logError(type === 'UnhandledPromiseRejection' ? 'Unhandled Promise Rejection' : 'Uncaught Exception', error);
    const url = currentRequestId ? `${INVOCATION}${currentRequestId}/error` : INIT_ERROR;
    try {
      await client.request('POST', url, JSON.stringify(error), { [ERROR_TYPE]: error.errorType });
    } finally {
      process.exit(type === 'UnhandledPromiseRejection' ? 128 : 129);
    }
  };
  process.on('uncaughtException', fatal('UncaughtException'));
  process.on('unhandledRejection', fatal('UnhandledPromiseRejection'));
  for (;;) {
    const next = await client.request('GET', NEXT);
    if (next.status !== 200) throw new Error(`the Runtime API refused next: ${next.status}`);
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    const outcome = await invoke(handler, next);
    await answer(client, requestId, outcome);
    currentRequestId = undefined;
  }
}

main().catch((error) => {
  process.stderr.write(`cloudlet node bootstrap: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
